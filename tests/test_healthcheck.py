"""``launchwatch healthcheck``: what Docker's HEALTHCHECK runs against the bot's database.

Healthy (exit 0, "healthy") when the poll heartbeat is fresh — and, when the bot runs on
Discord, the gateway heartbeat too; otherwise exit 1 with one line saying why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.__main__ import cmd_healthcheck
from bot.health import HEARTBEAT_GATEWAY, HEARTBEAT_POLL
from bot.settings import Settings, load_settings
from handlers.domain import utc_now
from storage import Storage

FRESH = timedelta(seconds=3)
STALE = timedelta(minutes=10)


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    for name in list(os.environ):
        if name.startswith(("LAUNCHWATCH_", "DISCORD_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LAUNCHWATCH_DB", str(tmp_path / "health.db"))
    return load_settings(None)


async def _beats(db: Path, *, mode: str | None = None, **ages: timedelta) -> None:
    """Write heartbeats ``poll=age`` / ``gateway=age`` as the running bot would."""
    keys = {"poll": HEARTBEAT_POLL, "gateway": HEARTBEAT_GATEWAY}
    async with Storage.open(db) as storage:
        if mode is not None:
            await storage.set_meta("mode", mode)
        for name, age in ages.items():
            await storage.set_meta(keys[name], (utc_now() - age).isoformat())


async def _check(settings: Settings, capsys) -> tuple[int, str]:
    code = await cmd_healthcheck(settings)
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.count("\n") == 1, f"not one line: {out!r}"
    return code, out.strip()


async def test_fresh_poll_heartbeat_is_healthy(settings, capsys):
    await _beats(settings.db, mode="dry-run", poll=FRESH)
    assert await _check(settings, capsys) == (0, "healthy")


async def test_stale_poll_heartbeat_is_unhealthy_and_says_how_old(settings, capsys):
    await _beats(settings.db, mode="dry-run", poll=STALE)
    code, line = await _check(settings, capsys)
    assert code == 1
    assert line.startswith("unhealthy: last poll heartbeat ")
    seconds = int(line.split("heartbeat ")[1].removesuffix("s ago"))
    assert 595 <= seconds <= 700


async def test_missing_poll_heartbeat_is_unhealthy(settings, capsys):
    await _beats(settings.db, mode="dry-run")
    assert await _check(settings, capsys) == (1, "unhealthy: no poll heartbeat yet")


async def test_no_database_is_unhealthy_and_creates_none(settings, capsys):
    code, line = await _check(settings, capsys)
    assert code == 1
    assert line == f"unhealthy: no database at {settings.db}"
    assert not settings.db.exists()


async def test_discord_mode_also_needs_the_gateway_heartbeat(settings, capsys):
    await _beats(settings.db, mode="discord", poll=FRESH)
    assert await _check(settings, capsys) == (1, "unhealthy: no gateway heartbeat yet")

    await _beats(settings.db, gateway=STALE)
    code, line = await _check(settings, capsys)
    assert code == 1 and line.startswith("unhealthy: last gateway heartbeat ")

    await _beats(settings.db, gateway=FRESH)
    assert await _check(settings, capsys) == (0, "healthy")


async def test_discord_mode_with_a_stale_poll_is_unhealthy_even_if_connected(settings, capsys):
    await _beats(settings.db, mode="discord", poll=STALE, gateway=FRESH)
    code, line = await _check(settings, capsys)
    assert code == 1 and line.startswith("unhealthy: last poll heartbeat ")


async def test_dry_run_mode_does_not_need_a_gateway(settings, capsys):
    await _beats(settings.db, mode="dry-run", poll=FRESH, gateway=STALE)
    assert await _check(settings, capsys) == (0, "healthy")


async def test_the_command_exit_code_is_what_docker_sees(tmp_path, settings):
    """The real console entry point, in a child process, as HEALTHCHECK runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAUNCHWATCH_", "DISCORD_"))}
    env["LAUNCHWATCH_DB"] = str(settings.db)

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "--env-file", os.devnull, "healthcheck"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            cwd=tmp_path,
        )

    missing = run()
    assert missing.returncode == 1
    assert missing.stdout.startswith("unhealthy: no database at ")

    await _beats(settings.db, mode="dry-run", poll=FRESH)
    healthy = run()
    assert (healthy.returncode, healthy.stdout) == (0, "healthy\n")
