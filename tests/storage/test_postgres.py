"""PostgreSQL as the database: selecting it, its errors, and moving an installation to it.

The stores' contract runs on both backends in the rest of ``tests/storage`` (and the
delivery, pipeline and schedule tests); these are the parts only PostgreSQL has.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage import Storage
from storage.copy import TABLES, copy_database
from tests.reliability.dbfixtures import FIXTURE_DIR, load


def _launchwatch(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LAUNCHWATCH_", "DISCORD_"))}
    base.update(LAUNCHWATCH_DB=str(cwd / "sqlite.db"), LAUNCHWATCH_SCHEDULE="off", **env)
    return subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", os.devnull, *args],
        capture_output=True,
        text=True,
        env=base,
        timeout=120,
        cwd=cwd,
    )


async def _rows(storage: Storage) -> dict[str, list[tuple[object, ...]]]:
    found = {}
    for table, columns, order in TABLES:
        rows = await storage.db.fetchall(f"SELECT {columns} FROM {table} ORDER BY {order}")
        found[table] = [tuple(row) for row in rows]
    return found


@pytest.fixture
def installation(tmp_path: Path) -> Path:
    """An SQLite installation with every kind of row (the newest frozen fixture)."""
    newest = max(FIXTURE_DIR.glob("v*.sql"), key=lambda p: int(p.stem[1:]))
    path = tmp_path / "old.db"
    load(newest, path)
    return path


async def test_copy_moves_every_row_there_and_back(installation, pg_url, tmp_path):
    async with Storage.open(installation) as old:
        before = await _rows(old)
        async with Storage.open(pg_url) as new:
            report = await copy_database(old, new)
            assert await _rows(new) == before
    assert report.rows["subscriptions"] and report.rows["deliveries"] and report.rows["feeds"]
    assert report.total == sum(len(rows) for rows in before.values())

    # New rows on PostgreSQL get ids after the copied ones.
    async with Storage.open(pg_url) as new:
        feed, created = await new.feeds.add("https://later.example/rss", _now())
        assert created and feed.id > max(row[0] for row in before["feeds"])
        async with Storage.open(tmp_path / "back.db") as back:
            await copy_database(new, back)
            after = await _rows(back)
    assert {t: r for t, r in after.items() if t != "feeds"} == {
        t: r for t, r in before.items() if t != "feeds"
    }


async def test_copy_refuses_a_target_that_holds_data(installation, pg_url):
    from handlers.errors import StorageError

    async with Storage.open(installation) as old, Storage.open(pg_url) as new:
        await copy_database(old, new)
        with pytest.raises(StorageError, match="already holds data"):
            await copy_database(old, new)


def test_every_command_uses_the_database_url_and_no_sqlite_file_appears(pg_url, tmp_path):
    migrated = _launchwatch(tmp_path, "db", "migrate", LAUNCHWATCH_DATABASE_URL=pg_url)
    assert migrated.returncode == 0, migrated.stderr
    assert "schema version 1" in migrated.stdout
    listed = _launchwatch(tmp_path, "feeds", "list", LAUNCHWATCH_DATABASE_URL=pg_url)
    assert listed.returncode == 0 and "built-in" in listed.stdout, listed.stderr
    upcoming = _launchwatch(tmp_path, "launches", "upcoming", LAUNCHWATCH_DATABASE_URL=pg_url)
    assert upcoming.returncode == 0, upcoming.stderr
    assert not list(tmp_path.glob("*.db*")), "an SQLite file appeared"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://lw:hunter2secret@127.0.0.1:1/launchwatch", "connection refused"),
        ("mysql://lw@localhost/launchwatch", "LAUNCHWATCH_DATABASE_URL"),
    ],
)
def test_a_bad_database_url_is_one_clear_line(tmp_path, url, expected):
    result = _launchwatch(tmp_path, "db", "migrate", LAUNCHWATCH_DATABASE_URL=url)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert "hunter2secret" not in result.stderr + result.stdout


def test_a_wrong_database_name_is_one_clear_line(pg_cluster, tmp_path):
    result = _launchwatch(
        tmp_path, "db", "migrate", LAUNCHWATCH_DATABASE_URL=pg_cluster.url("no_such_db")
    )
    assert result.returncode == 2 and "no such database" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_db_copy_command(installation, pg_url, tmp_path):
    copied = _launchwatch(
        tmp_path, "db", "copy", "--from", f"sqlite:///{installation}", "--to", pg_url
    )
    assert copied.returncode == 0, copied.stderr
    assert copied.stdout.startswith("copied ") and "subscriptions" in copied.stdout
    again = _launchwatch(
        tmp_path, "db", "copy", "--from", f"sqlite:///{installation}", "--to", pg_url
    )
    assert again.returncode == 2 and "already holds data" in again.stderr
    missing = _launchwatch(tmp_path, "db", "copy", "--from", "sqlite:///nope.db", "--to", pg_url)
    assert missing.returncode == 2 and "no database at nope.db" in missing.stderr


def _now():
    from handlers.domain import utc_now

    return utc_now()


async def test_migrations_apply_once_when_processes_start_together(pg_url):
    import asyncio

    from storage.postgres import PG_SCHEMA_VERSION

    async def start() -> int:
        async with Storage.open(pg_url) as storage:
            return await storage.db.user_version()

    assert await asyncio.gather(*(start() for _ in range(3))) == [PG_SCHEMA_VERSION] * 3
    async with Storage.open(pg_url) as storage:
        rows = await storage.db.fetchall("SELECT version FROM launchwatch_schema ORDER BY 1")
        assert [row[0] for row in rows] == list(range(1, PG_SCHEMA_VERSION + 1))
        assert await storage.db.migrate() == []


async def test_a_database_from_a_newer_launchwatch_is_refused(pg_url):
    from handlers.errors import StorageError

    async with Storage.open(pg_url) as storage, storage.db.transaction() as conn:
        await conn.execute("INSERT INTO launchwatch_schema (version) VALUES (?)", (999,))
    with pytest.raises(StorageError, match="schema 999 is newer than this LaunchWatch"):
        async with Storage.open(pg_url):
            pass
