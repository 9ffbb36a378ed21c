"""The request budget and the refresh policy: never over the hour's allowance, spent near T-0."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from handlers.schedule.budget import HOUR, RequestBudget, refresh_interval
from handlers.schedule.client import SchedulePage, ScheduleThrottled
from handlers.schedule.launches import NetPrecision, ScheduledLaunch, ScheduleStatus
from handlers.schedule.refresh import ScheduleRefresher

T0 = datetime(2030, 6, 10, 0, 0, tzinfo=UTC)


def _launch(net, status=ScheduleStatus.GO, ident="a"):
    return ScheduledLaunch(ident, "Falcon 9 | X", status, net, NetPrecision.MINUTE)


def test_the_budget_is_a_sliding_hour():
    budget = RequestBudget(3)
    sent = [T0, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)]
    now = T0 + timedelta(minutes=30)
    assert budget.next_allowed(sent[:2], now) == now
    assert budget.next_allowed(sent, now) == T0 + HOUR  # the oldest must leave the hour
    assert budget.next_allowed(sent, T0 + HOUR) == T0 + HOUR
    with pytest.raises(ValueError):
        RequestBudget(0)


@pytest.mark.parametrize(
    ("launches", "expected"),
    [
        ([], timedelta(hours=2)),
        ([_launch(T0 + timedelta(days=3))], timedelta(hours=2)),
        ([_launch(T0 + timedelta(hours=20))], timedelta(minutes=30)),
        ([_launch(T0 + timedelta(minutes=40))], timedelta(minutes=5)),
        ([_launch(T0 - timedelta(minutes=20))], timedelta(minutes=5)),  # outcome pending
        ([_launch(T0 + timedelta(days=2), ScheduleStatus.HOLD)], timedelta(minutes=5)),
        ([_launch(T0 - timedelta(minutes=20), ScheduleStatus.SUCCESS)], timedelta(hours=2)),
    ],
)
def test_the_schedule_is_refreshed_more_often_as_a_launch_nears(launches, expected):
    assert refresh_interval(launches, T0) == expected


class MemoryStore:
    """The schedule store's contract in memory (the SQLite one is tested in test_store)."""

    def __init__(self):
        self.launches = {}
        self.log = []  # [at, kind, result]

    async def save(self, launches, now):
        self.launches.update({launch.id: launch for launch in launches})

    async def between(self, start, end):
        return sorted(
            (x for x in self.launches.values() if start <= x.net < end), key=lambda x: x.net
        )

    async def start_request(self, at, kind):
        self.log.append([at, kind, "sent"])
        return len(self.log) - 1

    async def finish_request(self, request, result):
        self.log[request][2] = result

    async def requests_since(self, since):
        return [at for at, _, _ in self.log if at >= since]

    async def last_request(self):
        return (self.log[-1][0], self.log[-1][2]) if self.log else None


class Source:
    def __init__(self, launches, throttle_at=()):
        self.launches = launches
        self.calls = 0
        self.throttle_at = set(throttle_at)

    async def fetch(self, kind, *, limit=50):
        self.calls += 1
        if self.calls in self.throttle_at:
            raise ScheduleThrottled("slow down", retry_after=1800)
        return SchedulePage(kind, list(self.launches), [])


@pytest.mark.parametrize("per_hour", [1, 3, 15])
async def test_a_day_around_a_launch_never_spends_more_than_the_hour_allows(per_hour):
    """Every minute of a day with a launch at noon, a hold at 11:30 and a throttled reply:
    any hour holds at most ``per_hour`` requests, and more are spent near T-0."""
    net = T0 + timedelta(hours=12)
    store = MemoryStore()
    source = Source([_launch(net)], throttle_at={4})
    refresher = ScheduleRefresher(store, source, RequestBudget(per_hour))
    for minute in range(24 * 60):
        now = T0 + timedelta(minutes=minute)
        if now == net - timedelta(minutes=30):
            source.launches = [_launch(net, ScheduleStatus.HOLD)]
        if now == net + timedelta(minutes=10):
            source.launches = [_launch(net, ScheduleStatus.SUCCESS)]
        await refresher.run_due(now)
    times = [at for at, _, _ in store.log]
    assert times, "the schedule was never read"
    for start in times:
        assert sum(start <= t < start + HOUR for t in times) <= per_hour
    by_hour = Counter(t.hour for t in times)
    assert by_hour[11] >= max(by_hour[h] for h in range(6))
    if per_hour >= 3:
        assert by_hour[11] > by_hour[3]


async def test_a_throttled_reply_is_waited_out():
    store = MemoryStore()
    refresher = ScheduleRefresher(store, Source([], throttle_at={1}), RequestBudget(15))
    report = await refresher.run_due(T0)
    assert report is not None and report.error is not None
    assert refresher.blocked_until == T0 + timedelta(seconds=1800)
    assert await refresher.run_due(T0 + timedelta(minutes=29)) is None
    assert (await refresher.run_due(T0 + timedelta(minutes=30))).error is None


async def test_a_request_cut_short_by_a_crash_still_counts():
    store = MemoryStore()
    await store.start_request(T0, "upcoming")  # logged, then the process died
    refresher = ScheduleRefresher(store, Source([]), RequestBudget(1))
    assert await refresher.next_due(T0 + timedelta(minutes=5)) == T0 + HOUR


async def test_after_the_net_the_outcome_is_read_from_the_recent_launches():
    store = MemoryStore()
    source = Source([_launch(T0 + timedelta(minutes=10))])
    refresher = ScheduleRefresher(store, source, RequestBudget(15))
    await refresher.run_due(T0)  # before T-0: upcoming
    kinds = []
    for minute in range(15, 60, 5):
        report = await refresher.run_due(T0 + timedelta(minutes=minute))
        if report is not None:
            kinds.append(report.kind)
    assert store.log[0][1] == "upcoming"
    assert "previous" in kinds and "upcoming" in kinds  # outcome, and the next launches too


async def test_the_schedule_is_read_just_before_a_reminder():
    """Launch more than a day away (a read every 2 h), a 1-day reminder due at 05:00: one
    read at 04:57."""
    reminder = T0 + timedelta(hours=5)

    async def next_reminder(after):
        return reminder if after < reminder else None

    store = MemoryStore()
    source = Source([_launch(T0 + timedelta(days=1, hours=5))])
    refresher = ScheduleRefresher(store, source, RequestBudget(15), next_reminder=next_reminder)
    for minute in range(6 * 60):
        await refresher.run_due(T0 + timedelta(minutes=minute))
    times = [at for at, _, _ in store.log]
    hours = [0, 2 * 60, 4 * 60, 4 * 60 + 57]  # then every 30 min: the launch is a day away
    assert times[:4] == [T0 + timedelta(minutes=m) for m in hours]
