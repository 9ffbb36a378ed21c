"""The delivery side of the outbox: claim due jobs, record what the publisher did."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.domain import DeliveryJob, DeliveryKind, LaunchStatus
from handlers.ports import PublishOutcome, PublishResult
from handlers.schedule_math import exponential_delay
from storage.codec import subscription_from_row, to_db
from storage.database import Database
from storage.events import SqliteEventStore

MAX_ATTEMPTS = 8
RETRY_CAP = 900.0  # seconds: the longest wait between two delivery attempts


class SqliteOutbox:
    """Outbox rows and the per-channel delivery record."""

    def __init__(self, db: Database, events: SqliteEventStore) -> None:
        self._db = db
        self._events = events

    async def claim(self, target: str, now: datetime, limit: int) -> list[DeliveryJob]:
        """Due jobs for ``target``; edits and follow-ups wait until their post has a message."""
        rows = await self._db.fetchall(
            "SELECT o.id AS job_id, o.kind, o.followup_status, o.attempts, o.event_id,"
            " d.message_id, d.posted_revision, s.*"
            " FROM outbox o JOIN subscriptions s ON s.id = o.subscription_id"
            " LEFT JOIN deliveries d"
            "   ON d.subscription_id = o.subscription_id AND d.event_id = o.event_id"
            " WHERE o.state = 'pending' AND o.next_attempt_at <= ? AND s.target = ?"
            "   AND s.state = 'active' AND (o.kind = 'post' OR d.message_id IS NOT NULL)"
            " ORDER BY o.id LIMIT ?",
            (to_db(now), target, limit),
        )
        # One batch load for every event the jobs mention, not three queries per event.
        events = await self._events.get_many(row["event_id"] for row in rows)
        jobs = []
        for row in rows:
            event = events.get(row["event_id"])
            if event is None:
                continue
            jobs.append(
                DeliveryJob(
                    id=row["job_id"],
                    kind=DeliveryKind(row["kind"]),
                    subscription=subscription_from_row(row),
                    event=event,
                    attempts=row["attempts"],
                    nonce=f"lw-{row['job_id']}",
                    message_id=row["message_id"],
                    posted_revision=row["posted_revision"] or 0,
                    followup_status=LaunchStatus(row["followup_status"])
                    if row["followup_status"]
                    else None,
                )
            )
        return jobs

    async def complete(self, job: DeliveryJob, result: PublishResult, now: datetime) -> None:
        """Store one outcome; a gone channel breaks its subscription and ends its jobs."""
        async with self._db.transaction() as conn:
            if result.outcome is PublishOutcome.SENT:
                await conn.execute(
                    "UPDATE outbox SET state = 'done', attempts = attempts + 1, done_at = ?,"
                    " last_error = NULL WHERE id = ?",
                    (to_db(now), job.id),
                )
                if job.kind is not DeliveryKind.FOLLOWUP:
                    await conn.execute(
                        "INSERT INTO deliveries (subscription_id, event_id, message_id,"
                        " posted_revision) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
                        " message_id = COALESCE(deliveries.message_id, excluded.message_id),"
                        " posted_revision = MAX(deliveries.posted_revision,"
                        " excluded.posted_revision)",
                        (job.subscription.id, job.event.id, result.message_id, job.event.revision),
                    )
            elif result.outcome is PublishOutcome.POSTPONED:
                await conn.execute(
                    "UPDATE outbox SET next_attempt_at = ?, last_error = ? WHERE id = ?",
                    (
                        to_db(now + timedelta(seconds=result.retry_after or 1.0)),
                        result.error,
                        job.id,
                    ),
                )
            elif result.outcome is PublishOutcome.RETRY and job.attempts + 1 < MAX_ATTEMPTS:
                delay = (
                    result.retry_after
                    if result.retry_after is not None
                    else exponential_delay(job.attempts + 1, 1.0, RETRY_CAP)
                )
                await conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?,"
                    " last_error = ? WHERE id = ?",
                    (to_db(now + timedelta(seconds=delay)), result.error, job.id),
                )
            elif result.outcome is PublishOutcome.GONE:
                await conn.execute(
                    "UPDATE subscriptions SET state = 'broken', broken_reason = ?, updated_at = ?"
                    " WHERE id = ?",
                    (result.error or "channel is gone", to_db(now), job.subscription.id),
                )
                await conn.execute(
                    "UPDATE outbox SET state = 'dead', last_error = ? WHERE subscription_id = ?"
                    " AND state = 'pending'",
                    (result.error, job.subscription.id),
                )
            else:
                await conn.execute(
                    "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?"
                    " WHERE id = ?",
                    (result.error, job.id),
                )
                if job.kind is DeliveryKind.POST:
                    await conn.execute(
                        "UPDATE outbox SET state = 'dead', last_error = 'post failed'"
                        " WHERE subscription_id = ? AND event_id = ? AND state = 'pending'",
                        (job.subscription.id, job.event.id),
                    )

    async def mark_skipped(self, job: DeliveryJob, now: datetime) -> None:
        """An edit that found the message already current."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET state = 'done', done_at = ? WHERE id = ?", (to_db(now), job.id)
            )

    async def posted_revision(self, subscription_id: int, event_id: int) -> int:
        """Revision of the event the channel's message shows."""
        row = await self._db.fetchone(
            "SELECT posted_revision FROM deliveries WHERE subscription_id = ? AND event_id = ?",
            (subscription_id, event_id),
        )
        return int(row[0]) if row else 0

    async def pending_count(self) -> int:
        """Jobs waiting to be delivered."""
        row = await self._db.fetchone("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
        return int(row[0]) if row else 0

    async def next_due_at(self, target: str) -> datetime | None:
        """When the earliest pending job for ``target`` falls due."""
        row = await self._db.fetchone(
            "SELECT MIN(o.next_attempt_at) FROM outbox o JOIN subscriptions s"
            " ON s.id = o.subscription_id WHERE o.state = 'pending' AND s.target = ?"
            " AND s.state = 'active'",
            (target,),
        )
        from storage.codec import from_db

        return from_db(row[0]) if row else None
