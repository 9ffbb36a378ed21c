# syntax=docker/dockerfile:1
# LaunchWatch container image. `docker compose up -d` builds and runs it (see README.md).
#
# Stage "build" installs LaunchWatch and its dependencies into a virtual environment;
# stage "runtime" copies only that environment onto a clean slim base and runs it as an
# unprivileged user. Nothing secret is baked in: DISCORD_TOKEN comes from the environment
# (docker compose reads it from .env, which .dockerignore keeps out of the build context).

ARG PYTHON_VERSION=3.12

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/launchwatch
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN /opt/launchwatch/bin/pip install .

FROM python:${PYTHON_VERSION}-slim AS runtime
LABEL org.opencontainers.image.title="LaunchWatch" \
      org.opencontainers.image.description="Rocket launch alerts for Discord, from spaceflight news feeds." \
      org.opencontainers.image.licenses="MIT"
ENV PATH=/opt/launchwatch/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LAUNCHWATCH_DB=/data/launchwatch.db
# /data must belong to the bot's user before VOLUME: a new named volume copies this
# directory, ownership included, and changes made after VOLUME would be discarded.
RUN groupadd --system --gid 10001 launchwatch \
 && useradd --system --uid 10001 --gid launchwatch --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin launchwatch \
 && mkdir -p /data \
 && chown launchwatch:launchwatch /data
# The environment stays owned by root: the bot can read its code but not change it.
COPY --from=build /opt/launchwatch /opt/launchwatch
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# Healthy while polls (and, on Discord, the gateway) keep writing fresh heartbeats.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["launchwatch", "healthcheck"]
ENTRYPOINT ["launchwatch"]
CMD ["run"]
