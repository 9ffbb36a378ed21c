"""The delivery worker: drains outbox rows through a publisher.

Each job is done at least once; publishers make repeats harmless (Discord: a deterministic
nonce per job, so a retried send returns the first message). Jobs for one channel run in
order; channels run side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from handlers.crashpoints import crash_point
from handlers.domain import DeliveryJob, DeliveryKind, utc_now
from handlers.errors import error_text
from handlers.ports import OutboxStore, Publisher, PublishOutcome, PublishResult

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class DeliveryWorker:
    """Claims due jobs for one publisher and records every outcome."""

    def __init__(
        self,
        outbox: OutboxStore,
        publisher: Publisher,
        *,
        clock: Clock = utc_now,
        batch_size: int = 200,
        channel_concurrency: int = 64,
        idle_wait: float = 5.0,
        on_result: Callable[[DeliveryJob, PublishResult], None] | None = None,
    ) -> None:
        self._outbox = outbox
        self._publisher = publisher
        self._clock = clock
        self._batch_size = batch_size
        self._slots = asyncio.Semaphore(channel_concurrency)
        self._idle_wait = idle_wait
        self._on_result = on_result
        self._wake = asyncio.Event()
        self._stopping = False
        self.delivered = 0

    def wake(self) -> None:
        """New jobs were written: drain now rather than at the next idle tick."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the current batch, then return from :meth:`run`."""
        self._stopping = True
        self._wake.set()

    async def drain_once(self) -> int:
        """Deliver every job due now; return how many were attempted."""
        total = 0
        while not self._stopping:
            jobs = await self._outbox.claim(self._publisher.target, self._clock(), self._batch_size)
            if not jobs:
                break
            by_channel: dict[int, list[DeliveryJob]] = defaultdict(list)
            for job in jobs:
                by_channel[job.subscription.channel_id].append(job)
            await asyncio.gather(*(self._run_channel(js) for js in by_channel.values()))
            total += len(jobs)
            if len(jobs) < self._batch_size:
                break
        return total

    async def run(self) -> None:
        """Drain forever, waking on :meth:`wake` or every ``idle_wait`` seconds."""
        while not self._stopping:
            # Cleared before draining, so a wake() for jobs written during the drain is
            # kept and runs the next drain at once instead of after ``idle_wait``.
            self._wake.clear()
            try:
                await self.drain_once()
            except Exception:  # the worker must outlive any single bad batch
                log.exception("delivery batch failed; retrying shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._idle_wait)

    async def _run_channel(self, jobs: list[DeliveryJob]) -> None:
        async with self._slots:
            for job in jobs:
                if self._stopping:
                    return
                await self._run_job(job)

    async def _run_job(self, job: DeliveryJob) -> None:
        if job.kind is DeliveryKind.EDIT and job.posted_revision >= job.event.revision:
            await self._outbox.complete(
                job, PublishResult(PublishOutcome.SENT, job.message_id), self._clock()
            )
            return
        try:
            crash_point("deliver.before_publish")
            result = await self._publisher.publish(job)
            crash_point("deliver.after_publish")
        except Exception as exc:
            log.exception("delivery job=%d crashed in the publisher", job.id)
            result = PublishResult(PublishOutcome.RETRY, error=f"internal error: {error_text(exc)}")
        now = self._clock()
        await self._outbox.complete(job, result, now)
        if self._on_result is not None:
            self._on_result(job, result)
        if result.outcome is PublishOutcome.SENT:
            self.delivered += 1
        else:
            log.warning(
                "delivery job=%d kind=%s channel=%d outcome=%s error=%s",
                job.id,
                job.kind,
                job.subscription.channel_id,
                result.outcome,
                result.error,
            )
        if result.outcome is PublishOutcome.RETRY:
            retry_at = now + timedelta(seconds=result.retry_after or 0)
            log.debug("job=%d retries at %s", job.id, retry_at.isoformat())
