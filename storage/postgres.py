"""PostgreSQL behind the same small database surface the stores use on SQLite (asyncpg).

The stores write portable SQL with ``?`` placeholders; here each statement becomes
PostgreSQL's ``$1, $2 ...`` (translated once and cached). What the stores call:
``transaction()`` yields a connection with ``execute`` / ``executemany`` /
``execute_fetchall``; ``fetchall`` / ``fetchone`` read outside a transaction; ``conn`` reads
too. Rows are asyncpg records, which index by position and by column name like SQLite rows.

The schema has its own numbered migrations (``storage/migrations_pg``), applied under an
advisory lock so several processes starting at once migrate once; the version lives in
``launchwatch_schema``. Times stay ISO-8601 text as on SQLite, so both backends compare and
order them the same way and a copy between them is exact.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any

import asyncpg
import yarl

from handlers.crashpoints import crash_point
from handlers.errors import StorageError
from storage.database import _migrations

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "storage.migrations_pg"
#: Any number will do, as long as it is LaunchWatch's own (``pg_advisory_xact_lock``).
MIGRATION_LOCK = 0x4C57_0001
CONNECT_TIMEOUT = 10.0
POOL_SIZE = 4


def migrations() -> list[tuple[int, str]]:
    """Numbered ``NNNN_name.sql`` files of the PostgreSQL schema, in order."""
    return _migrations(MIGRATIONS_PACKAGE)


PG_SCHEMA_VERSION = max(v for v, _ in migrations())


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """``?`` placeholders to ``$n`` (the stores' SQL has no ``?`` inside literals)."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def is_postgres_url(target: object) -> bool:
    """Whether a database setting names a PostgreSQL server rather than an SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def password_of(url: str) -> str | None:
    """The password a URL carries (to mask it wherever text is shown)."""
    try:
        return yarl.URL(url).password
    except ValueError:
        return None


def safe_url(url: str) -> str:
    """The URL without its password, for logs and errors."""
    try:
        parsed = yarl.URL(url)
    except ValueError:
        return "postgresql://…"
    return str(parsed.with_password(None)) if parsed.password else str(parsed)


class PgCursor:
    """What an ``execute`` answered: the rows it returned and how many rows it touched."""

    def __init__(self, rows: list[asyncpg.Record], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = None

    async def fetchone(self) -> asyncpg.Record | None:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[asyncpg.Record]:
        return list(self._rows)

    async def __aenter__(self) -> PgCursor:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class _Pending:
    """``await conn.execute(...)`` and ``async with conn.execute(...) as cur`` both work."""

    def __init__(self, run: Any) -> None:
        self._run = run
        self._cursor: PgCursor | None = None

    def __await__(self) -> Any:
        return self._run().__await__()

    async def __aenter__(self) -> PgCursor:
        self._cursor = await self._run()
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        return None


def _count(status: str) -> int:
    """Rows touched, from a command tag like ``UPDATE 3`` or ``INSERT 0 1``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


_RETURNS_ROWS = re.compile(r"^\s*(SELECT|WITH|VALUES)\b|\bRETURNING\b", re.IGNORECASE)


class PgConnection:
    """One asyncpg connection with the calls the stores make."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Iterable[Any] = ()) -> _Pending:
        args = tuple(params)

        async def run() -> PgCursor:
            query = translate(sql)
            if _RETURNS_ROWS.search(sql):
                rows = await self._conn.fetch(query, *args)
                return PgCursor(rows, len(rows))
            return PgCursor([], _count(await self._conn.execute(query, *args)))

        return _Pending(run)

    async def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> PgCursor:
        """Each set of parameters in turn (asyncpg's own executemany reports no count)."""
        total = 0
        for params in seq:
            total += (await self.execute(sql, params)).rowcount
        return PgCursor([], total)

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[asyncpg.Record]:
        return list(await self._conn.fetch(translate(sql), *tuple(params)))


#: The connection of the transaction the running task is in: a read made inside a
#: transaction sees its uncommitted writes, as on SQLite's one connection.
_IN_TRANSACTION: ContextVar[asyncpg.Connection | None] = ContextVar("pg_tx", default=None)


class _PoolReader:
    """Reads: inside a transaction on its connection, else on any pooled one."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[asyncpg.Record]:
        source = _IN_TRANSACTION.get() or self._pool
        return list(await source.fetch(translate(sql), *tuple(params)))


class PgDatabase:
    """A pool of connections to one PostgreSQL database; ``async with PgDatabase.open(url)``."""

    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self.url = url
        self.path = safe_url(url)
        self.conn = _PoolReader(pool)

    @classmethod
    @asynccontextmanager
    async def open(cls, url: str, *, migrate: bool = True) -> AsyncIterator[PgDatabase]:
        """Connect (a small pool) and migrate; a bad URL, a refused connection or a wrong
        password is one :class:`StorageError` line."""
        shown = safe_url(url)
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=POOL_SIZE,
                timeout=CONNECT_TIMEOUT,
                command_timeout=60,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            raise StorageError(f"database {shown}: {_describe(exc)}", path=shown) from None
        except TimeoutError:
            raise StorageError(
                f"database {shown}: no answer within {CONNECT_TIMEOUT:.0f}s", path=shown
            ) from None
        db = cls(pool, url)
        try:
            if migrate:
                await db.migrate()
            yield db
        finally:
            await pool.close()

    async def user_version(self) -> int:
        """The schema version applied (0: a new database)."""
        row = await self._pool.fetchrow(
            "SELECT to_regclass('launchwatch_schema') IS NOT NULL AS present"
        )
        if row is None or not row["present"]:
            return 0
        version = await self._pool.fetchval("SELECT MAX(version) FROM launchwatch_schema")
        return int(version or 0)

    async def migrate(self) -> list[int]:
        """Apply every migration newer than the database's version, each in a transaction,
        under an advisory lock (several processes starting at once migrate once)."""
        applied = []
        async with self._pool.acquire() as conn:
            for version, sql in migrations():
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                    await conn.execute(
                        "CREATE TABLE IF NOT EXISTS launchwatch_schema"
                        " (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ DEFAULT now())"
                    )
                    current = await conn.fetchval("SELECT MAX(version) FROM launchwatch_schema")
                    if current is not None and current > PG_SCHEMA_VERSION:
                        raise StorageError(
                            f"database {self.path}: schema {current} is newer than this"
                            f" LaunchWatch ({PG_SCHEMA_VERSION}); upgrade LaunchWatch",
                            path=self.path,
                        )
                    if current is not None and version <= current:
                        continue
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO launchwatch_schema (version) VALUES ($1)", version
                    )
                    crash_point("migrate.before_commit")
                log.info("database %s migrated to schema version %d", self.path, version)
                applied.append(version)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgConnection]:
        """One transaction on a pooled connection; commits on success, rolls back on error."""
        async with self._pool.acquire() as conn, conn.transaction():
            token = _IN_TRANSACTION.set(conn)
            try:
                yield PgConnection(conn)
            finally:
                _IN_TRANSACTION.reset(token)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[asyncpg.Record]:
        """Run a read query and return every row."""
        return await self.conn.execute_fetchall(sql, params)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> asyncpg.Record | None:
        """Run a read query and return its first row, if any."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def integrity_check(self) -> str:
        """PostgreSQL checks its own pages; a query that answers is the check here."""
        await self._pool.fetchval("SELECT 1")
        return "ok"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return "the server refused the password (check the user and password in the URL)"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return "no such database on the server (create it first, e.g. createdb launchwatch)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: is PostgreSQL running, on that host and port?"
    if isinstance(exc, OSError):
        return f"cannot connect: {exc.strerror or exc}"
    if isinstance(exc, ValueError):
        return f"not a usable PostgreSQL URL ({exc})"
    return str(exc) or exc.__class__.__name__
