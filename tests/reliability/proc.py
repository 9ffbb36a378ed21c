"""Run the real ``launchwatch run`` as a child process, kill it, restart it, read what it did.

Output goes to files, not pipes: a process killed with SIGKILL leaves exactly what it had
written (the console publisher flushes after each alert), and no pipe can fill up and
stall it. The database is read with the standard ``sqlite3`` module, as an operator would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from handlers.crashpoints import CRASH_ENV
from tests.feedgen import Item, rss
from tests.feedserver import FeedServer

ALERT_HEADER = re.compile(r"^\[(?:UPCOMING|SCRUBBED|LAUNCHED|FAILED|UPDATE[^\]]*)\] .+$", re.M)
KILLED = -signal.SIGKILL


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any LaunchWatch or Discord setting (the launch
    schedule off), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAUNCHWATCH_", "DISCORD_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env["LAUNCHWATCH_SCHEDULE"] = "off"  # the suite never reaches the internet
    env.update(extra)
    return env


@dataclass
class Run:
    """One started process and the files it writes to."""

    proc: asyncio.subprocess.Process
    out: Path
    err: Path
    crash_at: str | None

    @property
    def returncode(self) -> int | None:
        """The exit status, or None while running (-9 means killed by SIGKILL)."""
        return self.proc.returncode

    def stdout(self) -> str:
        """Everything the process printed so far."""
        return self.out.read_text("utf-8", errors="replace")

    def stderr(self) -> str:
        """Everything the process logged so far."""
        return self.err.read_text("utf-8", errors="replace")

    async def wait(self, timeout: float) -> int:
        """Wait for the process to end on its own (e.g. at its crash point)."""
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            await self.kill()
            raise AssertionError(
                f"launchwatch (crash_at={self.crash_at}) still running after {timeout:g} s;"
                f" stderr tail:\n{self.stderr()[-3000:]}"
            ) from None

    async def kill(self) -> None:
        """``kill -9``."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM, as a service manager stops it; returns the exit status."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await self.wait(timeout)


@dataclass
class LaunchWatch:
    """Starts ``python -m bot run`` against one database, as many times as a test likes."""

    workdir: Path
    feeds: list[str]
    env: dict[str, str] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)

    @property
    def db(self) -> Path:
        """The SQLite file every run shares."""
        return self.workdir / "launchwatch.db"

    async def start(
        self, *, crash_at: str | None = None, dry_run: bool = True, **extra_env: str
    ) -> Run:
        """Start one run; ``crash_at`` arms a named crash point (see handlers.crashpoints)."""
        n = len(self.runs)
        env = clean_env(
            LAUNCHWATCH_DB=str(self.db),
            LAUNCHWATCH_FEEDS=",".join(self.feeds),
            LAUNCHWATCH_POLL_INTERVAL="1",
            LAUNCHWATCH_ALLOW_PRIVATE_NETWORKS="true",
            LAUNCHWATCH_FETCH_TIMEOUT="5",
            **self.env,
            **extra_env,
        )
        if crash_at:
            env[CRASH_ENV] = crash_at
        out = self.workdir / f"run{n}.out"
        err = self.workdir / f"run{n}.err"
        args = ["run", "--dry-run"] if dry_run else ["run"]
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "--env-file",
                os.devnull,
                *args,
                stdout=stdout,
                stderr=stderr,
                stdin=asyncio.subprocess.DEVNULL,
                env=env,
                cwd=self.workdir,
            )
        run = Run(proc, out, err, crash_at)
        self.runs.append(run)
        return run

    def stdout(self) -> str:
        """What every run printed, in order."""
        return "".join(r.stdout() for r in self.runs)

    def stderr(self) -> str:
        """What every run logged, in order."""
        return "".join(r.stderr() for r in self.runs)

    def alerts(self) -> Counter[str]:
        """How many times each alert header was printed, over all runs."""
        return Counter(ALERT_HEADER.findall(self.stdout()))

    async def stop_all(self) -> None:
        """Kill whatever is still running (test teardown)."""
        for run in self.runs:
            await run.kill()


def query(db: Path, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    """Read from the database the way an operator's ``sqlite3`` shell would."""
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        return list(conn.execute(sql, tuple(params)).fetchall())


def scalar(db: Path, sql: str, params: Iterable[Any] = ()) -> Any:
    """The first column of the first row."""
    rows = query(db, sql, params)
    return rows[0][0] if rows else None


def integrity(db: Path) -> str:
    """``PRAGMA integrity_check`` ("ok" when the file is sound)."""
    return "\n".join(str(r[0]) for r in query(db, "PRAGMA integrity_check"))


async def eventually(
    check: Callable[[], bool], timeout: float, what: str, *, every: float = 0.05
) -> None:
    """Wait until ``check()`` is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(every)


# ----------------------------------------------------------------------------- feeds


def launch_item(n: int, *, source: str = "a", when: datetime | None = None) -> Item:
    """A news item about launch number ``n`` (each n is a different launch)."""
    when = when or datetime.now(UTC).replace(microsecond=0)
    title = (
        f"Falcon 9 launches Starlink 10-{n} from Cape Canaveral"
        if source == "a"
        else f"SpaceX rocket lifts off with Starlink 10-{n} satellites from Florida"
    )
    return Item(f"{source}-{n}", title, "Liftoff of another batch of satellites.", when)


def launch_header(n: int) -> str:
    """The first line the dry-run prints for launch ``n``."""
    return f"[LAUNCHED] Falcon 9 | Starlink 10-{n}"


BACKGROUND = [
    Item("funding", "Satellite startup raises $40 million", "", datetime(2026, 1, 2, tzinfo=UTC)),
    Item("policy", "Agency budget hearing scheduled", "", datetime(2026, 1, 3, tzinfo=UTC)),
]


class NewsFeeds:
    """A few feeds on a local server whose items a test adds to over time."""

    def __init__(self, server: FeedServer, count: int) -> None:
        self.server = server
        self.paths = [f"/feed{i}" for i in range(count)]
        self.items: dict[str, list[Item]] = {p: list(BACKGROUND) for p in self.paths}
        self.launches: list[int] = []
        for path in self.paths:
            self._serve(path)

    @property
    def urls(self) -> list[str]:
        """The feed URLs, for ``LAUNCHWATCH_FEEDS``."""
        return [self.server.url(p) for p in self.paths]

    def _serve(self, path: str) -> None:
        self.server.route(path, body=rss(list(reversed(self.items[path]))))

    def publish(self, n: int, feed: int, *, also_on: int | None = None) -> None:
        """Put launch ``n`` on feed ``feed`` (and a second site's story on ``also_on``)."""
        self.launches.append(n)
        path = self.paths[feed]
        self.items[path].append(launch_item(n))
        self._serve(path)
        if also_on is not None and also_on != feed:
            other = self.paths[also_on]
            self.items[other].append(launch_item(n, source="b"))
            self._serve(other)

    def expected(self) -> dict[str, int]:
        """Each published launch's alert header, printed exactly once."""
        return {launch_header(n): 1 for n in self.launches}

    def hits(self) -> Mapping[str, int]:
        """Requests per feed path so far."""
        return {p: self.server.count(p) for p in self.paths}


def seeded_feeds(db: Path) -> int:
    """How many feeds have had their silent first poll committed."""
    if not db.exists():
        return 0
    try:
        return int(scalar(db, "SELECT COUNT(*) FROM feeds WHERE seeded = 1") or 0)
    except sqlite3.Error:  # not migrated yet
        return 0


def pending_jobs(db: Path) -> int:
    """Outbox posts and follow-ups not yet delivered (edits print nothing in dry-run)."""
    return int(
        scalar(db, "SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND kind != 'edit'") or 0
    )
