"""Subscriptions: which channels want which launch alerts."""

from __future__ import annotations

import json
from datetime import datetime

from handlers.console import CONSOLE_TARGET
from handlers.domain import Notice, Subscription, SubscriptionFilter, SubscriptionState
from storage.codec import encode_filters, subscription_from_row, to_db
from storage.database import SqlDatabase

__all__ = ["CONSOLE_TARGET", "SqlSubscriptionStore"]


class SqlSubscriptionStore:
    """Subscription rows; every query that changes one is scoped to its guild."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def upsert(
        self,
        *,
        target: str,
        guild_id: int,
        channel_id: int,
        filters: SubscriptionFilter,
        role_id: int | None,
        created_by: int | None,
        now: datetime,
        reminders: tuple[int, ...] | None = None,
        notices: frozenset[Notice] | None = None,
        threads: bool | None = None,
    ) -> tuple[Subscription, bool]:
        """Create or replace the channel's subscription (re-activating it); True when new.

        ``reminders`` (seconds before liftoff), ``notices`` and ``threads`` replace the
        channel's; None keeps them."""
        thread_flag = None if threads is None else int(threads)
        reminder_json = None if reminders is None else json.dumps(list(reminders))
        notice_json = None if notices is None else json.dumps(sorted(notices))
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT guild_id FROM subscriptions WHERE target = ? AND channel_id = ?",
                (target, channel_id),
            ) as cur:
                existing = await cur.fetchone()
            if existing is not None and existing[0] != guild_id:
                raise PermissionError("that channel belongs to another server")
            await conn.execute(
                "INSERT INTO subscriptions (target, guild_id, channel_id, filters, role_id,"
                " created_by, created_at, updated_at, reminders, notices, threads)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?, '[]'),"
                ' COALESCE(?, \'["hold", "liftoff", "outcome"]\'), COALESCE(?, 0))'
                " ON CONFLICT (target, channel_id) DO UPDATE SET filters = excluded.filters,"
                " role_id = excluded.role_id, state = 'active', broken_reason = NULL,"
                " updated_at = excluded.updated_at,"
                " reminders = COALESCE(?, subscriptions.reminders),"
                " notices = COALESCE(?, subscriptions.notices),"
                " threads = COALESCE(?, subscriptions.threads)",
                (
                    target,
                    guild_id,
                    channel_id,
                    encode_filters(filters),
                    role_id,
                    created_by,
                    to_db(now),
                    to_db(now),
                    reminder_json,
                    notice_json,
                    thread_flag,
                    reminder_json,
                    notice_json,
                    thread_flag,
                ),
            )
        sub = await self.get(target, channel_id)
        assert sub is not None
        return sub, existing is None

    async def get(self, target: str, channel_id: int) -> Subscription | None:
        """The subscription of one channel."""
        row = await self._db.fetchone(
            "SELECT * FROM subscriptions WHERE target = ? AND channel_id = ?", (target, channel_id)
        )
        return subscription_from_row(row) if row else None

    async def remove(self, *, guild_id: int, channel_id: int, target: str = "discord") -> bool:
        """Delete a channel's subscription, only within ``guild_id``."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM subscriptions WHERE target = ? AND guild_id = ? AND channel_id = ?",
                (target, guild_id, channel_id),
            )
            return bool(cur.rowcount > 0)

    async def list_for_guild(self, guild_id: int, target: str = "discord") -> list[Subscription]:
        """A guild's subscriptions, oldest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM subscriptions WHERE target = ? AND guild_id = ? ORDER BY id",
            (target, guild_id),
        )
        return [subscription_from_row(r) for r in rows]

    async def count_for_guild(self, guild_id: int) -> int:
        """How many subscriptions a guild has."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) FROM subscriptions WHERE guild_id = ?", (guild_id,)
        )
        return int(row[0]) if row else 0

    async def set_guild_state(
        self, guild_id: int, state: SubscriptionState, now: datetime, *, only_from: str
    ) -> int:
        """Pause a guild's active subscriptions (bot removed) or resume paused ones."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE subscriptions SET state = ?, updated_at = ? WHERE guild_id = ?"
                " AND state = ? AND target = 'discord'",
                (state.value, to_db(now), guild_id, only_from),
            )
            return int(cur.rowcount)

    async def mark_broken(self, subscription_id: int, reason: str, now: datetime) -> None:
        """Stop deliveries to a subscription and say why."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE subscriptions SET state = 'broken', broken_reason = ?, updated_at = ?"
                " WHERE id = ?",
                (reason, to_db(now), subscription_id),
            )

    async def ensure_console(
        self, now: datetime, *, reminders: tuple[int, ...] = ()
    ) -> Subscription:
        """The dry-run subscription that prints every alert (and its reminders) to the
        terminal."""
        sub, _ = await self.upsert(
            target=CONSOLE_TARGET,
            guild_id=0,
            channel_id=0,
            filters=SubscriptionFilter(),
            role_id=None,
            created_by=None,
            now=now,
            reminders=reminders,
        )
        return sub

    async def counts_by_state(self) -> dict[str, int]:
        """Subscriptions per state, for /status."""
        rows = await self._db.fetchall(
            "SELECT state, COUNT(*) FROM subscriptions WHERE target = 'discord' GROUP BY state"
        )
        return {r[0]: int(r[1]) for r in rows}
