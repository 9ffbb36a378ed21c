"""Store behaviour against a real SQLite file."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from handlers.domain import (
    DeliveryKind,
    LaunchStatus,
    SubscriptionFilter,
    SubscriptionState,
)
from handlers.events import resolve
from handlers.ports import FeedFailure, FeedSuccess, PublishOutcome, PublishResult
from tests.builders import T0, article, mention


async def _feed(store, url="https://news.example/feed"):
    feed, _ = await store.feeds.add(url, T0)
    return feed


async def _subscribe(store, channel_id, guild_id=1, **filters):
    sub, _ = await store.subscriptions.upsert(
        target="discord",
        guild_id=guild_id,
        channel_id=channel_id,
        filters=SubscriptionFilter(**filters),
        role_id=None,
        created_by=None,
        now=T0,
    )
    return sub


async def _ingest(store, feed, m, a, now=T0, scope=0):
    async with store.events.ingest() as tx:
        await tx.insert_articles(feed.id, [a.key], now)
        change = resolve(m, a, await tx.event_candidates(m.event_key, scope), now)
        event = await tx.save_event(change, scope, feed.id, now)
        queued = await tx.enqueue_deliveries(event, change, scope, now)
    return event, queued


async def test_insert_articles_reports_only_unseen_keys(store):
    feed = await _feed(store)
    async with store.events.ingest() as tx:
        assert await tx.insert_articles(feed.id, ["a", "b"], T0) == {"a", "b"}
    async with store.events.ingest() as tx:
        assert await tx.insert_articles(feed.id, ["b", "c"], T0) == {"c"}


async def test_large_batches_are_split_and_still_exact(store):
    feed = await _feed(store)
    keys = [f"k{i}" for i in range(1000)]
    async with store.events.ingest() as tx:
        assert await tx.insert_articles(feed.id, keys, T0) == set(keys)
    async with store.events.ingest() as tx:
        assert await tx.insert_articles(feed.id, [*keys, "new"], T0) == {"new"}


async def test_concurrent_ingests_never_see_a_key_as_new_twice(store):
    feed = await _feed(store)

    async def one():
        async with store.events.ingest() as tx:
            return await tx.insert_articles(feed.id, ["same", "other"], T0)

    results = await asyncio.gather(*(one() for _ in range(10)))
    assert sum(len(r) for r in results) == 2


async def test_event_roundtrip_keeps_sources_and_history(store):
    feed = await _feed(store)
    event, _ = await _ingest(store, feed, mention(LaunchStatus.UPCOMING), article("a"))
    later = T0 + timedelta(days=1)
    launched = article("b", "Soyuz MS-28 lifts off", published=later)
    await _ingest(store, feed, mention(LaunchStatus.LAUNCHED), launched, later)
    loaded = await store.events.get(event.id)
    assert loaded.status is LaunchStatus.LAUNCHED
    assert [s.article_key for s in loaded.sources] == ["a", "b"]
    assert [h.status for h in loaded.history] == [LaunchStatus.UPCOMING, LaunchStatus.LAUNCHED]
    assert loaded.agencies == ("Roscosmos",) and loaded.crewed is True


async def test_launch_day_precision_is_stored_and_read_back(store):
    feed = await _feed(store)
    day = dataclasses.replace(
        mention(LaunchStatus.UPCOMING, launch_time=T0 + timedelta(days=3)), launch_day_only=True
    )
    event, _ = await _ingest(store, feed, day, article("a"))
    loaded = await store.events.get(event.id)
    assert loaded.launch_time == T0 + timedelta(days=3) and loaded.launch_day_only
    later = T0 + timedelta(hours=2)
    exact = mention(LaunchStatus.UPCOMING, launch_time=T0 + timedelta(days=3, hours=5))
    await _ingest(store, feed, exact, article("b", published=later), later)
    loaded = await store.events.get(event.id)
    assert loaded.launch_time == T0 + timedelta(days=3, hours=5) and not loaded.launch_day_only


async def test_candidates_include_the_same_flight_under_another_rocket(store):
    feed = await _feed(store)
    bare = mention(LaunchStatus.UPCOMING, key="unknown|euclid", vehicle=None, mission="Euclid")
    event, _ = await _ingest(store, feed, bare, article("a"))
    async with store.events.ingest() as tx:
        found = await tx.event_candidates("falcon-9|euclid", 0)
        assert [e.id for e in found] == [event.id]
        assert await tx.event_candidates("falcon-9|euclid_x", 0) == []  # "_" is literal


async def test_candidates_of_a_nameless_crewed_report_are_the_crewed_events(store):
    feed = await _feed(store)
    crew, _ = await _ingest(store, feed, mention(LaunchStatus.UPCOMING), article("a"))
    sats = mention(LaunchStatus.UPCOMING, key="electron|launch|2026-03-01", vehicle="Electron",
                   mission=None, crewed=False)  # fmt: skip
    await _ingest(store, feed, sats, article("b"))
    nameless = "unknown|launch|2026-03-01"
    async with store.events.ingest() as tx:
        found = await tx.event_candidates(nameless, 0, crewed=True)
        assert [e.id for e in found] == [crew.id]
        assert await tx.event_candidates(nameless, 0) == []
        assert await tx.event_candidates("electron|launch|2026-03-02", 0, crewed=True) != []
        named = await tx.event_candidates("falcon-9|crew-15", 0, crewed=True)
        assert [e.id for e in named] == []  # only a report naming nothing looks further


async def test_candidates_of_a_nameless_report_include_its_providers_events(store):
    feed = await _feed(store)
    electron = mention(LaunchStatus.UPCOMING, key="electron|launch|2026-03-01",
                       vehicle="Electron", mission=None, crewed=False,
                       agencies=("Rocket Lab", "NASA"))  # fmt: skip
    event, _ = await _ingest(store, feed, electron, article("a"))
    nameless = "unknown|launch|2026-03-01"
    async with store.events.ingest() as tx:
        found = await tx.event_candidates(nameless, 0, agencies=("Rocket Lab",))
        assert [e.id for e in found] == [event.id]
        assert await tx.event_candidates(nameless, 0, agencies=("NASA",)) == []  # customer
        assert (
            await tx.event_candidates("neutron|launch|2026-03-01", 0, agencies=("Rocket Lab",))
            == []
        )


async def test_new_event_queues_one_post_per_matching_subscription(store):
    feed = await _feed(store)
    await _subscribe(store, 100)
    await _subscribe(store, 101, statuses=frozenset({LaunchStatus.LAUNCHED}))
    await _subscribe(store, 102, crewed_only=True)
    await _subscribe(store, 103, vehicles=frozenset({"Falcon 9"}))
    _, queued = await _ingest(store, feed, mention(LaunchStatus.UPCOMING), article("a"))
    assert queued == 2  # 100 (everything) and 102 (crewed); 101 wants launches, 103 Falcon 9
    jobs = await store.outbox.claim("discord", T0, 50)
    assert sorted(j.subscription.channel_id for j in jobs) == [100, 102]
    assert all(j.kind is DeliveryKind.POST for j in jobs)
    assert len({j.nonce for j in jobs}) == 2 and all(len(j.nonce) <= 25 for j in jobs)


async def test_update_edits_and_status_change_follows_up_after_the_post(store):
    feed = await _feed(store)
    await _subscribe(store, 100)
    await _ingest(store, feed, mention(LaunchStatus.UPCOMING), article("a"))
    [post] = await store.outbox.claim("discord", T0, 50)
    later = T0 + timedelta(hours=3)
    launched = article("b", "Soyuz MS-28 lifts off", published=later)
    await _ingest(store, feed, mention(LaunchStatus.LAUNCHED), launched, later)
    # the edit and follow-up wait until the post has a message id
    assert [j.kind for j in await store.outbox.claim("discord", later, 50)] == [DeliveryKind.POST]
    await store.outbox.complete(post, PublishResult(PublishOutcome.SENT, message_id=555), later)
    jobs = await store.outbox.claim("discord", later, 50)
    assert sorted(j.kind for j in jobs) == [DeliveryKind.EDIT, DeliveryKind.FOLLOWUP]
    assert all(j.message_id == 555 for j in jobs)
    followup = next(j for j in jobs if j.kind is DeliveryKind.FOLLOWUP)
    assert followup.followup_status == LaunchStatus.LAUNCHED


async def test_filtered_subscription_gets_a_post_when_the_event_starts_matching(store):
    feed = await _feed(store)
    await _subscribe(store, 101, statuses=frozenset({LaunchStatus.LAUNCHED}))
    _, queued = await _ingest(store, feed, mention(LaunchStatus.UPCOMING), article("a"))
    assert queued == 0
    later = T0 + timedelta(hours=2)
    _, queued = await _ingest(
        store, feed, mention(LaunchStatus.LAUNCHED), article("b", published=later), later
    )
    assert queued == 1
    [job] = await store.outbox.claim("discord", later, 50)
    assert job.kind is DeliveryKind.POST and job.event.status is LaunchStatus.LAUNCHED


async def test_post_is_queued_once_even_when_asked_twice(store):
    feed = await _feed(store)
    await _subscribe(store, 100)
    event, _ = await _ingest(store, feed, mention(LaunchStatus.UPCOMING), article("a"))
    change = resolve(mention(LaunchStatus.UPCOMING), article("a"), [], T0)
    for _ in range(2):
        async with store.events.ingest() as tx:
            await tx.enqueue_deliveries(event, change, 0, T0)
    posts = await store.db.fetchall("SELECT id FROM outbox WHERE kind = 'post'")
    edits = await store.db.fetchall("SELECT id FROM outbox WHERE kind = 'edit'")
    assert (len(posts), len(edits)) == (1, 1)  # edits coalesce while pending


async def test_gone_channel_breaks_the_subscription_and_stops_its_jobs(store):
    feed = await _feed(store)
    await _subscribe(store, 100)
    await _ingest(store, feed, mention(LaunchStatus.UPCOMING), article("a"))
    [job] = await store.outbox.claim("discord", T0, 50)
    await store.outbox.complete(
        job, PublishResult(PublishOutcome.GONE, error="Unknown Channel"), T0
    )
    sub = await store.subscriptions.get("discord", 100)
    assert sub.state is SubscriptionState.BROKEN and sub.broken_reason == "Unknown Channel"
    assert await store.outbox.claim("discord", T0 + timedelta(days=1), 50) == []
    assert await store.outbox.pending_count() == 0


async def test_retry_waits_and_gives_up_after_max_attempts(store):
    feed = await _feed(store)
    await _subscribe(store, 100)
    await _ingest(store, feed, mention(LaunchStatus.UPCOMING), article("a"))
    now = T0
    for _ in range(20):
        jobs = await store.outbox.claim("discord", now, 50)
        if not jobs:
            break
        await store.outbox.complete(
            jobs[0], PublishResult(PublishOutcome.RETRY, retry_after=30, error="HTTP 503"), now
        )
        assert await store.outbox.claim("discord", now + timedelta(seconds=29), 50) == []
        now += timedelta(seconds=31)
    assert await store.outbox.pending_count() == 0


async def test_subscriptions_are_scoped_to_their_guild(store):
    await _subscribe(store, 100, guild_id=1)
    with pytest.raises(PermissionError):
        await _subscribe(store, 100, guild_id=2)
    assert not await store.subscriptions.remove(guild_id=2, channel_id=100)
    assert await store.subscriptions.list_for_guild(2) == []
    assert await store.subscriptions.remove(guild_id=1, channel_id=100)


async def test_guild_pause_and_resume(store):
    await _subscribe(store, 100, guild_id=7)
    assert (
        await store.subscriptions.set_guild_state(
            7, SubscriptionState.PAUSED, T0, only_from="active"
        )
        == 1
    )
    feed = await _feed(store)
    _, queued = await _ingest(store, feed, mention(LaunchStatus.UPCOMING), article("a"))
    assert queued == 0
    await store.subscriptions.set_guild_state(7, SubscriptionState.ACTIVE, T0, only_from="paused")
    assert (await store.subscriptions.get("discord", 100)).state is SubscriptionState.ACTIVE


async def test_guild_feed_events_reach_only_that_guild(store):
    feed = await _feed(store)
    await _subscribe(store, 100, guild_id=1)
    await _subscribe(store, 200, guild_id=2)
    _, queued = await _ingest(store, feed, mention(LaunchStatus.UPCOMING), article("a"), scope=2)
    assert queued == 1
    [job] = await store.outbox.claim("discord", T0, 50)
    assert job.subscription.guild_id == 2


async def test_feed_failure_backoff_and_disable(store):
    feed = await _feed(store)
    await store.feeds.record_failure(
        FeedFailure(feed.id, T0, T0 + timedelta(minutes=5), "HTTP 500")
    )
    failing = await store.feeds.get(feed.id)
    assert failing.consecutive_failures == 1 and failing.last_error == "HTTP 500"
    assert await store.feeds.due(T0 + timedelta(minutes=1), 10) == []
    await store.feeds.record_failure(
        FeedFailure(feed.id, T0, T0 + timedelta(minutes=5), "HTTP 410", disable_reason="gone")
    )
    disabled = await store.feeds.get(feed.id)
    assert not disabled.enabled and disabled.disabled_reason == "gone"
    assert disabled.state.value == "disabled"


async def test_success_records_validators_and_permanent_redirect(store):
    feed = await _feed(store)
    async with store.events.ingest() as tx:
        await tx.record_success(
            FeedSuccess(
                feed.id,
                T0,
                T0 + timedelta(minutes=5),
                '"v1"',
                "Sun, 01 Mar 2026 12:00:00 GMT",
                "abc",
                "News",
                moved_to="https://news.example/new-feed",
            )
        )
    moved = await store.feeds.get(feed.id)
    assert moved.url == "https://news.example/new-feed" and moved.etag == '"v1"'
    assert moved.seeded and moved.title == "News"


async def test_default_feeds_are_synced_without_touching_user_feeds(store):
    await store.feeds.add("https://mine.example/feed", T0)
    await store.feeds.sync_defaults(["https://a.example/rss", "https://b.example/rss"], T0)
    await store.feeds.sync_defaults(["https://b.example/rss"], T0)
    urls = sorted(f.url for f in await store.feeds.list_feeds())
    assert urls == ["https://b.example/rss", "https://mine.example/feed"]


async def test_prune_forgets_old_keys_only(store):
    feed = await _feed(store)
    async with store.events.ingest() as tx:
        await tx.insert_articles(feed.id, ["old"], T0 - timedelta(days=200))
        await tx.insert_articles(feed.id, ["new"], T0)
    assert await store.prune(T0, keep_articles=timedelta(days=90)) == 1
    async with store.events.ingest() as tx:
        assert await tx.insert_articles(feed.id, ["old", "new"], T0) == {"old"}


async def test_recent_and_search_queries(store):
    feed = await _feed(store)
    await _ingest(store, feed, mention(LaunchStatus.LAUNCHED), article("a"))
    await _ingest(
        store,
        feed,
        mention(
            LaunchStatus.UPCOMING,
            key="falcon 9|crew-12",
            vehicle="Falcon 9",
            mission="Crew-12",
            agencies=("NASA", "SpaceX"),
        ),
        article("b"),
    )
    assert [e.mission for e in await store.events.recent(statuses=[LaunchStatus.LAUNCHED])] == [
        "Soyuz MS-28"
    ]
    assert [e.mission for e in await store.events.recent(agency="nasa")] == ["Crew-12"]
    assert [e.mission for e in await store.events.recent(upcoming_only=True)] == ["Crew-12"]
    assert [e.mission for e in await store.events.search("crew")] == ["Crew-12"]
    assert await store.events.search("100%_") == []


async def test_postponed_jobs_wait_without_using_up_attempts(store):
    feed = await _feed(store)
    await _subscribe(store, 100)
    await _ingest(store, feed, mention(LaunchStatus.UPCOMING), article("a"))
    now = T0
    for _ in range(30):  # far more than the retry budget
        [job] = await store.outbox.claim("discord", now, 50)
        await store.outbox.complete(
            job, PublishResult(PublishOutcome.POSTPONED, retry_after=60, error="paused"), now
        )
        assert await store.outbox.claim("discord", now + timedelta(seconds=59), 50) == []
        now += timedelta(seconds=61)
    [job] = await store.outbox.claim("discord", now, 50)
    assert job.attempts == 0


async def test_two_feeds_reporting_one_launch_at_once_make_one_event(store):
    """Ingests run one at a time on either backend: two at once would both find no event
    and both start one (PostgreSQL serialises them with an advisory lock)."""

    async def ingest(key: str) -> None:
        async with store.events.ingest() as tx:
            m = mention()
            candidates = await tx.event_candidates(m.event_key, 0)
            await asyncio.sleep(0)  # let the other ingest run, if it can
            story = article(key, title=f"Soyuz MS-28 story {key}", site=key)
            change = resolve(m, story, candidates, T0)
            await tx.save_event(change, 0, None, T0)

    await asyncio.gather(*(ingest(f"site-{n}") for n in range(4)))
    [event] = await store.events.recent(limit=10, scope=0)
    assert len(event.sources) == 4
