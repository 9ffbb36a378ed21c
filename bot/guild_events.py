"""Discord scheduled events over discord.py's REST client (the port of
:mod:`handlers.guild_events`).

Every answer becomes a :class:`PublishResult`, as for messages: a missing Manage Events
permission or a server the bot left is GONE (the sync pauses that server instead of asking
again), a full server (Discord's 100 events) is POSTPONED for an hour, 429s wait as asked,
5xx and network errors are retried with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import discord

from bot.publisher import paced_call
from bot.ratelimit import RequestPacer
from handlers.guild_events import EventPlan
from handlers.ports import PublishOutcome, PublishResult

log = logging.getLogger(__name__)

ENTITY_EXTERNAL = 3
PRIVACY_GUILD_ONLY = 2
UNKNOWN_GUILD = 10004
UNKNOWN_SCHEDULED_EVENT = 10070
MISSING_ACCESS = 50001
MAX_SCHEDULED_EVENTS = 30038
FULL_WAIT = 3600.0
REQUEST_TIMEOUT = 30.0

NEEDS_MANAGE_EVENTS = (
    "missing permission: Manage Events (LaunchWatch cannot create or edit scheduled events"
    " in this server; grant it, then run /scheduled-events enabled:True again)"
)


def _when(value: datetime) -> str:
    return value.isoformat()


def _payload(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The sync's field names as Discord's."""
    names = {"start": "scheduled_start_time", "end": "scheduled_end_time"}
    payload: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "location":
            payload["entity_metadata"] = {"location": value}
        elif name in names:
            payload[names[name]] = _when(value)
        elif name == "status":
            payload["status"] = int(value)
        else:
            payload[name] = value
    return payload


class DiscordScheduledEvents:
    """Creates, edits and finds the bot's scheduled events."""

    def __init__(
        self, client: discord.Client, pacer: RequestPacer, *, timeout: float = REQUEST_TIMEOUT
    ) -> None:
        self._client = client
        self._pacer = pacer
        self._timeout = timeout

    async def create(self, guild_id: int, plan: EventPlan) -> PublishResult:
        payload: dict[str, Any] = {
            "name": plan.name,
            "description": plan.description,
            "privacy_level": PRIVACY_GUILD_ONLY,
            "entity_type": ENTITY_EXTERNAL,
            "entity_metadata": {"location": plan.location},
            "scheduled_start_time": _when(plan.start),
            "scheduled_end_time": _when(plan.end),
        }
        return await self._call(
            lambda: self._client.http.create_guild_scheduled_event(guild_id, **payload)
        )

    async def update(
        self, guild_id: int, discord_id: int, changes: Mapping[str, Any]
    ) -> PublishResult:
        payload = _payload(changes)
        return await self._call(
            lambda: self._client.http.edit_scheduled_event(guild_id, discord_id, **payload)
        )

    async def find(self, guild_id: int, marker: str) -> PublishResult:
        """SENT with the id of the bot's event whose description ends with ``marker`` (None
        when there is none)."""
        me = self._client.user.id if self._client.user else None
        found: list[int] = []

        async def look() -> Any:
            events = await self._client.http.get_scheduled_events(guild_id, False)
            found.extend(
                int(e["id"])
                for e in events
                if (e.get("description") or "").endswith(marker)
                and (me is None or str(e.get("creator_id")) == str(me))
            )
            return {"id": found[0]} if found else {}

        result = await self._call(look)
        if result.outcome is PublishOutcome.SENT:
            return PublishResult(PublishOutcome.SENT, message_id=found[0] if found else None)
        return result

    async def _call(self, request: Callable[[], Awaitable[Any]]) -> PublishResult:
        async def made() -> int | None:
            data = await request()
            return int(data["id"]) if isinstance(data, dict) and data.get("id") else None

        return await paced_call(self._pacer, self._timeout, made, _failure)


def _failure(exc: discord.HTTPException) -> PublishResult:
    if isinstance(exc, discord.Forbidden):
        if exc.code == MISSING_ACCESS:
            return PublishResult(PublishOutcome.GONE, error="the bot is no longer in the server")
        return PublishResult(PublishOutcome.GONE, error=NEEDS_MANAGE_EVENTS)
    if isinstance(exc, discord.NotFound):
        if exc.code == UNKNOWN_SCHEDULED_EVENT:
            return PublishResult(PublishOutcome.REJECTED, error="Unknown scheduled event")
        return PublishResult(PublishOutcome.GONE, error="the server no longer exists")
    if exc.code == MAX_SCHEDULED_EVENTS:
        return PublishResult(
            PublishOutcome.POSTPONED,
            retry_after=FULL_WAIT,
            error="the server has Discord's maximum of 100 scheduled events",
        )
    log.error("Discord rejected a scheduled event: %s %s", exc.status, exc.text[:500])
    return PublishResult(
        PublishOutcome.REJECTED,
        error=f"Discord rejected the scheduled event ({exc.status}): {exc.text[:300]}",
    )
