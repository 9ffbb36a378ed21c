"""Prometheus metrics, and the optional HTTP endpoint that serves them with ``/healthz``.

The endpoint is off unless ``LAUNCHWATCH_HTTP_PORT`` is set. :class:`Metrics` owns its own
registry (never the process-wide default one), so two instances never share a counter. The
pipeline and the delivery worker feed it through their hooks: ``on_report`` →
:meth:`Metrics.observe_poll`, ``on_result`` → :meth:`Metrics.observe_delivery`.

=========================================  =========  ==============  ====================
metric                                     type       labels          from
=========================================  =========  ==============  ====================
launchwatch_polls_total                    counter    outcome         every feed poll
launchwatch_feed_errors_total              counter    kind            failed polls
launchwatch_articles_new_total             counter                    unseen articles
launchwatch_launch_stories_total           counter    status          matched articles
launchwatch_deliveries_total               counter    outcome, kind   publisher results
launchwatch_delivery_latency_seconds       histogram                  event change → sent
launchwatch_outbox_pending                 gauge                      refreshed per scrape
launchwatch_gateway_latency_seconds        gauge                      set by the Discord edge
launchwatch_build_info                     gauge      version         constant 1
=========================================  =========  ==============  ====================
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from bot import __version__
from bot.health import HEALTH_MAX_AGE, health_problem
from handlers.domain import DeliveryJob, DeliveryKind, LaunchStatus, utc_now
from handlers.errors import ParseTimeoutError, error_text
from handlers.pipeline import PollReport
from handlers.ports import PublishOutcome, PublishResult
from storage import Storage

log = logging.getLogger(__name__)


POLL_OUTCOMES = ("ok", "seeded", "not_modified", "unchanged", "error", "disabled")
PARSE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LATENCY_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

Clock = Callable[[], datetime]


class Metrics:
    """LaunchWatch's counters, gauges and histograms, in a registry of their own."""

    def __init__(self, *, clock: Clock = utc_now) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._clock = clock
        reg = self.registry
        self.polls = Counter(
            "launchwatch_polls", "Feed polls by outcome.", ["outcome"], registry=reg
        )
        self.feed_errors = Counter(
            "launchwatch_feed_errors", "Failed feed polls by error kind.", ["kind"], registry=reg
        )
        self.articles_new = Counter(
            "launchwatch_articles_new",
            "Articles seen for the first time (first polls of a feed included).",
            registry=reg,
        )
        self.launch_stories = Counter(
            "launchwatch_launch_stories",
            "New articles recognised as launch stories, by the status they report.",
            ["status"],
            registry=reg,
        )
        self.deliveries = Counter(
            "launchwatch_deliveries",
            "Delivery attempts by outcome and kind (post, edit, followup).",
            ["outcome", "kind"],
            registry=reg,
        )
        self.delivery_latency = Histogram(
            "launchwatch_delivery_latency_seconds",
            "Time from a launch event's last change to its alert being sent.",
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.parse_seconds = Histogram(
            "launchwatch_parse_seconds",
            "Time to parse one downloaded feed body (in a parser worker).",
            buckets=PARSE_BUCKETS,
            registry=reg,
        )
        self.parses_stopped = Counter(
            "launchwatch_parses_stopped",
            "Feed parses stopped for running past LAUNCHWATCH_PARSE_TIMEOUT.",
            registry=reg,
        )
        self.outbox_pending = Gauge(
            "launchwatch_outbox_pending", "Delivery jobs waiting in the outbox.", registry=reg
        )
        self.gateway_latency = Gauge(
            "launchwatch_gateway_latency_seconds",
            "Discord gateway heartbeat latency (set by the Discord client).",
            registry=reg,
        )
        build = Gauge("launchwatch_build_info", "LaunchWatch version.", ["version"], registry=reg)
        build.labels(version=__version__).set(1)
        # Known label values start at zero, so rates work from the first scrape.
        for outcome in POLL_OUTCOMES:
            self.polls.labels(outcome=outcome)
        for status in LaunchStatus:
            self.launch_stories.labels(status=status.value)
        for result in PublishOutcome:
            for kind in DeliveryKind:
                self.deliveries.labels(outcome=result.value, kind=kind.value)

    def observe_poll(self, report: PollReport) -> None:
        """The pipeline's ``on_report`` hook: count one feed poll."""
        self.polls.labels(outcome=str(report.status)).inc()
        if report.status in ("error", "disabled"):
            self.feed_errors.labels(kind=report.error_kind or "unknown").inc()
        if report.parse_seconds is not None:
            self.parse_seconds.observe(report.parse_seconds)
        if report.error_kind == ParseTimeoutError.__name__:
            self.parses_stopped.inc()
        if report.new:
            self.articles_new.inc(report.new)
        for status in report.statuses:
            self.launch_stories.labels(status=status.value).inc()

    def observe_delivery(self, job: DeliveryJob, result: PublishResult) -> None:
        """The delivery worker's ``on_result`` hook: count one attempt, time the sent ones."""
        self.deliveries.labels(outcome=result.outcome.value, kind=job.kind.value).inc()
        if result.outcome is PublishOutcome.SENT:
            waited = (self._clock() - job.event.updated).total_seconds()
            self.delivery_latency.observe(max(waited, 0.0))

    def set_gateway_latency(self, seconds: float) -> None:
        """Record the gateway latency; discord.py reports ``inf``/``nan`` before it connects."""
        if math.isfinite(seconds):
            self.gateway_latency.set(seconds)

    async def refresh(self, storage: Storage) -> None:
        """Update the gauges read from the database (called on every scrape)."""
        self.outbox_pending.set(await storage.outbox.pending_count())

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The registry in the format the ``Accept`` header asks for, and its content type."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


@dataclass(frozen=True, slots=True)
class HttpEndpoint:
    """Where :func:`serve_http` listens (``port`` is the bound one when asked for 0)."""

    host: str
    port: int

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8080``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def build_app(
    metrics: Metrics,
    storage: Storage,
    *,
    max_age: float = HEALTH_MAX_AGE,
    clock: Clock = utc_now,
) -> web.Application:
    """The aiohttp application with ``/healthz`` and ``/metrics``."""

    async def healthz(request: web.Request) -> web.Response:
        try:
            problem = await health_problem(storage, clock(), max_age=max_age)
        except Exception as exc:  # a locked or broken database is an unhealthy bot
            log.warning("healthz could not read the database: %s", exc)
            problem = f"cannot read the database: {error_text(exc)}"
        if problem is None:
            return web.Response(text="ok\n")
        return web.Response(status=503, text=f"unhealthy: {problem}\n")

    async def metrics_page(request: web.Request) -> web.Response:
        try:
            await metrics.refresh(storage)
        except Exception:  # serve the other metrics; the gauge keeps its last value
            log.exception("could not refresh the outbox gauge")
        body, content_type = metrics.exposition(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    return app


@asynccontextmanager
async def serve_http(
    metrics: Metrics,
    storage: Storage,
    port: int,
    host: str = "0.0.0.0",
    *,
    max_age: float = HEALTH_MAX_AGE,
    clock: Clock = utc_now,
) -> AsyncIterator[HttpEndpoint]:
    """Serve ``/healthz`` and ``/metrics`` on ``host:port`` while the block runs.

    ``async with serve_http(metrics, storage, settings.http_port) as endpoint: ...``;
    port 0 picks a free port (``endpoint.port`` tells which).
    """
    runner = web.AppRunner(
        build_app(metrics, storage, max_age=max_age, clock=clock), access_log=None
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = int(runner.addresses[0][1]) if runner.addresses else port
        endpoint = HttpEndpoint(host, bound)
        log.info("serving /healthz and /metrics on %s", endpoint.url)
        yield endpoint
    finally:
        await runner.cleanup()
