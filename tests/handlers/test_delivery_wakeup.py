"""A job written while the worker is busy is delivered at once, not after the idle wait."""

from __future__ import annotations

import asyncio

from handlers.delivery import DeliveryWorker
from handlers.domain import DeliveryJob, LaunchStatus
from handlers.events import resolve
from handlers.ports import PublishOutcome, PublishResult
from storage import Storage
from tests.builders import T0, article, mention, subscribe_everything


async def _report(store, feed_id, key):
    async with store.events.ingest() as tx:
        m = mention(LaunchStatus.LAUNCHED, key=key, mission=key)
        change = resolve(m, article(key), await tx.event_candidates(m.event_key, 0), T0)
        event = await tx.save_event(change, 0, feed_id, T0)
        await tx.enqueue_deliveries(event, change, 0, T0)


async def test_wake_during_a_drain_is_not_lost(tmp_path):
    async with Storage.open(tmp_path / "w.db") as store:
        feed, _ = await store.feeds.add("https://news.example/feed", T0)
        await subscribe_everything(store, 100, T0)
        sent: list[DeliveryJob] = []
        second_sent = asyncio.Event()
        worker: DeliveryWorker

        class Publisher:
            target = "discord"

            async def publish(self, job: DeliveryJob) -> PublishResult:
                sent.append(job)
                if len(sent) == 1:
                    # The pipeline commits another alert while this one is being sent.
                    await _report(store, feed.id, "second launch")
                    worker.wake()
                else:
                    second_sent.set()
                return PublishResult(PublishOutcome.SENT, message_id=len(sent))

        # Without the wake-up the worker would sleep an hour: only a lost wake-up runs into
        # the failure bound below.
        worker = DeliveryWorker(store.outbox, Publisher(), clock=lambda: T0, idle_wait=3600)
        await _report(store, feed.id, "first launch")
        running = asyncio.create_task(worker.run())
        try:
            await asyncio.wait_for(second_sent.wait(), 90)
        finally:
            worker.stop()
            await running
        assert [job.event.mission for job in sent] == ["first launch", "second launch"]
