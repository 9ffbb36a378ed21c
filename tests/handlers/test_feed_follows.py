"""Who hears of a launch: followers of the feed that reported it, minus servers muting it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handlers.fetcher import FeedFetcher
from handlers.netguard import canonical_feed_url
from storage import Storage
from tests.builders import real_pipeline, subscribe_everything
from tests.feedgen import Item, rss
from tests.feedserver import FeedServer

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
OLD = [Item("funding", "Satellite startup raises $40 million", "", NOW - timedelta(days=1))]
LAUNCH = Item("l1", "Falcon 9 launches Starlink 10-77 from Cape Canaveral", "Liftoff.", NOW)


@pytest.fixture
async def world(database_target):
    async with (
        FeedServer() as server,
        Storage.open(database_target) as store,
        FeedFetcher.open(version="test", allow_private=True) as fetcher,
    ):
        for guild in (1, 2, 3):
            await subscribe_everything(store, 100 + guild, NOW, guild_id=guild)
        yield server, store, real_pipeline(store, fetcher)


async def _posted_channels(store) -> set[int]:
    rows = await store.db.fetchall(
        "SELECT s.channel_id FROM outbox o JOIN subscriptions s ON s.id = o.subscription_id"
        " WHERE o.kind = 'post'"
    )
    return {r[0] for r in rows}


async def test_a_followed_feeds_launch_reaches_its_followers_only(world):
    server, store, pipeline = world
    server.route("/f", body=rss(OLD))
    url = server.url("/f")
    await store.feeds.add(url, NOW, guild_id=1)
    await store.feeds.add(f"  {url}#top", NOW, guild_id=2)  # the same feed, spelled otherwise
    assert len(await store.feeds.list_feeds()) == 1
    await pipeline.run_due(NOW)
    server.route("/f", body=rss([LAUNCH, *OLD]))
    [report] = await pipeline.run_due(NOW + timedelta(hours=1))
    assert report.deliveries == 2
    assert await _posted_channels(store) == {101, 102}
    assert server.count("/f") == 2  # once per poll, for both followers


async def test_a_server_muting_a_built_in_feed_hears_nothing_from_it(world):
    server, store, pipeline = world
    server.route("/b", body=rss(OLD))
    url = server.url("/b")
    await store.feeds.sync_defaults([url], NOW)
    assert await store.feeds.mute(url, guild_id=2, now=NOW)
    assert not await store.feeds.mute(server.url("/nope"), guild_id=2, now=NOW)
    await pipeline.run_due(NOW)
    server.route("/b", body=rss([LAUNCH, *OLD]))
    await pipeline.run_due(NOW + timedelta(hours=1))
    assert await _posted_channels(store) == {101, 103}
    assert [f.url for f in await store.feeds.muted(2)] == [canonical_feed_url(url)]
    assert await store.feeds.unmute(url, guild_id=2)


async def test_operator_removal_disables_a_default_for_good_and_keeps_followed_feeds(world):
    server, store, _ = world
    default, added = server.url("/default"), server.url("/added")
    await store.feeds.sync_defaults([default], NOW)
    assert str(await store.feeds.remove_by_operator(default, NOW)) == "disabled"
    await store.feeds.sync_defaults([default], NOW + timedelta(hours=1))  # a restart
    feed = await store.feeds.get_by_url(default)
    assert feed is not None and not feed.enabled and "operator" in (feed.disabled_reason or "")
    # Added by the operator, then followed by a server: removing it leaves it to the server.
    await store.feeds.add(added, NOW)
    await store.feeds.add(added, NOW, guild_id=3)
    assert str(await store.feeds.remove_by_operator(added, NOW)) == "handed over"
    assert [f.url for f in await store.feeds.list_feeds(guild_id=3, everything=False)] == [
        canonical_feed_url(added)
    ]
    assert str(await store.feeds.remove_by_operator(server.url("/unknown"), NOW)) == "not found"


def test_canonical_feed_urls() -> None:
    assert canonical_feed_url(" http://Host.EXAMPLE.:80/feed#x ") == "http://host.example/feed"
    assert canonical_feed_url("https://a.example:443") == "https://a.example/"
    assert canonical_feed_url("https://a.example/Feed?b=1&a=2") == "https://a.example/Feed?b=1&a=2"
    assert canonical_feed_url("http://[::1]:8080/x") == "http://[::1]:8080/x"
