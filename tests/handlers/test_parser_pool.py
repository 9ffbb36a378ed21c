"""The parser pool: feeds parse in worker processes, side by side, and a dead worker is replaced.

Parse functions handed to the pool run in another process, so they live at module level
(workers import them by name).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.runtime import ParserPool
from handlers.errors import ParseError
from handlers.parser import ParsedFeed, parse_feed
from tests.feedgen import Item, rss

FEED = rss(
    [
        Item("a", "Falcon 9 launches Starlink 10-20", "Liftoff from Cape Canaveral.",
             datetime(2026, 3, 1, 12, tzinfo=UTC)),
        Item("b", "Agency budget hearing scheduled", "", datetime(2026, 3, 1, 9, tzinfo=UTC)),
    ]
)  # fmt: skip
URL = "https://news.example/feed.xml"
CRASH = b"crash the worker"


def parse_noting_pid(
    body: bytes, headers: Any, *, feed_url: str, feed_id: int | None
) -> ParsedFeed:
    """parse_feed, with the id of the process that ran it as the feed title."""
    if body == CRASH:
        os._exit(1)  # what the OOM killer does to a worker
    if body.startswith(b"meet "):
        # Wait until another parse has arrived in the same folder: only two workers running
        # side by side can both get past this. One alone gives up after a minute.
        folder = Path(body[5:].decode())
        (folder / str(os.getpid())).touch()
        gives_up = time.monotonic() + 60
        while len(list(folder.iterdir())) < 2:
            if time.monotonic() > gives_up:
                return replace(parse_feed(FEED, headers, feed_url=feed_url), title="alone")
            time.sleep(0.01)
        body = FEED
    parsed = parse_feed(body, headers, feed_url=feed_url, feed_id=feed_id)
    return replace(parsed, title=str(os.getpid()))


async def test_parses_in_another_process_with_the_same_result() -> None:
    async with ParserPool.open(1) as pool:
        parsed = await pool.parse(FEED, {"Content-Type": "application/rss+xml"}, URL, 7)
        assert parsed == parse_feed(FEED, {"Content-Type": "application/rss+xml"},
                                    feed_url=URL, feed_id=7)  # fmt: skip
        async with ParserPool.open(1, parse=parse_noting_pid) as noting:
            elsewhere = await noting.parse(FEED, {}, URL, None)
    assert int(elsewhere.title) != os.getpid()
    assert [a.feed_id for a in parsed.articles] == [7, 7]


async def test_two_workers_parse_two_feeds_at_once(tmp_path: Path) -> None:
    meet = b"meet " + str(tmp_path).encode()
    async with ParserPool.open(2, parse=parse_noting_pid) as pool:
        results = await asyncio.gather(
            pool.parse(meet, {}, URL, None), pool.parse(meet, {}, URL, None)
        )
    titles = {r.title for r in results}
    assert "alone" not in titles, "the two parses did not run at the same time"
    assert len(titles) == 2  # two different processes


async def test_a_body_that_is_not_a_feed_is_a_parse_error_naming_the_feed() -> None:
    async with ParserPool.open(1) as pool:
        with pytest.raises(ParseError, match="HTML page") as caught:
            await pool.parse(b"<!doctype html><html><body>hi</body></html>", {}, URL, None)
        assert caught.value.url == URL
        assert (await pool.parse(FEED, {}, URL, None)).articles  # the pool still works


async def test_a_worker_that_dies_fails_its_feed_and_is_replaced() -> None:
    async with ParserPool.open(1, parse=parse_noting_pid) as pool:
        with pytest.raises(ParseError, match="parser process died") as caught:
            await pool.parse(CRASH, {}, URL, None)
        assert caught.value.url == URL
        parsed = await pool.parse(FEED, {}, URL, None)
    assert len(parsed.articles) == 2


async def test_zero_workers_parse_in_a_thread_of_this_process() -> None:
    async with ParserPool.open(0, parse=parse_noting_pid) as pool:
        parsed = await pool.parse(FEED, {}, URL, None)
    assert int(parsed.title) == os.getpid()
