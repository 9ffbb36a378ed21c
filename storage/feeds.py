"""Feeds: what to poll, HTTP validators, health and backoff, and who follows or mutes them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from handlers.domain import Feed
from handlers.netguard import canonical_feed_url
from handlers.ports import FeedFailure, FeedSuccess
from storage.codec import from_db, to_db
from storage.database import Connection, Row, SqlDatabase

_COLUMNS = (
    "id, url, title, enabled, etag, last_modified, body_hash, last_polled_at, last_success_at,"
    " next_poll_at, consecutive_failures, last_error, disabled_reason, seeded, is_default,"
    " operator_added"
)
# A feed is polled while it is built in (the configured defaults and the operator's own
# additions) or while at least one server follows it.
_WANTED = (
    "(is_default = 1 OR operator_added = 1"
    " OR EXISTS (SELECT 1 FROM feed_follows ff WHERE ff.feed_id = feeds.id))"
)
DISABLED_BY_OPERATOR = "disabled by the operator (launchwatch feeds remove)"


class OperatorRemoval(StrEnum):
    """What ``launchwatch feeds remove`` did."""

    DELETED = "deleted"
    DISABLED = "disabled"  # a configured default: kept, not polled, until added again
    HANDED_OVER = "handed over"  # servers follow it: no longer the operator's, still polled
    NOT_FOUND = "not found"


def feed_from_row(row: Row) -> Feed:
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
        builtin=bool(row["is_default"] or row["operator_added"]),
    )


class SqlFeedStore:
    """Feed rows, their polling state, and which servers follow or mute them.

    A feed is one canonical URL, fetched once however many servers follow it. A server's
    link to a feed (follow, mute) is its own row: nothing here tells a server who else
    follows a feed.
    """

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def add(
        self, url: str, now: datetime, *, guild_id: int | None = None, is_default: bool = False
    ) -> tuple[Feed, bool]:
        """Follow ``url`` as server ``guild_id`` (None: the operator adds it as built in).

        Returns the feed and whether this server's follow (or the operator's addition)
        is new. A feed disabled by failures or by the operator is enabled again.
        """
        url = canonical_feed_url(url)
        stamp = to_db(now)
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO feeds (url, is_default, operator_added, created_at, next_poll_at)"
                " VALUES (?, ?, 0, ?, ?) ON CONFLICT (url) DO NOTHING",
                (url, int(is_default), stamp, stamp),
            )
            row = await self._db.fetchone("SELECT id FROM feeds WHERE url = ?", (url,))
            assert row is not None  # inserted above if it was not there
            feed_id = row[0]
            if guild_id is None:
                cur = await conn.execute(
                    "UPDATE feeds SET operator_added = 1, orphaned_at = NULL"
                    " WHERE id = ? AND operator_added = 0 AND is_default = 0",
                    (feed_id,),
                )
            else:
                cur = await conn.execute(
                    "INSERT INTO feed_follows (guild_id, feed_id, created_at) VALUES (?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (guild_id, feed_id, stamp),
                )
                await conn.execute("UPDATE feeds SET orphaned_at = NULL WHERE id = ?", (feed_id,))
            created = cur.rowcount == 1
            # Adding a feed again is how it is brought back after being disabled.
            await conn.execute(
                "UPDATE feeds SET enabled = 1, disabled_reason = NULL, consecutive_failures = 0,"
                " next_poll_at = ? WHERE id = ? AND enabled = 0",
                (stamp, feed_id),
            )
        feed = await self.get(feed_id)
        assert feed is not None
        return feed, created

    async def remove(self, url: str, *, guild_id: int, now: datetime | None = None) -> bool:
        """Server ``guild_id`` stops following ``url``; True if it followed it.

        Other servers' follows are untouched. A feed nobody follows any more and that is
        not built in stops being polled, and :meth:`prune_orphans` deletes it later.
        """
        url = canonical_feed_url(url)
        async with self._db.transaction() as conn:
            if not await _unlink(conn, "feed_follows", guild_id, url):
                return False
            await conn.execute(
                f"UPDATE feeds SET orphaned_at = ? WHERE url = ? AND NOT {_WANTED}",
                (to_db(now or datetime.now(UTC)), url),
            )
            return True

    async def remove_by_operator(self, url: str, now: datetime) -> OperatorRemoval:
        """``launchwatch feeds remove``: what the operator may do to a feed.

        A configured default is disabled (the configuration would bring a deleted one
        back); a feed the operator added is deleted, or, if servers follow it, left to
        them.
        """
        url = canonical_feed_url(url)
        async with self._db.transaction() as conn:
            row = await self._db.fetchone(
                "SELECT id, is_default, operator_added,"
                " EXISTS (SELECT 1 FROM feed_follows WHERE feed_id = feeds.id)"
                " FROM feeds WHERE url = ?",
                (url,),
            )
            if row is None or not (row[1] or row[2]):
                return OperatorRemoval.NOT_FOUND
            feed_id, is_default, _, followed = row
            if is_default:
                await conn.execute(
                    "UPDATE feeds SET enabled = 0, disabled_reason = ? WHERE id = ?",
                    (DISABLED_BY_OPERATOR, feed_id),
                )
                return OperatorRemoval.DISABLED
            if followed:
                await conn.execute("UPDATE feeds SET operator_added = 0 WHERE id = ?", (feed_id,))
                return OperatorRemoval.HANDED_OVER
            await conn.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
            return OperatorRemoval.DELETED

    async def mute(self, url: str, *, guild_id: int, now: datetime) -> bool:
        """Server ``guild_id`` mutes a built-in feed for itself; False if ``url`` is not one."""
        url = canonical_feed_url(url)
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO feed_mutes (guild_id, feed_id, created_at)"
                " SELECT ?, id, ? FROM feeds"
                " WHERE url = ? AND (is_default = 1 OR operator_added = 1)"
                " ON CONFLICT DO NOTHING",
                (guild_id, to_db(now), url),
            )
            if cur.rowcount == 1:
                return True
            muted = await self._db.fetchone(
                "SELECT 1 FROM feed_mutes WHERE guild_id = ?"
                " AND feed_id = (SELECT id FROM feeds WHERE url = ?)",
                (guild_id, url),
            )
            return muted is not None

    async def unmute(self, url: str, *, guild_id: int) -> bool:
        """Server ``guild_id`` hears a built-in feed again; True if it had muted it."""
        url = canonical_feed_url(url)
        async with self._db.transaction() as conn:
            return await _unlink(conn, "feed_mutes", guild_id, url)

    async def muted(self, guild_id: int) -> list[Feed]:
        """The built-in feeds server ``guild_id`` has muted."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM feeds WHERE id IN"
            " (SELECT feed_id FROM feed_mutes WHERE guild_id = ?) ORDER BY id",
            (guild_id,),
        )
        return [feed_from_row(r) for r in rows]

    async def sync_defaults(self, urls: Sequence[str], now: datetime) -> None:
        """Make the configured default feeds exactly ``urls``.

        A default dropped from the configuration is deleted, unless servers follow it or
        the operator added it by hand; then it is kept for them. A default the operator
        disabled stays disabled.
        """
        urls = list(dict.fromkeys(canonical_feed_url(u) for u in urls))
        async with self._db.transaction() as conn:
            placeholders = ",".join("?" * len(urls)) or "''"
            await conn.execute(
                f"UPDATE feeds SET is_default = 0 WHERE is_default = 1"
                f" AND url NOT IN ({placeholders})",
                tuple(urls),
            )
            await conn.execute(
                f"DELETE FROM feeds WHERE NOT {_WANTED} AND orphaned_at IS NULL",
            )
            await conn.executemany(
                "INSERT INTO feeds (url, is_default, created_at, next_poll_at)"
                " VALUES (?, 1, ?, ?) ON CONFLICT (url) DO UPDATE SET is_default = 1,"
                " orphaned_at = NULL",
                [(url, to_db(now), to_db(now)) for url in urls],
            )

    async def prune_orphans(self, now: datetime, keep: timedelta) -> int:
        """Delete feeds nobody has followed for ``keep`` (with their seen items)."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                f"DELETE FROM feeds WHERE orphaned_at IS NOT NULL AND orphaned_at < ?"
                f" AND NOT {_WANTED}",
                (to_db(now - keep),),
            )
            return max(int(cur.rowcount), 0)

    async def get(self, feed_id: int) -> Feed | None:
        """One feed by id."""
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM feeds WHERE id = ?", (feed_id,))
        return feed_from_row(row) if row else None

    async def get_by_url(self, url: str) -> Feed | None:
        """One feed by URL (compared in canonical form)."""
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM feeds WHERE url = ?", (canonical_feed_url(url),)
        )
        return feed_from_row(row) if row else None

    async def list_feeds(
        self, *, guild_id: int | None = None, everything: bool = True
    ) -> list[Feed]:
        """All feeds (the operator's view), or (``everything=False``) those ``guild_id``
        follows."""
        if everything:
            rows = await self._db.fetchall(f"SELECT {_COLUMNS} FROM feeds ORDER BY id")
        else:
            rows = await self._db.fetchall(
                f"SELECT {_COLUMNS} FROM feeds WHERE id IN"
                " (SELECT feed_id FROM feed_follows WHERE guild_id = ?) ORDER BY id",
                (guild_id,),
            )
        return [feed_from_row(r) for r in rows]

    async def follower_counts(self) -> dict[int, int]:
        """How many servers follow each followed feed (the operator's ``feeds list``;
        never shown to a server)."""
        rows = await self._db.fetchall(
            "SELECT feed_id, COUNT(*) FROM feed_follows GROUP BY feed_id"
        )
        return {int(r[0]): int(r[1]) for r in rows}

    async def due(self, now: datetime, limit: int) -> list[Feed]:
        """Enabled, wanted feeds whose next poll time has come, most overdue first."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM feeds WHERE enabled = 1 AND next_poll_at <= ?"
            f" AND {_WANTED} ORDER BY next_poll_at, id LIMIT ?",
            (to_db(now), limit),
        )
        return [feed_from_row(r) for r in rows]

    async def next_due_at(self) -> datetime | None:
        """When the next enabled, wanted feed falls due."""
        row = await self._db.fetchone(
            f"SELECT MIN(next_poll_at) FROM feeds WHERE enabled = 1 AND {_WANTED}"
        )
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
                " enabled = CASE WHEN CAST(? AS TEXT) IS NULL THEN enabled ELSE 0 END,"
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
                "UPDATE feeds SET enabled = ?, disabled_reason = CASE WHEN ? = 1 THEN NULL"
                " ELSE 'disabled by an admin' END, consecutive_failures = 0, next_poll_at = ?"
                " WHERE id = ?",
                (int(enabled), int(enabled), to_db(now), feed_id),
            )


async def write_success(conn: Connection, success: FeedSuccess) -> None:
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
        # A permanent redirect moves the feed to its new URL, followers and all; one to a
        # URL already polled keeps the old row as it is. Nobody owns a feed, so a redirect
        # hands nothing over.
        await conn.execute(
            "UPDATE feeds SET url = ? WHERE id = ?"
            " AND NOT EXISTS (SELECT 1 FROM feeds other WHERE other.url = ?)",
            (moved := canonical_feed_url(success.moved_to), success.feed_id, moved),
        )


async def _unlink(conn: Connection, table: str, guild_id: int, url: str) -> bool:
    """Delete a server's link (``feed_follows`` or ``feed_mutes``) to the feed at ``url``."""
    cur = await conn.execute(
        f"DELETE FROM {table} WHERE guild_id = ?"
        " AND feed_id = (SELECT id FROM feeds WHERE url = ?)",
        (guild_id, url),
    )
    return bool(cur.rowcount == 1)
