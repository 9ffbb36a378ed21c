"""The stored schedule and its request log, in a real SQLite file, across restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.schedule.budget import RequestBudget
from handlers.schedule.client import ScheduleClient
from handlers.schedule.launches import NetPrecision, ScheduledLaunch, ScheduleStatus
from handlers.schedule.refresh import ScheduleRefresher
from storage import Storage
from tests.fakeschedule import FakeSchedule, ll2_launch

T0 = datetime(2030, 6, 10, 12, 0, tzinfo=UTC)


async def test_launches_round_trip_and_a_newer_read_replaces_an_older_one(store):
    launch = ScheduledLaunch(
        "a", "Electron | X", ScheduleStatus.TBC, T0 + timedelta(days=1), NetPrecision.HOUR,
        window_start=T0 + timedelta(days=1), vehicle="Electron", crewed=False, probability=70,
        webcasts=("https://v.example/1",),
    )  # fmt: skip
    await store.schedule.save([launch], T0)
    assert await store.schedule.between(T0, T0 + timedelta(days=2)) == [launch]
    go = ScheduledLaunch("a", "Electron | X", ScheduleStatus.GO, T0 + timedelta(days=3),
                         NetPrecision.MINUTE)  # fmt: skip
    await store.schedule.save([go], T0 + timedelta(hours=1))
    assert await store.schedule.between(T0, T0 + timedelta(days=2)) == []
    assert await store.schedule.between(T0, T0 + timedelta(days=4)) == [go]


async def test_the_budget_survives_a_restart(tmp_path):
    """Requests logged before a restart still count in the hour after it."""
    path = tmp_path / "lw.db"
    async with FakeSchedule(per_hour=100) as ll2:
        ll2.upcoming = [ll2_launch("a", net=T0 + timedelta(minutes=30))]
        for restart in range(2):
            async with (
                Storage.open(path) as store,
                ScheduleClient.open(ll2.base_url, version="t") as client,
            ):
                refresher = ScheduleRefresher(store.schedule, client, RequestBudget(3))
                for minute in range(0, 30, 5):  # a launch within the hour: every 5 min
                    await refresher.run_due(T0 + timedelta(minutes=30 * restart + minute))
        assert len(ll2.requests) == 3  # 3 an hour, whatever the restarts
        async with Storage.open(path) as store:
            assert await store.schedule.last_success() is not None
            [kept] = await store.schedule.between(T0, T0 + timedelta(hours=1))
            assert kept.id == "a"


async def test_an_outage_keeps_the_stored_schedule(store):
    async with FakeSchedule() as ll2:
        ll2.upcoming = [ll2_launch("a", net=T0 + timedelta(hours=5))]
        async with ScheduleClient.open(ll2.base_url, version="t") as client:
            refresher = ScheduleRefresher(store.schedule, client, RequestBudget(15))
            assert (await refresher.run_due(T0)).saved == 1
            ll2.down = True
            report = await refresher.run_due(T0 + timedelta(hours=3))
    assert report is not None and "503" in report.error
    assert [x.id for x in await store.schedule.between(T0, T0 + timedelta(days=1))] == ["a"]
    assert await store.schedule.last_success() == T0
