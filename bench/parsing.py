"""Parse cost per MB of ordinary feeds, the shape check's share of it, and hostile shapes.

    python -m bench.parsing

Prints, on one core in this process: parse seconds per MB of WordPress-style feeds
(the feed farm's bodies) and of every real feed in ``../shared/data/feeds`` (skipped
when absent); the shape check's seconds per MB on the same bodies; and how long the
hostile shapes of the parse-budget tests take to be refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import feedfarm
from handlers.errors import ParseError
from handlers.feedshape import check_shape
from handlers.parser import parse_feed

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "feeds"
HEAD = b'<?xml version="1.0"?><rss version="2.0"><channel><title>H</title>'
TAIL = b"</channel></rss>"


def _seconds(work: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def _per_mb(bodies: list[bytes], work: Callable[[bytes], object]) -> float:
    size = sum(len(b) for b in bodies) / 1e6
    return sum(_seconds(lambda b=b: work(b)) for b in bodies) / size  # type: ignore[misc]


def _parse(body: bytes) -> object:
    try:
        return parse_feed(body, {}, feed_url="https://bench.example/feed")
    except ParseError:
        return None


def main() -> None:
    base = datetime(2026, 3, 1, tzinfo=UTC)
    farm = [feedfarm.feed_body(n, 0, base) for n in range(20)]
    rows = [("feed farm, 20 WordPress-style feeds", farm)]
    if SHARED.is_dir():
        real = [p.read_bytes() for p in sorted(SHARED.rglob("*")) if p.is_file()]
        rows.append((f"shared corpus, {len(real)} real feeds", real))
    print(f"{'bodies':40} {'MB':>6} {'parse s/MB':>11} {'check s/MB':>11} {'check share':>12}")
    for name, bodies in rows:
        parse = _per_mb(bodies, _parse)
        check = _per_mb(bodies, lambda b: check_shape(b, "https://bench.example/feed"))
        size = sum(len(b) for b in bodies) / 1e6
        print(f"{name:40} {size:6.2f} {parse:11.3f} {check:11.4f} {check / parse:11.1%}")

    hostile = {
        "200,000 attributes on one element": HEAD
        + b"<item "
        + b" ".join(b'a%d="x"' % i for i in range(200_000))
        + b">"
        + TAIL,
        "60,000 namespace declarations": HEAD
        + b"".join(b'<x%d xmlns:p%d="u:%d">y</x%d>' % ((i,) * 4) for i in range(60_000))
        + TAIL,
        "1.6 million unclosed tags": HEAD + b"<a>" * 1_600_000 + TAIL,
        "200,000 nested elements": HEAD + b"<a>" * 100_000 + b"</a>" * 100_000 + TAIL,
    }
    print(f"\n{'hostile shape':40} {'MB':>6} {'refused in':>11}")
    for name, body in hostile.items():
        print(f"{name:40} {len(body) / 1e6:6.2f} {_seconds(lambda b=body: _parse(b)):10.3f}s")


if __name__ == "__main__":
    main()
