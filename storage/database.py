"""The one long-lived SQLite connection, its pragmas, migrations and transactions.

Every write goes through :meth:`Database.transaction`, which serialises writers on an
``asyncio.Lock``: aiosqlite shares one connection, so two coroutines must never interleave
statements inside one ``BEGIN … COMMIT``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from handlers.errors import StorageError

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "storage.migrations"


def _migrations() -> list[tuple[int, str]]:
    """Numbered ``NNNN_name.sql`` files shipped in the package, in order."""
    found = []
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


SCHEMA_VERSION = max(v for v, _ in _migrations())


class Database:
    """Owns the aiosqlite connection; use ``async with Database.open(path) as db``."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(cls, path: str | Path, *, migrate: bool = True) -> AsyncIterator[Database]:
        """Open (creating if needed), configure and migrate the database at ``path``."""
        path = str(path)
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise _storage_error(path, exc) from exc
        db = cls(conn, path)
        try:
            await db._configure()
            if migrate:
                await db.migrate()
            yield db
        finally:
            await conn.close()

    async def _configure(self) -> None:
        try:
            self.conn.row_factory = aiosqlite.Row
            await self.conn.execute("PRAGMA busy_timeout = 5000")
            if self.path != ":memory:":
                await self._execute_pragma("PRAGMA journal_mode = WAL")
            await self.conn.execute("PRAGMA synchronous = NORMAL")
            await self.conn.execute("PRAGMA foreign_keys = ON")
            await self.conn.execute("PRAGMA temp_store = MEMORY")
        except sqlite3.DatabaseError as exc:
            raise _storage_error(self.path, exc) from exc

    async def _execute_pragma(self, sql: str) -> None:
        async with self.conn.execute(sql) as cur:
            await cur.fetchall()

    async def user_version(self) -> int:
        """The schema version recorded in the file."""
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> list[int]:
        """Apply every migration newer than the file's ``user_version``; return those applied."""
        applied: list[int] = []
        try:
            current = await self.user_version()
            if current > SCHEMA_VERSION:
                raise StorageError(
                    f"database {self.path}: schema {current} is newer than this"
                    f" LaunchWatch ({SCHEMA_VERSION}); upgrade LaunchWatch",
                    path=self.path,
                )
            for version, sql in _migrations():
                if version <= current:
                    continue
                async with self._write_lock:
                    # executescript commits implicitly, so wrap the file and the version bump in
                    # one explicit transaction of our own.
                    await self.conn.executescript(
                        f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
                    )
                log.info("database %s migrated to schema version %d", self.path, version)
                applied.append(version)
        except sqlite3.DatabaseError as exc:
            if self.conn.in_transaction:
                await self.conn.rollback()
            raise _storage_error(self.path, exc) from exc
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``); commits on success, rolls back on error."""
        async with self._write_lock:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise _storage_error(self.path, exc) from exc
            try:
                yield self.conn
            except BaseException:
                await self.conn.rollback()
                raise
            try:
                await self.conn.commit()
            except sqlite3.DatabaseError as exc:
                await self.conn.rollback()
                raise _storage_error(self.path, exc) from exc

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """Run a read query and return every row."""
        try:
            async with self.conn.execute(sql, tuple(params)) as cur:
                return list(await cur.fetchall())
        except sqlite3.DatabaseError as exc:
            raise _storage_error(self.path, exc) from exc

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        """Run a read query and return its first row, if any."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def integrity_check(self) -> str:
        """SQLite's own verdict on the file ("ok" when healthy)."""
        row = await self.fetchone("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"


def _storage_error(path: str, exc: sqlite3.Error) -> StorageError:
    return StorageError(f"database {path}: {_describe(exc)}", path=path)


def _describe(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"database is locked by another process ({text})"
    if "readonly" in text or "read-only" in text:
        return f"database is read-only ({text})"
    if "full" in text:
        return f"disk is full ({text})"
    if "not a database" in text or "malformed" in text:
        return f"file is not a LaunchWatch database or is corrupt ({text})"
    return text
