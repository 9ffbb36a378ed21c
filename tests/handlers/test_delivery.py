"""The delivery worker drains the outbox in order, retries, and never repeats a post."""

from __future__ import annotations

import io
from datetime import timedelta

from handlers.console import ConsolePublisher
from handlers.delivery import DeliveryWorker
from handlers.domain import DeliveryKind, LaunchStatus, SubscriptionFilter
from handlers.events import resolve
from handlers.ports import PublishOutcome, PublishResult
from storage import Storage
from tests.builders import T0, article, mention
from tests.fakes import FakePublisher


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


async def _setup(database_target, channels=(100,), target="discord"):
    storage_cm = Storage.open(database_target)
    store = await storage_cm.__aenter__()
    feed, _ = await store.feeds.add("https://news.example/feed", T0)
    for ch in channels:
        await store.subscriptions.upsert(
            target=target,
            guild_id=1,
            channel_id=ch,
            filters=SubscriptionFilter(),
            role_id=None,
            created_by=None,
            now=T0,
        )
    return storage_cm, store, feed


async def _report(store, feed, status, key, at):
    async with store.events.ingest() as tx:
        m = mention(status)
        change = resolve(
            m, article(key, published=at), await tx.event_candidates(m.event_key, 0), at
        )
        event = await tx.save_event(change, 0, feed.id, at)
        await tx.enqueue_deliveries(event, change, 0, at)


async def test_post_then_edit_then_followup_in_order(database_target):
    cm, store, feed = await _setup(database_target, channels=(100, 200))
    try:
        publisher = FakePublisher()
        clock = Clock(T0)
        worker = DeliveryWorker(store.outbox, publisher, clock=clock)
        await _report(store, feed, LaunchStatus.UPCOMING, "a", T0)
        assert await worker.drain_once() == 2
        clock.now = T0 + timedelta(hours=1)
        await _report(store, feed, LaunchStatus.LAUNCHED, "b", clock.now)
        await worker.drain_once()
        kinds = [(j.subscription.channel_id, j.kind) for j in publisher.sent]
        for ch in (100, 200):
            mine = [k for c, k in kinds if c == ch]
            assert mine == [
                DeliveryKind.POST,
                DeliveryKind.EDIT,
                DeliveryKind.FOLLOWUP,
            ] or mine == [DeliveryKind.POST, DeliveryKind.FOLLOWUP, DeliveryKind.EDIT]
        assert await worker.drain_once() == 0  # nothing is ever delivered twice
    finally:
        await cm.__aexit__(None, None, None)


async def test_retry_after_is_respected_then_delivered(database_target):
    cm, store, feed = await _setup(database_target)
    try:
        publisher = FakePublisher(
            script={100: [PublishResult(PublishOutcome.RETRY, retry_after=10, error="503")]}
        )
        clock = Clock(T0)
        worker = DeliveryWorker(store.outbox, publisher, clock=clock)
        await _report(store, feed, LaunchStatus.UPCOMING, "a", T0)
        await worker.drain_once()
        assert publisher.sent == []
        clock.now = T0 + timedelta(seconds=5)
        await worker.drain_once()
        assert publisher.sent == []
        clock.now = T0 + timedelta(seconds=11)
        await worker.drain_once()
        assert [j.kind for j in publisher.sent] == [DeliveryKind.POST]
    finally:
        await cm.__aexit__(None, None, None)


async def test_publisher_crash_is_retried_not_lost(database_target):
    cm, store, feed = await _setup(database_target)
    try:

        class Exploding(FakePublisher):
            calls = 0

            async def publish(self, job):
                self.calls += 1
                if self.calls == 1:
                    raise RuntimeError("boom")
                return await super().publish(job)

        publisher = Exploding()
        clock = Clock(T0)
        worker = DeliveryWorker(store.outbox, publisher, clock=clock)
        await _report(store, feed, LaunchStatus.UPCOMING, "a", T0)
        await worker.drain_once()
        clock.now = T0 + timedelta(minutes=5)
        await worker.drain_once()
        assert len(publisher.sent) == 1
    finally:
        await cm.__aexit__(None, None, None)


async def test_console_publisher_prints_a_readable_block_once(database_target):
    cm, store, feed = await _setup(database_target, target="console", channels=(0,))
    try:
        out = io.StringIO()
        worker = DeliveryWorker(store.outbox, ConsolePublisher(out), clock=Clock(T0))
        await _report(store, feed, LaunchStatus.LAUNCHED, "a", T0)
        await worker.drain_once()
        await _report(store, feed, LaunchStatus.LAUNCHED, "b", T0 + timedelta(hours=1))
        worker._clock = Clock(T0 + timedelta(hours=1))
        await worker.drain_once()
        text = out.getvalue()
        assert text.count("[LAUNCHED] Soyuz-2.1a | Soyuz MS-28") == 1
        assert "Site: Baikonur Cosmodrome" in text and "https://news.example/a" in text
    finally:
        await cm.__aexit__(None, None, None)
