"""Guarantee 4 — load: many feeds and many channels, bounded memory, on schedule, once each.

Both tests are slow (``pytest -m slow tests/reliability/test_load.py``); ``python -m
bench.soak`` runs the feed half at any size.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from bench.soak import soak
from bot.discord_app import run_discord
from bot.runtime import Core, Service, open_core
from handlers.domain import SubscriptionFilter
from tests.bot.conftest import READY_FAST, make_settings, wait_for
from tests.fakediscord import FakeDiscord
from tests.feedgen import rss
from tests.feedserver import FeedServer
from tests.reliability.proc import BACKGROUND, launch_item


@pytest.mark.slow
async def test_1000_feeds_5_percent_failing_10_polls(tmp_path):
    report = await soak(tmp_path, feeds=1000, failing_ratio=0.05, cycles=10)
    print("\n" + "\n".join(report.lines()))
    # Every healthy feed was due and polled in every cycle.
    assert report.late_healthy == []
    assert set(report.healthy_polls.values()) == {10}
    # Failing feeds back off: polled far less than healthy ones; 410 once, then disabled.
    assert report.failing_polls["gone-410"] == [1] * len(report.failing_polls["gone-410"])
    for kind, polls in report.failing_polls.items():
        assert sum(polls) / len(polls) <= 7, (kind, polls)
    assert max(report.failing_polls["http-429"]) <= 6  # Retry-After: 150 s, cycles 69 s
    # Bounded: memory and the slowest cycle (fetch timeout 1 s, 32 polls at a time).
    assert report.rss_peak_mb - report.rss_start_mb < 300
    assert max(report.cycle_seconds) < 30
    assert report.deliveries == report.events > 0


@pytest.mark.slow
async def test_10000_subscriptions_in_1000_servers_get_one_alert_each(tmp_path):
    """One launch to 10,000 channels under Discord's 50 requests/s: exactly once each."""
    now = datetime.now(UTC)
    async with FeedServer() as feeds, FakeDiscord(global_limit=50) as fake:
        feeds.route("/feed", body=rss(BACKGROUND))
        url = feeds.url("/feed")
        guilds = [
            fake.add_guild(f"Server {g}", channels=[f"launches-{c}" for c in range(10)])
            for g in range(1000)
        ]
        channels = [ch for g in guilds for ch in g.live_channels()]
        assert len(channels) == 10_000
        settings = make_settings(
            tmp_path,
            DISCORD_TOKEN=fake.token,
            DISCORD_API_BASE=fake.api_base,
            DISCORD_GATEWAY_URL=fake.gateway_url,
            LAUNCHWATCH_FEEDS=url,
            LAUNCHWATCH_ALLOW_PRIVATE_NETWORKS=True,
            LAUNCHWATCH_POLL_INTERVAL=1,
        )
        stop = asyncio.Event()
        service_ref: list[Service] = []
        async with open_core(settings, on_deliveries=lambda: service_ref[0].wake_workers()) as core:
            for ch in channels:
                await core.storage.subscriptions.upsert(
                    target="discord",
                    guild_id=ch.guild_id,
                    channel_id=ch.id,
                    filters=SubscriptionFilter(),
                    role_id=None,
                    created_by=None,
                    now=now,
                )
            task = asyncio.create_task(
                run_discord(core, stop, service_ref, guild_ready_timeout=READY_FAST)
            )
            try:
                await wait_for(lambda: _seeded(core, url), timeout=60, what="the first poll")
                feeds.route("/feed", body=rss([*BACKGROUND, launch_item(1, when=now)]))
                started = time.monotonic()
                await wait_for(
                    lambda: all(fake.messages(ch.id) for ch in channels),
                    timeout=600,
                    interval=1.0,
                    what="an alert in every channel",
                )
                spent = time.monotonic() - started
                await wait_for(lambda: _drained(core), timeout=60, what="the outbox to drain")
            finally:
                stop.set()
                await asyncio.wait_for(task, 60)
        counts = Counter(len(fake.messages(ch.id)) for ch in channels)
        assert counts == {1: 10_000}, counts
        posts = fake.requests_to("POST /channels/{channel_id}/messages")
        print(
            f"\n10,000 alerts in {spent:.0f} s ({10_000 / spent:.1f}/s),"
            f" {len(posts)} POSTs, {len(fake.rate_limited())} rate-limited responses,"
            f" {fake.invalid_request_count} invalid requests"
        )
        assert fake.invalid_request_count < 1000  # far from Discord's 10,000 / 10 min ban


async def _seeded(core: Core, url: str) -> bool:
    feed = await core.storage.feeds.get_by_url(url)
    return feed is not None and feed.seeded


async def _drained(core: Core) -> bool:
    return await core.storage.outbox.pending_count() == 0
