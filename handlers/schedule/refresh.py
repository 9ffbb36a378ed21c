"""Keep the stored launch schedule fresh within the request budget.

:meth:`ScheduleRefresher.run_due` is called on every scheduler tick. It asks the schedule
only when the stored copy is stale for how close the next launch is
(:func:`handlers.schedule.budget.refresh_interval`), the budget has room, and the service
has not asked us to wait (a 429's ``Retry-After``). Each request is logged *before* it goes
out, so a crash mid-request still counts against the hour. When the schedule is down or the
budget is spent, nothing else stops: the stored launches and the news carry on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from handlers.errors import error_text
from handlers.schedule.budget import AFTER_NET, HOUR, RequestBudget, refresh_interval
from handlers.schedule.client import Kind, ScheduleError, SchedulePage, ScheduleThrottled
from handlers.schedule.launches import ScheduledLaunch

__all__ = ["RefreshReport", "ScheduleRefresher", "ScheduleSource", "ScheduleStore"]

log = logging.getLogger(__name__)

#: How far ahead the stored schedule is read to decide how fresh it must be.
HORIZON = timedelta(days=14)
#: After a failed request, the next try waits this long (or the usual interval if shorter).
RETRY_AFTER_ERROR = timedelta(minutes=10)


OnLaunches = Callable[[list[ScheduledLaunch], datetime], Awaitable[None]]
#: When the next reminder falls due after a time (None: none planned).
NextReminder = Callable[[datetime], Awaitable[datetime | None]]
#: A reminder is preceded by a fresh read of the schedule this long before it.
BEFORE_REMINDER = timedelta(minutes=3)


class ScheduleSource(Protocol):
    """Reads one page of launches (the Launch Library 2 client, or a fake in tests)."""

    async def fetch(self, kind: Kind, *, limit: int = ...) -> SchedulePage: ...


class ScheduleStore(Protocol):
    """Where the schedule and the request log live."""

    async def save(self, launches: Sequence[ScheduledLaunch], now: datetime) -> None: ...

    async def between(self, start: datetime, end: datetime) -> list[ScheduledLaunch]: ...

    async def start_request(self, at: datetime, kind: str) -> int: ...

    async def finish_request(self, request: int, result: str) -> None: ...

    async def requests_since(self, since: datetime) -> list[datetime]: ...

    async def last_request(self) -> tuple[datetime, str] | None: ...


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """What one refresh did."""

    kind: Kind
    saved: int = 0
    skipped: int = 0
    error: str | None = None


class ScheduleRefresher:
    """Decides when to read the schedule, reads it, and stores what it says."""

    def __init__(
        self,
        store: ScheduleStore,
        source: ScheduleSource,
        budget: RequestBudget,
        *,
        on_launches: OnLaunches | None = None,
        next_reminder: NextReminder | None = None,
    ) -> None:
        self._store = store
        self._source = source
        self.budget = budget
        #: Called with each page's launches once stored (links them to launch events).
        self._on_launches = on_launches
        self._next_reminder = next_reminder
        #: A 429 asked us to wait until then (kept in memory; the budget covers restarts).
        self.blocked_until: datetime | None = None

    async def next_due(self, now: datetime) -> datetime:
        """When the next request is worth making and allowed."""
        due, _, _ = await self._due(now)
        return due

    async def _due(self, now: datetime) -> tuple[datetime, list[ScheduledLaunch], int]:
        """When the next request is due, with what it was decided from: the stored launches
        around now and the requests sent in the last hour."""
        launches = await self._store.between(now - AFTER_NET, now + HORIZON)
        last = await self._store.last_request()
        due = now
        if last is not None:
            at, result = last
            wait = refresh_interval(launches, now)
            due = at + (wait if result == "ok" else min(wait, RETRY_AFTER_ERROR))
            if self._next_reminder is not None:
                # One read just before a reminder, so it counts down to the latest NET.
                reminder = await self._next_reminder(at)
                if reminder is not None and at < reminder - BEFORE_REMINDER:
                    due = min(due, reminder - BEFORE_REMINDER)
        sent = await self._store.requests_since(now - HOUR)
        due = max(due, self.budget.next_allowed(sent, now))
        if self.blocked_until is not None:
            due = max(due, self.blocked_until)
        return due, launches, len(sent)

    async def run_due(self, now: datetime) -> RefreshReport | None:
        """Read the schedule if a request is due now; None when nothing was due.

        While a launch whose NET has passed awaits its outcome, every other request reads
        the recent launches (where the outcome appears) instead of the upcoming ones."""
        due, launches, sent = await self._due(now)
        if due > now:
            return None
        kind: Kind = "upcoming"
        if any(launch.status.pending and launch.net < now for launch in launches):
            kind = "previous" if sent % 2 == 0 else "upcoming"
        return await self.refresh(now, kind)

    async def refresh(self, now: datetime, kind: Kind) -> RefreshReport:
        """One request, logged before it goes out; stores the launches it returns."""
        request = await self._store.start_request(now, kind)
        try:
            page = await self._source.fetch(kind)
        except ScheduleThrottled as exc:
            self.blocked_until = now + timedelta(seconds=exc.retry_after)
            await self._store.finish_request(request, "throttled")
            log.warning(
                "launch schedule: rate-limited, next request after %s",
                self.blocked_until.isoformat(timespec="seconds"),
            )
            return RefreshReport(kind, error=error_text(exc))
        except ScheduleError as exc:
            await self._store.finish_request(request, "failed")
            log.warning("launch schedule: %s; alerts from news go on", error_text(exc))
            return RefreshReport(kind, error=error_text(exc))
        await self._store.save(page.launches, now)
        await self._store.finish_request(request, "ok")
        if self._on_launches is not None:
            await self._on_launches(page.launches, now)
        for reason in page.skipped[:5]:
            log.info("launch schedule: skipped %s", reason)
        return RefreshReport(kind, saved=len(page.launches), skipped=len(page.skipped))
