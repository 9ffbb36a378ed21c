"""The small ports the pipeline needs; ``storage/`` and ``bot/`` implement them.

Only what the orchestrator calls is here. Adapters may offer more (queries for slash
commands, for instance), which the edges use directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from handlers.domain import DeliveryJob, Feed, LaunchEvent
from handlers.errors import error_text
from handlers.events import EventChange


@dataclass(frozen=True, slots=True)
class FeedSuccess:
    """State to store after a poll that downloaded and parsed a feed."""

    feed_id: int
    polled_at: datetime
    next_poll_at: datetime
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    title: str
    moved_to: str | None = None


@dataclass(frozen=True, slots=True)
class FeedFailure:
    """State to store after a failed poll."""

    feed_id: int
    polled_at: datetime
    next_poll_at: datetime
    error: str
    disable_reason: str | None = None


class IngestTransaction(Protocol):
    """One feed's new articles, their events and outbox rows, committed together."""

    async def insert_articles(self, feed_id: int, keys: Sequence[str], now: datetime) -> set[str]:
        """Record keys as seen; return those that were not seen before."""
        ...

    async def event_candidates(
        self, key: str, scope: int, *, crewed: bool = False, agencies: Sequence[str] = ()
    ) -> list[LaunchEvent]:
        """Recent events with this key in this scope (0 = global); for a report naming no
        rocket or mission, also crewed events (with ``crewed``) and events whose rocket one
        of ``agencies`` flies."""
        ...

    async def save_event(
        self, change: EventChange, scope: int, feed_id: int | None, now: datetime
    ) -> LaunchEvent:
        """Persist the change; return the event with its id."""
        ...

    async def enqueue_deliveries(
        self,
        event: LaunchEvent,
        change: EventChange,
        scope: int,
        now: datetime,
        *,
        feed_id: int | None = None,
    ) -> int:
        """Write outbox rows for every subscription that should hear of the change that
        feed ``feed_id`` brought."""
        ...

    async def enqueue_webcast(self, event: LaunchEvent, url: str, now: datetime) -> int:
        """The launch's official webcast is live at ``url``: make it the schedule source's
        link and queue a "webcast" notice for each alerted channel that wants one."""
        ...

    async def record_success(self, success: FeedSuccess) -> None:
        """Store the feed's new validators and schedule."""
        ...


class FeedStore(Protocol):
    """What the pipeline reads and writes about feeds outside an ingest."""

    async def due(self, now: datetime, limit: int) -> list[Feed]:
        """Enabled feeds whose poll is due."""
        ...

    async def record_unchanged(self, updates: Sequence[tuple[int, datetime, datetime]]) -> None:
        """Batch-record polls that found nothing new."""
        ...

    async def record_failure(self, failure: FeedFailure) -> None:
        """Record a failed poll."""
        ...


class IngestStore(Protocol):
    """Opens ingest transactions."""

    def ingest(self) -> AbstractAsyncContextManager[IngestTransaction]:
        """Begin one ingest transaction."""
        ...


class PublishOutcome(StrEnum):
    """How a publisher's attempt ended."""

    SENT = "sent"
    RETRY = "retry"  # failed; try again later, counting the attempt
    POSTPONED = "postponed"  # not attempted (asked to wait); does not use up an attempt
    GONE = "gone"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What the publisher did with one delivery job."""

    outcome: PublishOutcome
    message_id: int | None = None
    retry_after: float | None = None
    error: str | None = None
    #: A post that opened a thread on its message: the thread's id.
    thread_id: int | None = None

    def __post_init__(self) -> None:
        # The error is stored (outbox, a broken subscription's reason) and shown in
        # Discord; it often quotes what Discord, or a proxy in front of it, answered.
        if self.error is not None:
            object.__setattr__(self, "error", error_text(self.error))


class Publisher(Protocol):
    """Sends alerts somewhere (Discord, the console)."""

    target: str

    async def publish(self, job: DeliveryJob) -> PublishResult:
        """Carry out one job; never raise for per-channel problems."""
        ...


class OutboxStore(Protocol):
    """The delivery side of the outbox."""

    async def claim(self, target: str, now: datetime, limit: int) -> list[DeliveryJob]:
        """Due jobs for ``target``, oldest first."""
        ...

    async def complete(self, job: DeliveryJob, result: PublishResult, now: datetime) -> None:
        """Store the outcome of one job."""
        ...
