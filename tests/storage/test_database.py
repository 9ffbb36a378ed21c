"""The database file: migrations, pragmas, and clear errors for bad files."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import pytest

from handlers.errors import StorageError
from storage import SCHEMA_VERSION, Storage, database


async def test_new_database_is_migrated_to_the_current_schema(tmp_path):
    async with Storage.open(tmp_path / "a.db") as store:
        assert await store.db.user_version() == SCHEMA_VERSION
        mode = await store.db.fetchone("PRAGMA journal_mode")
        assert mode[0] == "wal"
        fk = await store.db.fetchone("PRAGMA foreign_keys")
        assert fk[0] == 1
        assert await store.db.integrity_check() == "ok"


async def test_reopening_applies_nothing(tmp_path):
    async with Storage.open(tmp_path / "a.db"):
        pass
    async with Storage.open(tmp_path / "a.db", migrate=False) as store:
        assert await store.db.migrate() == []


async def test_corrupt_file_gives_an_error_naming_the_file(tmp_path):
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StorageError) as info:
        async with Storage.open(path):
            pass
    assert str(path) in str(info.value)
    assert "corrupt" in str(info.value) or "not a" in str(info.value)


async def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StorageError, match="newer than this LaunchWatch"):
        async with Storage.open(path):
            pass


async def test_failed_transaction_rolls_back(tmp_path):
    async with Storage.open(tmp_path / "a.db") as store:
        with pytest.raises(RuntimeError):
            async with store.db.transaction() as conn:
                await conn.execute("INSERT INTO meta (key, value) VALUES ('x', '1')")
                raise RuntimeError("boom")
        assert await store.get_meta("x") is None


async def test_opening_waits_for_another_process_switching_the_file(tmp_path, monkeypatch, caplog):
    """SQLite answers "locked" at once, not after its busy wait, to all but one of several
    processes switching a new file to WAL together; the others must try again."""
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 20)
    caplog.set_level(logging.DEBUG, logger="storage.database")
    path = tmp_path / "shared.db"

    async def open_and_read() -> tuple[int, str]:
        async with Storage.open(path) as store:
            mode = await store.db.fetchone("PRAGMA journal_mode")
            return await store.db.user_version(), mode[0]

    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE held (x)")
    other.execute("BEGIN EXCLUSIVE")  # another process, mid-way through its own switch
    try:
        opening = asyncio.create_task(open_and_read())
        while "WAL switch retried" not in caplog.text:  # refused at least once...
            assert not opening.done(), opening
            await asyncio.sleep(0.01)
    finally:
        other.execute("COMMIT")  # ...then the other process is done
        other.close()
    assert await opening == (SCHEMA_VERSION, "wal")
