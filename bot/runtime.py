"""The composition root's building blocks: open the core services, run them, stop cleanly.

``bot/__main__.py`` decides what to run; this module owns the wiring so tests can start
exactly what ``launchwatch run`` starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp.abc import AbstractResolver
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import __version__
from bot.logsetup import PollCycleLog
from bot.settings import Settings
from handlers.delivery import DeliveryWorker
from handlers.errors import ParseError
from handlers.fetcher import FeedFetcher, FetchLimits
from handlers.matcher import LaunchMatcher, default_matcher
from handlers.parser import ParsedFeed, parse_feed
from handlers.pipeline import Pipeline, PipelineConfig, PollReport
from handlers.ports import Publisher
from storage import Storage

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = logging.getLogger(__name__)

HEARTBEAT_POLL = "heartbeat.poll"
HEARTBEAT_GATEWAY = "heartbeat.gateway"
SHUTDOWN_GRACE = 6.0


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


async def parse_in_thread(
    body: bytes, headers: Mapping[str, str], url: str, feed_id: int | None
) -> ParsedFeed:
    """Parse off the event loop, so a big feed never stalls the gateway heartbeat."""
    return await asyncio.to_thread(parse_feed, body, headers, feed_url=url, feed_id=feed_id)


ParseFunction = Callable[..., ParsedFeed]
"""``parse_feed``'s signature: ``(body, headers, *, feed_url, feed_id) -> ParsedFeed``."""


@dataclass(frozen=True, slots=True)
class _ParseFailure:
    # A ParseError's keyword-only context does not survive pickling, so it travels back
    # from a worker as its message.
    message: str


def _parse_job(
    parse: ParseFunction,
    body: bytes,
    headers: dict[str, str],
    url: str,
    feed_id: int | None,
) -> ParsedFeed | _ParseFailure:
    try:
        return parse(body, headers, feed_url=url, feed_id=feed_id)
    except ParseError as exc:
        return _ParseFailure(str(exc))


def _watch_parent(parent: int) -> None:
    """Worker initializer: exit when the bot is gone, even after a SIGKILL."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def default_parser_workers() -> int:
    """One parser process per CPU this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ParserPool:
    """Parses feed bodies in worker processes, so parsing uses every core, never the loop.

    feedparser is pure Python: in a thread it holds the GIL and slows the event loop, and
    one process can parse on one core only. Bytes go in and :class:`ParsedFeed` values
    (frozen dataclasses) come back. ``workers=0`` parses in a thread instead (tests,
    single-core hosts). A worker that dies (killed for memory, say) is replaced; the feeds
    it took down with it fail with a ParseError and are retried at their next poll.
    """

    def __init__(self, workers: int | None = None, *, parse: ParseFunction = parse_feed) -> None:
        self.workers = default_parser_workers() if workers is None else workers
        self._parse = parse
        self._executor = self._start() if self.workers > 0 else None

    def _start(self) -> ProcessPoolExecutor:
        # Workers start with the first parses, not here, so a bot (or a test) that never
        # parses never pays for them. spawn, not fork: the bot has threads by now.
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_watch_parent,
            initargs=(os.getpid(),),
        )

    @classmethod
    @asynccontextmanager
    async def open(
        cls, workers: int | None = None, *, parse: ParseFunction = parse_feed
    ) -> AsyncIterator[ParserPool]:
        """A pool, shut down (workers stopped) on exit."""
        pool = cls(workers, parse=parse)
        try:
            yield pool
        finally:
            await pool.close()

    async def close(self) -> None:
        """Stop the workers; parses still queued are cancelled."""
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)

    async def parse(
        self, body: bytes, headers: Mapping[str, str], url: str, feed_id: int | None
    ) -> ParsedFeed:
        """Parse one body off the event loop (the pipeline's ``parse`` port)."""
        executor = self._executor
        if executor is None:
            return await asyncio.to_thread(
                self._parse, body, headers, feed_url=url, feed_id=feed_id
            )
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(
                executor, _parse_job, self._parse, body, dict(headers), url, feed_id
            )
        except BrokenProcessPool:
            self._replace(executor)
            raise ParseError(
                f"feed {url} could not be parsed: the parser process died", url=url
            ) from None
        if isinstance(outcome, _ParseFailure):
            raise ParseError(outcome.message, url=url)
        return outcome

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if self._executor is not broken:
            return  # another parse already replaced it
        log.error("a feed parser process died; starting new ones")
        broken.shutdown(wait=False, cancel_futures=True)
        self._executor = self._start()


@asynccontextmanager
async def open_fetcher(
    settings: Settings, *, resolver: AbstractResolver | None = None
) -> AsyncIterator[FeedFetcher]:
    """The one shared HTTP client for feeds, with the configured guard and caps.

    ``resolver`` replaces DNS inside the SSRF guard (tests and the bench map names to
    127.0.0.1 with it).
    """
    limits = FetchLimits(total_timeout=settings.fetch_timeout, max_bytes=settings.max_feed_bytes)
    async with FeedFetcher.open(
        version=__version__,
        allow_private=settings.allow_private_networks,
        limits=limits,
        max_connections=settings.max_concurrent_polls,
        resolver=resolver,
    ) as fetcher:
        yield fetcher


@dataclass
class Core:
    """Everything the service needs apart from a publisher."""

    settings: Settings
    storage: Storage
    fetcher: FeedFetcher
    matcher: LaunchMatcher
    pipeline: Pipeline
    started_at: float = field(default_factory=time.monotonic)
    metrics: Metrics | None = None


@asynccontextmanager
async def open_core(
    settings: Settings,
    *,
    on_deliveries: Callable[[], None] | None = None,
    on_report: Callable[[PollReport], None] | None = None,
    sync_default_feeds: bool = True,
    resolver: AbstractResolver | None = None,
    metrics: Metrics | None = None,
    parser_workers: int | None = None,
) -> AsyncIterator[Core]:
    """Open the database, the fetcher and the parser pool, build the pipeline; close on exit.

    ``parser_workers``: parser processes (default one per CPU; 0 parses in a thread).
    """
    async with (
        Storage.open(settings.db) as storage,
        open_fetcher(settings, resolver=resolver) as fetcher,
        ParserPool.open(parser_workers) as parser,
    ):
        if sync_default_feeds:
            await storage.feeds.sync_defaults(settings.feed_urls(), utc_now())
        matcher = default_matcher()
        cycle_log = PollCycleLog(settings.poll_interval)

        def report(polled: PollReport) -> None:
            cycle_log.observe(polled)
            if metrics is not None:
                metrics.observe_poll(polled)
            if on_report is not None:
                on_report(polled)

        pipeline = Pipeline(
            feeds=storage.feeds,
            store=storage.events,
            fetcher=fetcher,
            parse=parser.parse,
            matcher=matcher,
            config=PipelineConfig(
                poll_interval=settings.poll_interval,
                max_concurrent_polls=settings.max_concurrent_polls,
                recent_window=timedelta(hours=settings.recent_hours),
            ),
            on_deliveries=on_deliveries,
            on_report=report,
        )
        try:
            yield Core(settings, storage, fetcher, matcher, pipeline, metrics=metrics)
        finally:
            cycle_log.flush()


class Service:
    """Scheduler + pipeline + delivery worker(s), started and stopped as one."""

    def __init__(self, core: Core, publishers: list[Publisher]) -> None:
        self.core = core
        on_result = core.metrics.observe_delivery if core.metrics is not None else None
        self.workers = [
            DeliveryWorker(core.storage.outbox, p, on_result=on_result) for p in publishers
        ]
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._worker_tasks: list[asyncio.Task[None]] = []
        # Scheduler jobs running now: stop() lets them end instead of cancelling them
        # mid-transaction (APScheduler's shutdown cancels them and logs a traceback).
        self._running_jobs: set[asyncio.Task[object]] = set()

    @contextlib.contextmanager
    def _job(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - jobs always run in a task
            yield
            return
        self._running_jobs.add(task)
        try:
            yield
        finally:
            self._running_jobs.discard(task)

    def wake_workers(self) -> None:
        """Called by the pipeline when it wrote outbox rows."""
        for worker in self.workers:
            worker.wake()

    async def tick(self) -> None:
        """One scheduler tick: start polls of due feeds and record the heartbeat."""
        now = utc_now()
        with self._job():
            try:
                await self.core.pipeline.start_due(now)
                await self.core.storage.set_meta(HEARTBEAT_POLL, now.isoformat())
            except Exception:  # a failing tick is logged; the next one tries again
                log.exception("poll tick failed")

    async def prune(self) -> None:
        """Forget old seen-article keys."""
        keep = timedelta(days=self.core.settings.retention_days)
        with self._job():
            pruned = await self.core.storage.prune(utc_now(), keep_articles=keep)
        log.info("pruned %d seen-article keys older than %s", pruned, keep)

    def start(self) -> None:
        """Start the scheduler jobs and the delivery workers."""
        interval = self.core.settings.poll_interval
        tick_every = max(0.5, min(5.0, interval / 2))
        self._scheduler.add_job(
            self.tick,
            "interval",
            seconds=tick_every,
            next_run_time=utc_now(),
            max_instances=1,
            coalesce=True,
            id="poll-tick",
        )
        self._scheduler.add_job(
            self.prune,
            "interval",
            hours=6,
            max_instances=1,
            coalesce=True,
            id="prune",
        )
        self._scheduler.start()
        self._worker_tasks = [
            asyncio.create_task(w.run(), name=f"deliver-{i}") for i, w in enumerate(self.workers)
        ]
        log.info(
            "LaunchWatch %s running: poll interval %.0fs, database %s",
            __version__,
            interval,
            self.core.settings.db,
        )

    async def stop(self) -> None:
        """Stop polling, let in-flight work finish briefly, then stop the workers."""
        self._scheduler.pause()
        if self._running_jobs:
            await asyncio.wait(set(self._running_jobs), timeout=SHUTDOWN_GRACE)
        self._scheduler.shutdown(wait=False)
        try:
            await asyncio.wait_for(self.core.pipeline.wait_idle(), SHUTDOWN_GRACE)
        except TimeoutError:
            log.warning("some polls did not finish in %.0fs; they will run again", SHUTDOWN_GRACE)
        for worker in self.workers:
            worker.stop()
        if self._worker_tasks:
            _, pending = await asyncio.wait(self._worker_tasks, timeout=SHUTDOWN_GRACE / 2)
            for task in pending:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def run_until(
    stop: asyncio.Event, service: Service, also: Awaitable[None] | None = None
) -> None:
    """Run ``service`` (and optionally the Discord client) until ``stop`` is set."""
    service.start()
    waiters: list[asyncio.Task[object]] = [asyncio.create_task(stop.wait())]
    if also is not None:
        waiters.append(asyncio.create_task(also))  # type: ignore[arg-type]
    try:
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in waiters:
            task.cancel()
        await service.stop()
