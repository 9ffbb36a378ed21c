"""The schedule's request budget, and when the next refresh is worth a request.

Launch Library 2's free tier allows 15 requests an hour. The budget is a sliding hour over
the times of past requests (kept in the database, so a restart cannot spend it twice); the
policy spends it where it matters: rarely while the next launch is days away, every few
minutes in the hour before a NET and during a hold, and once just before a reminder is due.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.schedule.launches import ScheduledLaunch, ScheduleStatus

__all__ = ["HOUR", "RequestBudget", "refresh_interval"]

HOUR = timedelta(hours=1)

# How stale the stored schedule may get, by how close the next pending launch is.
CALM = timedelta(hours=2)  # the next launch is more than a day away
DAY_BEFORE = timedelta(minutes=30)  # within a day
HOUR_BEFORE = timedelta(minutes=5)  # within the hour, during a hold, or just after T-0
# After a NET passes the launch's outcome is news: keep looking for this long.
AFTER_NET = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class RequestBudget:
    """At most ``per_hour`` requests in any sliding hour."""

    per_hour: int

    def __post_init__(self) -> None:
        if self.per_hour < 1:
            raise ValueError("the schedule needs at least one request an hour")

    def next_allowed(self, sent: Iterable[datetime], now: datetime) -> datetime:
        """The earliest time a request keeps within the budget (``now`` when one may go now)."""
        recent = sorted(t for t in sent if now - t < HOUR)
        if len(recent) < self.per_hour:
            return now
        # The oldest request that must leave the window before one more fits.
        return recent[len(recent) - self.per_hour] + HOUR

    def reserve(self, per_purpose: int) -> int:
        """Requests an hour left for routine refreshes when ``per_purpose`` are kept back
        for refreshes before reminders (at least one routine request)."""
        return max(1, self.per_hour - per_purpose)


def refresh_interval(launches: Sequence[ScheduledLaunch], now: datetime) -> timedelta:
    """How long the stored schedule stays fresh enough, from the launches it holds."""
    interval = CALM
    for launch in launches:
        if launch.status is ScheduleStatus.HOLD or launch.status is ScheduleStatus.IN_FLIGHT:
            return HOUR_BEFORE
        if not launch.status.pending:
            continue
        until = launch.net - now
        if -AFTER_NET <= until <= HOUR:
            return HOUR_BEFORE
        if timedelta(0) < until <= timedelta(days=1):
            interval = min(interval, DAY_BEFORE)
    return interval
