"""Guarantee 6 — secrets: the Discord token never reaches logs, error messages or output.

The real ``launchwatch run`` is started with a token (one shaped like a real Discord
token, one that is just a secret string) against three kinds of Discord API base: a fake
Discord that accepts it, a hostile proxy that echoes the Authorization header back in its
error bodies, and an address where nothing listens. Logging is at DEBUG, text and JSON.
Whatever happens, the token is not in anything the process writes.

The container's non-root user is checked in tests/test_deploy.py
(``test_runs_as_an_unprivileged_user_that_owns_the_data_volume``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from bot.settings import load_settings
from tests.budget import PATIENCE
from tests.fakediscord import FakeDiscord
from tests.feedgen import rss
from tests.feedserver import FeedServer
from tests.reliability.proc import BACKGROUND, clean_env, eventually

REPO = Path(__file__).resolve().parents[2]
SHAPED = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789-_AB"
PLAIN = "s3cret-value-that-does-not-look-like-a-token"


def test_dotenv_is_ignored_by_git():
    for path in (".env", "deploy/.env"):
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO, check=False)
        assert result.returncode == 0, f"{path} must be ignored by git (.gitignore)"


@pytest.mark.parametrize("token", [SHAPED, PLAIN])
def test_settings_never_show_the_token(tmp_path, monkeypatch, token):
    monkeypatch.setenv("DISCORD_TOKEN", token)
    settings = load_settings(None)
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == token
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert token not in text


async def _echo_auth(request: web.Request) -> web.Response:
    """A hostile or broken proxy that quotes the request's credentials back."""
    auth = request.headers.get("Authorization", "")
    return web.json_response(
        {"message": f"Forbidden for {auth} at {request.path}", "code": 50001}, status=403
    )


async def _run(
    workdir: Path, token: str, api_base: str, feed: str, *, until: str | None, **env: str
) -> str:
    """Run ``launchwatch run`` until it exits, or until ``until`` is logged; return the log."""
    workdir.mkdir()
    log = workdir / "run.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--env-file",
            os.devnull,
            "run",
            stdout=out,
            stderr=subprocess.STDOUT,
            env=clean_env(
                DISCORD_TOKEN=token,
                DISCORD_API_BASE=api_base,
                LAUNCHWATCH_DB=str(workdir / "lw.db"),
                LAUNCHWATCH_FEEDS=feed,
                LAUNCHWATCH_ALLOW_PRIVATE_NETWORKS="true",
                LAUNCHWATCH_POLL_INTERVAL="1",
                LAUNCHWATCH_LOG_LEVEL="DEBUG",
                **env,
            ),
            cwd=workdir,
        )
        try:
            if until is None:
                await asyncio.wait_for(proc.wait(), PATIENCE)
            else:
                await eventually(
                    lambda: until in log.read_text("utf-8", "replace"), PATIENCE, until
                )
                # A feed poll more once connected: more of the paths a token could leak by.
                await eventually(
                    lambda: " status=" in log.read_text("utf-8", "replace").split(until, 1)[1],
                    PATIENCE,
                    "a poll after connecting",
                )
                proc.terminate()
                await asyncio.wait_for(proc.wait(), PATIENCE)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    return log.read_text("utf-8", errors="replace")


async def _hostile_proxy() -> web.AppRunner:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _echo_auth)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


async def test_token_never_in_output_whatever_discord_answers(tmp_path):
    async with FeedServer() as feeds, FakeDiscord() as fake, FakeDiscord() as fake_plain:
        feeds.route("/feed", body=rss(BACKGROUND))
        feed = feeds.url("/feed")
        fake.token, fake_plain.token = SHAPED, PLAIN
        proxy = await _hostile_proxy()
        proxy_base = f"http://127.0.0.1:{proxy.addresses[0][1]}/api/v10"
        connected = "has connected to Gateway"
        runs = {
            "accepted, text logs": (SHAPED, fake.api_base, connected, {}),
            "accepted, json logs": (
                PLAIN,
                fake_plain.api_base,
                connected,
                {"LAUNCHWATCH_LOG_FORMAT": "json"},
            ),
            "echoed by a proxy": (SHAPED, proxy_base, None, {}),
            "echoed by a proxy, plain": (PLAIN, proxy_base, None, {}),
            "nothing listening": (SHAPED, "http://127.0.0.1:9/api/v10", None, {}),
        }
        try:
            logs = await asyncio.gather(
                *(
                    _run(tmp_path / f"run{i}", token, base, feed, until=until, **env)
                    for i, (token, base, until, env) in enumerate(runs.values())
                )
            )
        finally:
            await proxy.cleanup()
    outputs = dict(zip(runs, logs, strict=True))
    for (name, (token, *_)), output in zip(runs.items(), logs, strict=True):
        assert token not in output, f"token leaked ({name}):\n{output[-3000:]}"
        assert token[:16] not in output, f"part of the token leaked ({name})"
    # The runs did reach the places a token could leak from.
    assert fake.requests and fake_plain.requests
    for name in ("echoed by a proxy", "echoed by a proxy, plain"):
        # The proxy's answer is not repeated at all; the user gets a one-line reason.
        assert "launchwatch: Discord refused the login (HTTP 403)" in outputs[name], outputs[name][
            -2000:
        ]
        assert "Traceback" not in outputs[name]
    for line in outputs["accepted, json logs"].splitlines():
        json.loads(line)
