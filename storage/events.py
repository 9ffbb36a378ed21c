"""Launch events with their sources and status history, and the ingest transaction."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from handlers.domain import (
    LaunchEvent,
    LaunchStatus,
    Notice,
    Source,
    StatusChange,
    Subscription,
)
from handlers.events import EDIT_DEBOUNCE, SCHEDULE_SITE, EventChange, is_nameless_key
from handlers.ports import FeedSuccess
from storage.codec import (
    escape_like,
    from_db,
    json_first,
    json_values,
    require_time,
    subscription_from_row,
    to_db,
)
from storage.database import Connection, Row, SqlDatabase
from storage.feeds import write_success

_EVENT_COLUMNS = (
    "id, key, status, status_at, vehicle, mission, site, crewed, agencies, launch_time,"
    " launch_day_only, summary, first_seen, updated, revision, phase"
)


async def load_events(conn: Connection, rows: Sequence[Row]) -> list[LaunchEvent]:
    """Attach sources and history to event rows (two queries, whatever the count)."""
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    marks = ",".join("?" * len(ids))
    sources: dict[int, list[Source]] = {i: [] for i in ids}
    history: dict[int, list[StatusChange]] = {i: [] for i in ids}
    for s in await conn.execute_fetchall(
        "SELECT event_id, article_key, title, link, site, published FROM event_sources"
        f" WHERE event_id IN ({marks}) ORDER BY added_at, rowid",
        ids,
    ):
        sources[s["event_id"]].append(
            Source(s["article_key"], s["title"], s["link"], s["site"], from_db(s["published"]))
        )
    for h in await conn.execute_fetchall(
        f"SELECT event_id, status, at, article_key FROM event_history WHERE event_id IN ({marks})"
        " ORDER BY id",
        ids,
    ):
        history[h["event_id"]].append(
            StatusChange(LaunchStatus(h["status"]), require_time(h["at"]), h["article_key"])
        )
    return [
        LaunchEvent(
            id=r["id"],
            key=r["key"],
            status=LaunchStatus(r["status"]),
            vehicle=r["vehicle"],
            mission=r["mission"],
            site=r["site"],
            crewed=None if r["crewed"] is None else bool(r["crewed"]),
            agencies=tuple(json.loads(r["agencies"])),
            launch_time=from_db(r["launch_time"]),
            launch_day_only=bool(r["launch_day_only"]),
            phase=r["phase"],
            summary=r["summary"],
            first_seen=require_time(r["first_seen"]),
            updated=require_time(r["updated"]),
            revision=r["revision"],
            sources=tuple(sources[r["id"]]),
            history=tuple(history[r["id"]]),
        )
        for r in rows
    ]


class SqlIngest:
    """Implements the pipeline's ingest transaction on an open connection."""

    def __init__(self, conn: Connection, dialect: str = "sqlite") -> None:
        self._conn = conn
        self._dialect = dialect

    async def insert_articles(self, feed_id: int, keys: Sequence[str], now: datetime) -> set[str]:
        """One statement per batch: the database answers which keys are new."""
        if not keys:
            return set()
        new: set[str] = set()
        stamp = to_db(now)
        # Stay well under SQLite's bound-variable limit.
        for start in range(0, len(keys), 300):
            chunk = keys[start : start + 300]
            values = ",".join("(?, ?, ?)" for _ in chunk)
            params: list[object] = []
            for key in chunk:
                params.extend((feed_id, key, stamp))
            rows = await self._conn.execute_fetchall(
                f"INSERT INTO articles (feed_id, key, first_seen) VALUES {values}"
                " ON CONFLICT DO NOTHING RETURNING key",
                params,
            )
            new.update(row[0] for row in rows)
        return new

    async def event_candidates(
        self, key: str, scope: int, *, crewed: bool = False, agencies: Sequence[str] = ()
    ) -> list[LaunchEvent]:
        """Recent events in this scope with this key, the same vehicle (for vague reports)
        or the same named flight under another vehicle ("unknown|euclid", "falcon-9|euclid");
        for a report naming neither rocket nor mission, crewed events (with ``crewed``) and
        events whose rocket one of ``agencies`` flies (its provider is listed first)."""
        parts = key.split("|")
        vehicle = parts[0]
        flight = f"%|{escape_like(parts[1])}" if len(parts) == 2 else key
        nameless = is_nameless_key(key)
        providers = json.dumps(list(agencies) if nameless else [])
        rows = await self._conn.execute_fetchall(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE scope = ? AND (key = ? OR key LIKE ?"
            " ESCAPE '\\' OR key LIKE ? ESCAPE '\\' OR (? AND crewed = 1)"
            f" OR (vehicle IS NOT NULL AND {json_first(self._dialect, 'agencies')} IN"
            f" (SELECT value FROM {json_values(self._dialect, '?')})))"
            # Same-key events first: ten busier events of the vehicle must not push the
            # launch's own event out, or a late report about it would start a second one.
            " ORDER BY key = ? DESC, updated DESC, id DESC LIMIT 10",
            (scope, key, escape_like(vehicle) + "|%", flight, crewed and nameless, providers, key),
        )
        return await load_events(self._conn, list(rows))

    async def save_event(
        self, change: EventChange, scope: int, feed_id: int | None, now: datetime
    ) -> LaunchEvent:
        """Insert or update the event row, add its new source and history entries."""
        event = change.event
        values = (
            event.status.value,
            to_db(event.history[-1].at if event.history else now),
            event.vehicle,
            event.mission,
            event.site,
            None if event.crewed is None else int(event.crewed),
            json.dumps(list(event.agencies)),
            to_db(event.launch_time),
            int(event.launch_day_only),
            event.summary,
            to_db(event.updated),
            event.revision,
            event.phase,
        )
        if change.is_new:
            [row] = await self._conn.execute_fetchall(
                "INSERT INTO events (status, status_at, vehicle, mission, site, crewed, agencies,"
                " launch_time, launch_day_only, summary, updated, revision, phase, key, scope,"
                " first_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (*values, event.key, scope, to_db(event.first_seen)),
            )
            event_id = int(row[0])
            new_history = event.history
        else:
            event_id = event.id
            await self._conn.execute(
                "UPDATE events SET status = ?, status_at = ?, vehicle = ?, mission = ?, site = ?,"
                " crewed = ?, agencies = ?, launch_time = ?, launch_day_only = ?, summary = ?,"
                " updated = ?, revision = ?, phase = ?, key = ? WHERE id = ?",
                (*values, event.key, event_id),
            )
            new_history = event.history[-1:] if change.status_changed else ()
        await self._conn.executemany(
            "INSERT INTO event_sources (event_id, feed_id, article_key, title, link, site,"
            " published, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                (
                    event_id,
                    feed_id,
                    s.article_key,
                    s.title,
                    s.link,
                    s.site,
                    to_db(s.published),
                    to_db(now),
                )
                for s in event.sources
            ],
        )
        await self._conn.executemany(
            "INSERT INTO event_history (event_id, status, at, article_key) VALUES (?, ?, ?, ?)",
            [(event_id, h.status.value, to_db(h.at), h.article_key) for h in new_history],
        )
        return _with_id(event, event_id)

    async def enqueue_deliveries(
        self,
        event: LaunchEvent,
        change: EventChange,
        scope: int,
        now: datetime,
        *,
        feed_id: int | None = None,
    ) -> int:
        """Post to new matches, edit stale messages, follow up on status changes that matter.

        Who hears of a change brought by feed ``feed_id``: for a global event, every
        server but those that muted that feed; for a feed's own event (scope -feed id),
        the servers following it. A subscription that already has a post for the event
        always gets its edits and follow-ups.
        """
        if scope == 0:
            audience = (
                "NOT EXISTS (SELECT 1 FROM feed_mutes m"
                " WHERE m.guild_id = s.guild_id AND m.feed_id IS NOT DISTINCT FROM ?)"
            )
            param: int | None = feed_id
        elif scope < 0:
            audience = "s.guild_id IN (SELECT guild_id FROM feed_follows WHERE feed_id = ?)"
            param = -scope
        else:  # scoped to one server before feeds were shared
            audience = "s.guild_id = ?"
            param = scope
        subs = [
            subscription_from_row(r)
            for r in await self._conn.execute_fetchall(
                f"SELECT s.* FROM subscriptions s WHERE s.state = 'active' AND ({audience}"
                " OR s.id IN (SELECT subscription_id FROM outbox"
                " WHERE event_id = ? AND kind = 'post'))",
                (param, event.id),
            )
        ]
        posts = {
            row[0]: row[1]
            for row in await self._conn.execute_fetchall(
                "SELECT subscription_id, state FROM outbox WHERE event_id = ? AND kind = 'post'",
                (event.id,),
            )
        }
        rows: list[tuple[int, str, str]] = []
        for sub in subs:
            if posts.get(sub.id) == "dead":
                continue  # that channel refused the post; editing it is pointless
            rows.extend(_jobs_for(sub, sub.id in posts, event, change))
        if not rows:
            return 0
        stamp = to_db(now)
        edits = [sid for sid, kind, _ in rows if kind == "edit"]
        others = [(sid, kind, status) for sid, kind, status in rows if kind != "edit"]
        cur = await self._conn.executemany(
            "INSERT INTO outbox (subscription_id, event_id, kind, followup_status,"
            " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(sid, event.id, kind, status, stamp, stamp) for sid, kind, status in others],
        )
        written = max(int(cur.rowcount), 0)
        if edits:
            written += await self._enqueue_edits(event.id, edits, change, now)
        return written

    async def _enqueue_edits(
        self, event_id: int, sub_ids: list[int], change: EventChange, now: datetime
    ) -> int:
        """One pending edit per message, debounced.

        A status change goes out at once (and pulls a waiting edit forward); any other
        change (a new source, a launch time) waits until ``EDIT_DEBOUNCE`` after that
        message's last edit, so a feed that churns cannot rewrite every channel's
        message on every poll. The edit shows the event as it is when it is sent.
        """
        last_edit = {
            row[0]: from_db(row[1])
            for row in await self._conn.execute_fetchall(
                "SELECT subscription_id, MAX(done_at) FROM outbox WHERE event_id = ?"
                " AND kind = 'edit' AND state = 'done' GROUP BY subscription_id",
                (event_id,),
            )
        }
        rows = []
        for sid in sub_ids:
            due = now
            previous = last_edit.get(sid)
            if not change.status_changed and previous is not None:
                due = max(now, previous + EDIT_DEBOUNCE)
            rows.append((sid, event_id, to_db(due), to_db(now)))
        cur = await self._conn.executemany(
            "INSERT INTO outbox (subscription_id, event_id, kind, next_attempt_at, created_at)"
            " VALUES (?, ?, 'edit', ?, ?)"
            " ON CONFLICT (subscription_id, event_id) WHERE kind = 'edit' AND state = 'pending'"
            " DO UPDATE SET next_attempt_at = CASE WHEN excluded.next_attempt_at"
            " < outbox.next_attempt_at THEN excluded.next_attempt_at"
            " ELSE outbox.next_attempt_at END",
            rows,
        )
        return max(int(cur.rowcount), 0)

    async def enqueue_webcast(self, event: LaunchEvent, url: str, now: datetime) -> int:
        """The webcast is live: the schedule source links to it, and every channel that got
        the alert, matches the event and wants webcast notices gets one (once: the tag is
        unique per alert)."""
        await self._conn.execute(
            "UPDATE event_sources SET link = ? WHERE event_id = ? AND site = ?"
            " AND (link IS NULL OR link != ?)",
            (url, event.id, SCHEDULE_SITE, url),
        )
        rows = await self._conn.execute_fetchall(
            "SELECT s.* FROM subscriptions s JOIN outbox p ON p.subscription_id = s.id"
            " AND p.event_id = ? AND p.kind = 'post' AND p.state != 'dead'"
            " WHERE s.state = 'active' AND EXISTS (SELECT 1 FROM"
            f" {json_values(self._dialect, 's.notices')} WHERE value = ?)",
            (event.id, Notice.WEBCAST.value),
        )
        wanted = [sub.id for sub in map(subscription_from_row, rows) if sub.filters.matches(event)]
        if not wanted:
            return 0
        stamp = to_db(now)
        cur = await self._conn.executemany(
            "INSERT INTO outbox (subscription_id, event_id, kind, followup_status,"
            " next_attempt_at, created_at) VALUES (?, ?, 'followup', ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            [(sid, event.id, Notice.WEBCAST.value, stamp, stamp) for sid in wanted],
        )
        return max(int(cur.rowcount), 0)

    async def record_success(self, success: FeedSuccess) -> None:
        """Store the feed's validators and schedule in this transaction."""
        await write_success(self._conn, success)


def _jobs_for(
    sub: Subscription, posted: bool, event: LaunchEvent, change: EventChange
) -> list[tuple[int, str, str]]:
    wanted = sub.filters.matches(event)
    if not posted:
        return [(sub.id, "post", "")] if wanted else []
    jobs = []
    if change.changed:
        jobs.append((sub.id, "edit", ""))
    if wanted:
        jobs.extend(
            (sub.id, "followup", tag) for notice, tag in change.notices if notice in sub.notices
        )
    return jobs


def _with_id(event: LaunchEvent, event_id: int) -> LaunchEvent:
    from dataclasses import replace

    return replace(event, id=event_id)


#: PostgreSQL advisory lock that serialises ingest transactions (any number, LaunchWatch's).
INGEST_LOCK = 0x4C57_0002


class SqlEventStore:
    """Ingest transactions and the read queries slash commands need."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    @asynccontextmanager
    async def ingest(self) -> AsyncIterator[SqlIngest]:
        """Begin one ingest transaction.

        Ingests run one at a time: each reads the events it may join and then writes, so
        two at once could both start an event for one launch. SQLite has one writer by
        design; on PostgreSQL an advisory lock held to the end of the transaction does the
        same, across every process that shares the database."""
        async with self._db.transaction() as conn:
            if self._db.dialect == "postgresql":
                await conn.execute("SELECT pg_advisory_xact_lock(?)", (INGEST_LOCK,))
            yield SqlIngest(conn, self._db.dialect)

    async def get(self, event_id: int, *, scope: int | None = None) -> LaunchEvent | None:
        """One event with its sources and history; with ``scope``, only if visible there."""
        if scope is None:
            rows = await self._db.fetchall(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = ?", (event_id,)
            )
        else:
            rows = await self._db.fetchall(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = ? AND {_VISIBLE}",
                (event_id, scope, scope),
            )
        events = await load_events(self._db.conn, rows)
        return events[0] if events else None

    async def get_many(self, event_ids: Iterable[int]) -> dict[int, LaunchEvent]:
        """Several events by id, with sources and history (three queries, whatever the count)."""
        ids = sorted(set(event_ids))
        if not ids:
            return {}
        rows = await self._db.fetchall(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE id IN ({','.join('?' * len(ids))})", ids
        )
        return {event.id: event for event in await load_events(self._db.conn, rows)}

    async def recent(
        self,
        *,
        limit: int = 10,
        statuses: Sequence[LaunchStatus] = (),
        vehicle: str | None = None,
        agency: str | None = None,
        scope: int = 0,
        upcoming_only: bool = False,
    ) -> list[LaunchEvent]:
        """Events newest first, optionally filtered; ``scope`` (a server's id) adds the
        events of the feeds that server follows."""
        where = [_VISIBLE]
        params: list[object] = [scope, scope]
        if upcoming_only:
            statuses = (LaunchStatus.UPCOMING, LaunchStatus.SCRUBBED)
        if statuses:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            params.extend(s.value for s in statuses)
        if vehicle:
            where.append("lower(vehicle) = lower(?)")
            params.append(vehicle)
        if agency:
            where.append(
                f"EXISTS (SELECT 1 FROM {json_values(self._db.dialect, 'agencies')}"
                " WHERE lower(value) = lower(?))"
            )
            params.append(agency)
        order = "COALESCE(launch_time, updated)" + (" ASC" if upcoming_only else " DESC")
        rows = await self._db.fetchall(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)}"
            f" ORDER BY {order}, id DESC LIMIT ?",
            (*params, limit),
        )
        return await load_events(self._db.conn, rows)

    async def search(self, text: str, *, scope: int = 0, limit: int = 25) -> list[LaunchEvent]:
        """Events whose vehicle or mission contains ``text``, most recently updated first."""
        pattern = f"%{escape_like(text)}%"
        rows = await self._db.fetchall(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE {_VISIBLE} AND"
            " lower(COALESCE(vehicle, '') || ' | ' || COALESCE(mission, '')) LIKE lower(?)"
            " ESCAPE '\\'"
            " ORDER BY updated DESC, id DESC LIMIT ?",
            (scope, scope, pattern, limit),
        )
        return await load_events(self._db.conn, rows)

    async def by_source(self, article_key: str, *, scope: int = 0) -> LaunchEvent | None:
        """The event visible in ``scope`` that has the source ``article_key``, if any."""
        rows = await self._db.fetchall(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE {_VISIBLE} AND id IN"
            " (SELECT event_id FROM event_sources WHERE article_key = ?) LIMIT 1",
            (scope, scope, article_key),
        )
        found = await load_events(self._db.conn, rows)
        return found[0] if found else None

    async def count(self) -> int:
        """How many events are stored."""
        row = await self._db.fetchone("SELECT COUNT(*) FROM events")
        return int(row[0]) if row else 0


# Events a server (parameters: its id, twice) may see: global ones, those of the feeds it
# follows (scope -feed id), and those scoped to it before feeds were shared (scope = id).
_VISIBLE = (
    "(scope = 0 OR scope = ? OR -scope IN (SELECT feed_id FROM feed_follows WHERE guild_id = ?))"
)
