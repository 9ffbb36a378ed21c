"""Parse feeds in worker processes, each parse within a time budget.

feedparser is pure Python: in a thread it holds the GIL and slows the event loop, and
one process parses on one core only. :class:`ParserPool` keeps ``workers`` processes,
each parsing one feed at a time. Bytes go in, :class:`~handlers.parser.ParsedFeed`
values come back.

Every parse has a budget (``budget`` seconds, from handing the body over to receiving
the result). A parse past it is stopped: its process is killed and replaced, and the
feed fails with a one-line :class:`~handlers.errors.ParseError` ("took longer than N s
to parse") that backs it off like any failing feed. A worker that dies (killed for
memory, say) fails its feed the same way and is replaced. Other feeds never wait on a
stopped parse for longer than the budget; the shapes known to be slow are refused
before parsing (:mod:`handlers.feedshape`).

The exchange with each worker runs on the pool's own threads, never the event loop's
default executor, which aiohttp's DNS resolver uses.

``workers=0`` parses in one of the pool's threads instead (tests, single-core hosts):
a thread cannot be stopped, so there the budget is reported but not enforced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from handlers.errors import ParseError, ParseTimeoutError
from handlers.parser import ParsedFeed, parse_feed

__all__ = [
    "DEFAULT_PARSE_BUDGET",
    "ParseFunction",
    "ParseStats",
    "ParserPool",
    "default_parser_workers",
]

log = logging.getLogger(__name__)

ParseFunction = Callable[..., ParsedFeed]
"""``parse_feed``'s signature: ``(body, headers, *, feed_url, feed_id) -> ParsedFeed``."""

DEFAULT_PARSE_BUDGET = 15.0
"""Seconds a parse may take. A 5 MB feed of real news parses in about 2-4 s."""


def default_parser_workers() -> int:
    """One parser process per CPU this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class _ParseFailure:
    # A ParseError's keyword-only context does not survive pickling, so it travels back
    # from a worker as its message.
    message: str


def _parse_job(
    parse: ParseFunction, body: bytes, headers: dict[str, str], url: str, feed_id: int | None
) -> ParsedFeed | _ParseFailure:
    try:
        return parse(body, headers, feed_url=url, feed_id=feed_id)
    except ParseError as exc:
        return _ParseFailure(str(exc))
    except Exception as exc:  # a parser bug fails this feed, not the worker
        return _ParseFailure(f"feed {url} could not be parsed ({type(exc).__name__})")


def _watch_parent(parent: int) -> None:
    """Exit when the bot is gone, even after a SIGKILL."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _serve(conn: Connection, parse: ParseFunction, parent: int) -> None:
    """A worker process: parse one job at a time until the pool hangs up.

    The bot stops its workers itself, so Ctrl-C in a terminal (sent to the whole process
    group) is left to it; a bot that is gone (killed) just ends the worker, quietly.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent(parent)
    try:
        conn.send(_READY)  # imports are done: from now on a job's time is parsing time
        while True:
            body, headers, url, feed_id = conn.recv()
            conn.send(_parse_job(parse, body, headers, url, feed_id))
    except (EOFError, OSError):  # the pool hung up or died (OSError: a broken pipe)
        return


_READY = "ready"
WORKER_START_TIMEOUT = 120.0
"""Seconds a new worker process may take to start (import the parser): not parse time."""


class _Stopped(Exception):
    """The parse ran past its budget."""


class _Died(Exception):
    """The worker process ended during the parse."""


class _Worker:
    """One worker process and the pipe to it."""

    def __init__(self, ctx: Any, parse: ParseFunction) -> None:
        self.conn, child = ctx.Pipe()
        self.process: BaseProcess = ctx.Process(
            target=_serve, args=(child, parse, os.getpid()), name="launchwatch-parser", daemon=True
        )
        self.process.start()
        child.close()
        self.started = False

    def exchange(self, job: tuple[Any, ...], budget: float) -> ParsedFeed | _ParseFailure:
        """Hand ``job`` over and wait for the result (blocking: runs on a pool thread).

        The budget starts once the worker is ready, so starting a process is not counted.
        """
        try:
            if not self.started:
                if not self.conn.poll(WORKER_START_TIMEOUT) or self.conn.recv() != _READY:
                    raise _Died
                self.started = True
            self.conn.send(job)
            if not self.conn.poll(budget):
                raise _Stopped
            result: ParsedFeed | _ParseFailure = self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            raise _Died from None
        return result

    def kill(self) -> None:
        """Stop the process at once (SIGKILL) and release its pipe; it is reaped later."""
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.conn.close()

    def join(self) -> None:
        """Wait until the killed process is gone (blocking)."""
        self.process.join(timeout=5)


@dataclass
class ParseStats:
    """What the pool has done since it started (for /status and the metrics)."""

    parsed: int = 0
    failed: int = 0
    stopped: int = 0  # past the budget
    died: int = 0  # worker process ended during a parse
    seconds: float = 0.0  # total time spent parsing
    slowest: float = 0.0
    per_feed_seconds: dict[int, float] = field(default_factory=dict)  # last parse, by feed id


class ParserPool:
    """Parses feed bodies in worker processes, each parse within ``budget`` seconds."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        parse: ParseFunction = parse_feed,
        budget: float = DEFAULT_PARSE_BUDGET,
    ) -> None:
        if budget <= 0:
            raise ValueError("the parse budget must be positive")
        self.workers = default_parser_workers() if workers is None else workers
        self.budget = budget
        self.stats = ParseStats()
        self._parse = parse
        # spawn, not fork: the bot has threads by now.
        self._ctx = multiprocessing.get_context("spawn")
        self._threads = ThreadPoolExecutor(
            max(1, self.workers), thread_name_prefix="launchwatch-parse"
        )
        # Idle worker slots; a slot holds None until its process is first needed, so a
        # bot (or a test) that never parses never starts one.
        self._idle: asyncio.Queue[_Worker | None] = asyncio.Queue()
        for _ in range(self.workers):
            self._idle.put_nowait(None)
        self._busy: set[_Worker] = set()
        self._dying: set[_Worker] = set()  # killed, not yet reaped
        self._closed = False

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        workers: int | None = None,
        *,
        parse: ParseFunction = parse_feed,
        budget: float = DEFAULT_PARSE_BUDGET,
    ) -> AsyncIterator[ParserPool]:
        """A pool, shut down (workers stopped) on exit."""
        pool = cls(workers, parse=parse, budget=budget)
        try:
            yield pool
        finally:
            await pool.close()

    async def close(self) -> None:
        """Stop the workers; parses still running fail."""
        if self._closed:
            return
        self._closed = True
        workers = [*self._busy, *self._dying]
        while not self._idle.empty():
            worker = self._idle.get_nowait()
            if worker is not None:
                workers.append(worker)
        for worker in workers:
            worker.kill()
        loop = asyncio.get_running_loop()
        for worker in workers:
            await loop.run_in_executor(self._threads, worker.join)
        self._threads.shutdown(wait=False)

    def _discard(self, worker: _Worker) -> None:
        """Kill a worker in an unknown state and reap it on a pool thread."""
        worker.kill()
        self._dying.add(worker)
        reaped = asyncio.get_running_loop().run_in_executor(self._threads, worker.join)
        reaped.add_done_callback(lambda _: self._dying.discard(worker))

    async def parse(
        self, body: bytes, headers: Mapping[str, str], url: str, feed_id: int | None
    ) -> ParsedFeed:
        """Parse one body within the budget (the pipeline's ``parse`` port)."""
        if self._closed:
            raise ParseError(f"feed {url} was not parsed: the bot is stopping", url=url)
        started = time.monotonic()
        try:
            if self.workers == 0:
                outcome = await asyncio.get_running_loop().run_in_executor(
                    self._threads, _parse_job, self._parse, body, dict(headers), url, feed_id
                )
            else:
                outcome = await self._in_worker((body, dict(headers), url, feed_id), url)
        finally:
            self._record(feed_id, time.monotonic() - started)
        if isinstance(outcome, _ParseFailure):
            self.stats.failed += 1
            raise ParseError(outcome.message, url=url)
        self.stats.parsed += 1
        return outcome

    async def _in_worker(self, job: tuple[Any, ...], url: str) -> ParsedFeed | _ParseFailure:
        worker = await self._idle.get()
        if worker is not None and not worker.process.is_alive():  # died while idle
            self._discard(worker)
            worker = None
        if worker is None:
            worker = _Worker(self._ctx, self._parse)
        self._busy.add(worker)
        loop = asyncio.get_running_loop()
        keep: _Worker | None = None
        try:
            outcome = await loop.run_in_executor(self._threads, worker.exchange, job, self.budget)
            keep = worker
            return outcome
        except _Stopped:
            self.stats.stopped += 1
            log.warning("feed=%s parse stopped after %gs; worker replaced", url, self.budget)
            raise ParseTimeoutError(
                f"feed {url} took longer than {self.budget:g} s to parse",
                url=url,
                seconds=self.budget,
            ) from None
        except _Died:
            self.stats.died += 1
            log.error("a feed parser process died parsing %s; starting a new one", url)
            raise ParseError(
                f"feed {url} could not be parsed: the parser process died", url=url
            ) from None
        finally:
            # Anything but a clean result (a stop, a death, a cancelled wait) leaves the
            # worker in an unknown state: it is killed, and the slot starts a new one.
            self._busy.discard(worker)
            if keep is None:
                self._discard(worker)
            if not self._closed:
                self._idle.put_nowait(keep)
            elif keep is not None:
                keep.kill()

    def _record(self, feed_id: int | None, seconds: float) -> None:
        stats = self.stats
        stats.seconds += seconds
        stats.slowest = max(stats.slowest, seconds)
        if feed_id is not None:
            stats.per_feed_seconds[feed_id] = seconds
