"""Servers' options and the Discord scheduled events LaunchWatch keeps for their launches."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from handlers.guild_events import GuildEventRow
from handlers.ports import PublishOutcome, PublishResult
from handlers.schedule_math import exponential_delay
from storage.codec import json_values, to_db
from storage.database import SqlDatabase

__all__ = ["GuildOptions", "SqlGuildEvents"]

MAX_ATTEMPTS = 8
RETRY_CAP = 900.0


@dataclass(frozen=True, slots=True)
class GuildOptions:
    """A server's choices: scheduled events on or off, and why they are paused."""

    scheduled_events: bool = False
    events_problem: str | None = None


class SqlGuildEvents:
    """``guild_options`` and ``guild_events``."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def options(self, guild_id: int) -> GuildOptions:
        row = await self._db.fetchone(
            "SELECT scheduled_events, events_problem FROM guild_options WHERE guild_id = ?",
            (guild_id,),
        )
        return GuildOptions(bool(row[0]), row[1]) if row else GuildOptions()

    async def set_scheduled_events(self, guild_id: int, enabled: bool, now: datetime) -> None:
        """Turn a server's scheduled events on or off; either way a pause is lifted (turning
        them on again is how an admin says the permission is back)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO guild_options (guild_id, scheduled_events, updated_at)"
                " VALUES (?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET"
                " scheduled_events = excluded.scheduled_events, events_problem = NULL,"
                " updated_at = excluded.updated_at",
                (guild_id, int(enabled), to_db(now)),
            )
            if enabled:
                await conn.execute(
                    "UPDATE guild_events SET next_attempt_at = ? WHERE guild_id = ?"
                    " AND state = 'live'",
                    (to_db(now), guild_id),
                )

    async def set_problem(self, guild_id: int, reason: str, now: datetime) -> None:
        """Pause a server's scheduled events (no request is made for it until turned on)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE guild_options SET events_problem = ?, updated_at = ? WHERE guild_id = ?",
                (reason, to_db(now), guild_id),
            )

    async def plan(self, now: datetime, horizon: timedelta, cap: int) -> int:
        """Add a row for each launch with an exact time in the horizon that an opted-in
        server was alerted to, up to ``cap`` live rows per server; returns how many."""
        candidates = await self._db.fetchall(
            "SELECT DISTINCT s.guild_id, e.id FROM events e"
            " JOIN outbox p ON p.event_id = e.id AND p.kind = 'post' AND p.state != 'dead'"
            " JOIN subscriptions s ON s.id = p.subscription_id"
            " JOIN guild_options g ON g.guild_id = s.guild_id"
            " WHERE g.scheduled_events = 1 AND g.events_problem IS NULL"
            " AND s.state = 'active' AND s.target = 'discord'"
            " AND e.status = 'upcoming' AND e.launch_day_only = 0"
            " AND e.launch_time > ? AND e.launch_time <= ?"
            " AND NOT EXISTS (SELECT 1 FROM guild_events x"
            "   WHERE x.guild_id = s.guild_id AND x.event_id = e.id)"
            " ORDER BY e.launch_time, e.id, s.guild_id",
            (to_db(now), to_db(now + horizon)),
        )
        if not candidates:
            return 0
        guilds = sorted({row[0] for row in candidates})
        live = Counter(
            {
                row[0]: row[1]
                for row in await self._db.fetchall(
                    "SELECT guild_id, COUNT(*) FROM guild_events WHERE state = 'live'"
                    " AND guild_id IN (SELECT CAST(value AS BIGINT) FROM"
                    f" {json_values(self._db.dialect, '?')}) GROUP BY guild_id",
                    (json.dumps(guilds),),
                )
            }
        )
        rows = []
        for guild_id, event_id in candidates:
            if live[guild_id] >= cap:
                continue
            live[guild_id] += 1
            rows.append((guild_id, event_id, to_db(now), to_db(now)))
        async with self._db.transaction() as conn:
            cur = await conn.executemany(
                "INSERT INTO guild_events (guild_id, event_id, next_attempt_at, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                rows,
            )
            return max(int(cur.rowcount), 0)

    async def due(self, now: datetime, limit: int) -> list[GuildEventRow]:
        """Live rows due a look, of servers not paused, soonest launch first."""
        rows = await self._db.fetchall(
            "SELECT x.guild_id, x.event_id, x.discord_id, x.creating_at, x.shown, x.attempts"
            " FROM guild_events x JOIN events e ON e.id = x.event_id"
            " LEFT JOIN guild_options g ON g.guild_id = x.guild_id"
            " WHERE x.state = 'live' AND x.next_attempt_at <= ? AND g.events_problem IS NULL"
            " ORDER BY e.launch_time, x.event_id, x.guild_id LIMIT ?",
            (to_db(now), limit),
        )
        return [
            GuildEventRow(
                guild_id=row[0],
                event_id=row[1],
                discord_id=row[2],
                creating=row[3] is not None,
                shown=json.loads(row[4]),
                attempts=row[5],
            )
            for row in rows
        ]

    async def mark_creating(self, row: GuildEventRow, now: datetime) -> None:
        """Committed before the create request: a crash after it makes the next try look."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE guild_events SET creating_at = ? WHERE guild_id = ? AND event_id = ?",
                (to_db(now), row.guild_id, row.event_id),
            )

    async def record(
        self, row: GuildEventRow, discord_id: int, shown: Mapping[str, Any], now: datetime
    ) -> None:
        """Discord accepted: store its id and what it shows now."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE guild_events SET discord_id = ?, creating_at = NULL, shown = ?,"
                " attempts = 0, last_error = NULL, next_attempt_at = ?"
                " WHERE guild_id = ? AND event_id = ?",
                (discord_id, json.dumps(dict(shown)), to_db(now), row.guild_id, row.event_id),
            )

    async def fail(self, row: GuildEventRow, result: PublishResult, now: datetime) -> None:
        """A request that did not go through: wait as asked, back off, or give up."""
        if result.outcome is PublishOutcome.POSTPONED:
            delay, attempts, state = result.retry_after or 60.0, row.attempts, "live"
        elif result.outcome is PublishOutcome.RETRY and row.attempts + 1 < MAX_ATTEMPTS:
            delay = result.retry_after or exponential_delay(row.attempts + 1, 5.0, RETRY_CAP)
            attempts, state = row.attempts + 1, "live"
        else:
            delay, attempts, state = 0.0, row.attempts + 1, "dead"
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE guild_events SET state = ?, attempts = ?, last_error = ?,"
                " next_attempt_at = ? WHERE guild_id = ? AND event_id = ?",
                (
                    state,
                    attempts,
                    result.error,
                    to_db(now + timedelta(seconds=delay)),
                    row.guild_id,
                    row.event_id,
                ),
            )

    async def end(self, row: GuildEventRow, reason: str | None) -> None:
        """The event is over (or will never be made): stop following it."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE guild_events SET state = 'ended', last_error = ?"
                " WHERE guild_id = ? AND event_id = ?",
                (reason, row.guild_id, row.event_id),
            )

    async def for_guild(self, guild_id: int) -> list[tuple[int, int | None, str, str | None]]:
        """(launch event, scheduled event id, state, last error) of a server's rows."""
        rows = await self._db.fetchall(
            "SELECT event_id, discord_id, state, last_error FROM guild_events"
            " WHERE guild_id = ? ORDER BY created_at",
            (guild_id,),
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]
