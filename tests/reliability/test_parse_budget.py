"""Guarantee 2b — a feed that is slow to parse stalls nothing else.

Hostile feeds far under the download cap, shaped to make the parser's work grow faster
than their size (200,000 attributes on one element, 1.6 million unclosed tags, 60,000
namespace declarations), and one whose parse never ends, are polled together with a
healthy feed through the real :class:`~handlers.pipeline.Pipeline` and the real
:class:`~handlers.parserpool.ParserPool` (two worker processes). The healthy feed's
launch alert comes in the same poll; every hostile feed fails alone with a one-line
error and backs off.

Which outcome each hostile feed gets does not depend on the machine's speed: the
shapes are refused before parsing, and the never-ending parse can only end in the
budget.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta
from typing import Any

from handlers.domain import Feed
from handlers.fetcher import FeedFetcher, FetchLimits
from handlers.matching.matcher import default_matcher
from handlers.parser import ParsedFeed, parse_feed
from handlers.parserpool import ParserPool
from handlers.pipeline import Pipeline, PipelineConfig, PollReport
from storage import Storage
from tests.builders import subscribe_everything
from tests.feedgen import rss
from tests.feedserver import FeedServer
from tests.reliability.test_hostile_feeds import BACKGROUND, LAUNCH, NOW

HEAD = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Hostile</title>'
TAIL = b"</channel></rss>"
NEVER_ENDS = b"<!-- this parse never ends -->"
# Far above what refusing a hostile shape takes (0.1-0.2 s), so a busy machine cannot turn
# a refusal into a stopped parse; the never-ending parse alone runs into it.
BUDGET = 10.0


def parse_or_spin(body: bytes, headers: Any, *, feed_url: str, feed_id: int | None) -> ParsedFeed:
    """The real parser, except for one body whose parse never ends (runs in a worker)."""
    if body.startswith(HEAD + NEVER_ENDS):
        while True:
            pass
    return parse_feed(body, headers, feed_url=feed_url, feed_id=feed_id)


def attributes(count: int) -> bytes:
    attrs = b" ".join(b'a%d="x"' % i for i in range(count))
    return HEAD + b"<item " + attrs + b"><title>Falcon 9 launches</title></item>" + TAIL


def unclosed(count: int) -> bytes:
    return HEAD + b"<item><title>Falcon 9 launches</title>" + b"<a>" * count + TAIL


def namespaces(count: int) -> bytes:
    decls = b"".join(
        b'<x%d xmlns:p%d="http://ns.example/%d">y</x%d>' % ((i,) * 4) for i in range(count)
    )
    return HEAD + decls + TAIL


HOSTILE = {
    "/attributes": (attributes(200_000), r"an element has 200,000 attributes \(limit 1,000\)"),
    "/unclosed": (unclosed(1_600_000), r"it has over 250,000 elements"),
    "/namespaces": (namespaces(60_000), r"it declares 60,000 XML namespaces \(limit 500\)"),
    "/never-ends": (HEAD + NEVER_ENDS + TAIL, rf"took longer than {BUDGET:g} s to parse"),
}


async def test_hostile_parses_stall_no_healthy_feed(tmp_path):
    for body, _ in HOSTILE.values():
        assert len(body) < 5 * 1024 * 1024  # all under the download cap
    done_at: dict[str, float] = {}
    async with (
        FeedServer() as server,
        Storage.open(tmp_path / "budget.db") as store,
        FeedFetcher.open(
            version="test", allow_private=True, limits=FetchLimits(total_timeout=120)
        ) as fetcher,
        ParserPool.open(2, parse=parse_or_spin, budget=BUDGET) as pool,
    ):
        await subscribe_everything(store, 10, NOW)
        pipeline = Pipeline(
            feeds=store.feeds,
            store=store.events,
            fetcher=fetcher,
            parse=pool.parse,
            matcher=default_matcher(),
            config=PipelineConfig(poll_interval=60),
            on_report=lambda r: done_at.setdefault(r.url, time.monotonic()),
        )
        for path in ["/healthy", *HOSTILE]:
            server.route(path, body=rss(BACKGROUND))
            await store.feeds.add(server.url(path), NOW)
        await pipeline.run_due(NOW)  # the silent first polls

        server.route("/healthy", body=rss([LAUNCH, *BACKGROUND]))
        for path, (body, _) in HOSTILE.items():
            server.route(path, body=body)
        done_at.clear()
        started = time.monotonic()
        reports = await pipeline.run_due(NOW + timedelta(minutes=5))  # one poll cycle

        by_url: dict[str, PollReport] = {r.url: r for r in reports}
        healthy = by_url[server.url("/healthy")]
        assert (healthy.status, healthy.deliveries) == ("ok", 1), healthy
        feeds: dict[str, Feed] = {f.url: f for f in await store.feeds.list_feeds()}
        problems = []
        for path, (_, error) in HOSTILE.items():
            feed = feeds[server.url(path)]
            if not (feed.last_error and re.search(error, feed.last_error)):
                problems.append(f"{path}: {feed.last_error!r} !~ {error!r}")
            elif "\n" in feed.last_error or feed.url not in feed.last_error:
                problems.append(f"{path}: unclear error {feed.last_error!r}")
            elif feed.consecutive_failures != 1 or by_url[feed.url].status != "error":
                problems.append(f"{path}: not failed and backed off: {feed}")
        assert not problems, "\n".join(problems)
        assert pool.stats.stopped == 1
        assert await store.events.count() == 1
        # The parse after a stopped one runs in a fresh worker.
        assert (await pool.parse(rss([LAUNCH]), {}, server.url("/again"), None)).articles
    healthy_after = done_at[server.url("/healthy")] - started
    print(f"\nhealthy alert {healthy_after:.2f} s into a poll of 4 hostile feeds")
    for path in HOSTILE:
        print(f"  {path:12} {feeds[server.url(path)].last_error}")


async def test_slow_parses_never_hold_up_name_resolution(tmp_path):
    """/feeds test, scan and the poller parse in the pool's own threads and processes:
    with more parses held than the event loop's default executor has threads, names
    still resolve (aiohttp's threaded DNS resolver runs in that executor)."""
    release = tmp_path / "release"
    held = [f"hold {release}".encode() for _ in range(12)]
    async with ParserPool.open(2, parse=parse_held) as pool:
        parses = [asyncio.create_task(pool.parse(b, {}, f"https://f{i}.example/", None))
                  for i, b in enumerate(held)]  # fmt: skip
        try:
            addresses = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo("localhost", 80), 60
            )
            assert addresses
            assert not any(p.done() for p in parses), "the parses were held all along"
        finally:
            release.touch()
        assert all(r.articles for r in await asyncio.gather(*parses))


def parse_held(body: bytes, headers: Any, *, feed_url: str, feed_id: int | None) -> ParsedFeed:
    """Wait until the test creates the release file named in the body, then parse a feed."""
    from pathlib import Path

    release = Path(body.decode().removeprefix("hold "))
    while not release.exists():
        time.sleep(0.01)
    return parse_feed(rss([LAUNCH]), headers, feed_url=feed_url, feed_id=feed_id)
