"""Discord scheduled events that follow a launch, for servers that opt in.

A server that turns them on gets one external scheduled event per upcoming launch it was
alerted to, made a few days ahead: its start moves with the launch time, it starts when the
official webcast goes live (or at liftoff), and it ends with the outcome (completed after a
launch, cancelled when a hold outlives its time).

The database holds what each server's event should be and what Discord was last told
(``shown``), so the sync here only sends what changed, and a crash never makes two: the
row says "creating" (committed) before the create request goes out, and the next try looks
for the event it may have made (by the marker at the end of its description) before
making one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any, Protocol

from handlers.domain import LaunchEvent, LaunchStatus, utc_now
from handlers.errors import error_text
from handlers.ports import PublishOutcome, PublishResult
from handlers.schedule.launches import ScheduledLaunch
from handlers.schedule.linking import scheduled_id

__all__ = [
    "EventPlan",
    "GuildEventRow",
    "GuildEventSync",
    "ScheduledEventStatus",
    "marker",
    "plan_event",
]

log = logging.getLogger(__name__)

#: Launches this close get a scheduled event (Discord lists them; further out is noise).
HORIZON = timedelta(days=3)
#: LaunchWatch's own events per server at most (Discord allows 100 of every kind).
MAX_PER_GUILD = 50
#: An event is made or moved only to a start at least this far ahead (Discord refuses
#: starts in the past).
MIN_LEAD = timedelta(minutes=1)
#: How long an event lasts when the schedule gives no window.
DEFAULT_LENGTH = timedelta(hours=1)
#: A launch on hold this long past its time without a new one: its event is cancelled.
STALE_HOLD = timedelta(hours=12)
NAME_MAX = 100
LOCATION_MAX = 100
DESCRIPTION_MAX = 1000


class ScheduledEventStatus(IntEnum):
    """Discord's scheduled event statuses."""

    SCHEDULED = 1
    ACTIVE = 2
    COMPLETED = 3
    CANCELED = 4

    @property
    def final(self) -> bool:
        return self in (ScheduledEventStatus.COMPLETED, ScheduledEventStatus.CANCELED)


@dataclass(frozen=True, slots=True)
class EventPlan:
    """What a server's scheduled event for one launch should show."""

    name: str
    description: str
    location: str
    start: datetime
    end: datetime
    status: ScheduledEventStatus

    def shown(self) -> dict[str, Any]:
        """The plan as stored after Discord accepted it."""
        return {
            "name": self.name,
            "description": self.description,
            "location": self.location,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "status": int(self.status),
        }


@dataclass(frozen=True, slots=True)
class GuildEventRow:
    """One server's scheduled event for one launch event, as stored."""

    guild_id: int
    event_id: int
    discord_id: int | None
    creating: bool
    shown: Mapping[str, Any]
    attempts: int


def marker(event_id: int) -> str:
    """The last line of every description LaunchWatch writes: how it finds its own event
    again after a crash between creating it and storing its id."""
    return f"LaunchWatch launch #{event_id}"


def plan_event(event: LaunchEvent, launch: ScheduledLaunch | None, now: datetime) -> EventPlan:
    """The scheduled event for ``event`` (which has an exact launch time) as of ``now``."""
    assert event.launch_time is not None
    start = event.launch_time
    end = start + DEFAULT_LENGTH
    if launch is not None and launch.window_end is not None and launch.window_end > start:
        end = max(end, launch.window_end)
    webcast = launch.webcasts[0] if launch is not None and launch.webcasts else None
    return EventPlan(
        name=_clip(event.name, NAME_MAX),
        description=_description(event, launch, webcast),
        location=_location(event, launch, webcast),
        start=start,
        end=end,
        status=_status(event, launch, now),
    )


def _status(
    event: LaunchEvent, launch: ScheduledLaunch | None, now: datetime
) -> ScheduledEventStatus:
    if event.status.is_outcome:
        return ScheduledEventStatus.COMPLETED
    if event.phase == "In Flight" or (launch is not None and launch.webcast_live):
        return ScheduledEventStatus.ACTIVE
    assert event.launch_time is not None
    if event.status is LaunchStatus.SCRUBBED and event.launch_time + STALE_HOLD < now:
        return ScheduledEventStatus.CANCELED
    return ScheduledEventStatus.SCHEDULED


def _location(event: LaunchEvent, launch: ScheduledLaunch | None, webcast: str | None) -> str:
    """The webcast when it fits (Discord shows a link), else the pad, else the site."""
    if webcast and len(webcast) <= LOCATION_MAX:
        return webcast
    place = None
    if launch is not None:
        place = ", ".join(p for p in (launch.pad, launch.location) if p) or None
    return _clip(place or event.site or "Launch site to be announced", LOCATION_MAX)


def _description(event: LaunchEvent, launch: ScheduledLaunch | None, webcast: str | None) -> str:
    lines = []
    if launch is not None:
        lines.append(f"Schedule status: {launch.status.value}")
        if launch.window_start and launch.window_end and launch.window_end > launch.window_start:
            lines.append(
                f"Window: {launch.window_start:%Y-%m-%d %H:%M}–{launch.window_end:%H:%M} UTC"
            )
        if launch.probability is not None:
            lines.append(f"Launch weather probability: {launch.probability} %")
        if launch.pad:
            lines.append(f"Pad: {launch.pad}")
    elif event.site:
        lines.append(f"Site: {event.site}")
    if webcast:
        lines.append(f"Webcast: {webcast}")
    tail = marker(event.id)
    body = _clip("\n".join(lines), DESCRIPTION_MAX - len(tail) - 2)
    return f"{body}\n\n{tail}" if body else tail


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split()) if "\n" not in text else text
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class ScheduledEvents(Protocol):
    """Discord's scheduled events for the bot (``bot.guild_events``; a fake in tests).

    Every method answers with a :class:`PublishResult` (``message_id``: the scheduled
    event's id), never an exception for a per-server problem: GONE when the bot may not
    manage events there or the server is gone, REJECTED when Discord refuses the request
    (``error`` says why), RETRY/POSTPONED as for messages."""

    async def create(self, guild_id: int, plan: EventPlan) -> PublishResult: ...

    async def update(
        self, guild_id: int, discord_id: int, changes: Mapping[str, Any]
    ) -> PublishResult: ...

    async def find(self, guild_id: int, marker: str) -> PublishResult: ...


class GuildEventStore(Protocol):
    """Where the servers' choices and their scheduled events are kept."""

    async def plan(self, now: datetime, horizon: timedelta, cap: int) -> int: ...

    async def due(self, now: datetime, limit: int) -> list[GuildEventRow]: ...

    async def mark_creating(self, row: GuildEventRow, now: datetime) -> None: ...

    async def record(
        self, row: GuildEventRow, discord_id: int, shown: Mapping[str, Any], now: datetime
    ) -> None: ...

    async def fail(self, row: GuildEventRow, result: PublishResult, now: datetime) -> None: ...

    async def end(self, row: GuildEventRow, reason: str | None) -> None: ...

    async def set_problem(self, guild_id: int, reason: str, now: datetime) -> None: ...


EventLoader = Callable[[Sequence[int]], Any]
LaunchLoader = Callable[[str], Any]


class GuildEventSync:
    """Brings each opted-in server's scheduled events in line with its launches."""

    def __init__(
        self,
        store: GuildEventStore,
        load_events: EventLoader,
        load_launch: LaunchLoader,
        discord: ScheduledEvents,
        *,
        clock: Callable[[], datetime] = utc_now,
        batch: int = 200,
    ) -> None:
        self._store = store
        self._load_events = load_events
        self._load_launch = load_launch
        self._discord = discord
        self._clock = clock
        self._batch = batch

    async def run_once(self) -> int:
        """Plan new events, then sync every row due; returns how many requests went out."""
        now = self._clock()
        await self._store.plan(now, HORIZON, MAX_PER_GUILD)
        rows = await self._store.due(now, self._batch)
        if not rows:
            return 0
        events: Mapping[int, LaunchEvent] = await self._load_events([r.event_id for r in rows])
        sent = 0
        paused: set[int] = set()
        for row in rows:
            if row.guild_id in paused:
                continue
            event = events.get(row.event_id)
            if event is None or event.launch_time is None or event.launch_day_only:
                await self._store.end(row, "the launch no longer has an exact time")
                continue
            sid = scheduled_id(event)
            launch = await self._load_launch(sid) if sid else None
            try:
                result = await self._sync(row, event, launch, now)
            except Exception as exc:  # one server's trouble never stops the others
                log.exception("scheduled event for launch %d in %d failed", event.id, row.guild_id)
                result = PublishResult(PublishOutcome.RETRY, error=error_text(exc))
            if result is None:
                continue
            sent += 1
            if result.outcome is PublishOutcome.GONE:
                paused.add(row.guild_id)
                await self._store.set_problem(
                    row.guild_id, result.error or "the server is gone", now
                )
                log.warning("scheduled events paused in server %d: %s", row.guild_id, result.error)
            elif result.outcome is not PublishOutcome.SENT:
                await self._store.fail(row, result, now)
        return sent

    async def _sync(
        self,
        row: GuildEventRow,
        event: LaunchEvent,
        launch: ScheduledLaunch | None,
        now: datetime,
    ) -> PublishResult | None:
        """One step towards the plan; None when there is nothing to do."""
        plan = plan_event(event, launch, now)
        if row.discord_id is None:
            return await self._make(row, plan, now)
        shown = dict(row.shown)
        result = None
        # Two steps at most: a launch that ended unseen is started, then completed.
        for _ in range(2):
            current = ScheduledEventStatus(shown.get("status", 1))
            changes = _changes(shown, plan, now)
            status = _next_status(current, plan.status)
            if status is not None:
                changes["status"] = status
            if not changes:
                break
            result = await self._discord.update(row.guild_id, row.discord_id, changes)
            if result.outcome is not PublishOutcome.SENT:
                if result.outcome is PublishOutcome.REJECTED and "Unknown" in (result.error or ""):
                    await self._store.end(row, "the scheduled event was deleted in Discord")
                    return None
                return result
            shown.update({k: _stored(v) for k, v in changes.items()})
            await self._store.record(row, row.discord_id, shown, now)
        if ScheduledEventStatus(shown.get("status", 1)).final:
            await self._store.end(row, None)
        return result

    async def _make(
        self, row: GuildEventRow, plan: EventPlan, now: datetime
    ) -> PublishResult | None:
        if row.creating:
            # A create may have gone out before a crash: adopt that event if it exists.
            found = await self._discord.find(row.guild_id, marker(row.event_id))
            if found.outcome is not PublishOutcome.SENT:
                return found
            if found.message_id is not None:
                await self._store.record(row, found.message_id, {}, now)
                return found
        if plan.status.final:
            await self._store.end(row, None)
            return None
        if plan.status is not ScheduledEventStatus.SCHEDULED or plan.start < now + MIN_LEAD:
            return None  # too late to announce; a slip may still bring it back
        await self._store.mark_creating(row, now)
        result = await self._discord.create(row.guild_id, plan)
        if result.outcome is PublishOutcome.SENT and result.message_id is not None:
            await self._store.record(row, result.message_id, plan.shown(), now)
        return result


_FIELDS = ("name", "description", "location")


def _changes(shown: Mapping[str, Any], plan: EventPlan, now: datetime) -> dict[str, Any]:
    """The fields that differ from what Discord shows, as the update sends them."""
    changes: dict[str, Any] = {
        name: getattr(plan, name) for name in _FIELDS if shown.get(name) != getattr(plan, name)
    }
    status = ScheduledEventStatus(shown.get("status", 1))
    if status is ScheduledEventStatus.SCHEDULED and plan.status is ScheduledEventStatus.SCHEDULED:
        moved = shown.get("start") != plan.start.isoformat()
        if moved and plan.start >= now + MIN_LEAD:
            changes["start"] = plan.start
            changes["end"] = plan.end
        elif shown.get("end") != plan.end.isoformat() and not moved:
            changes["end"] = plan.end
    return changes


def _next_status(
    shown: ScheduledEventStatus, wanted: ScheduledEventStatus
) -> ScheduledEventStatus | None:
    """The one status step Discord allows from ``shown`` towards ``wanted``: scheduled to
    active or cancelled, active to completed; a launch that ended unseen starts first."""
    if shown == wanted or shown.final:
        return None
    if shown is ScheduledEventStatus.SCHEDULED:
        if wanted is ScheduledEventStatus.CANCELED:
            return wanted
        return ScheduledEventStatus.ACTIVE
    if shown is ScheduledEventStatus.ACTIVE and wanted.final:
        return ScheduledEventStatus.COMPLETED
    return None


def _stored(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, ScheduledEventStatus):
        return int(value)
    return value
