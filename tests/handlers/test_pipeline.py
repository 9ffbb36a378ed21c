"""The whole pipeline against feeds served from 127.0.0.1 and a real SQLite file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from handlers.domain import DeliveryKind, LaunchStatus
from handlers.fetcher import FeedFetcher
from handlers.pipeline import PipelineConfig
from storage import Storage
from tests.builders import real_pipeline, subscribe_everything
from tests.feedgen import Item, rss
from tests.feedserver import FeedServer

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SOYUZ = Item(
    "soyuz-ms-29",
    "Soyuz MS-29 blasts off from Baikonur with three crew members bound for the ISS",
    "A Soyuz-2.1a rocket lifted off from Site 31 carrying two Roscosmos cosmonauts and a NASA"
    " astronaut.",
    NOW - timedelta(hours=1),
)
SOYUZ_OTHER_SITE = Item(
    "other-soyuz",
    "Russian Soyuz rocket launches Soyuz MS-29 crew toward the space station",
    "Liftoff from the Baikonur Cosmodrome in Kazakhstan.",
    NOW - timedelta(minutes=30),
)
BACKGROUND = [
    Item("funding", "Satellite startup raises $40 million", "", NOW - timedelta(days=1)),
    Item("policy", "Agency budget hearing scheduled", "", NOW - timedelta(days=2)),
]


@pytest.fixture
async def world(database_target):
    async with (
        FeedServer() as server,
        Storage.open(database_target) as store,
        FeedFetcher.open(version="test", allow_private=True) as fetcher,
    ):
        await subscribe_everything(store, 10, NOW)
        pipeline = real_pipeline(store, fetcher, PipelineConfig(poll_interval=60), seed=7)
        yield server, store, pipeline


async def _add(server, store, path, items):
    server.route(path, body=rss(items))
    feed, _ = await store.feeds.add(server.url(path), NOW - timedelta(hours=1))
    return feed


async def _jobs(store, at):
    return await store.outbox.claim("discord", at, 100)


async def test_first_poll_is_silent_then_one_alert_per_launch(world):
    server, store, pipeline = world
    await _add(server, store, "/a", [*BACKGROUND, SOYUZ])
    [report] = await pipeline.run_due(NOW)
    assert report.status == "seeded" and report.new == 3 and report.deliveries == 0
    assert await _jobs(store, NOW) == []


async def test_new_launch_article_alerts_exactly_once_with_the_right_facts(world):
    server, store, pipeline = world
    feed_a = await _add(server, store, "/a", BACKGROUND)
    feed_b = await _add(server, store, "/b", BACKGROUND[:1])
    await pipeline.run_due(NOW)  # seeds both

    server.route("/a", body=rss([SOYUZ, *BACKGROUND]))
    t1 = NOW + timedelta(minutes=2)
    reports = {r.feed_id: r for r in await pipeline.run_due(t1)}
    assert reports[feed_a.id].events_created == 1 and reports[feed_a.id].deliveries == 1
    [job] = await _jobs(store, t1)
    event = job.event
    assert job.kind is DeliveryKind.POST
    assert (event.status, event.vehicle, event.mission, event.site, event.crewed) == (
        LaunchStatus.LAUNCHED,
        "Soyuz-2.1a",
        "Soyuz MS-29",
        "Baikonur Cosmodrome",
        True,
    )
    assert "Roscosmos" in event.agencies
    from handlers.ports import PublishOutcome, PublishResult

    await store.outbox.complete(job, PublishResult(PublishOutcome.SENT, message_id=1), t1)

    # A second site reports the same launch: no second alert, the event gains a source.
    server.route("/b", body=rss([SOYUZ_OTHER_SITE, *BACKGROUND[:1]]))
    t2 = NOW + timedelta(minutes=4)
    reports = {r.feed_id: r for r in await pipeline.run_due(t2)}
    assert reports[feed_b.id].events_created == 0 and reports[feed_b.id].events_updated == 1
    [edit] = await _jobs(store, t2)
    assert edit.kind is DeliveryKind.EDIT and len(edit.event.sources) == 2

    # The publisher re-dates and re-orders every item: nothing new.
    redated = [
        Item(i.guid, i.title, i.summary, NOW + timedelta(minutes=5))
        for i in reversed([SOYUZ, *BACKGROUND])
    ]
    server.route("/a", body=rss(redated))
    t3 = NOW + timedelta(minutes=6)
    reports = {r.feed_id: r for r in await pipeline.run_due(t3)}
    assert reports[feed_a.id].new == 0 and reports[feed_a.id].deliveries == 0
    assert await store.events.count() == 1


async def test_restart_repeats_nothing(tmp_path):
    db = tmp_path / "restart.db"
    async with FeedServer() as server:
        server.route("/a", body=rss(BACKGROUND))
        for round_ in range(3):
            async with (
                Storage.open(db) as store,
                FeedFetcher.open(version="test", allow_private=True) as fetcher,
            ):
                if round_ == 0:
                    await store.feeds.add(server.url("/a"), NOW)
                    await subscribe_everything(store, 10, NOW)
                pipeline = real_pipeline(store, fetcher, PipelineConfig(poll_interval=1))
                at = NOW + timedelta(minutes=round_ * 10)
                reports = await pipeline.run_due(at)
                if round_ == 0:
                    server.route("/a", body=rss([SOYUZ, *BACKGROUND]))
                elif round_ == 1:
                    assert reports[0].deliveries == 1
                else:
                    assert reports[0].new == 0 and reports[0].deliveries == 0
                posts = await store.db.fetchall("SELECT COUNT(*) FROM outbox WHERE kind='post'")
                assert posts[0][0] == (0 if round_ == 0 else 1)


async def test_old_articles_do_not_alert_but_undated_new_ones_do(world):
    server, store, pipeline = world
    await _add(server, store, "/a", BACKGROUND)
    await pipeline.run_due(NOW)
    old = Item("old", SOYUZ.title, SOYUZ.summary, NOW - timedelta(days=5))
    server.route("/a", body=rss([old, *BACKGROUND]))
    [report] = await pipeline.run_due(NOW + timedelta(minutes=2))
    assert report.new == 1 and report.matched == 0
    undated = Item("undated", "Falcon 9 to launch Starlink 10-20 from Cape Canaveral on Tuesday")
    server.route("/a", body=rss([undated, old, *BACKGROUND]))
    [report] = await pipeline.run_due(NOW + timedelta(minutes=4))
    assert report.matched == 1 and report.deliveries == 1


async def test_conditional_get_and_unchanged_body_skip_parsing(world):
    server, store, pipeline = world
    server.route("/c", body=rss(BACKGROUND), etag='"v1"')
    feed, _ = await store.feeds.add(server.url("/c"), NOW)
    await pipeline.run_due(NOW)
    assert (await store.feeds.get(feed.id)).etag == '"v1"'
    [report] = await pipeline.run_due(NOW + timedelta(hours=1))
    assert report.status == "not_modified"
    assert server.last("/c").headers.get("If-None-Match") == '"v1"'
    server.route("/d", body=rss(BACKGROUND))
    feed_d, _ = await store.feeds.add(server.url("/d"), NOW)
    await pipeline.run_due(NOW + timedelta(hours=2))
    reports = {r.feed_id: r for r in await pipeline.run_due(NOW + timedelta(hours=3))}
    assert reports[feed_d.id].status == "unchanged"
    polled = await store.feeds.get(feed_d.id)
    assert polled.last_success_at == NOW + timedelta(hours=3)
    assert polled.next_poll_at > NOW + timedelta(hours=3)


async def test_failures_back_off_honour_retry_after_and_disable(world):
    server, store, pipeline = world
    server.route("/busy", status=429, headers={"Retry-After": "3600"})
    busy, _ = await store.feeds.add(server.url("/busy"), NOW)
    server.route("/gone", status=410)
    gone, _ = await store.feeds.add(server.url("/gone"), NOW)
    server.route("/err", status=500)
    err, _ = await store.feeds.add(server.url("/err"), NOW)
    server.route("/ok", body=rss(BACKGROUND))
    ok, _ = await store.feeds.add(server.url("/ok"), NOW)

    reports = {r.feed_id: r for r in await pipeline.run_due(NOW)}
    assert reports[ok.id].status == "seeded"  # one bad feed never stops the others
    assert reports[busy.id].status == "error"
    assert (await store.feeds.get(busy.id)).next_poll_at >= NOW + timedelta(seconds=3600)
    assert not (await store.feeds.get(gone.id)).enabled
    now = NOW
    for _ in range(pipeline.config.max_failures + 1):
        now += timedelta(hours=7)
        await pipeline.run_due(now)
    failing = await store.feeds.get(err.id)
    assert not failing.enabled and "HTTP 500" in failing.disabled_reason


async def test_a_feed_is_never_polled_twice_at_once(world):
    server, store, pipeline = world
    server.route("/slow", body=rss(BACKGROUND), delay=0.3)
    await store.feeds.add(server.url("/slow"), NOW)
    first = await pipeline.start_due(NOW)
    second = await pipeline.start_due(NOW)
    assert len(first) == 1 and second == []
    await asyncio.gather(*first)
    await pipeline.flush_unchanged()
    assert server.count("/slow") == 1


async def test_permanent_redirect_updates_the_stored_url(world):
    server, store, pipeline = world
    server.route("/new", body=rss(BACKGROUND))
    server.redirect("/old", server.url("/new"), status=301)
    feed, _ = await store.feeds.add(server.url("/old"), NOW)
    await pipeline.run_due(NOW)
    assert (await store.feeds.get(feed.id)).url == server.url("/new")
