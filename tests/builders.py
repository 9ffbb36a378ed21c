"""Small builders for domain values used across the tests."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

from handlers.domain import Article, LaunchMention, LaunchStatus
from handlers.parser import ParsedFeed, parse_feed

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def article(
    key: str,
    title: str = "A title",
    *,
    published: datetime | None = T0,
    site: str = "Example News",
    summary: str = "",
) -> Article:
    """An article with a link derived from its key."""
    return Article(
        key=key,
        title=title,
        summary=summary,
        link=f"https://news.example/{key}",
        published=published,
        source=site,
    )


def mention(
    status: LaunchStatus = LaunchStatus.UPCOMING,
    *,
    key: str = "soyuz-2.1a|soyuz ms-28",
    vehicle: str | None = "Soyuz-2.1a",
    mission: str | None = "Soyuz MS-28",
    site: str | None = "Baikonur Cosmodrome",
    crewed: bool | None = True,
    agencies: tuple[str, ...] = ("Roscosmos",),
    launch_time: datetime | None = None,
    kin: bool = True,
    phase: str | None = None,
    launch_day_only: bool = False,
) -> LaunchMention:
    """A launch mention for a crewed Soyuz flight unless told otherwise."""
    return LaunchMention(
        status=status,
        vehicle=vehicle,
        mission=mission,
        site=site,
        crewed=crewed,
        agencies=agencies,
        launch_time=launch_time,
        event_key=key,
        confidence=0.9,
        kin=kin,
        phase=phase,
        launch_day_only=launch_day_only,
    )


async def parse_in_thread(body: bytes, headers: Any, url: str, feed_id: int | None) -> ParsedFeed:
    """The production parser in a thread: the pipeline's parse port without worker processes."""
    return await asyncio.to_thread(parse_feed, body, headers, feed_url=url, feed_id=feed_id)


def real_pipeline(store: Any, fetcher: Any, config: Any = None, *, seed: int = 0) -> Any:
    """The production pipeline over a real store and fetcher, with a seeded jitter."""
    from handlers.matching.matcher import default_matcher
    from handlers.pipeline import Pipeline

    return Pipeline(
        feeds=store.feeds,
        store=store.events,
        fetcher=fetcher,
        parse=parse_in_thread,
        matcher=default_matcher(),
        config=config,
        rng=random.Random(seed),
    )


async def subscribe_everything(
    store: Any, channel_id: int, now: datetime, *, guild_id: int = 1, target: str = "discord"
) -> Any:
    """Subscribe one channel to every launch, with no role to mention."""
    from handlers.domain import SubscriptionFilter

    sub, _ = await store.subscriptions.upsert(
        target=target,
        guild_id=guild_id,
        channel_id=channel_id,
        filters=SubscriptionFilter(),
        role_id=None,
        created_by=None,
        now=now,
    )
    return sub
