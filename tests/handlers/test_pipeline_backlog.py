"""A backlog of due feeds drains in batches without waiting for ticks, each feed once."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from handlers.fetcher import FeedFetcher
from handlers.matching.matcher import default_matcher
from handlers.parser import parse_feed
from handlers.pipeline import Pipeline, PipelineConfig
from storage import Storage
from tests.feedgen import Item, rss
from tests.feedserver import FeedServer

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ITEMS = [Item("funding", "Satellite startup raises $40 million", "", NOW - timedelta(days=1))]


async def _parse(body, headers, url, feed_id):
    return await asyncio.to_thread(parse_feed, body, headers, feed_url=url, feed_id=feed_id)


class GatedFeeds:
    """The real feed store, with batched "unchanged" writes held until the gate opens."""

    def __init__(self, feeds):
        self._feeds = feeds
        self.gate = asyncio.Event()
        self.gate.set()
        self.arrived = 0  # writes that reached the gate
        self._arrivals = asyncio.Condition()

    async def due(self, now, limit):
        return await self._feeds.due(now, limit)

    async def record_unchanged(self, updates):
        async with self._arrivals:
            self.arrived += 1
            self._arrivals.notify_all()
        await self.gate.wait()
        await self._feeds.record_unchanged(updates)

    async def until_arrived(self, count):
        """Wait until ``count`` writes in all have reached the gate."""
        async with self._arrivals:
            await self._arrivals.wait_for(lambda: self.arrived >= count)

    async def record_failure(self, failure):
        await self._feeds.record_failure(failure)


@pytest.fixture
async def setup(tmp_path):
    async with (
        FeedServer() as server,
        Storage.open(tmp_path / "b.db") as store,
        FeedFetcher.open(version="test", allow_private=True) as fetcher,
    ):
        feeds = GatedFeeds(store.feeds)

        def pipeline(**config):
            return Pipeline(
                feeds=feeds,
                store=store.events,
                fetcher=fetcher,
                parse=_parse,
                matcher=default_matcher(),
                config=PipelineConfig(poll_interval=300, **config),
                rng=random.Random(3),
            )

        yield server, store, feeds, pipeline


async def _add_feeds(server, store, count, *, etag=None):
    for n in range(count):
        server.route(f"/f{n}", body=rss(ITEMS), etag=etag)
        await store.feeds.add(server.url(f"/f{n}"), NOW - timedelta(minutes=1))


async def test_one_tick_drains_a_backlog_larger_than_a_batch(setup):
    server, store, _, make = setup
    await _add_feeds(server, store, 7)
    pipeline = make(max_due_per_tick=2, max_concurrent_polls=1)
    first = await pipeline.start_due(NOW)  # one tick; the rest follows batch by batch
    assert len(first) == 2
    async with asyncio.timeout(60):  # a failure bound: a healthy run takes milliseconds
        while any(server.count(f"/f{n}") == 0 for n in range(7)):
            await asyncio.sleep(0.01)
    await pipeline.wait_idle()
    assert [server.count(f"/f{n}") for n in range(7)] == [1] * 7


async def test_run_due_reports_every_due_feed_once(setup):
    server, store, _, make = setup
    await _add_feeds(server, store, 5)
    reports = await make(max_due_per_tick=2).run_due(NOW)
    assert sorted(r.url for r in reports) == sorted(server.url(f"/f{n}") for n in range(5))
    assert {r.status for r in reports} == {"seeded"}


async def test_concurrent_starts_never_poll_a_feed_twice(setup):
    server, store, _, make = setup
    await _add_feeds(server, store, 6)
    pipeline = make(max_due_per_tick=4)
    await asyncio.gather(pipeline.start_due(NOW), pipeline.start_due(NOW))
    async with asyncio.timeout(60):  # a failure bound: a healthy run takes milliseconds
        while any(server.count(f"/f{n}") == 0 for n in range(6)):
            await asyncio.sleep(0.01)
    await pipeline.wait_idle()
    assert [server.count(f"/f{n}") for n in range(6)] == [1] * 6


async def test_a_304_stays_busy_until_its_next_poll_time_is_stored(setup):
    server, store, feeds, make = setup
    await _add_feeds(server, store, 1, etag='"v1"')
    pipeline = make()
    await pipeline.run_due(NOW)  # seeds the feed and stores its ETag
    later = NOW + timedelta(hours=1)
    [task] = await pipeline.start_due(later)
    assert (await task).status == "not_modified"  # result waiting in the batch
    feeds.gate.clear()  # the batch write is slow...
    arrived = feeds.arrived
    writing = asyncio.create_task(pipeline.start_due(later))
    await feeds.until_arrived(arrived + 1)
    again = asyncio.create_task(pipeline.start_due(later))  # ...and another tick comes
    await feeds.until_arrived(arrived + 2)  # it too is held, at the same write
    feeds.gate.set()
    started = [*await writing, *await again]
    assert started == []
    assert server.count("/f0") == 2  # the seeding poll and one conditional poll
