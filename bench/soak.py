"""Soak test: many feeds on a local server, some failing, polled for several cycles.

Runs the real pipeline (fetcher, parser, matcher, SQLite) in this process against
``feeds`` feeds served from 127.0.0.1, ``failing`` of them broken in assorted ways, for
``cycles`` poll cycles of simulated time, and reports wall time, peak RSS and whether every
healthy feed was polled on schedule while the failing ones backed off::

    python -m bench.soak                       # 1,000 feeds, 5 % failing, 10 cycles
    python -m bench.soak --feeds 5000 --cycles 20

``tests/reliability/test_load.py`` runs the default size under ``pytest -m slow``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from handlers.domain import SubscriptionFilter
from handlers.fetcher import FeedFetcher, FetchLimits
from handlers.matching.matcher import default_matcher
from handlers.parser import parse_feed
from handlers.pipeline import Pipeline, PipelineConfig
from storage import Storage
from tests.feedgen import Item, rss
from tests.feedserver import FeedServer, StaticResolver

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
INTERVAL = 60.0
# A cycle every 1.15 intervals: every healthy feed (next poll at most +10 % jitter) is due.
CYCLE = timedelta(seconds=INTERVAL * 1.15)
LIMITS = FetchLimits(total_timeout=1.0, connect_timeout=0.5, read_timeout=0.8, max_bytes=256_000)
FAILURES = [
    "http-500",
    "http-404",
    "http-429",
    "timeout",
    "html",
    "redirect-loop",
    "too-large",
    "refused",
    "dns",
    "gone-410",
]


@dataclass
class SoakReport:
    """What a soak run measured."""

    feeds: int
    failing: int
    cycles: int
    seconds: float
    cycle_seconds: list[float]
    rss_start_mb: float
    rss_peak_mb: float
    healthy_polls: Counter[str]
    failing_polls: dict[str, list[int]]
    late_healthy: list[str]
    deliveries: int
    events: int
    errors_by_kind: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """A human summary."""
        per_kind = {
            kind: f"{sum(p) / len(p):.1f}" for kind, p in sorted(self.failing_polls.items())
        }
        return [
            f"{self.feeds} feeds ({self.failing} failing), {self.cycles} cycles in"
            f" {self.seconds:.1f} s (slowest cycle {max(self.cycle_seconds):.2f} s)",
            f"RSS {self.rss_start_mb:.0f} MB at start, peak {self.rss_peak_mb:.0f} MB"
            f" (+{self.rss_peak_mb - self.rss_start_mb:.0f} MB)",
            f"healthy feeds polled {min(self.healthy_polls.values())}-"
            f"{max(self.healthy_polls.values())} times; late: {len(self.late_healthy)}",
            f"failing feeds, mean polls per kind: {per_kind}",
            f"{self.events} launch events, {self.deliveries} deliveries queued",
        ]


def _rss_mb() -> float:
    with Path("/proc/self/status").open() as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _never(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(30)
    return web.Response(text="late")


def _serve_failure(server: FeedServer, path: str, kind: str) -> str:
    """Route ``path`` to fail as ``kind``; return the URL to poll."""
    base = f"http://feeds.test:{server.port}"
    if kind == "http-500":
        server.route(path, status=500, body=b"oops")
    elif kind == "http-404":
        server.route(path, status=404)
    elif kind == "http-429":
        server.route(path, status=429, headers={"Retry-After": "150"})
    elif kind == "timeout":
        server.route(path, handler=_never)
    elif kind == "html":
        server.route(path, body=b"<!doctype html><html><body>hi</body></html>")
    elif kind == "redirect-loop":
        server.redirect(path, path + "-b")
        server.redirect(path + "-b", path)
    elif kind == "too-large":
        server.route(path, body=b"<rss>" + b" " * (LIMITS.max_bytes + 10))
    elif kind == "refused":
        return f"http://feeds.test:{_closed_port()}{path}"
    elif kind == "dns":
        return f"http://no-such-host.test:{server.port}{path}"
    elif kind == "gone-410":
        server.route(path, status=410)
    return base + path


async def _parse(body, headers, url, feed_id):  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(parse_feed, body, headers, feed_url=url, feed_id=feed_id)


async def soak(
    workdir: Path, *, feeds: int = 1000, failing_ratio: float = 0.05, cycles: int = 10
) -> SoakReport:
    """Run the soak and return its measurements (see the module docstring)."""
    rng = random.Random(42)
    failing = round(feeds * failing_ratio)
    rss_start = _rss_mb()
    peak = rss_start
    async with FeedServer() as server:
        resolver = StaticResolver({"feeds.test": ["127.0.0.1"]})
        healthy_items: dict[str, list[Item]] = {}
        kinds: dict[str, str] = {}
        urls: dict[str, str] = {}
        for i in range(feeds - failing):
            path = f"/h{i}"
            healthy_items[path] = [
                Item(f"{i}-{n}", f"Space industry news {i}.{n}", "", T0 - timedelta(days=2))
                for n in range(5)
            ]
            # A third answer 304 to their ETag, a third repeat the same body, a third change.
            etag = f'"{i}"' if i % 3 == 0 else None
            server.route(path, body=rss(healthy_items[path]), etag=etag)
            urls[path] = f"http://feeds.test:{server.port}{path}"
        for j in range(failing):
            path = f"/f{j}"
            kinds[path] = FAILURES[j % len(FAILURES)]
            urls[path] = _serve_failure(server, path, kinds[path])

        async with (
            Storage.open(workdir / "soak.db") as store,
            FeedFetcher.open(
                version="soak",
                allow_private=True,
                limits=LIMITS,
                resolver=resolver,
                max_connections=64,
            ) as fetcher,
        ):
            await store.subscriptions.upsert(
                target="discord",
                guild_id=1,
                channel_id=10,
                filters=SubscriptionFilter(),
                role_id=None,
                created_by=None,
                now=T0,
            )
            for url in urls.values():
                await store.feeds.add(url, T0)
            pipeline = Pipeline(
                feeds=store.feeds,
                store=store.events,
                fetcher=fetcher,
                parse=_parse,
                matcher=default_matcher(),
                config=PipelineConfig(poll_interval=INTERVAL, max_concurrent_polls=32),
                rng=random.Random(7),
            )
            url_to_path = {u: p for p, u in urls.items()}
            polls: Counter[str] = Counter()
            cycle_seconds = []
            late: list[str] = []
            started = time.monotonic()
            launch = 0
            for cycle in range(cycles):
                now = T0 + cycle * CYCLE
                if cycle:  # news arrives on the changing third of the healthy feeds
                    for path, items in healthy_items.items():
                        if int(path[2:]) % 3 == 2 and rng.random() < 0.3:
                            launch += 1
                            title = (
                                f"Falcon 9 launches Starlink 11-{launch} from Vandenberg"
                                if launch % 10 == 0
                                else f"Space industry news {path} {cycle}"
                            )
                            items.append(Item(f"c{cycle}-{path}", title, "", now))
                            server.route(path, body=rss(items[-20:]))
                t = time.monotonic()
                due = {f.url for f in await store.feeds.due(now, 10 * feeds)}
                late += [
                    u for p, u in urls.items() if p in healthy_items and u not in due and cycle
                ]
                reports = await pipeline.run_due(now)
                cycle_seconds.append(time.monotonic() - t)
                peak = max(peak, _rss_mb())
                for r in reports:
                    polls[url_to_path[r.url]] += 1
            seconds = time.monotonic() - started
            feeds_now = {url_to_path[f.url]: f for f in await store.feeds.list_feeds()}
            failing_polls: dict[str, list[int]] = {}
            errors: dict[str, str] = {}
            for path, kind in kinds.items():
                failing_polls.setdefault(kind, []).append(polls[path])
                feed = feeds_now[path]
                errors[kind] = feed.disabled_reason or feed.last_error or "?"
            deliveries = (await store.db.fetchone("SELECT COUNT(*) FROM outbox"))[0]
            events = await store.events.count()
    peak = max(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return SoakReport(
        feeds=feeds,
        failing=failing,
        cycles=cycles,
        seconds=seconds,
        cycle_seconds=cycle_seconds,
        rss_start_mb=rss_start,
        rss_peak_mb=peak,
        healthy_polls=Counter({p: polls[p] for p in healthy_items}),
        failing_polls=failing_polls,
        late_healthy=late,
        deliveries=deliveries,
        events=events,
        errors_by_kind=errors,
    )


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--failing", type=float, default=0.05, help="fraction failing")
    parser.add_argument("--cycles", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        report = asyncio.run(
            soak(Path(tmp), feeds=args.feeds, failing_ratio=args.failing, cycles=args.cycles)
        )
    for line in report.lines():
        print(line)
    for kind, error in sorted(report.errors_by_kind.items()):
        print(f"  {kind:14} {error[:140]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
