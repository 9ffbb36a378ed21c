"""Section 5 of the bench: one new launch event fanned out to every subscribed channel.

What ``launchwatch run`` does, end to end, against the in-repo fake Discord
(``tests/fakediscord``: 50 requests/s global limit, a 5-per-5-s bucket per channel,
Discord's headers and 429 bodies): the real core and service, the real
:class:`~bot.client.LaunchWatchBot` logged in over the gateway, the real
:class:`~bot.publisher.DiscordPublisher` and its request pacer, and the delivery worker
draining the outbox. A feed served from 127.0.0.1 publishes one launch story; the pipeline
ingests it (one outbox row per channel) and the worker delivers.

Reported: messages/s from the first message to the last, the time to ingest the story
with every subscription in place, 429s beyond the first per bucket, and whether every
channel got exactly one message.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure import raise_open_files

MESSAGES_ROUTE = "POST /channels/{channel_id}/messages"


def fanout_scenario(channels: int, guilds: int) -> dict[str, Any]:
    """Child process entry: section 5 (or why it cannot run)."""
    try:
        from bot.client import LaunchWatchBot  # noqa: F401
        from bot.publisher import DiscordPublisher  # noqa: F401
        from tests.fakediscord import FakeDiscord  # noqa: F401
    except ImportError as exc:
        return {"skipped": f"the Discord layer or the fake Discord cannot be imported ({exc})"}
    from bench.polling import _quiet_production_logging

    raise_open_files()
    _quiet_production_logging()
    return asyncio.run(_fanout(channels, guilds))


async def _fanout(channels: int, guilds: int) -> dict[str, Any]:
    from bot.client import LaunchWatchBot
    from bot.publisher import DiscordPublisher
    from bot.ratelimit import RequestPacer
    from bot.runtime import Service, open_core
    from bot.settings import Settings
    from handlers.domain import SubscriptionFilter
    from tests.fakediscord import FakeDiscord, running
    from tests.feedgen import Item, rss
    from tests.feedserver import FeedServer

    per_guild = channels // guilds
    now = datetime.now(UTC)
    background = [Item("funding", "Satellite startup raises $40 million", "", now)]
    launch = Item(
        "launch",
        "Falcon 9 launches Starlink Group 11-7 from Cape Canaveral",
        "The rocket lifted off at dawn and deployed 27 satellites.",
        now,
    )
    service_ref: list[Service] = []
    with tempfile.TemporaryDirectory(prefix="lw-fanout-") as tmp:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            LAUNCHWATCH_DB=str(Path(tmp) / "fanout.db"),
            LAUNCHWATCH_FEEDS="",
            LAUNCHWATCH_ALLOW_PRIVATE_NETWORKS=True,
            DISCORD_TOKEN="set-below",
        )
        async with (
            FakeDiscord() as fake,
            FeedServer() as feeds,
            open_core(
                settings,
                on_deliveries=lambda: service_ref[0].wake_workers() if service_ref else None,
                sync_default_feeds=False,
            ) as core,
        ):
            world = [
                fake.add_guild(f"Guild {g}", channels=[f"alerts-{k}" for k in range(per_guild)])
                for g in range(guilds)
            ]
            targets = [
                (guild.id, channel.id) for guild in world for channel in guild.channels.values()
            ]
            for guild_id, channel_id in targets:
                await core.storage.subscriptions.upsert(
                    target="discord",
                    guild_id=guild_id,
                    channel_id=channel_id,
                    filters=SubscriptionFilter(),
                    role_id=None,
                    created_by=None,
                    now=now,
                )
            feeds.route("/news", body=rss(background))
            feed, _ = await core.storage.feeds.add(feeds.url("/news"), now)
            await core.pipeline.run_due(datetime.now(UTC))  # the first poll only seeds

            pacer = RequestPacer()
            bot = LaunchWatchBot(core, pacer=pacer, guild_ready_timeout=0.05)
            async with running(fake, bot, ready_timeout=120):
                publisher = Counting(DiscordPublisher(bot, pacer), len(targets))
                service = Service(core, [publisher])
                service_ref.append(service)
                service.start()
                feeds.route("/news", body=rss([launch, *background]))
                polled = datetime.now(UTC)
                await core.storage.feeds.record_unchanged([(feed.id, polled, polled)])
                started = time.perf_counter()
                [report] = await core.pipeline.run_due(polled)
                ingest_seconds = time.perf_counter() - started
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(publisher.done.wait(), 60 + 3 * len(targets) / 45)
                await service.stop()
            sent = [r for r in fake.requests if r.route == MESSAGES_ROUTE and r.status == 200]
            per_channel = Counter(len(fake.messages(ch)) for _, ch in targets)
            limited = fake.rate_limited()
    buckets = Counter(r.path if r.scope != "global" else "global" for r in limited)
    extra_429 = sum(n - 1 for n in buckets.values())
    span = sent[-1].at - sent[0].at if len(sent) > 1 else float("nan")
    return {
        "channels": len(targets),
        "guilds": guilds,
        "deliveries": report.deliveries,
        "ingest_seconds": ingest_seconds,
        "sent": len(sent),
        "rate": (len(sent) - 1) / span if len(sent) > 1 else 0.0,
        "per_channel": dict(per_channel),
        "status_429": len(limited),
        "limited": [(r.route, r.scope, r.retry_after) for r in limited[:10]],
        "extra_429": extra_429,
        "ok": per_channel == Counter({1: len(targets)}) and extra_429 == 0,
        "pid": os.getpid(),
    }


class Counting:
    """The real publisher, counting what it sent so the bench knows when all went out."""

    target = "discord"

    def __init__(self, publisher: Any, expected: int) -> None:
        self._publisher = publisher
        self._expected = expected
        self.sent = 0
        self.done = asyncio.Event()

    async def publish(self, job: Any) -> Any:
        from handlers.ports import PublishOutcome

        result = await self._publisher.publish(job)
        if result.outcome is PublishOutcome.SENT:
            self.sent += 1
            if self.sent >= self._expected:
                self.done.set()
        return result
