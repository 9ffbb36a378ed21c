"""The service's start and stop: a stop never cuts a scheduler job off mid-work."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from types import SimpleNamespace

from bot.health import HEARTBEAT_POLL
from bot.runtime import Service


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
        self.outbox = SimpleNamespace()

    async def set_meta(self, key: str, value: str) -> None:
        self.meta[key] = value


async def test_stop_lets_a_running_tick_finish_instead_of_cancelling_it(caplog):
    pipeline = BlockingPipeline()
    storage = MetaStorage()
    settings = SimpleNamespace(poll_interval=60, db="test.db", retention_days=7)
    core = SimpleNamespace(
        settings=settings, storage=storage, pipeline=pipeline, metrics=None, schedule=None
    )
    service = Service(core, [])  # type: ignore[arg-type]
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
    settings = SimpleNamespace(poll_interval=60, db="test.db", retention_days=7)
    core = SimpleNamespace(
        settings=settings, storage=MetaStorage(), pipeline=pipeline, metrics=None,
        schedule=refresher,
    )  # fmt: skip
    service = Service(core, [])  # type: ignore[arg-type]
    service.start()
    await refresher.called.wait()  # the first schedule tick runs at start
    refresher.called.clear()
    await service.schedule_tick()  # the next one fails: logged, not raised
    await service.stop()
    assert len(refresher.calls) == 2
    assert "launch schedule refresh failed" in caplog.text
