"""Storage: every SQL statement of LaunchWatch lives in this package.

``async with Storage.open(target) as store`` opens the database (an SQLite file, or a
PostgreSQL server for a ``postgresql://`` URL), migrates it and exposes the table stores,
which speak portable SQL to either.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

from storage.codec import to_db
from storage.database import SCHEMA_VERSION, Database, SqlDatabase
from storage.events import SqlEventStore
from storage.feeds import SqlFeedStore
from storage.guild_events import SqlGuildEvents
from storage.outbox import SqlOutbox
from storage.postgres import PgDatabase, is_postgres_url
from storage.schedule import SqlScheduleStore
from storage.subscriptions import CONSOLE_TARGET, SqlSubscriptionStore

__all__ = [
    "CONSOLE_TARGET",
    "SCHEMA_VERSION",
    "Database",
    "SqlEventStore",
    "SqlFeedStore",
    "SqlGuildEvents",
    "SqlOutbox",
    "SqlScheduleStore",
    "SqlSubscriptionStore",
    "Storage",
]


class Storage:
    """The database and the stores built on it."""

    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.feeds = SqlFeedStore(db)
        self.events = SqlEventStore(db)
        self.outbox = SqlOutbox(db, self.events)
        self.subscriptions = SqlSubscriptionStore(db)
        self.schedule = SqlScheduleStore(db)
        self.guild_events = SqlGuildEvents(db)

    @classmethod
    @asynccontextmanager
    async def open(cls, path: str | Path, *, migrate: bool = True) -> AsyncIterator[Storage]:
        """Open the database ``path`` names and build the stores: a ``postgresql://`` URL
        is a PostgreSQL server, anything else an SQLite file."""
        if is_postgres_url(str(path)):
            async with PgDatabase.open(str(path), migrate=migrate) as pg:
                yield cls(pg)
            return
        async with Database.open(path, migrate=migrate) as db:
            yield cls(db)

    async def prune(self, now: datetime, *, keep_articles: timedelta) -> int:
        """Forget seen-article keys older than ``keep_articles``, and finished outbox rows.

        Keys are kept far longer than the "recent" window, so a pruned article that
        reappears is too old to alert anyway.
        """
        cutoff = to_db(now - keep_articles)
        async with self.db.transaction() as conn:
            cur = await conn.execute("DELETE FROM articles WHERE first_seen < ?", (cutoff,))
            pruned = cur.rowcount
            await conn.execute(
                "DELETE FROM outbox WHERE state IN ('done', 'dead') AND kind = 'edit'"
                " AND created_at < ?",
                (cutoff,),
            )
        return int(pruned)

    async def get_meta(self, key: str) -> str | None:
        """A value from the ``meta`` table."""
        row = await self.db.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return str(row[0]) if row else None

    async def set_meta(self, key: str, value: str) -> None:
        """Store a value in the ``meta`` table."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
