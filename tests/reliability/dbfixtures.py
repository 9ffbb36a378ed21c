"""Frozen databases from every schema version, so each new migration is tested against them.

``tests/fixtures/db/vN.sql`` is an SQL dump of a small but complete LaunchWatch database
at schema version N: every table, every state a row can be in. Migration tests load each
dump and open it with the current code, which must migrate it to the latest version
without losing a row.

When you add migration ``000N+1``, first freeze the current version::

    python -m tests.reliability.dbfixtures      # writes tests/fixtures/db/vN.sql for N = latest

Never regenerate an existing ``vN.sql``: it stands for databases already out there. v1 was
built by applying ``0001_initial.sql`` and inserting :data:`V1_ROWS` with plain SQL (no
LaunchWatch code), so it does not drift when the code changes.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from storage.database import SCHEMA_VERSION, _migrations, split_sql

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "db"

T0 = "2026-03-01T12:00:00.000000+00:00"
T1 = "2026-03-01T12:05:00.000000+00:00"
T2 = "2026-03-01T13:00:00.000000+00:00"

# fmt: off
V1_ROWS: dict[str, list[tuple[object, ...]]] = {
    "feeds": [
        # id, url, title, enabled, etag, last_modified, body_hash, last_polled_at,
        # last_success_at, next_poll_at, consecutive_failures, last_error, disabled_reason,
        # seeded, guild_id, is_default, created_at
        (1, "https://news.example/rss", "Space News", 1, '"v7"', "Sun, 01 Mar 2026 12:00:00 GMT",
         "ab" * 32, T1, T1, T2, 0, None, None, 1, None, 1, T0),
        (2, "https://guild.example/feed", "Guild feed", 0, None, None, None, T1, None, T2, 10,
         "feed https://guild.example/feed returned HTTP 500",
         "failed 10 times in a row; last error: HTTP 500", 0, 555, 0, T0),
        (3, "https://new.example/atom", "", 1, None, None, None, None, None, T0, 0, None, None,
         0, None, 0, T0),
    ],
    "articles": [
        (1, "guid:" + "0" * 32, T0),
        (1, "url:" + "1" * 32, T0),
        (1, "title:" + "2" * 32, T1),
        (2, "guid:" + "3" * 32, T1),
    ],
    "events": [
        # id, key, scope, status, status_at, vehicle, mission, site, crewed, agencies,
        # launch_time, summary, first_seen, updated, revision
        (1, "soyuz-2.1a|soyuz-ms-28", 0, "launched", T1, "Soyuz-2.1a", "Soyuz MS-28",
         "Baikonur Cosmodrome", 1, '["NASA","Roscosmos"]', T1, "Soyuz MS-28 lifted off.", T0,
         T1, 3),
        (2, "electron|launch|2026-03-01", 555, "upcoming", T0, "Electron", None, None, None,
         "[]", None, "", T0, T0, 1),
    ],
    "event_sources": [
        (1, 1, "guid:" + "0" * 32, "Soyuz MS-28 set to launch", "https://news.example/1",
         "Space News", T0, T0),
        (1, 1, "url:" + "1" * 32, "Soyuz MS-28 blasts off", "https://news.example/2",
         "Space News", T1, T1),
        (2, 2, "guid:" + "3" * 32, "Electron to launch on Sunday", None, "", None, T1),
    ],
    "event_history": [
        (1, 1, "upcoming", T0, "guid:" + "0" * 32),
        (2, 1, "launched", T1, "url:" + "1" * 32),
        (3, 2, "upcoming", T0, "guid:" + "3" * 32),
    ],
    "subscriptions": [
        # id, target, guild_id, channel_id, filters, role_id, created_by, state,
        # broken_reason, created_at, updated_at
        (1, "discord", 555, 1001, '{"statuses":[],"vehicles":[],"agencies":[],"sites":[],'
         '"crewed_only":false}', None, 42, "active", None, T0, T0),
        (2, "discord", 555, 1002, '{"statuses":["failed","launched"],"vehicles":["Soyuz-2.1a"],'
         '"agencies":["NASA"],"sites":[],"crewed_only":true}', 777, 42, "active", None, T0, T0),
        (3, "discord", 666, 2001, "{}", None, None, "broken", "channel was deleted", T0, T1),
        (4, "discord", 666, 2002, "{}", None, None, "paused", None, T0, T1),
        (5, "console", 0, 0, "{}", None, None, "active", None, T0, T0),
    ],
    "deliveries": [
        (1, 1, 900001, 2),
        (2, 1, 900002, 3),
        (5, 1, 1, 3),
    ],
    "outbox": [
        # id, subscription_id, event_id, kind, followup_status, state, attempts,
        # next_attempt_at, last_error, created_at, done_at
        (1, 1, 1, "post", "", "done", 1, T0, None, T0, T0),
        (2, 2, 1, "post", "", "done", 2, T0, "503 Service Unavailable", T0, T1),
        (3, 1, 1, "edit", "", "pending", 0, T1, None, T1, None),
        (4, 1, 1, "followup", "launched", "pending", 0, T1, None, T1, None),
        (5, 3, 1, "post", "", "dead", 1, T0, "channel was deleted", T0, None),
        (6, 1, 2, "post", "", "pending", 3, T2, "429 Too Many Requests", T0, None),
        (7, 5, 1, "post", "", "done", 1, T0, None, T0, T0),
    ],
    "meta": [
        ("mode", "dry-run"),
        ("heartbeat.poll", T1),
        ("console.printing", "7"),
    ],
}
# fmt: on


def build_v1(path: Path) -> None:
    """A v1 database at ``path``: migration 0001 plus :data:`V1_ROWS`, with plain SQL."""
    [(version, sql)] = [m for m in _migrations() if m[0] == 1]
    with sqlite3.connect(path) as conn:
        for statement in split_sql(sql):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
        for table, rows in V1_ROWS.items():
            marks = ",".join("?" * len(rows[0]))
            conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    conn.close()


def dump(path: Path) -> str:
    """An SQL script that rebuilds ``path`` (schema, rows and ``user_version``)."""
    with sqlite3.connect(path) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        lines = list(conn.iterdump())
    conn.close()
    header = (
        f"-- LaunchWatch database, schema version {version}: see tests/reliability/dbfixtures.py\n"
    )
    return header + f"PRAGMA user_version = {version};\n" + "\n".join(lines) + "\n"


def load(script: Path, path: Path) -> None:
    """Rebuild a database file from a ``vN.sql`` dump."""
    with sqlite3.connect(path) as conn:
        conn.executescript(script.read_text("utf-8"))
    conn.close()


def fixtures() -> list[Path]:
    """Every frozen dump, oldest first."""
    return sorted(FIXTURE_DIR.glob("v*.sql"), key=lambda p: int(p.stem[1:]))


def main() -> int:
    """Freeze the current schema version (v1: from :data:`V1_ROWS`)."""
    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
    target = FIXTURE_DIR / f"v{SCHEMA_VERSION}.sql"
    if target.exists():
        print(f"{target} exists; fixtures of released versions are never regenerated")
        return 1
    scratch = FIXTURE_DIR / f".v{SCHEMA_VERSION}.tmp.db"
    scratch.unlink(missing_ok=True)
    if SCHEMA_VERSION == 1:
        build_v1(scratch)
    else:
        # Newer versions: migrate the previous fixture, so its rows travel forward, and
        # add rows for the new tables or columns by hand in the dump if they need some.
        load(fixtures()[-1], scratch)
        import asyncio

        from storage import Storage

        async def migrate() -> None:
            async with Storage.open(scratch):
                pass

        asyncio.run(migrate())
    target.write_text(dump(scratch), "utf-8")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
