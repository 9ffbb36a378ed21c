"""The one orchestrator: poll due feeds, store what is new, turn launch stories into alerts.

For each due feed: fetch (conditional GET) → parse off the event loop → record keys as
seen → match the new, recent articles → resolve them into launch events → write outbox
rows, all of it in one transaction per feed. The first successful poll of a feed only
records what is there ("seeding") and alerts nothing.

Failures stay with their feed: it is logged, backed off and, if it keeps failing,
disabled with the reason recorded. Nothing here talks to Discord.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from handlers.crashpoints import crash_point
from handlers.domain import Article, Feed, LaunchStatus
from handlers.errors import FeedError, HTTPStatusError, error_text
from handlers.events import resolve
from handlers.fetcher import Fetcher, FetchResult
from handlers.parser import ParsedFeed
from handlers.ports import FeedFailure, FeedStore, FeedSuccess, IngestStore
from handlers.reader import FeedReader, Matcher, ParseFn
from handlers.schedule_math import compute_backoff, next_poll_delay

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Knobs of the polling pipeline (the CLI fills them from settings)."""

    poll_interval: float = 300.0
    max_concurrent_polls: int = 32
    max_due_per_tick: int = 2000
    recent_window: timedelta = timedelta(hours=72)
    max_failures: int = 10
    backoff_base: float = 60.0
    backoff_cap: float = 6 * 3600.0


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one feed poll did (one log line, and the CLI's ``poll --once`` output)."""

    feed_id: int
    url: str
    status: str
    new: int = 0
    matched: int = 0
    events_created: int = 0
    events_updated: int = 0
    deliveries: int = 0
    error: str | None = None
    error_kind: str | None = None
    statuses: tuple[LaunchStatus, ...] = ()
    parse_seconds: float | None = None  # None: nothing was parsed


@dataclass(slots=True)
class _Unchanged:
    pending: dict[int, tuple[datetime, datetime]] = field(default_factory=dict)


class Pipeline:
    """Polls feeds and feeds the outbox; see the module docstring."""

    def __init__(
        self,
        *,
        feeds: FeedStore,
        store: IngestStore,
        fetcher: Fetcher,
        parse: ParseFn,
        matcher: Matcher,
        config: PipelineConfig | None = None,
        rng: random.Random | None = None,
        on_deliveries: Callable[[], None] | None = None,
        on_report: Callable[[PollReport], None] | None = None,
    ) -> None:
        self._feeds = feeds
        self._store = store
        self.reader = FeedReader(fetcher, parse, matcher)
        self.config = config or PipelineConfig()
        self._rng = rng or random.Random()
        self._on_deliveries = on_deliveries
        self._on_report = on_report
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task[PollReport]] = set()
        self._unchanged = _Unchanged()
        self._slots = asyncio.Semaphore(self.config.max_concurrent_polls)
        self._backlog_at: datetime | None = None
        self._topping_up: asyncio.Task[None] | None = None
        self._collectors: list[list[PollReport]] = []
        self.last_cycle_at: datetime | None = None

    async def start_due(self, now: datetime) -> list[asyncio.Task[PollReport]]:
        """Start polls for due feeds not already being polled; return their tasks.

        At most ``max_due_per_tick`` start at once. When more may be due, the next batch
        due at ``now`` starts as soon as this one is down to a few polls (see
        :meth:`_top_up`), so a backlog (a restart, a burst) flows through at full speed
        instead of one batch per scheduler tick.
        """
        await self.flush_unchanged()
        limit = self.config.max_due_per_tick
        asked = limit + len(self._in_flight) + len(self._unchanged.pending)
        due = await self._feeds.due(now, asked)
        started: list[asyncio.Task[PollReport]] = []
        for feed in due:
            # Checked after the query: polls started meanwhile must not start twice.
            if feed.id in self._in_flight or feed.id in self._unchanged.pending:
                continue
            if len(started) == limit:
                break
            self._in_flight.add(feed.id)
            task = asyncio.create_task(self._guarded_poll(feed, now), name=f"poll-{feed.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started.append(task)
        # A full page means more feeds may be due than one batch takes.
        self._backlog_at = now if len(due) == asked else None
        self.last_cycle_at = now
        return started

    async def run_due(self, now: datetime) -> list[PollReport]:
        """Poll every feed due at ``now`` and wait for all of them (tests, ``poll --once``)."""
        reports: list[PollReport] = []
        self._collectors.append(reports)
        try:
            await self.start_due(now)
            await self._drain()
        finally:
            self._collectors.remove(reports)
        return reports

    async def wait_idle(self) -> None:
        """Let in-flight polls finish, starting no new ones (graceful shutdown); store results."""
        self._backlog_at = None
        await self._drain()

    async def _drain(self) -> None:
        while self._tasks or self._topping_up is not None:
            waiting = [*self._tasks, *([self._topping_up] if self._topping_up else [])]
            await asyncio.gather(*waiting, return_exceptions=True)
        await self.flush_unchanged()

    def _top_up(self) -> None:
        """Start the next batch of a backlog once this one is down to a few polls."""
        if (
            self._backlog_at is None
            or self._topping_up is not None
            or len(self._in_flight) > 2 * self.config.max_concurrent_polls
        ):
            return
        self._topping_up = asyncio.create_task(self._next_batch(self._backlog_at))

    async def _next_batch(self, now: datetime) -> None:
        try:
            await self.start_due(now)
        except Exception:  # the next scheduler tick tries again
            log.exception("could not start the next batch of due feeds")
            self._backlog_at = None
        finally:
            self._topping_up = None

    async def flush_unchanged(self) -> None:
        """Write the batched "nothing new" poll results in one transaction."""
        pending = self._unchanged.pending
        if not pending:
            return
        batch = dict(pending)
        await self._feeds.record_unchanged([(fid, at, nxt) for fid, (at, nxt) in batch.items()])
        # Only now do these feeds stop counting as busy: until their next poll time is
        # stored, the database still says they are due. (A flush running alongside may
        # have written and removed some of them already.)
        for fid, result in batch.items():
            if pending.get(fid) is result:
                del pending[fid]

    async def _guarded_poll(self, feed: Feed, now: datetime) -> PollReport:
        try:
            async with self._slots:
                report = await self.poll_feed(feed, now)
        except Exception as exc:  # one broken feed must never stop the others
            log.exception("feed=%s poll crashed", feed.url)
            report = PollReport(
                feed.id,
                feed.url,
                "error",
                error=f"internal error: {error_text(exc)}",
                error_kind="internal",
            )
        finally:
            self._in_flight.discard(feed.id)
            self._top_up()
        for collected in self._collectors:
            collected.append(report)
        if self._on_report is not None:
            self._on_report(report)
        # A failing feed is a warning; one that was just disabled needs a person: an error.
        level = {"error": logging.WARNING, "disabled": logging.ERROR}.get(
            str(report.status), logging.INFO
        )
        log.log(
            level,
            "feed=%s status=%s new=%d matched=%d events=+%d/~%d deliveries=%d%s",
            feed.url,
            report.status,
            report.new,
            report.matched,
            report.events_created,
            report.events_updated,
            report.deliveries,
            f" error={report.error!r}" if report.error else "",
        )
        return report

    async def poll_feed(self, feed: Feed, now: datetime) -> PollReport:
        """Fetch, parse and ingest one feed; failures are recorded, not raised."""
        try:
            read = await self.reader.read(
                feed.url,
                feed_id=feed.id,
                etag=feed.etag,
                last_modified=feed.last_modified,
                previous_body_hash=feed.body_hash if feed.seeded else None,
            )
            if read.parsed is None:
                self._unchanged.pending[feed.id] = (now, self._next_poll(now, read.fetched))
                return PollReport(feed.id, feed.url, read.fetched.status)
            crash_point("poll.fetched")
        except FeedError as exc:
            return await self._record_failure(feed, now, exc)
        report = await self._ingest(feed, now, read.fetched, read.parsed)
        return replace(report, parse_seconds=read.parse_seconds)

    def _next_poll(self, now: datetime, result: FetchResult | None) -> datetime:
        delay = next_poll_delay(
            self.config.poll_interval,
            result.max_age if result else None,
            result.retry_after if result else None,
            self._rng,
        )
        return now + timedelta(seconds=delay)

    async def _record_failure(self, feed: Feed, now: datetime, exc: FeedError) -> PollReport:
        failures = feed.consecutive_failures + 1
        delay = compute_backoff(
            failures, self.config.backoff_base, self.config.backoff_cap, self._rng
        )
        retry_after = exc.retry_after if isinstance(exc, HTTPStatusError) else None
        if retry_after is not None:
            delay = max(delay, retry_after)
        disable = None
        if isinstance(exc, HTTPStatusError) and exc.status == 410:
            disable = "the publisher says the feed is gone (HTTP 410)"
        elif failures >= self.config.max_failures:
            disable = f"failed {failures} times in a row; last error: {error_text(exc)}"
        await self._feeds.record_failure(
            FeedFailure(
                feed_id=feed.id,
                polled_at=now,
                next_poll_at=now + timedelta(seconds=delay),
                error=error_text(exc),
                disable_reason=disable,
            )
        )
        if disable:
            log.warning("feed=%s disabled: %s", feed.url, disable)
        return PollReport(
            feed.id,
            feed.url,
            "disabled" if disable else "error",
            error=str(exc),
            error_kind=type(exc).__name__,
        )

    async def _ingest(
        self, feed: Feed, now: datetime, result: FetchResult, parsed: ParsedFeed
    ) -> PollReport:
        scope = feed.scope
        seeding = not feed.seeded
        articles = {a.key: a for a in parsed.articles}
        created = updated = deliveries = 0
        statuses: list[LaunchStatus] = []
        async with self._store.ingest() as tx:
            new_keys = await tx.insert_articles(feed.id, list(articles), now)
            fresh = (
                []
                if seeding
                else [a for k, a in articles.items() if k in new_keys and self._is_recent(a, now)]
            )
            for article in sorted(fresh, key=lambda a: a.published or now):
                mention = self.reader.matcher.match_article(article)
                if mention is None:
                    continue
                statuses.append(mention.status)
                candidates = await tx.event_candidates(
                    mention.event_key, scope, crewed=bool(mention.crewed), agencies=mention.agencies
                )
                change = resolve(mention, article, candidates, now)
                if not change.is_new and not change.changed:
                    continue
                event = await tx.save_event(change, scope, feed.id, now)
                created += change.is_new
                updated += not change.is_new
                deliveries += await tx.enqueue_deliveries(
                    event, change, scope, now, feed_id=feed.id
                )
            await tx.record_success(
                FeedSuccess(
                    feed_id=feed.id,
                    polled_at=now,
                    next_poll_at=self._next_poll(now, result),
                    etag=result.etag,
                    last_modified=result.last_modified,
                    body_hash=result.body_hash,
                    title=parsed.title[:200],
                    moved_to=result.permanent_redirect_url,
                )
            )
            crash_point("ingest.before_commit")
        crash_point("ingest.committed")
        if deliveries and self._on_deliveries is not None:
            self._on_deliveries()
        return PollReport(
            feed.id,
            feed.url,
            "seeded" if seeding else "ok",
            new=len(new_keys),
            matched=len(statuses),
            events_created=created,
            events_updated=updated,
            deliveries=deliveries,
            statuses=tuple(statuses),
        )

    def _is_recent(self, article: Article, now: datetime) -> bool:
        return article.published is None or now - article.published <= self.config.recent_window
