"""Guarantee 5 — storage: old databases migrate forward with their data; a locked,
read-only, full or corrupt file is a one-line error naming it (never a traceback); and
concurrent writers never duplicate a seen article, an event or a delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from handlers.domain import DeliveryKind
from handlers.errors import StorageError
from handlers.fetcher import FeedFetcher
from handlers.pipeline import PipelineConfig
from storage import SCHEMA_VERSION, Storage
from storage import database as database_module
from storage.database import _migrations, split_sql
from tests.builders import real_pipeline, subscribe_everything
from tests.feedgen import Item, rss
from tests.feedserver import FeedServer
from tests.reliability.dbfixtures import V1_ROWS, build_v1, fixtures, load
from tests.reliability.proc import clean_env, launch_item

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
BACKGROUND = [Item("funding", "Satellite startup raises $40 million", "", NOW - timedelta(days=1))]

# ------------------------------------------------------------------------ migrations


def _rows(path: Path, table: str, columns: list[str]) -> set[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return set(conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall())


# Columns a migration rewrites on purpose: (table, column) -> the schema version that does.
# Rows must otherwise survive unchanged; each rewrite is checked for what it should be.
REWRITTEN = {
    # 0003: an event found in a server's own feed moves from the server's scope to the
    # feed's (-feed id), which every server following the feed sees.
    ("events", "scope"): 3,
}


def _columns(path: Path) -> dict[str, list[str]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: [c[1] for c in conn.execute(f"PRAGMA table_info({t})")] for t in tables}


def test_there_is_a_frozen_fixture_for_every_schema_version_but_the_newest_may_be_new():
    versions = {int(p.stem[1:]) for p in fixtures()}
    assert versions >= set(range(1, SCHEMA_VERSION)), (
        "freeze the previous schema version before adding a migration:"
        " python -m tests.reliability.dbfixtures"
    )
    assert 1 in versions


def test_v1_fixture_is_migration_0001_plus_its_rows(tmp_path):
    """Shipped migrations are never edited: the frozen v1 schema must still match 0001."""
    built, frozen = tmp_path / "built.db", tmp_path / "frozen.db"
    build_v1(built)
    load(fixtures()[0], frozen)

    def schema(path: Path) -> set[tuple[str, str]]:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            return set(conn.execute("SELECT name, sql FROM sqlite_master").fetchall())

    assert schema(built) == schema(frozen)
    for table, rows in V1_ROWS.items():
        assert _rows(frozen, table, _columns(frozen)[table]) == set(rows), table


@pytest.mark.parametrize("fixture", fixtures(), ids=lambda p: p.stem)
async def test_every_old_database_migrates_forward_keeping_its_data(tmp_path, fixture):
    path = tmp_path / "old.db"
    load(fixture, path)
    before = _columns(path)
    old_rows = {t: _rows(path, t, cols) for t, cols in before.items()}

    async with Storage.open(path) as store:
        assert await store.db.user_version() == SCHEMA_VERSION
        assert await store.db.integrity_check() == "ok"
        assert await store.db.fetchall("PRAGMA foreign_key_check") == []
        # The stores read the old rows as domain values.
        feeds = {f.url: f for f in await store.feeds.list_feeds()}
        assert feeds["https://guild.example/feed"].disabled_reason.startswith("failed 10 times")
        event = await store.events.get(1)
        assert event is not None and event.mission == "Soyuz MS-28"
        assert [h.status.value for h in event.history] == ["upcoming", "launched"]
        assert len(event.sources) == 2 and event.agencies == ("NASA", "Roscosmos")
        subs = await store.subscriptions.list_for_guild(555)
        assert subs[1].filters.crewed_only and subs[1].role_id == 777
        jobs = await store.outbox.claim("discord", NOW, 10)
        assert {(j.id, j.kind) for j in jobs} == {
            (3, DeliveryKind.EDIT),
            (4, DeliveryKind.FOLLOWUP),
            (6, DeliveryKind.POST),
        }
        assert await store.get_meta("mode") == "dry-run"
        # Server 555 still sees its own feed and the launch found in it; 666 sees neither.
        mine = await store.feeds.list_feeds(guild_id=555, everything=False)
        assert [f.url for f in mine] == ["https://guild.example/feed"]
        assert await store.feeds.list_feeds(guild_id=666, everything=False) == []
        assert await store.events.get(2, scope=555) is not None
        assert await store.events.get(2, scope=666) is None

    # Every row of every old table survives with its old columns' values, but for the
    # columns a later migration rewrites on purpose.
    version = int(fixture.stem[1:])
    after = _columns(path)
    for table, columns in before.items():
        assert set(columns) <= set(after[table]), f"{table} lost columns"
        kept = [c for c in columns if REWRITTEN.get((table, c), 0) <= version]
        old = {tuple(r[columns.index(c)] for c in kept) for r in old_rows[table]}
        assert _rows(path, table, kept) == old, f"{table} rows changed"
    if version < 3:
        # Server 555's own feed 2 became a feed it follows; its event moved to the feed's
        # scope; the operator's global feed 3 is built in; the configured one stays so.
        with contextlib.closing(sqlite3.connect(path)) as conn:
            assert conn.execute("SELECT guild_id, feed_id FROM feed_follows").fetchall() == [
                (555, 2)
            ]
            scopes = dict(conn.execute("SELECT id, scope FROM events").fetchall())
            builtin = conn.execute("SELECT id, is_default, operator_added FROM feeds").fetchall()
        assert scopes == {1: 0, 2: -2}
        assert sorted(builtin) == [(1, 1, 0), (2, 0, 0), (3, 0, 1)]


async def test_midnight_launch_times_stored_before_day_precision_read_as_days(tmp_path):
    """Before schema 4 a date alone was kept as 00:00 UTC; migration 4 marks those days."""
    path = tmp_path / "v3.db"
    load(next(p for p in fixtures() if p.stem == "v3"), path)
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE events SET launch_time = ? WHERE id = 2", (MIDNIGHT,))
    async with Storage.open(path) as store:
        timed, day = await store.events.get(1), await store.events.get(2)
    assert timed is not None and not timed.launch_day_only
    assert day is not None and day.launch_day_only
    assert day.launch_time == datetime(2026, 3, 5, tzinfo=UTC)


MIDNIGHT = "2026-03-05T00:00:00.000000+00:00"


async def test_a_migration_is_all_or_nothing(tmp_path, monkeypatch):
    """A migration failing half-way leaves the old schema and version, with a clear error."""
    path = tmp_path / "half.db"
    build_v1(path)
    next_version = SCHEMA_VERSION + 1
    broken = (next_version, "CREATE TABLE extra (x);\nINSERT INTO no_such_table VALUES (1);\n")
    monkeypatch.setattr(database_module, "_migrations", lambda: [*_migrations(), broken])
    monkeypatch.setattr(database_module, "SCHEMA_VERSION", next_version)
    with pytest.raises(StorageError) as info:
        async with Storage.open(path):
            pass
    assert str(path) in str(info.value) and "no_such_table" in str(info.value)
    assert "extra" not in _columns(path)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_split_sql_keeps_statements_whole():
    script = (
        "-- head\nCREATE TABLE a (x TEXT DEFAULT ';');  CREATE TABLE b (y);\n"
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; SELECT 2; END;\n-- tail\n"
    )
    statements = split_sql(script)
    assert len(statements) == 3 and statements[2].endswith("END;")
    with pytest.raises(ValueError, match="incomplete"):
        split_sql("CREATE TABLE c (z")


async def test_two_processes_opening_a_new_file_migrate_it_once(tmp_path):
    path = tmp_path / "race.db"

    async def open_it() -> list[int]:
        async with Storage.open(path, migrate=False) as store:
            return await store.db.migrate()

    results = await asyncio.gather(*(open_it() for _ in range(4)))
    # Connections may share the work between them, but each migration runs exactly once.
    assert sorted(v for r in results for v in r) == list(range(1, SCHEMA_VERSION + 1))


# ------------------------------------------------------------- faults: storage level


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable even for root (``chattr +i``), or skip."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], check=False).returncode:
        pytest.skip("running as root and cannot make a file immutable here")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=False)


@contextlib.contextmanager
def write_locked(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding the database's write lock."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def _new_db(path: Path) -> None:
    async with Storage.open(path) as store:
        await store.feeds.add("https://news.example/rss", NOW)


def _assert_clear(exc: StorageError, path: Path, words: str) -> None:
    message = str(exc)
    assert message.startswith(f"database {path}: "), message
    assert words in message and "\n" not in message, message


async def test_locked_database_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(database_module, "BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "locked.db"
    await _new_db(path)
    with write_locked(path):
        async with Storage.open(path) as store:  # reading still works
            assert len(await store.feeds.list_feeds()) == 1
            with pytest.raises(StorageError) as info:
                await store.feeds.add("https://other.example/rss", NOW)
    _assert_clear(info.value, path, "locked by another process")
    fresh = tmp_path / "fresh.db"
    sqlite3.connect(fresh).close()
    with write_locked(fresh), pytest.raises(StorageError) as info:
        async with Storage.open(fresh):
            pass
    _assert_clear(info.value, fresh, "locked by another process")


async def test_read_only_database_is_a_clear_error(tmp_path):
    path = tmp_path / "ro.db"
    await _new_db(path)
    with read_only(path):
        async with Storage.open(path) as store:
            assert len(await store.feeds.list_feeds()) == 1
            with pytest.raises(StorageError) as info:
                await store.feeds.add("https://other.example/rss", NOW)
    _assert_clear(info.value, path, "read-only")


async def test_full_disk_is_a_clear_error_and_loses_no_alert(tmp_path):
    """A full disk fails the poll cleanly; once there is room, the same news alerts once."""
    path = tmp_path / "full.db"
    async with (
        FeedServer() as server,
        Storage.open(path) as store,
        FeedFetcher.open(version="test", allow_private=True) as fetcher,
    ):
        await subscribe_everything(store, 10, NOW)
        server.route("/feed", body=rss(BACKGROUND))
        await store.feeds.add(server.url("/feed"), NOW)
        pipeline = real_pipeline(store, fetcher, PipelineConfig(poll_interval=60), seed=1)
        await pipeline.run_due(NOW)
        big = [launch_item(n, when=NOW) for n in range(200)]
        server.route("/feed", body=rss([*big, *BACKGROUND]))

        pages = (await store.db.fetchone("PRAGMA page_count"))[0]
        await store.db.conn.execute(f"PRAGMA max_page_count = {pages}")
        [report] = await pipeline.run_due(NOW + timedelta(minutes=5))
        assert report.status == "error" and "disk is full" in (report.error or "")
        assert str(path) in (report.error or "")
        with pytest.raises(StorageError) as info:
            await store.feeds.add("https://other.example/" + "x" * 5000, NOW)
        _assert_clear(info.value, path, "disk is full")
        assert await store.db.integrity_check() == "ok"
        assert await store.events.count() == 0  # nothing half-written

        await store.db.conn.execute("PRAGMA max_page_count = 1073741823")
        [report] = await pipeline.run_due(NOW + timedelta(minutes=10))
        assert report.status == "ok" and report.events_created == 200
        posts = await store.db.fetchone("SELECT COUNT(*) FROM outbox WHERE kind = 'post'")
        assert posts[0] == 200


def _corrupt_variants(good: bytes) -> dict[str, bytes]:
    noise = random.Random(5)
    return {
        "garbage": b"this is not sqlite at all\n" * 200,
        "truncated": good[: len(good) // 3],
        "header-only": good[:100],
        "schema-page-smashed": good[:100] + noise.randbytes(4096 - 100) + good[4096:],
        "data-pages-smashed": good[: 4096 * 3] + noise.randbytes(len(good) - 4096 * 3),
    }


async def test_corrupt_files_are_clear_errors(tmp_path):
    good = tmp_path / "good.db"
    await _new_db(good)
    for name, content in _corrupt_variants(good.read_bytes()).items():
        path = tmp_path / f"{name}.db"
        path.write_bytes(content)
        with pytest.raises(StorageError) as info:
            async with Storage.open(path) as store:
                await store.feeds.sync_defaults(["https://news.example/rss"], NOW)
                await store.feeds.list_feeds()
        _assert_clear(info.value, path, "corrupt")


# ---------------------------------------------------------------- faults: via the CLI


def _limit_file_size(limit: int):  # type: ignore[no-untyped-def]
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a core dump
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


async def _cli(db: Path, *args: str, preexec=None, feeds: str = "https://news.example/rss"):  # type: ignore[no-untyped-def]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--env-file",
        os.devnull,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(LAUNCHWATCH_DB=str(db), LAUNCHWATCH_FEEDS=feeds),
        cwd=db.parent,
        preexec_fn=preexec,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_reports_every_database_fault_in_one_line(tmp_path):
    """Locked, read-only, full and corrupt files: exit 2 and one line on stderr, each."""
    good = tmp_path / "good.db"
    await _new_db(good)
    cases: dict[str, tuple[Path, list[str], str]] = {}

    def case(name: str, args: list[str], words: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        path = folder / "lw.db"
        shutil.copy(good, path)
        cases[name] = (path, args, words)
        return path

    locked = case("locked", ["run", "--dry-run"], "locked by another process")
    ro = case("read-only", ["run", "--dry-run"], "read-only")
    case("full", ["run", "--dry-run"], "disk")  # thousands of feeds to store: no room
    new_full = tmp_path / "new-full" / "lw.db"
    new_full.parent.mkdir()
    cases["full-during-migration"] = (new_full, ["db", "migrate"], "disk")
    for name, content in _corrupt_variants(good.read_bytes()).items():
        case(f"corrupt-{name}", ["run", "--dry-run"], "corrupt").write_bytes(content)

    many_feeds = ",".join(f"https://feeds{i}.example/rss?page={'x' * 60}" for i in range(1000))
    with write_locked(locked), read_only(ro):
        results = await asyncio.gather(
            *(
                _cli(
                    path,
                    *args,
                    # Room for the -shm index (32 KB) but not for the writes.
                    preexec=_limit_file_size(40_000) if name.startswith("full") else None,
                    feeds=many_feeds if name == "full" else "https://news.example/rss",
                )
                for name, (path, args, _) in cases.items()
            )
        )
    problems = []
    for (name, (path, _, words)), (code, _out, err) in zip(cases.items(), results, strict=True):
        line = err.strip()
        if code != 2 or "\n" in line or "Traceback" in err:
            problems.append(f"{name}: exit {code}, stderr:\n{err[-1500:]}")
        elif not line.startswith(f"launchwatch: database {path}: ") or words not in line:
            problems.append(f"{name}: unclear message {line!r}")
    assert not problems, "\n".join(problems)


# ----------------------------------------------------------------- concurrent writers


async def test_two_connections_ingesting_the_same_feeds_duplicate_nothing(tmp_path):
    path = tmp_path / "shared.db"
    async with FeedServer() as server:
        paths = ["/a", "/b", "/c"]
        items = {p: list(BACKGROUND) for p in paths}
        for p in paths:
            server.route(p, body=rss(items[p]))
        async with Storage.open(path) as setup:
            await subscribe_everything(setup, 10, NOW)
            for p in paths:
                await setup.feeds.add(server.url(p), NOW)
        async with (
            Storage.open(path) as one,
            Storage.open(path) as two,
            FeedFetcher.open(version="a", allow_private=True) as f1,
            FeedFetcher.open(version="b", allow_private=True) as f2,
        ):
            pipelines = [
                real_pipeline(store, fetcher, PipelineConfig(poll_interval=60), seed=seed)
                for seed, (store, fetcher) in enumerate([(one, f1), (two, f2)])
            ]
            at = NOW
            await asyncio.gather(*(p.run_due(at) for p in pipelines))  # both seed at once
            launches = 0
            for round_ in range(4):
                # The same launch on every feed, and one launch of each feed's own.
                for i, p in enumerate(paths):
                    items[p].append(launch_item(100 + round_, source="a" if i == 0 else "b"))
                    items[p].append(launch_item(10 * round_ + i))
                    server.route(p, body=rss(items[p]))
                launches += 1 + len(paths)
                at += timedelta(minutes=5)
                await asyncio.gather(*(p.run_due(at) for p in pipelines))

            events = await one.db.fetchall("SELECT key, COUNT(*) FROM events GROUP BY key")
            assert len(events) == launches and all(n == 1 for _, n in events)
            posts = await one.db.fetchone(
                "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM outbox WHERE kind = 'post'"
            )
            assert tuple(posts) == (launches, launches)
            seen = await one.db.fetchone("SELECT COUNT(*) FROM articles")
            assert seen[0] == sum(len(v) for v in items.values())
            assert await one.db.integrity_check() == "ok"


async def test_two_processes_polling_the_same_feeds_duplicate_nothing(tmp_path):
    db = tmp_path / "procs.db"
    async with FeedServer() as server:
        paths = ["/a", "/b"]
        items = {p: list(BACKGROUND) for p in paths}
        for p in paths:
            server.route(p, body=rss(items[p]))
        feeds = ",".join(server.url(p) for p in paths)
        async with Storage.open(db) as setup:
            await subscribe_everything(setup, 10, NOW)

        async def poll_twice_at_once() -> None:
            procs = [
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "--env-file",
                    os.devnull,
                    "poll",
                    "--once",
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    env=clean_env(
                        LAUNCHWATCH_DB=str(db),
                        LAUNCHWATCH_FEEDS=feeds,
                        LAUNCHWATCH_ALLOW_PRIVATE_NETWORKS="true",
                    ),
                )
                for _ in range(2)
            ]
            for proc in procs:
                _, err = await asyncio.wait_for(proc.communicate(), 60)
                assert proc.returncode == 0, err.decode()[-2000:]

        await poll_twice_at_once()  # seeding
        for i, p in enumerate(paths):  # one launch, reported by both feeds
            items[p].append(launch_item(200, source="a" if i == 0 else "b"))
            items[p].append(launch_item(300 + i))  # and one launch each
            server.route(p, body=rss(items[p]))
        # Make both feeds due again for both processes.
        with contextlib.closing(sqlite3.connect(db)) as conn:
            conn.execute("UPDATE feeds SET next_poll_at = '2000-01-01T00:00:00+00:00'")
            conn.commit()
        await poll_twice_at_once()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        events = conn.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM events").fetchone()
        posts = conn.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'post'").fetchone()
        assert events == (3, 3) and posts == (3,)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_a_late_report_joins_its_launch_however_busy_the_rocket(tmp_path):
    """Found by the Discord crash loop: twelve newer Falcon 9 launches pushed launch 1's own
    event out of the candidate list, so a second site's story about it made a second alert."""
    async with FeedServer() as server, Storage.open(tmp_path / "busy.db") as store:
        await subscribe_everything(store, 10, NOW)
        server.route("/a", body=rss(BACKGROUND))
        server.route("/b", body=rss(BACKGROUND))
        await store.feeds.add(server.url("/a"), NOW)
        await store.feeds.add(server.url("/b"), NOW)
        async with FeedFetcher.open(version="t", allow_private=True) as fetcher:
            pipeline = real_pipeline(store, fetcher, PipelineConfig(poll_interval=60), seed=2)
            await pipeline.run_due(NOW)
            a_items = [launch_item(1, when=NOW)]
            for n in range(2, 14):  # twelve more Falcon 9 launches, each newer
                a_items.append(launch_item(n, when=NOW + timedelta(minutes=n)))
            server.route("/a", body=rss([*a_items, *BACKGROUND]))
            await pipeline.run_due(NOW + timedelta(minutes=20))
            server.route("/b", body=rss([launch_item(1, source="b", when=NOW), *BACKGROUND]))
            [*_, report] = await pipeline.run_due(NOW + timedelta(minutes=40))
        assert report.events_created == 0 and report.events_updated == 1, report
        rows = await store.db.fetchall("SELECT key, COUNT(*) FROM events GROUP BY key")
        assert len(rows) == 13 and all(n == 1 for _, n in rows)
        posts = await store.db.fetchone("SELECT COUNT(*) FROM outbox WHERE kind = 'post'")
        assert posts[0] == 13
