"""Is the running bot healthy? One answer for ``launchwatch healthcheck`` and ``/healthz``.

The service records heartbeats in the database's ``meta`` table: the poll tick on every
tick, the Discord client while its gateway connection is alive. A clean stop records
when it stopped, so a stopped bot is never reported healthy from its last heartbeats.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from storage import Storage

HEARTBEAT_POLL = "heartbeat.poll"
HEARTBEAT_GATEWAY = "heartbeat.gateway"
STOPPED_AT = "stopped_at"

HEALTH_MAX_AGE = 120.0
"""Seconds: a heartbeat older than this makes the bot unhealthy (ticks come every <= 5 s)."""


async def health_problem(
    storage: Storage, now: datetime, *, max_age: float = HEALTH_MAX_AGE
) -> str | None:
    """Why the bot is unhealthy, in one line, or None when it is healthy.

    The poll heartbeat must be recent; when the bot runs on Discord, the gateway
    heartbeat too; and the bot must not have stopped since.
    """
    stopped = await storage.get_meta(STOPPED_AT)
    if stopped:
        return f"LaunchWatch stopped at {stopped}"
    mode = await storage.get_meta("mode")
    required = [HEARTBEAT_POLL] + ([HEARTBEAT_GATEWAY] if mode == "discord" else [])
    for key in required:
        name = key.split(".", 1)[1]
        value = await storage.get_meta(key)
        if value is None:
            return f"no {name} heartbeat yet"
        try:
            age = now - datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return f"unreadable {name} heartbeat {value[:40]!r}"
        if age > timedelta(seconds=max_age):
            return f"last {name} heartbeat {age.total_seconds():.0f}s ago"
    return None


async def record_start(storage: Storage) -> None:
    """The service is starting: it is no longer stopped."""
    await storage.set_meta(STOPPED_AT, "")


async def record_stop(storage: Storage, now: datetime) -> None:
    """The service stopped cleanly: health checks say so from now on."""
    await storage.set_meta(STOPPED_AT, now.isoformat())
