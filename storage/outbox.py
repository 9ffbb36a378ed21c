"""The delivery side of the outbox: claim due jobs, record what the publisher did."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import NamedTuple

from handlers.domain import DeliveryJob, DeliveryKind, LaunchEvent, LaunchStatus, Notice
from handlers.ports import PublishOutcome, PublishResult
from handlers.schedule.reminders import (
    LONGEST,
    NEW_TIME,
    due_reminders,
    reminder_tag,
    tag_offset,
    tag_time,
)
from handlers.schedule_math import exponential_delay
from storage.codec import json_values, require_time, subscription_from_row, to_db
from storage.database import SqlDatabase
from storage.events import SqlEventStore

MAX_ATTEMPTS = 8
RETRY_CAP = 900.0  # seconds: the longest wait between two delivery attempts


class WantedReminders(NamedTuple):
    """One alerted channel's reminders of one launch."""

    sub_id: int
    event_id: int
    launch_time: datetime
    leads: tuple[int, ...]
    notices: frozenset[Notice]


class SqlOutbox:
    """Outbox rows and the per-channel delivery record."""

    def __init__(self, db: SqlDatabase, events: SqlEventStore) -> None:
        self._db = db
        self._events = events

    async def claim(self, target: str, now: datetime, limit: int) -> list[DeliveryJob]:
        """Due jobs for ``target``; edits and follow-ups wait until their post has a message."""
        rows = await self._db.fetchall(
            "SELECT o.id AS job_id, o.kind, o.followup_status, o.reminder, o.attempts, o.event_id,"
            " d.message_id, d.posted_revision, d.thread_id, s.*"
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
        stale: list[int] = []
        for row in rows:
            event = events.get(row["event_id"])
            if event is None:
                continue
            if row["kind"] == DeliveryKind.REMINDER and not _still_wanted(row["reminder"], event):
                stale.append(row["job_id"])
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
                    followup_status=row["followup_status"] or None,
                    reminder=tag_offset(row["reminder"]) if row["reminder"] else None,
                    thread_id=row["thread_id"],
                )
            )
        if stale:
            await self._cancel(stale, "cancelled: the launch is on hold or its time moved")
        return jobs

    async def _cancel(self, job_ids: list[int], reason: str) -> None:
        async with self._db.transaction() as conn:
            await conn.executemany(
                "UPDATE outbox SET state = 'dead', last_error = ? WHERE id = ?",
                [(reason, job_id) for job_id in job_ids],
            )

    async def next_reminder(self, after: datetime) -> datetime | None:
        """When the first reminder later than ``after`` falls due (None: none to come)."""
        times = [
            wanted.launch_time - timedelta(seconds=offset)
            for wanted in await self._wanted_reminders(after)
            for offset in wanted.leads
            if wanted.launch_time - timedelta(seconds=offset) > after
        ]
        return min(times, default=None)

    async def plan_reminders(self, now: datetime) -> int:
        """Queue the T-minus reminders due now; returns how many are new.

        A reminder goes to a channel that got the launch's alert, for a launch still pending
        with an exact time. Its tag (lead time @ launch time) makes planning again, after a
        crash or on the next tick, a no-op; a slip gives new tags, so new reminders. A channel
        already reminded of another time for the launch first gets a "new time" notice (lead
        time 0), once per new time."""
        wanted = await self._wanted_reminders(now)
        reminded = await self._reminded_times({w.event_id for w in wanted})
        leads: list[tuple[WantedReminders, int]] = [
            (w, offset) for w in wanted for offset in due_reminders(w.launch_time, w.leads, now)
        ]
        # A moved launch: a "new time" notice where a reminder of another time went out,
        # unless the channel hears of it from its "time" status notice.
        leads.extend(
            (w, NEW_TIME)
            for w in wanted
            if reminded.get((w.sub_id, w.event_id), {w.launch_time}) - {w.launch_time}
            and Notice.TIME not in w.notices
        )
        jobs = [
            (w.sub_id, w.event_id, reminder_tag(offset, w.launch_time), to_db(now), to_db(now))
            for w, offset in leads
        ]
        if not jobs:
            return 0
        async with self._db.transaction() as conn:
            cur = await conn.executemany(
                "INSERT INTO outbox (subscription_id, event_id, kind, reminder, next_attempt_at,"
                " created_at) VALUES (?, ?, 'reminder', ?, ?, ?) ON CONFLICT DO NOTHING",
                jobs,
            )
            return max(int(cur.rowcount), 0)

    async def _reminded_times(self, events: set[int]) -> dict[tuple[int, int], set[datetime]]:
        """The launch times each channel was already reminded of, per event."""
        if not events:
            return {}
        rows = await self._db.fetchall(
            "SELECT subscription_id, event_id, reminder FROM outbox WHERE kind = 'reminder'"
            " AND state = 'done' AND event_id IN (SELECT CAST(value AS BIGINT) FROM"
            f" {json_values(self._db.dialect, '?')})",
            (json.dumps(sorted(events)),),
        )
        times: dict[tuple[int, int], set[datetime]] = {}
        for sub_id, event_id, tag in rows:
            times.setdefault((sub_id, event_id), set()).add(tag_time(tag))
        return times

    async def _wanted_reminders(self, now: datetime) -> list[WantedReminders]:
        """Every alerted channel that wants reminders of an upcoming launch (not on hold or
        scrubbed) with an exact time in the next 31 days."""
        rows = await self._db.fetchall(
            "SELECT s.id, e.id, e.launch_time, s.reminders, s.notices FROM events e"
            " JOIN outbox p ON p.event_id = e.id AND p.kind = 'post' AND p.state != 'dead'"
            " JOIN subscriptions s ON s.id = p.subscription_id"
            " WHERE s.state = 'active' AND s.reminders != '[]'"
            " AND e.status = 'upcoming' AND e.launch_day_only = 0"
            " AND e.launch_time > ? AND e.launch_time <= ?",
            (to_db(now), to_db(now + LONGEST + timedelta(minutes=1))),
        )
        return [
            WantedReminders(
                sub_id=row[0],
                event_id=row[1],
                launch_time=require_time(row[2]),
                leads=tuple(json.loads(row[3])),
                notices=frozenset(Notice(n) for n in json.loads(row[4])),
            )
            for row in rows
        ]

    async def complete(self, job: DeliveryJob, result: PublishResult, now: datetime) -> None:
        """Store one outcome; a gone channel breaks its subscription and ends its jobs."""
        async with self._db.transaction() as conn:
            if result.outcome is PublishOutcome.SENT:
                await conn.execute(
                    "UPDATE outbox SET state = 'done', attempts = attempts + 1, done_at = ?,"
                    " last_error = NULL WHERE id = ?",
                    (to_db(now), job.id),
                )
                if job.kind not in (DeliveryKind.FOLLOWUP, DeliveryKind.REMINDER):
                    await conn.execute(
                        "INSERT INTO deliveries (subscription_id, event_id, message_id,"
                        " posted_revision, thread_id) VALUES (?, ?, ?, ?, ?)"
                        " ON CONFLICT (subscription_id, event_id) DO UPDATE SET"
                        " message_id = COALESCE(deliveries.message_id, excluded.message_id),"
                        " posted_revision = CASE WHEN excluded.posted_revision >"
                        " deliveries.posted_revision THEN excluded.posted_revision"
                        " ELSE deliveries.posted_revision END,"
                        " thread_id = COALESCE(deliveries.thread_id, excluded.thread_id)",
                        (
                            job.subscription.id,
                            job.event.id,
                            result.message_id,
                            job.event.revision,
                            result.thread_id,
                        ),
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


def _still_wanted(tag: str, event: LaunchEvent) -> bool:
    """A queued reminder still counts down to the event's launch: it is upcoming (a hold or
    scrub cancels) and its time is the one the reminder was planned for (a slip re-plans)."""
    return (
        event.status is LaunchStatus.UPCOMING
        and event.launch_time is not None
        and tag_time(tag) == event.launch_time
    )
