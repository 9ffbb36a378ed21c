"""The service's start and stop: a stop never cuts a scheduler job off mid-work."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from types import SimpleNamespace

from bot.health import HEARTBEAT_POLL
from bot.runtime import Service
from handlers.domain import utc_now


class BlockingPipeline:
    """``start_due`` waits until the test lets it go, like a tick held up by the database."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.ticks = 0

    async def start_due(self, now: datetime) -> None:
        self.ticks += 1
        self.entered.set()
        await self.release.wait()

    async def wait_idle(self) -> None:
        return None


class MetaStorage:
    def __init__(self) -> None:
        self.meta: dict[str, str] = {}
        self.outbox = SimpleNamespace(
            plan_reminders=self.no_reminders, next_reminder=self.none_to_come
        )

    async def no_reminders(self, now: datetime) -> int:
        return 0

    async def none_to_come(self, after: datetime) -> datetime | None:
        return None

    async def set_meta(self, key: str, value: str) -> None:
        self.meta[key] = value


def _service(storage=None, pipeline=None, schedule=None) -> Service:
    """A service over stand-ins for the core's parts (what each test needs, else inert)."""
    settings = SimpleNamespace(poll_interval=60, database_label="test.db", retention_days=7)
    core = SimpleNamespace(
        settings=settings, storage=storage or MetaStorage(),
        pipeline=pipeline or BlockingPipeline(), metrics=None, schedule=schedule,
    )  # fmt: skip
    return Service(core, [])  # type: ignore[arg-type]


async def test_stop_lets_a_running_tick_finish_instead_of_cancelling_it(caplog):
    pipeline = BlockingPipeline()
    storage = MetaStorage()
    service = _service(storage, pipeline)
    caplog.set_level(logging.INFO)

    service.start()
    await pipeline.entered.wait()  # the first tick is inside the pipeline now
    stopping = asyncio.create_task(service.stop())
    await asyncio.sleep(0)  # one loop turn: stop() runs up to its first await (no timing)
    assert not stopping.done()
    pipeline.release.set()
    await stopping

    assert HEARTBEAT_POLL in storage.meta, "the tick ran to its end"
    assert pipeline.ticks == 1, "no tick started after the stop"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


class CountingRefresher:
    """Stands in for the schedule refresher: counts the service's calls, fails the second."""

    def __init__(self) -> None:
        self.calls: list[datetime] = []
        self.called = asyncio.Event()

    async def run_due(self, now: datetime) -> None:
        self.calls.append(now)
        self.called.set()
        if len(self.calls) == 2:
            raise RuntimeError("schedule store broke")


async def test_the_service_asks_the_schedule_refresher_and_survives_its_failure(caplog):
    pipeline = BlockingPipeline()
    pipeline.release.set()
    refresher = CountingRefresher()
    service = _service(pipeline=pipeline, schedule=refresher)
    service.start()
    await refresher.called.wait()  # the first schedule tick runs at start
    refresher.called.clear()
    await service.schedule_tick()  # the next one fails: logged, not raised
    await service.stop()
    assert len(refresher.calls) == 2
    assert "launch schedule refresh failed" in caplog.text


async def test_planned_reminders_wake_the_delivery_workers():
    storage = MetaStorage()
    planned: list[datetime] = []

    async def one_reminder(now: datetime) -> int:
        planned.append(now)
        return 1

    storage.outbox.plan_reminders = one_reminder
    service = _service(storage)
    woken: list[bool] = []
    service.wake_workers = lambda: woken.append(True)  # type: ignore[method-assign]
    await service.remind()
    assert len(planned) == 1 and woken == [True]


async def test_the_next_reminder_is_planned_at_its_own_time_not_at_the_next_tick():
    storage = MetaStorage()
    soon = utc_now() + timedelta(seconds=4)

    async def next_reminder(after: datetime) -> datetime | None:
        return soon

    storage.outbox.next_reminder = next_reminder
    service = _service(storage)
    await service.remind()
    job = service._scheduler.get_job("remind-next")
    assert job is not None and job.trigger.run_date == soon
