"""``launchwatch db copy``: move an installation between SQLite and PostgreSQL, row for row.

Both schemas have the same tables and columns (PostgreSQL's schema 1 is SQLite's schema 8),
so every row is read from the source and written to the target as it is: ids, message ids,
feed validators and outbox states included; nothing is re-derived. The target must be new
(no feed, subscription or event yet) and the whole copy is one transaction on it, so a
failed copy leaves it empty. On PostgreSQL the id sequences are moved past the copied ids.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.errors import StorageError
from storage import Storage

__all__ = ["TABLES", "CopyReport", "copy_database"]

#: Every table, parents before children, with its columns (SQLite's ``rowid`` is copied
#: where the stores order by it) and the key it is read in order of.
TABLES: tuple[tuple[str, str, str], ...] = (
    (
        "feeds",
        "id, url, title, enabled, etag, last_modified, body_hash, last_polled_at,"
        " last_success_at, next_poll_at, consecutive_failures, last_error, disabled_reason,"
        " seeded, guild_id, is_default, created_at, operator_added, orphaned_at",
        "id",
    ),
    ("articles", "feed_id, key, first_seen", "feed_id, key"),
    (
        "events",
        "id, key, scope, status, status_at, vehicle, mission, site, crewed, agencies,"
        " launch_time, summary, first_seen, updated, revision, launch_day_only, phase",
        "id",
    ),
    (
        "event_sources",
        "rowid, event_id, feed_id, article_key, title, link, site, published, added_at",
        "rowid",
    ),
    ("event_history", "id, event_id, status, at, article_key", "id"),
    (
        "subscriptions",
        "id, target, guild_id, channel_id, filters, role_id, created_by, state,"
        " broken_reason, created_at, updated_at, reminders, notices, threads",
        "id",
    ),
    (
        "deliveries",
        "subscription_id, event_id, message_id, posted_revision, thread_id",
        "subscription_id, event_id",
    ),
    (
        "outbox",
        "id, subscription_id, event_id, kind, followup_status, state, attempts,"
        " next_attempt_at, last_error, created_at, done_at, reminder",
        "id",
    ),
    ("meta", "key, value", "key"),
    ("feed_follows", "guild_id, feed_id, created_at", "guild_id, feed_id"),
    ("feed_mutes", "guild_id, feed_id, created_at", "guild_id, feed_id"),
    (
        "schedule_launches",
        "id, name, status, net, net_precision, window_start, window_end, vehicle, provider,"
        " mission, pad, location, crewed, probability, webcast_live, webcasts, last_updated,"
        " fetched_at",
        "id",
    ),
    ("schedule_requests", "rowid, at, kind, result", "rowid"),
    ("guild_options", "guild_id, scheduled_events, events_problem, updated_at", "guild_id"),
    (
        "guild_events",
        "guild_id, event_id, discord_id, creating_at, shown, state, attempts,"
        " next_attempt_at, last_error, created_at",
        "guild_id, event_id",
    ),
)
#: Identity columns whose sequence must pass the copied ids (PostgreSQL).
IDENTITIES = (
    ("feeds", "id"),
    ("events", "id"),
    ("event_sources", "rowid"),
    ("event_history", "id"),
    ("subscriptions", "id"),
    ("outbox", "id"),
    ("schedule_requests", "rowid"),
)
BATCH = 5000


@dataclass(frozen=True, slots=True)
class CopyReport:
    """Rows copied, per table."""

    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


async def copy_database(source: Storage, target: Storage) -> CopyReport:
    """Copy every row of ``source`` into the new database ``target`` (one transaction)."""
    for table in ("feeds", "subscriptions", "events"):
        row = await target.db.fetchone(f"SELECT COUNT(*) FROM {table}")
        if row is not None and int(row[0]):
            raise StorageError(
                f"database {target.db.path} already holds data ({table}); copy into a new,"
                " empty database",
                path=target.db.path,
            )
    counts: dict[str, int] = {}
    async with target.db.transaction() as conn:
        # A new database has nothing but what migrations put there (the schema's own meta).
        await conn.execute("DELETE FROM meta")
        for table, columns, order in TABLES:
            marks = ", ".join("?" for _ in columns.split(","))
            insert = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
            copied = 0
            while True:
                rows = await source.db.fetchall(
                    f"SELECT {columns} FROM {table} ORDER BY {order} LIMIT ? OFFSET ?",
                    (BATCH, copied),
                )
                if not rows:
                    break
                await conn.executemany(insert, [tuple(row) for row in rows])
                copied += len(rows)
            counts[table] = copied
        if target.db.dialect == "postgresql":
            for table, column in IDENTITIES:
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                    f" COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
                )
    return CopyReport(counts)
