"""The stored launch schedule and the log of requests its budget counts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from handlers.schedule.launches import NetPrecision, ScheduledLaunch, ScheduleStatus
from storage.codec import escape_like, from_db, require_time, to_db
from storage.database import Row, SqlDatabase

__all__ = ["SqlScheduleStore"]

_COLUMNS = (
    "id, name, status, net, net_precision, window_start, window_end, vehicle, provider,"
    " mission, pad, location, crewed, probability, webcast_live, webcasts, last_updated"
)
#: A newer read replaces every column of a stored launch.
_REPLACE = ", ".join(
    f"{name} = excluded.{name}"
    for name in (*_COLUMNS.replace(" ", "").split(",")[1:], "fetched_at")
)


class SqlScheduleStore:
    """Launches as last read from the schedule, and when the schedule was asked."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def save(self, launches: Sequence[ScheduledLaunch], now: datetime) -> None:
        """Store a page's launches, replacing what an older read said about each."""
        rows = [
            (
                launch.id,
                launch.name,
                launch.status.value,
                to_db(launch.net),
                launch.net_precision.value,
                to_db(launch.window_start),
                to_db(launch.window_end),
                launch.vehicle,
                launch.provider,
                launch.mission,
                launch.pad,
                launch.location,
                None if launch.crewed is None else int(launch.crewed),
                launch.probability,
                int(launch.webcast_live),
                json.dumps(list(launch.webcasts)),
                to_db(launch.last_updated),
                to_db(now),
            )
            for launch in launches
        ]
        async with self._db.transaction() as conn:
            await conn.executemany(
                f"INSERT INTO schedule_launches ({_COLUMNS}, fetched_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                f" ON CONFLICT (id) DO UPDATE SET {_REPLACE}",
                rows,
            )

    async def get(self, launch_id: str) -> ScheduledLaunch | None:
        """One stored launch by its schedule id."""
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM schedule_launches WHERE id = ?", (launch_id,)
        )
        return _launch(row) if row else None

    async def between(self, start: datetime, end: datetime) -> list[ScheduledLaunch]:
        """Launches with a NET in ``[start, end)``, soonest first."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM schedule_launches WHERE net >= ? AND net < ? ORDER BY net, id",
            (to_db(start), to_db(end)),
        )
        return [_launch(row) for row in rows]

    async def search(
        self, text: str, start: datetime, end: datetime, *, limit: int = 25
    ) -> list[ScheduledLaunch]:
        """Launches with a NET in ``[start, end)`` whose name contains ``text`` (any case),
        soonest first."""
        pattern = f"%{escape_like(text)}%"
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM schedule_launches WHERE net >= ? AND net < ?"
            " AND lower(name) LIKE lower(?) ESCAPE '\\' ORDER BY net, id LIMIT ?",
            (to_db(start), to_db(end), pattern, limit),
        )
        return [_launch(row) for row in rows]

    async def start_request(self, at: datetime, kind: str) -> int:
        """Log a request about to go out (the budget counts it even if we crash now)."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO schedule_requests (at, kind, result) VALUES (?, ?, 'sent')"
                " RETURNING rowid",
                (to_db(at), kind),
            )
            row = await cur.fetchone()
            assert row is not None
            return int(row[0])

    async def finish_request(self, request: int, result: str) -> None:
        """Record how a logged request ended: ``ok``, ``failed`` or ``throttled``."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE schedule_requests SET result = ? WHERE rowid = ?", (result, request)
            )

    async def requests_since(self, since: datetime) -> list[datetime]:
        """When requests went out since ``since``, oldest first."""
        rows = await self._db.fetchall(
            "SELECT at FROM schedule_requests WHERE at >= ? ORDER BY at", (to_db(since),)
        )
        return [require_time(row[0]) for row in rows]

    async def last_request(self) -> tuple[datetime, str] | None:
        """The latest request and how it ended (``sent``: we stopped before it did)."""
        row = await self._db.fetchone(
            "SELECT at, result FROM schedule_requests ORDER BY at DESC, rowid DESC LIMIT 1"
        )
        return (require_time(row[0]), str(row[1])) if row else None

    async def last_success(self) -> datetime | None:
        """When the schedule was last read successfully."""
        row = await self._db.fetchone("SELECT MAX(at) FROM schedule_requests WHERE result = 'ok'")
        return from_db(row[0]) if row else None

    async def prune(self, before: datetime) -> None:
        """Forget request times and launches older than ``before``."""
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM schedule_requests WHERE at < ?", (to_db(before),))
            await conn.execute("DELETE FROM schedule_launches WHERE net < ?", (to_db(before),))


def _launch(row: Row) -> ScheduledLaunch:
    return ScheduledLaunch(
        id=row[0],
        name=row[1],
        status=ScheduleStatus(row[2]),
        net=require_time(row[3]),
        net_precision=NetPrecision(row[4]),
        window_start=from_db(row[5]),
        window_end=from_db(row[6]),
        vehicle=row[7],
        provider=row[8],
        mission=row[9],
        pad=row[10],
        location=row[11],
        crewed=None if row[12] is None else bool(row[12]),
        probability=row[13],
        webcast_live=bool(row[14]),
        webcasts=tuple(json.loads(row[15])),
        last_updated=from_db(row[16]),
    )
