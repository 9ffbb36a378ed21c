"""Feeds table: what to poll, HTTP validators, health and backoff state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from handlers.domain import Feed
from handlers.ports import FeedFailure, FeedSuccess
from storage.codec import from_db, to_db
from storage.database import Database

_COLUMNS = (
    "id, url, title, enabled, etag, last_modified, body_hash, last_polled_at, last_success_at,"
    " next_poll_at, consecutive_failures, last_error, disabled_reason, seeded, guild_id"
)


def feed_from_row(row: aiosqlite.Row) -> Feed:
    """Build a :class:`Feed` from a ``feeds`` row."""
    return Feed(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        enabled=bool(row["enabled"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        last_polled_at=from_db(row["last_polled_at"]),
        last_success_at=from_db(row["last_success_at"]),
        next_poll_at=from_db(row["next_poll_at"]),
        consecutive_failures=row["consecutive_failures"],
        last_error=row["last_error"],
        disabled_reason=row["disabled_reason"],
        seeded=bool(row["seeded"]),
        guild_id=row["guild_id"],
    )


class SqliteFeedStore:
    """Feed rows and their polling state."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self, url: str, now: datetime, *, guild_id: int | None = None, is_default: bool = False
    ) -> tuple[Feed, bool]:
        """Add a feed (due at once); return it and whether it was new."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO feeds (url, guild_id, is_default, created_at, next_poll_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING",
                (url, guild_id, int(is_default), to_db(now), to_db(now)),
            )
            created = cur.rowcount == 1
        feed = await self.get_by_url(url)
        assert feed is not None
        return feed, created

    async def remove(self, url: str, *, guild_id: int | None = None) -> bool:
        """Remove a feed owned by ``guild_id`` (None: a global feed); True if one was removed."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM feeds WHERE url = ? AND guild_id IS ?", (url, guild_id)
            )
            return cur.rowcount > 0

    async def sync_defaults(self, urls: Sequence[str], now: datetime) -> None:
        """Make the global default feeds exactly ``urls`` (user-added feeds are kept)."""
        async with self._db.transaction() as conn:
            placeholders = ",".join("?" * len(urls)) or "''"
            await conn.execute(
                f"DELETE FROM feeds WHERE is_default = 1 AND url NOT IN ({placeholders})",
                tuple(urls),
            )
            await conn.executemany(
                "INSERT INTO feeds (url, is_default, created_at, next_poll_at)"
                " VALUES (?, 1, ?, ?) ON CONFLICT (url) DO UPDATE SET is_default = 1",
                [(url, to_db(now), to_db(now)) for url in urls],
            )

    async def get(self, feed_id: int) -> Feed | None:
        """One feed by id."""
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM feeds WHERE id = ?", (feed_id,))
        return feed_from_row(row) if row else None

    async def get_by_url(self, url: str) -> Feed | None:
        """One feed by URL."""
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM feeds WHERE url = ?", (url,))
        return feed_from_row(row) if row else None

    async def list_feeds(
        self, *, guild_id: int | None = None, everything: bool = True
    ) -> list[Feed]:
        """All feeds, or (``everything=False``) those owned by ``guild_id``."""
        if everything:
            rows = await self._db.fetchall(f"SELECT {_COLUMNS} FROM feeds ORDER BY id")
        else:
            rows = await self._db.fetchall(
                f"SELECT {_COLUMNS} FROM feeds WHERE guild_id IS ? ORDER BY id", (guild_id,)
            )
        return [feed_from_row(r) for r in rows]

    async def due(self, now: datetime, limit: int) -> list[Feed]:
        """Enabled feeds whose next poll time has come, most overdue first."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM feeds WHERE enabled = 1 AND next_poll_at <= ?"
            " ORDER BY next_poll_at LIMIT ?",
            (to_db(now), limit),
        )
        return [feed_from_row(r) for r in rows]

    async def next_due_at(self) -> datetime | None:
        """When the next enabled feed falls due."""
        row = await self._db.fetchone("SELECT MIN(next_poll_at) FROM feeds WHERE enabled = 1")
        return from_db(row[0]) if row else None

    async def record_unchanged(self, updates: Sequence[tuple[int, datetime, datetime]]) -> None:
        """Batch-record polls that found nothing new: ``(feed_id, polled_at, next_poll_at)``."""
        if not updates:
            return
        async with self._db.transaction() as conn:
            await conn.executemany(
                "UPDATE feeds SET last_polled_at = ?, last_success_at = ?, next_poll_at = ?,"
                " consecutive_failures = 0, last_error = NULL WHERE id = ?",
                [(to_db(at), to_db(at), to_db(nxt), fid) for fid, at, nxt in updates],
            )

    async def record_failure(self, failure: FeedFailure) -> None:
        """Record a failed poll, its backoff and (maybe) why the feed is now disabled."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE feeds SET last_polled_at = ?, next_poll_at = ?,"
                " consecutive_failures = consecutive_failures + 1, last_error = ?,"
                " enabled = CASE WHEN ? IS NULL THEN enabled ELSE 0 END,"
                " disabled_reason = COALESCE(?, disabled_reason) WHERE id = ?",
                (
                    to_db(failure.polled_at),
                    to_db(failure.next_poll_at),
                    failure.error,
                    failure.disable_reason,
                    failure.disable_reason,
                    failure.feed_id,
                ),
            )

    async def set_enabled(self, feed_id: int, enabled: bool, now: datetime) -> None:
        """Re-enable (clearing failures) or disable a feed by hand."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE feeds SET enabled = ?, disabled_reason = CASE WHEN ? THEN NULL"
                " ELSE 'disabled by an admin' END, consecutive_failures = 0, next_poll_at = ?"
                " WHERE id = ?",
                (int(enabled), int(enabled), to_db(now), feed_id),
            )


async def write_success(conn: aiosqlite.Connection, success: FeedSuccess) -> None:
    """Record a successful poll inside an ingest transaction."""
    await conn.execute(
        "UPDATE feeds SET last_polled_at = ?, last_success_at = ?, next_poll_at = ?,"
        " consecutive_failures = 0, last_error = NULL, etag = ?, last_modified = ?,"
        " body_hash = ?, seeded = 1, title = CASE WHEN ? = '' THEN title ELSE ? END"
        " WHERE id = ?",
        (
            to_db(success.polled_at),
            to_db(success.polled_at),
            to_db(success.next_poll_at),
            success.etag,
            success.last_modified,
            success.body_hash,
            success.title,
            success.title,
            success.feed_id,
        ),
    )
    if success.moved_to:
        # A permanent redirect to a URL we already poll keeps the old row as it is.
        await conn.execute(
            "UPDATE OR IGNORE feeds SET url = ? WHERE id = ?", (success.moved_to, success.feed_id)
        )
