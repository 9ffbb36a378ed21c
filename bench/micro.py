"""Sections 6 and 7 of the bench: matcher throughput and seen-check throughput.

Both run in their own process (one core) and time the production code next to the
cheapest raw equivalent, measured in the same process a moment apart.
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# The filter RSS bots offer (see ../shared/data/README.md): a keyword regex over the text.
KEYWORDS = re.compile(r"launch|liftoff|scrub|blast off", re.IGNORECASE)


def throughput(fn: Callable[[T], object], items: Sequence[T], seconds: float) -> tuple[float, int]:
    """Items per second of ``fn`` over ``items``, repeated for at least ``seconds``.

    Returns (items/s, passes). One warm-up pass is not timed.
    """
    for item in items:
        fn(item)
    passes, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for item in items:
            fn(item)
        passes += 1
    return passes * len(items) / (time.perf_counter() - started), passes


# ------------------------------------------------------------------------ section 6


def matcher_scenario(seconds: float) -> dict[str, Any]:
    """Articles/s of the launch matcher on dev.jsonl, next to a keyword regex."""
    from bench.matcher_eval import DEV, load, published
    from handlers.matching.matcher import default_matcher

    if not DEV.is_file():
        return {"skipped": f"dev set not found at {DEV} (../shared/data absent)"}
    rows = load(DEV)
    items = [(r["title"], r.get("summary") or "", published(r)) for r in rows]
    matcher = default_matcher()
    rate, passes = throughput(lambda it: matcher.match(*it), items, seconds)
    ref, _ = throughput(lambda it: KEYWORDS.search(f"{it[0]}\n{it[1]}"), items, seconds / 2)
    return {"rate": rate, "passes": passes, "items": len(items), "ref": ref}


# ------------------------------------------------------------------------ section 7

BATCH = 50
NEW_PER_BATCH = 2


def storage_scenario(stored: int, seconds: float) -> dict[str, Any]:
    """Seen-checks/s for batches of 50 keys (48 seen, 2 new) with ``stored`` keys on disk."""
    with tempfile.TemporaryDirectory(prefix="lw-bench-") as tmp:
        db = Path(tmp) / "seen.db"
        keys_per_feed = 100
        feeds = stored // keys_per_feed
        asyncio.run(_fill(db, feeds, keys_per_feed))
        ours = asyncio.run(_ours(db, feeds, keys_per_feed, seconds))
        raw = _raw(db, feeds, keys_per_feed, seconds)
    return {"rate": ours, "ref": raw, "stored": feeds * keys_per_feed}


def _key(feed: int, n: int) -> str:
    return f"guid:{feed:08x}{n:024x}"


async def _fill(db: Path, feeds: int, per_feed: int) -> None:
    from storage import Storage

    now = datetime.now(UTC)
    async with Storage.open(db) as storage:
        await storage.feeds.sync_defaults([f"https://f{i}.example/feed" for i in range(feeds)], now)
        ids = [f.id for f in await storage.feeds.list_feeds()]
        async with storage.events.ingest() as tx:
            for fid in ids:
                await tx.insert_articles(fid, [_key(fid, n) for n in range(per_feed)], now)


def _batches(feeds: int, per_feed: int, seed: int) -> Any:
    """Endless batches like a changed feed's: 48 known keys of one feed plus 2 new ones."""
    rng = random.Random(seed)
    fresh = per_feed
    while True:
        fid = rng.randrange(1, feeds + 1)
        known = [_key(fid, n) for n in rng.sample(range(per_feed), BATCH - NEW_PER_BATCH)]
        new = [_key(fid, fresh + k) for k in range(NEW_PER_BATCH)]
        fresh += NEW_PER_BATCH
        yield fid, known + new


async def _ours(db: Path, feeds: int, per_feed: int, seconds: float) -> float:
    """The production path: one ingest transaction and one insert_articles per batch."""
    from storage import Storage

    now = datetime.now(UTC)
    checks = 0
    batches = _batches(feeds, per_feed, seed=1)
    async with Storage.open(db) as storage:
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            fid, keys = next(batches)
            async with storage.events.ingest() as tx:
                new = await tx.insert_articles(fid, keys, now)
            assert len(new) == NEW_PER_BATCH
            checks += len(keys)
        return checks / (time.perf_counter() - started)


def _raw(db: Path, feeds: int, per_feed: int, seconds: float) -> float:
    """The same statement and transaction per batch through the stdlib driver, no asyncio."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    stamp = datetime.now(UTC).isoformat()
    checks = 0
    batches = _batches(feeds, per_feed, seed=2)
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        fid, keys = next(batches)
        # Keys beyond the first run's fresh ones, so the raw side also finds 2 new per batch.
        keys = [*keys[:-NEW_PER_BATCH], *(k + "r" for k in keys[-NEW_PER_BATCH:])]
        values = ",".join("(?, ?, ?)" for _ in keys)
        params = [p for k in keys for p in (fid, k, stamp)]
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(
            f"INSERT INTO articles (feed_id, key, first_seen) VALUES {values}"
            " ON CONFLICT DO NOTHING RETURNING key",
            params,
        ).fetchall()
        conn.execute("COMMIT")
        assert len(rows) == NEW_PER_BATCH
        checks += len(keys)
    conn.close()
    return checks / (time.perf_counter() - started)
