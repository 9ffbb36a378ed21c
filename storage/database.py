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
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from handlers.crashpoints import crash_point
from handlers.errors import StorageError

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "storage.migrations"
BUSY_TIMEOUT_MS = 5000
# Each attempt also waits up to BUSY_TIMEOUT_MS in SQLite's busy handler.
WAL_SWITCH_ATTEMPTS = 20
"""How long a write waits for another process's lock before giving up."""


def _migrations(package: str = MIGRATIONS_PACKAGE) -> list[tuple[int, str]]:
    """Numbered ``NNNN_name.sql`` files shipped in ``package``, in order."""
    found = []
    for entry in resources.files(package).iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


SCHEMA_VERSION = max(v for v, _ in _migrations())


#: A transaction's connection on either backend (aiosqlite's, or PostgreSQL's
#: :class:`storage.postgres.PgConnection`): ``execute``, ``executemany``, ``execute_fetchall``.
Connection = Any
#: A result row on either backend: indexable by position and by column name.
Row = Any


class SqlDatabase(Protocol):
    """What the stores use of a database, SQLite (:class:`Database`) or PostgreSQL
    (:class:`storage.postgres.PgDatabase`): portable SQL with ``?`` placeholders."""

    #: ``"sqlite"`` or ``"postgresql"``, for the few statements that differ.
    dialect: str
    #: Where it is, for messages (never a password).
    path: str
    #: Reads outside a transaction (``execute_fetchall``).
    conn: Any

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """One write transaction; its connection offers ``execute``, ``executemany`` and
        ``execute_fetchall``."""
        ...

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]: ...

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any | None: ...

    async def migrate(self) -> list[int]:
        """Apply the migrations the database lacks; the versions applied."""
        ...

    async def user_version(self) -> int:
        """The schema version the database is at."""
        ...

    async def integrity_check(self) -> str:
        """The database's own verdict on its health ("ok")."""
        ...


class Database:
    """Owns the aiosqlite connection; use ``async with Database.open(path) as db``."""

    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(cls, path: str | Path, *, migrate: bool = True) -> AsyncIterator[Database]:
        """Open (creating if needed), configure and migrate the database at ``path``."""
        path = str(path)
        connecting = aiosqlite.connect(path, isolation_level=None)
        try:
            conn = await connecting
        except sqlite3.Error as exc:
            # aiosqlite stops its worker thread on a failed connect, and the thread reports
            # back to this event loop: wait for it, or it finds the loop closed and prints
            # a traceback after our one-line error.
            worker = getattr(connecting, "_thread", None)
            if worker is not None:
                await asyncio.to_thread(worker.join, 5)
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
            await self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self.path != ":memory:":
                await self._enable_wal()
            await self.conn.execute("PRAGMA synchronous = NORMAL")
            await self.conn.execute("PRAGMA foreign_keys = ON")
            await self.conn.execute("PRAGMA temp_store = MEMORY")
        except sqlite3.DatabaseError as exc:
            raise _storage_error(self.path, exc) from exc

    async def _enable_wal(self) -> None:
        """Switch the file to WAL, waiting for other processes that open it at the same time.

        The switch needs the file to itself. When several processes open a new file at
        once, SQLite answers "locked" at once to all but one rather than let their busy
        handlers deadlock; those try again, up to ``WAL_SWITCH_ATTEMPTS`` times.
        """
        delay = 0.01
        for attempt in range(1, WAL_SWITCH_ATTEMPTS + 1):
            try:
                await self._execute_pragma("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == WAL_SWITCH_ATTEMPTS:
                    raise
                log.debug("database %s: another process holds it; WAL switch retried", self.path)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

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
                if await self._apply(version, sql):
                    log.info("database %s migrated to schema version %d", self.path, version)
                    applied.append(version)
        except sqlite3.DatabaseError as exc:
            if self.conn.in_transaction:
                await self.conn.rollback()
            raise _storage_error(self.path, exc) from exc
        return applied

    async def _apply(self, version: int, sql: str) -> bool:
        """Run one migration file and its version bump as one transaction.

        A crash anywhere before COMMIT leaves the previous schema, and the next start runs
        the migration again. The version is read again under the write lock, so two
        processes opening a new file at once migrate it once (the second one skips).
        """
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            if await self.user_version() >= version:
                await self.conn.execute("COMMIT")
                return False
            # Statement by statement: executescript() would commit our transaction first.
            for statement in split_sql(sql):
                await self.conn.execute(statement)
            await self.conn.execute(f"PRAGMA user_version = {version}")
            crash_point("migrate.before_commit")
            await self.conn.execute("COMMIT")
        return True

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``); commits on success, rolls back on error."""
        async with self._write_lock:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise _storage_error(self.path, exc) from exc
            except BaseException:
                # Cancelled (a scheduler shutting down, a timeout) after BEGIN was handed to
                # the connection's thread: it still runs there, so end it before the next
                # writer gets the lock, or every later BEGIN fails.
                await self._rollback()
                raise
            try:
                yield self.conn
            except sqlite3.DatabaseError as exc:
                await self._rollback()
                # A locked, read-only, full or corrupt file surfaces in whichever statement
                # touches it first; a constraint or SQL mistake is a bug and stays as it is.
                if isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError):
                    raise
                raise _storage_error(self.path, exc) from exc
            except BaseException:
                await self._rollback()
                raise
            try:
                await self.conn.commit()
            except sqlite3.DatabaseError as exc:
                await self._rollback()
                raise _storage_error(self.path, exc) from exc

    async def _rollback(self) -> None:
        # SQLite may already have ended the transaction (disk full, I/O error); the error
        # that got us here is the one worth reporting.
        try:
            await self.conn.rollback()
        except sqlite3.Error:
            log.debug("rollback on %s failed", self.path, exc_info=True)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """Run a read query and return every row."""
        try:
            # One round trip to the connection's thread (execute, fetch and close there).
            return list(await self.conn.execute_fetchall(sql, tuple(params)))
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


def split_sql(script: str) -> list[str]:
    """The complete statements of an SQL script, in order (leading comments kept)."""
    statements: list[str] = []
    start = 0
    for end, char in enumerate(script):
        # complete_statement knows SQL's quoting, comments and trigger bodies.
        if char == ";" and sqlite3.complete_statement(script[start : end + 1]):
            statements.append(script[start : end + 1].strip())
            start = end + 1
    rest = "\n".join(
        line for line in script[start:].splitlines() if not line.strip().startswith("--")
    )
    if rest.strip():
        raise ValueError(f"migration ends with an incomplete statement: {rest.strip()[:80]!r}")
    return statements


def _storage_error(path: str, exc: sqlite3.Error) -> StorageError:
    return StorageError(f"database {path}: {_describe(exc)}", path=path)


def _describe(exc: sqlite3.Error) -> str:
    """What went wrong, in words a user can act on, with SQLite's own text after it.

    Python 3.11+ exposes SQLite's result code name; the message text is the fallback
    (and covers codes that only differ in their extended part).
    """
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    lowered = text.lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in lowered:
        return (
            f"the database is locked by another process (is another LaunchWatch using it?) ({text})"
        )
    if name.startswith("SQLITE_READONLY") or "readonly" in lowered or "read-only" in lowered:
        return f"the file is read-only: check its permissions and its folder's ({text})"
    if name == "SQLITE_FULL" or "full" in lowered:
        return f"the disk is full, or the database reached its size limit ({text})"
    if (
        name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT"))
        or "not a database" in lowered
        or "malformed" in lowered
    ):
        return f"the file is not a LaunchWatch database, or it is corrupt ({text})"
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in lowered:
        return f"the file cannot be opened: check that its folder exists and is writable ({text})"
    if name.startswith("SQLITE_IOERR") or "disk i/o" in lowered:
        return f"reading or writing the file failed: is the disk full or failing? ({text})"
    if name in ("SQLITE_PERM", "SQLITE_AUTH"):
        return f"permission denied ({text})"
    return text
