"""The parser pool: feeds parse in worker processes, side by side, and a dead worker is replaced.

Parse functions handed to the pool run in another process, so they live at module level
(workers import them by name).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from handlers import parserpool
from handlers.errors import ParseError, ParseTimeoutError
from handlers.parser import ParsedFeed, parse_feed
from handlers.parserpool import ParserPool
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
FOREVER = b"parse forever"


def parse_noting_pid(
    body: bytes, headers: Any, *, feed_url: str, feed_id: int | None
) -> ParsedFeed:
    """parse_feed, with the id of the process that ran it as the feed title."""
    if body == CRASH:
        os._exit(1)  # what the OOM killer does to a worker
    if body == FOREVER:
        while True:  # a parse that never ends (pure CPU, like a quadratic blow-up)
            pass
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


async def test_a_parse_past_the_budget_is_stopped_and_its_worker_replaced() -> None:
    async with ParserPool.open(1, parse=parse_noting_pid, budget=5) as pool:
        first = await pool.parse(FEED, {}, URL, None)
        with pytest.raises(ParseTimeoutError) as caught:
            await pool.parse(FOREVER, {}, URL, None)
        assert str(caught.value) == f"feed {URL} took longer than 5 s to parse"
        assert caught.value.url == URL and caught.value.seconds == 5
        after = await pool.parse(FEED, {}, URL, None)  # a new worker took over
        assert pool.stats.stopped == 1 and pool.stats.parsed == 2
    assert int(after.title) != int(first.title)
    assert not _alive(int(first.title)), "the stopped worker was killed"


async def test_a_stopped_parse_holds_up_no_other_feed() -> None:
    # Two workers: while one is stuck on a hostile feed, the other parses everything else.
    async with ParserPool.open(2, parse=parse_noting_pid, budget=60) as pool:
        stuck = asyncio.create_task(pool.parse(FOREVER, {}, URL, None))
        for _ in range(5):
            assert (await pool.parse(FEED, {}, URL, None)).articles
        assert not stuck.done()
        stuck.cancel()  # a cancelled wait (shutdown) kills the stuck worker too
        with pytest.raises(asyncio.CancelledError):
            await stuck
        assert (await pool.parse(FEED, {}, URL, None)).articles


async def test_the_pool_never_uses_the_loops_default_executor() -> None:
    """DNS (aiohttp's threaded resolver) runs there; parses must never hold it up."""
    loop = asyncio.get_running_loop()
    used: list[object] = []
    real = loop.run_in_executor

    def spy(executor, func, *args):  # type: ignore[no-untyped-def]
        if executor is None:
            used.append(func)
        return real(executor, func, *args)

    loop.run_in_executor = spy  # type: ignore[method-assign]
    try:
        for workers in (0, 1):
            async with ParserPool.open(workers) as pool:
                await pool.parse(FEED, {}, URL, None)
    finally:
        del loop.run_in_executor
    assert used == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def parse_until_told(
    body: bytes, headers: Any, *, feed_url: str, feed_id: int | None
) -> ParsedFeed:
    """Say it started, then finish only once the test has hung up on the worker."""
    folder = Path(body.decode())
    (folder / "started").touch()
    while not (folder / "hung-up").exists():
        time.sleep(0.01)
    return parse_feed(FEED, headers, feed_url=feed_url, feed_id=feed_id)


def test_a_worker_whose_bot_is_gone_ends_quietly(tmp_path: Path, capfd) -> None:
    """The bot killed (kill -9) mid-parse: the worker's answer has nowhere to go, and it
    must end without a traceback in the bot's log."""
    ctx = multiprocessing.get_context("spawn")
    conn, child = ctx.Pipe()
    worker = ctx.Process(target=parserpool._serve, args=(child, parse_until_told, os.getpid()))
    worker.start()
    child.close()
    assert conn.recv() == parserpool._READY
    conn.send((str(tmp_path).encode(), {}, URL, None))
    while not (tmp_path / "started").exists():
        time.sleep(0.01)
    conn.close()  # the bot is gone
    (tmp_path / "hung-up").touch()
    worker.join(60)
    assert worker.exitcode == 0
    assert "Traceback" not in capfd.readouterr().err
