"""The composition root's building blocks: open the core services, run them, stop cleanly.

``bot/__main__.py`` decides what to run; this module owns the wiring so tests can start
exactly what ``launchwatch run`` starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp.abc import AbstractResolver
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import __version__
from bot.health import HEARTBEAT_POLL
from bot.logsetup import PollCycleLog
from bot.settings import Settings
from handlers.delivery import DeliveryWorker
from handlers.domain import utc_now
from handlers.fetcher import FeedFetcher, FetchLimits
from handlers.guild_events import GuildEventSync
from handlers.matching.matcher import LaunchMatcher, default_matcher
from handlers.parserpool import ParserPool
from handlers.pipeline import Pipeline, PipelineConfig, PollReport
from handlers.ports import Publisher
from handlers.reader import FeedReader
from handlers.schedule.budget import RequestBudget
from handlers.schedule.client import ScheduleClient
from handlers.schedule.launches import ScheduledLaunch
from handlers.schedule.linking import link_launches
from handlers.schedule.refresh import ScheduleRefresher
from storage import Storage

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 6.0
# How often the service asks whether a schedule request is due (the budget decides).
SCHEDULE_TICK = 30.0
# How often servers' scheduled events are brought in line with their launches.
GUILD_EVENTS_TICK = 30.0
# How often due reminders are queued (a reminder may be up to a minute late at worst).
REMIND_TICK = 15.0
# A feed nobody follows any more is kept this long (unpolled), so a server that follows it
# again soon keeps its seen items and gets no repeat of old news.
ORPHAN_KEEP = timedelta(days=7)


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


@asynccontextmanager
async def open_reader(
    settings: Settings, *, resolver: AbstractResolver | None = None
) -> AsyncIterator[FeedReader]:
    """Fetch, parse and match as the poller does, without a database (scan, feeds add)."""
    async with (
        open_fetcher(settings, resolver=resolver) as fetcher,
        ParserPool.open(budget=settings.parse_timeout) as parser,
    ):
        yield FeedReader(fetcher, parser.parse, default_matcher())


@asynccontextmanager
async def open_schedule(
    settings: Settings,
    storage: Storage,
    matcher: LaunchMatcher,
    on_deliveries: Callable[[], None] | None = None,
) -> AsyncIterator[ScheduleRefresher | None]:
    """The launch schedule's refresher, its launches linked to the launch events; None with
    ``LAUNCHWATCH_SCHEDULE=off``."""
    if not settings.schedule:
        yield None
        return

    async def link(launches: list[ScheduledLaunch], now: datetime) -> None:
        report = await link_launches(storage.events, matcher, launches, now)
        if report.deliveries and on_deliveries is not None:
            on_deliveries()

    token = settings.schedule_token.get_secret_value() if settings.schedule_token else None
    async with ScheduleClient.open(
        settings.schedule_url, version=__version__, token=token
    ) as client:
        yield ScheduleRefresher(
            storage.schedule,
            client,
            RequestBudget(settings.schedule_requests),
            on_launches=link,
            next_reminder=storage.outbox.next_reminder,
        )


@dataclass
class Core:
    """Everything the service needs apart from a publisher."""

    settings: Settings
    storage: Storage
    fetcher: FeedFetcher
    matcher: LaunchMatcher
    pipeline: Pipeline
    parser: ParserPool
    started_at: float = field(default_factory=time.monotonic)
    metrics: Metrics | None = None
    #: Keeps the launch schedule fresh; None with ``LAUNCHWATCH_SCHEDULE=off``.
    schedule: ScheduleRefresher | None = None

    @property
    def reader(self) -> FeedReader:
        """Fetch, parse (in the pool, within the budget) and match: what the poller does."""
        return self.pipeline.reader


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
    matcher = default_matcher()
    async with (
        Storage.open(settings.database) as storage,
        open_fetcher(settings, resolver=resolver) as fetcher,
        ParserPool.open(parser_workers, budget=settings.parse_timeout) as parser,
        open_schedule(settings, storage, matcher, on_deliveries) as schedule,
    ):
        if sync_default_feeds:
            await storage.feeds.sync_defaults(settings.feed_urls(), utc_now())
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
            yield Core(
                settings,
                storage,
                fetcher,
                matcher,
                pipeline,
                parser,
                metrics=metrics,
                schedule=schedule,
            )
        finally:
            cycle_log.flush()


class Service:
    """Scheduler + pipeline + delivery worker(s), started and stopped as one."""

    def __init__(
        self,
        core: Core,
        publishers: list[Publisher],
        *,
        guild_events: GuildEventSync | None = None,
    ) -> None:
        self.core = core
        #: Keeps opted-in servers' Discord scheduled events in step (None: no Discord).
        self.guild_events = guild_events
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

    async def schedule_tick(self) -> None:
        """Read the launch schedule if a request is due and the budget allows one."""
        refresher = self.core.schedule
        if refresher is None:
            return
        with self._job():
            try:
                report = await refresher.run_due(utc_now())
            except Exception:  # the schedule is an extra: news carries on without it
                log.exception("launch schedule refresh failed")
                return
        if report is not None and report.saved:
            # A webcast gone live or a new NET moves the servers' events at once.
            await self.sync_guild_events()

    async def sync_guild_events(self) -> None:
        """Create, move, start and end opted-in servers' scheduled events."""
        if self.guild_events is None:
            return
        with self._job():
            try:
                await self.guild_events.run_once()
            except Exception:  # logged; the next tick syncs again
                log.exception("syncing scheduled events failed")

    async def remind(self) -> None:
        """Queue the T-minus reminders due now, wake the delivery workers for them, and run
        again when the next one falls due (the regular tick catches reminders of launches
        that appear in between)."""
        outbox = self.core.storage.outbox
        with self._job():
            try:
                now = utc_now()
                if await outbox.plan_reminders(now):
                    self.wake_workers()
                upcoming = await outbox.next_reminder(now)
            except Exception:  # logged; the next tick plans again (tags keep it exactly once)
                log.exception("planning reminders failed")
                return
        if upcoming is not None and upcoming - now < timedelta(seconds=REMIND_TICK):
            self._scheduler.add_job(
                self.remind, "date", run_date=upcoming, id="remind-next", replace_existing=True
            )

    async def prune(self) -> None:
        """Forget old seen-article keys."""
        keep = timedelta(days=self.core.settings.retention_days)
        with self._job():
            now = utc_now()
            pruned = await self.core.storage.prune(now, keep_articles=keep)
            orphans = await self.core.storage.feeds.prune_orphans(now, ORPHAN_KEEP)
        log.info(
            "pruned %d seen-article keys older than %s and %d feeds nobody follows",
            pruned,
            keep,
            orphans,
        )

    def start(self) -> None:
        """Start the scheduler jobs and the delivery workers."""
        interval = self.core.settings.poll_interval
        tick_every = max(0.5, min(5.0, interval / 2))
        self._every(self.tick, "poll-tick", seconds=tick_every, now=True)
        if self.core.schedule is not None:
            self._every(self.schedule_tick, "schedule", seconds=SCHEDULE_TICK, now=True)
        self._every(self.remind, "remind", seconds=REMIND_TICK)
        if self.guild_events is not None:
            self._every(self.sync_guild_events, "guild-events", seconds=GUILD_EVENTS_TICK)
        self._every(self.prune, "prune", seconds=6 * 3600)
        self._scheduler.start()
        self._worker_tasks = [
            asyncio.create_task(w.run(), name=f"deliver-{i}") for i, w in enumerate(self.workers)
        ]
        log.info(
            "LaunchWatch %s running: poll interval %.0fs, database %s",
            __version__,
            interval,
            self.core.settings.database_label,
        )

    def _every(
        self, job: Callable[[], Awaitable[None]], name: str, *, seconds: float, now: bool = False
    ) -> None:
        """Run ``job`` every ``seconds`` (first right away with ``now``), never two at once."""
        # APScheduler reads next_run_time=None as "paused": leave it out to start normally.
        first = {"next_run_time": utc_now()} if now else {}
        self._scheduler.add_job(
            job, "interval", seconds=seconds, max_instances=1, coalesce=True, id=name, **first
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
