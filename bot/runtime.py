"""The composition root's building blocks: open the core services, run them, stop cleanly.

``bot/__main__.py`` decides what to run; this module owns the wiring so tests can start
exactly what ``launchwatch run`` starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import __version__
from bot.settings import Settings
from handlers.delivery import DeliveryWorker
from handlers.fetcher import FeedFetcher, FetchLimits
from handlers.matcher import LaunchMatcher, default_matcher
from handlers.parser import ParsedFeed, parse_feed
from handlers.pipeline import Pipeline, PipelineConfig
from handlers.ports import Publisher
from storage import Storage

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


@asynccontextmanager
async def open_fetcher(settings: Settings) -> AsyncIterator[FeedFetcher]:
    """The one shared HTTP client for feeds, with the configured guard and caps."""
    limits = FetchLimits(total_timeout=settings.fetch_timeout, max_bytes=settings.max_feed_bytes)
    async with FeedFetcher.open(
        version=__version__,
        allow_private=settings.allow_private_networks,
        limits=limits,
        max_connections=settings.max_concurrent_polls,
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


@asynccontextmanager
async def open_core(
    settings: Settings,
    *,
    on_deliveries: Callable[[], None] | None = None,
    sync_default_feeds: bool = True,
) -> AsyncIterator[Core]:
    """Open the database and the fetcher and build the pipeline; close them on exit."""
    async with Storage.open(settings.db) as storage, open_fetcher(settings) as fetcher:
        if sync_default_feeds:
            await storage.feeds.sync_defaults(settings.feed_urls(), utc_now())
        matcher = default_matcher()
        pipeline = Pipeline(
            feeds=storage.feeds,
            store=storage.events,
            fetcher=fetcher,
            parse=parse_in_thread,
            matcher=matcher,
            config=PipelineConfig(
                poll_interval=settings.poll_interval,
                max_concurrent_polls=settings.max_concurrent_polls,
                recent_window=timedelta(hours=settings.recent_hours),
            ),
            on_deliveries=on_deliveries,
        )
        yield Core(settings, storage, fetcher, matcher, pipeline)


class Service:
    """Scheduler + pipeline + delivery worker(s), started and stopped as one."""

    def __init__(self, core: Core, publishers: list[Publisher]) -> None:
        self.core = core
        self.workers = [DeliveryWorker(core.storage.outbox, p) for p in publishers]
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._worker_tasks: list[asyncio.Task[None]] = []

    def wake_workers(self) -> None:
        """Called by the pipeline when it wrote outbox rows."""
        for worker in self.workers:
            worker.wake()

    async def tick(self) -> None:
        """One scheduler tick: start polls of due feeds and record the heartbeat."""
        now = utc_now()
        try:
            await self.core.pipeline.start_due(now)
            await self.core.storage.set_meta(HEARTBEAT_POLL, now.isoformat())
        except Exception:  # a failing tick is logged; the next one tries again
            log.exception("poll tick failed")

    async def prune(self) -> None:
        """Forget old seen-article keys."""
        keep = timedelta(days=self.core.settings.retention_days)
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
