"""Replay Feb–Apr 2026 through the whole pipeline and count the alerts users would get.

    python -m bench.replay [--step-hours 2]

Every news site in ``../shared/data/launch-news/dev.jsonl`` becomes an RSS feed served from
127.0.0.1 that shows only the items published by the simulated clock (newest 30). The real
pipeline (fetch, parse, seen-check, match, resolve, outbox, SQLite) polls every feed at each
step. The right result is one alert per real launch, however many sites report it; this
prints how close we are: alerts posted, false alerts (events built only from non-launch
items), launches missed, launches split over several alerts, mixed events, and follow-ups.

Skips with a message when ``../shared/data`` is absent (the texts are not in this repo).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sys
import tempfile
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from bench.matcher_eval import DEV, load, published
from handlers.domain import SubscriptionFilter
from handlers.fetcher import FeedFetcher
from handlers.matching.matcher import default_matcher
from handlers.parser import parse_feed
from handlers.pipeline import Pipeline, PipelineConfig
from storage import Storage

WINDOW = 30


class Newsroom:
    """Serves each site's items published up to ``now``, newest first."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.by_site: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            self.by_site[_slug(row["news_site"])].append(row)
        for items in self.by_site.values():
            items.sort(key=lambda r: r["published_at"])
        self.now = datetime.min.replace(tzinfo=UTC)

    async def handle(self, request: web.Request) -> web.Response:
        items = self.by_site.get(request.match_info["site"])
        if items is None:
            raise web.HTTPNotFound()
        visible = [r for r in items if published(r) <= self.now][-WINDOW:]  # type: ignore[operator]
        return web.Response(
            body=_rss(request.match_info["site"], visible[::-1]), content_type="application/rss+xml"
        )


def _slug(site: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in site.lower()).strip("-")


def _rss(site: str, rows: list[dict[str, Any]]) -> bytes:
    items = "".join(
        f"<item><title>{escape(r['title'])}</title><link>{escape(r['url'])}</link>"
        f"<guid>{escape(r['url'])}</guid>"
        f"<pubDate>{format_datetime(published(r))}</pubDate>"  # type: ignore[arg-type]
        f"<description>{escape(r.get('summary') or '')}</description></item>"
        for r in rows
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(site)}</title><link>https://{site}.example/</link>"
        f"<description>replay</description>{items}</channel></rss>"
    ).encode()


async def _parse(body: bytes, headers: Any, url: str, feed_id: int | None) -> Any:
    return await asyncio.to_thread(parse_feed, body, headers, feed_url=url, feed_id=feed_id)


async def replay(
    rows: list[dict[str, Any]], step: timedelta, database: str | None = None
) -> dict[str, Any]:
    """Run the replay and return the tallies (on a temporary SQLite file, or on the empty
    PostgreSQL database ``database`` names)."""
    room = Newsroom(rows)
    app = web.Application()
    app.router.add_get("/{site}", room.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    start = min(published(r) for r in rows) - timedelta(hours=1)  # type: ignore[type-var]
    end = max(published(r) for r in rows) + step  # type: ignore[type-var]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with (
                Storage.open(database or Path(tmp) / "replay.db") as store,
                FeedFetcher.open(version="replay", allow_private=True) as fetcher,
            ):
                for name in room.by_site:
                    await store.feeds.add(f"http://127.0.0.1:{port}/{name}", start)
                await store.subscriptions.upsert(
                    target="console",
                    guild_id=0,
                    channel_id=0,
                    filters=SubscriptionFilter(),
                    role_id=None,
                    created_by=None,
                    now=start,
                )
                pipeline = Pipeline(
                    feeds=store.feeds,
                    store=store.events,
                    fetcher=fetcher,
                    parse=_parse,
                    matcher=default_matcher(),
                    rng=random.Random(1),
                    config=PipelineConfig(poll_interval=step.total_seconds() / 2),
                )
                now = start
                while now <= end:
                    room.now = now
                    await pipeline.run_due(now)
                    now += step
                return await _tally(store, rows)
    finally:
        await runner.cleanup()


async def _tally(store: Storage, rows: list[dict[str, Any]]) -> dict[str, Any]:
    truth = {r["url"]: r for r in rows}
    posts = await store.db.fetchall("SELECT event_id FROM outbox WHERE kind = 'post'")
    followups = await store.db.fetchall("SELECT COUNT(*) FROM outbox WHERE kind = 'followup'")
    real = {r["event"] for r in rows if r["label"] != "other" and r.get("event")}
    per_launch: dict[str, set[int]] = defaultdict(set)
    false_alerts = mixed = 0
    for (event_id,) in posts:
        event = await store.events.get(event_id)
        assert event is not None
        labels = Counter(
            truth[s.link]["event"] if truth[s.link]["label"] != "other" else None
            for s in event.sources
            if s.link in truth
        )
        launches = {k for k in labels if k}
        if not launches:
            false_alerts += 1
        if len(launches) > 1:
            mixed += 1
        for launch in launches:
            per_launch[launch].add(event_id)
    return {
        "alerts": len(posts),
        "real_launches": len(real),
        "launches_alerted": len(per_launch),
        "missed": len(real - per_launch.keys()),
        "split": sum(len(v) > 1 for v in per_launch.values()),
        "false_alerts": false_alerts,
        "mixed": mixed,
        "followups": followups[0][0],
        "digest": await _digest(store),
    }


async def _digest(store: Storage) -> str:
    """A fingerprint of every alert (its launch, status, time and sources) and follow-up,
    equal for two runs that posted the same alerts."""
    lines = []
    for (event_id,) in await store.db.fetchall("SELECT event_id FROM outbox WHERE kind = 'post'"):
        event = await store.events.get(event_id)
        assert event is not None
        sources = sorted(s.article_key for s in event.sources)
        lines.append(f"{event.name}|{event.status}|{event.launch_time}|{sources}")
    for row in await store.db.fetchall(
        "SELECT event_id, followup_status FROM outbox WHERE kind = 'followup'"
    ):
        lines.append(f"followup {row[0]} {row[1]}")
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step-hours", type=float, default=2.0)
    parser.add_argument(
        "--database-url",
        help="replay on this empty PostgreSQL database instead of a temporary SQLite file",
    )
    args = parser.parse_args(argv)
    if not DEV.exists():
        print(f"skipped: {DEV} not found (the labelled data lives outside this repository)")
        return 0
    rows = load(DEV)
    t = asyncio.run(replay(rows, timedelta(hours=args.step_hours), args.database_url))
    print(
        f"replayed {len(rows)} items from {len({r['news_site'] for r in rows})} sites, "
        f"polling every {args.step_hours:g} h of simulated time"
    )
    print(f"alerts posted:            {t['alerts']}  (real launches: {t['real_launches']})")
    print(f"launches alerted:         {t['launches_alerted']}  (missed: {t['missed']})")
    print(f"launches split over >1:   {t['split']}")
    print(f"false alerts (no launch): {t['false_alerts']}")
    print(f"alerts mixing launches:   {t['mixed']}")
    print(f"status follow-ups:        {t['followups']}")
    print(f"alerts digest:            {t['digest']}  (equal digests: the same alerts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
