"""Sections 1–4 of the bench: poll cycles, capacity and alert latency through the real service.

Each scenario runs in its own spawned process (see :func:`bench.measure.run_in_child`) that
does what ``launchwatch run`` does — :func:`bot.runtime.open_core` and a
:class:`bot.runtime.Service` with its APScheduler tick and delivery worker — against a
:mod:`bench.feedfarm` on 127.0.0.1, with production logging (INFO, one line per feed) sent
to ``/dev/null``. The raw references run in the same process just before or after.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import feedparser

from bench import feedfarm
from bench.feedfarm import FarmInfo
from bench.measure import (
    CpuMeter,
    child_pids,
    children_peak_rss_mb,
    peak_rss_mb,
    percentile,
    raise_open_files,
    rss_mb,
)
from handlers.domain import DeliveryJob, SubscriptionFilter
from handlers.parser import article_key
from handlers.pipeline import PollReport
from handlers.ports import FeedSuccess, PublishOutcome, PublishResult

INTERVAL = 300.0
CONCURRENCY = 32
BENCH_TARGET = "bench"
USER_AGENT = "LaunchWatch-bench/1 (+https://github.com/launchwatch/launchwatch)"


def feed_headers_for_parse(resp_headers: Any, url: str) -> dict[str, str]:
    """What a bare feedparser call gets: the content headers the fetcher passes on."""
    return {
        "content-type": resp_headers.get("Content-Type", "application/xml"),
        "content-location": url,
    }


# ----------------------------------------------------------------------------- setup


def seeded_keys(i: int, version: int) -> list[str]:
    """Article keys of feed ``i`` at ``version``, as the parser computes them."""
    return [
        article_key(guid=feedfarm.guid(i, s), link=feedfarm.item_link(i, s), title="x",
                    published=None)
        for s in feedfarm.seqs(version)
    ]  # fmt: skip


async def seed_database(db: Path, farm: FarmInfo, n: int) -> None:
    """A database as after a first poll of farm feeds 0..n-1: validators and every key seen.

    Goes through the stores' own methods (bulk: one transaction per 1,000 feeds). Feeds
    are left due far in the future; each scenario schedules them itself.
    """
    from storage import Storage

    now = datetime.now(UTC)
    later = now + timedelta(days=1)
    async with Storage.open(db) as storage:
        await storage.feeds.sync_defaults([feedfarm.feed_url(i, farm.port) for i in range(n)], now)
        feeds = await storage.feeds.list_feeds()
        for start in range(0, len(feeds), 1000):
            async with storage.events.ingest() as tx:
                for feed in feeds[start : start + 1000]:
                    i = feedfarm.feed_id_of(feed.url)
                    await tx.insert_articles(feed.id, seeded_keys(i, 0), now)
                    await tx.record_success(
                        FeedSuccess(
                            feed_id=feed.id,
                            polled_at=now,
                            next_poll_at=later,
                            etag=feedfarm.etag(i, 0),
                            last_modified=feedfarm.last_modified(farm.base, 0),
                            body_hash=None,
                            title=f"Site {i // feedfarm.FEEDS_PER_HOST} News — feed {i}",
                        )
                    )
    _check_keys(farm)


def _check_keys(farm: FarmInfo) -> None:
    """The keys seeded above are the ones the real parser produces (else every item is new)."""
    from handlers.parser import parse_feed

    parsed = parse_feed(feedfarm.feed_body(3, 0, farm.base), {}, feed_url=feedfarm.feed_url(3, 1))
    assert [a.key for a in parsed.articles] == seeded_keys(3, 0), "seeded keys do not match"


# ------------------------------------------------------------------------ references


async def bare_conditional_gets(
    urls: Sequence[str], validators: Sequence[tuple[str, str]], resolver: Any
) -> tuple[float, float, Counter[int]]:
    """The raw reference: plain aiohttp conditional GETs, same concurrency and limits.

    The connector is configured like the fetcher's (see ``make_session``), so the two
    do the same HTTP work and the difference is LaunchWatch's own bookkeeping.
    Returns (wall seconds, CPU seconds of this process, status counts).
    """
    connector = aiohttp.TCPConnector(
        resolver=resolver,
        limit=CONCURRENCY,
        limit_per_host=4,
        ttl_dns_cache=60,
        force_close=True,
    )
    statuses: Counter[int] = Counter()
    work = iter(zip(urls, validators, strict=True))
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for url, (tag, modified) in work:
                headers = {
                    "User-Agent": USER_AGENT,
                    "If-None-Match": tag,
                    "If-Modified-Since": modified,
                }
                async with session.get(url, headers=headers, allow_redirects=False) as resp:
                    await resp.read()
                    statuses[resp.status] += 1

        meter = CpuMeter().start()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        wall = time.perf_counter() - started
        cpu = meter.split()[0]
    return wall, cpu, statuses


async def fetch_bodies(urls: Sequence[str], resolver: Any) -> list[tuple[str, bytes, Any]]:
    """Unconditional GETs (setup for the references; not timed)."""
    connector = aiohttp.TCPConnector(resolver=resolver, limit=8)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(url: str) -> tuple[str, bytes, Any]:
            async with session.get(url) as resp:
                return url, await resp.read(), resp.headers.copy()

        return list(await asyncio.gather(*(one(u) for u in urls)))


def bare_feedparser(bodies: Sequence[tuple[str, bytes, Any]], **options: bool) -> tuple[float, int]:
    """The raw reference: feedparser alone, one core. Returns (seconds, entries).

    Default options unless told (``sanitize_html=False, resolve_relative_uris=False`` is
    what LaunchWatch asks for: the raw floor of its own parsing work).
    """
    entries = 0
    started = time.perf_counter()
    for url, body, headers in bodies:
        result = feedparser.parse(
            io.BytesIO(body), response_headers=feed_headers_for_parse(headers, url), **options
        )
        entries += len(result.entries)
    return time.perf_counter() - started, entries


async def parse_feed_alone(
    bodies: Sequence[tuple[str, bytes, Any]], rounds: int = 3
) -> tuple[float, float]:
    """LaunchWatch's parser without the pipeline: seconds on one core, and in the pool.

    The pool is the one ``open_core`` builds (a worker per CPU), warmed up first. The two
    alternate for a few rounds and the best of each counts, so a burst of load from
    elsewhere on the machine does not decide the ratio.
    """
    from handlers.parser import parse_feed
    from handlers.parserpool import ParserPool

    jobs = [(u, b, feed_headers_for_parse(h, u)) for u, b, h in bodies]
    one_core = pooled = float("inf")
    async with ParserPool.open() as pool:

        async def all_at_once() -> None:
            await asyncio.gather(*(pool.parse(b, h, u, None) for u, b, h in jobs))

        await all_at_once()  # starts the workers
        for _ in range(rounds):
            started = time.perf_counter()
            for url, body, headers in jobs:
                parse_feed(body, headers, feed_url=url)
            one_core = min(one_core, time.perf_counter() - started)
            started = time.perf_counter()
            await all_at_once()
            pooled = min(pooled, time.perf_counter() - started)
    return one_core, pooled


# ------------------------------------------------------------------------- the rig


class RecordingPublisher:
    """Publisher port for the bench: records when each job reached it, says "sent"."""

    target = BENCH_TARGET

    def __init__(self) -> None:
        self.calls: list[tuple[float, DeliveryJob]] = []
        self.expected = 0
        self.all_called = asyncio.Event()

    def expect(self, count: int) -> None:
        self.calls.clear()
        self.expected = count
        self.all_called.clear()
        if count == 0:
            self.all_called.set()

    async def publish(self, job: DeliveryJob) -> PublishResult:
        self.calls.append((time.time(), job))
        if len(self.calls) >= self.expected:
            self.all_called.set()
        return PublishResult(PublishOutcome.SENT, message_id=job.id)


@dataclass
class Reports:
    """Collects the pipeline's per-feed reports (its ``on_report`` hook)."""

    expected: int = 0
    seen: list[tuple[float, PollReport]] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def expect(self, count: int) -> None:
        self.expected = count
        self.seen = []
        self.done.clear()

    def observe(self, report: PollReport) -> None:
        self.seen.append((time.time(), report))
        if len(self.seen) >= self.expected:
            self.done.set()

    def statuses(self) -> Counter[str]:
        return Counter(str(r.status) for _, r in self.seen)


@dataclass
class Rig:
    """An open core, its feeds and the farm it polls; drives cycles."""

    farm: FarmInfo
    core: Any
    reports: Reports
    publisher: RecordingPublisher
    index: dict[int, int]  # feed id → farm feed number
    versions: dict[int, int]  # farm feed number → version
    service_ref: list[Any]

    @property
    def ids(self) -> list[int]:
        return list(self.index)

    async def change(self, numbers: Sequence[int], launch: Iterable[int] = ()) -> None:
        """Make the farm publish two new items in each of these feeds."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.farm.ctl}/change", json={"ids": list(numbers), "launch": list(launch)}
            ) as resp,
        ):
            resp.raise_for_status()
        for i in numbers:
            self.versions[i] += 1

    async def farm_stats(self) -> dict[str, Any]:
        async with aiohttp.ClientSession() as session, session.get(f"{self.farm.ctl}/stats") as r:
            return dict(await r.json())

    async def arrivals(self, numbers: Sequence[int]) -> dict[int, float]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.farm.ctl}/arrivals", json={"ids": list(numbers)}) as r,
        ):
            return {int(k): v for k, v in (await r.json()).items()}

    async def schedule(self, due: dict[int, datetime]) -> None:
        """Set each feed's next poll time (one batched write through the feed store)."""
        polled = datetime.now(UTC) - timedelta(seconds=INTERVAL)
        await self.core.storage.feeds.record_unchanged(
            [(fid, polled, at) for fid, at in due.items()]
        )

    async def all_due(self) -> None:
        now = datetime.now(UTC)
        await self.schedule(dict.fromkeys(self.ids, now))

    async def cycle(self, expected: int, *, deliveries: int = 0) -> dict[str, Any]:
        """Run the real service until ``expected`` polls (and deliveries) are done."""
        from bot.runtime import Service

        self.reports.expect(expected)
        self.publisher.expect(deliveries)
        service = Service(self.core, [self.publisher])
        self.service_ref[:] = [service]
        meter = CpuMeter().start()
        started = time.perf_counter()
        service.start()
        await self.reports.done.wait()
        await self.core.pipeline.flush_unchanged()  # the batched state update is part of it
        wall = time.perf_counter() - started
        own, workers = meter.split()
        await self.publisher.all_called.wait()
        await service.stop()
        return {"wall": wall, "cpu_main": own, "cpu_workers": workers}


async def open_rig(farm: FarmInfo, db: Path, n: int) -> Any:
    """Open the real core on the seeded database (an async context manager)."""
    from contextlib import asynccontextmanager

    from bot.runtime import open_core
    from bot.settings import Settings
    from tests.feedserver import StaticResolver

    @asynccontextmanager
    async def rig() -> Any:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            LAUNCHWATCH_DB=str(db),
            LAUNCHWATCH_ALLOW_PRIVATE_NETWORKS=True,
            LAUNCHWATCH_POLL_INTERVAL=INTERVAL,
            LAUNCHWATCH_CONCURRENCY=CONCURRENCY,
            LAUNCHWATCH_FEEDS="",
        )
        reports = Reports()
        service_ref: list[Any] = []
        resolver = StaticResolver({h: ["127.0.0.1"] for h in feedfarm.hosts(n)})
        async with open_core(
            settings,
            on_deliveries=lambda: service_ref[0].wake_workers() if service_ref else None,
            on_report=reports.observe,
            sync_default_feeds=False,
            resolver=resolver,
        ) as core:
            now = datetime.now(UTC)
            await core.storage.subscriptions.upsert(
                target=BENCH_TARGET,
                guild_id=1,
                channel_id=1,
                filters=SubscriptionFilter(),
                role_id=None,
                created_by=None,
                now=now,
            )
            feeds = await core.storage.feeds.list_feeds()
            index = {f.id: feedfarm.feed_id_of(f.url) for f in feeds}
            yield Rig(
                farm=farm,
                core=core,
                reports=reports,
                publisher=RecordingPublisher(),
                index=index,
                versions=dict.fromkeys(index.values(), 0),
                service_ref=service_ref,
            )

    return rig()


def _quiet_production_logging() -> None:
    """Production logging (INFO, a line per feed poll), written to /dev/null."""
    from bot.logsetup import configure_logging

    configure_logging("INFO", "text", [], stream=Path(os.devnull).open("w"))  # noqa: SIM115
    logging.getLogger("bench").setLevel(logging.INFO)


# ------------------------------------------------------------------ sections 1 to 3


@dataclass(frozen=True)
class PollPlan:
    """What the polling scenario does."""

    farm: FarmInfo
    db: str
    feeds: int
    changed_fraction: float = 0.10
    launch_fraction: float = 0.10
    capacity_window: float = 60.0
    parse_sample: int = 100
    seed: int = 20260301


def polling_scenario(plan: PollPlan) -> dict[str, Any]:
    """Child process entry: sections 1, 2 and 3 on one seeded database."""
    raise_open_files()
    _quiet_production_logging()
    return asyncio.run(_polling(plan))


async def _polling(plan: PollPlan) -> dict[str, Any]:
    from tests.feedserver import StaticResolver

    out: dict[str, Any] = {"baseline_rss_mb": rss_mb(), "feeds": plan.feeds}
    rng = random.Random(plan.seed)
    farm, n = plan.farm, plan.feeds
    numbers = list(range(n))
    urls = [feedfarm.feed_url(i, farm.port) for i in numbers]

    # 1. reference: bare aiohttp, same conditional GETs
    resolver = StaticResolver({h: ["127.0.0.1"] for h in feedfarm.hosts(n)})
    validators = [(feedfarm.etag(i, 0), feedfarm.last_modified(farm.base, 0)) for i in numbers]
    wall, cpu, statuses = await bare_conditional_gets(urls, validators, resolver)
    out["bare_304"] = {"wall": wall, "cpu": cpu, "statuses": dict(statuses)}

    async with await open_rig(farm, Path(plan.db), n) as rig:
        # 1. nothing changed
        await rig.all_due()
        out["unchanged"] = await rig.cycle(n)
        out["unchanged"]["statuses"] = dict(rig.reports.statuses())

        # 2. 10 % changed: two new items in each, some of them launch stories
        changed = sorted(rng.sample(numbers, round(n * plan.changed_fraction)))
        launches = changed[:: max(1, round(1 / plan.launch_fraction))]
        await rig.change(changed, launches)
        await rig.all_due()
        farm_before = await rig.farm_stats()
        result = await rig.cycle(n, deliveries=len(launches))
        farm_after = await rig.farm_stats()
        result["statuses"] = dict(rig.reports.statuses())
        result["new_items"] = sum(r.new for _, r in rig.reports.seen)
        result["changed"] = len(changed)
        result["entries"] = len(changed) * feedfarm.ITEMS
        result["launch_feeds"] = len(launches)
        result["deliveries"] = len(rig.publisher.calls)
        result["farm_cpu"] = farm_after["cpu"] - farm_before["cpu"]
        out["changed"] = result

        # 2b. the same feeds again, nothing new: nothing may be parsed again
        await rig.all_due()
        repeat = await rig.cycle(n)
        repeat["statuses"] = dict(rig.reports.statuses())
        out["repeat"] = repeat

        # 3. capacity: the real schedule (due times spread over one interval), 10 % changing
        out["capacity"] = await _steady_state(rig, plan, rng)
        out["workers_peak_rss_mb"] = children_peak_rss_mb()
        out["parser_workers"] = len(child_pids(os.getpid()))
    out["peak_rss_mb"] = peak_rss_mb()

    # 2. reference: bare feedparser, one core, on a sample of the changed bodies (measured
    # last, so the bodies it holds are not counted in the pipeline's peak memory).
    sample = [urls[i] for i in changed[: plan.parse_sample]]
    bodies = await fetch_bodies(sample, resolver)
    seconds, entries = bare_feedparser(bodies)
    floor_seconds, _ = bare_feedparser(bodies, sanitize_html=False, resolve_relative_uris=False)
    one_core, pool = await parse_feed_alone(bodies)
    out["bare_parse"] = {
        "seconds": seconds,
        "floor_seconds": floor_seconds,
        "ours_one_core": one_core,
        "ours_pool": pool,
        "entries": entries,
        "bytes": sum(len(b) for _, b, _ in bodies),
        "feeds": len(bodies),
    }
    return out


async def _steady_state(rig: Rig, plan: PollPlan, rng: random.Random) -> dict[str, Any]:
    from bot.runtime import Service

    now = datetime.now(UTC)
    # Due times spread over the poll interval, as on a running bot; with few feeds (quick
    # runs) over a shorter span, so the window still holds enough polls to measure.
    spread = min(INTERVAL, len(rig.ids) * plan.capacity_window / 2000)
    due = {fid: now + timedelta(seconds=rng.uniform(0, spread)) for fid in rig.ids}
    await rig.schedule(due)
    numbers = list(rig.index.values())
    await rig.change(rng.sample(numbers, round(len(numbers) * plan.changed_fraction)))
    rig.reports.expect(len(numbers) + 1)  # never "done": we stop on time
    service = Service(rig.core, [rig.publisher])
    rig.service_ref[:] = [service]
    meter = CpuMeter().start()
    started = time.perf_counter()
    service.start()
    await asyncio.sleep(plan.capacity_window)
    wall = time.perf_counter() - started
    own, workers = meter.split()
    seen = list(rig.reports.seen)
    await service.stop()
    ended = time.time()
    lags = [at - due[r.feed_id].timestamp() for at, r in seen]
    statuses = Counter(str(r.status) for _, r in seen)
    polled = {r.feed_id for _, r in seen}
    # Feeds due well before the end (more than one tick plus a poll) but never polled.
    missed = sum(1 for fid, at in due.items() if at.timestamp() < ended - 10 and fid not in polled)
    return {
        "wall": wall,
        "cpu_main": own,
        "cpu_workers": workers,
        "polls": len(seen),
        "statuses": dict(statuses),
        "lag_p50": percentile(lags, 50),
        "lag_p99": percentile(lags, 99),
        "lag_max": max(lags, default=float("nan")),
        "missed": missed,
        "spread": spread,
    }


# ------------------------------------------------------------------------ section 4


@dataclass(frozen=True)
class LatencyPlan:
    """What the alert-latency scenario does."""

    farm: FarmInfo
    db: str
    feeds: int = 1000
    launch_feeds: int = 100
    cycles: int = 3
    seed: int = 42


def latency_scenario(plan: LatencyPlan) -> dict[str, Any]:
    """Child process entry: section 4."""
    raise_open_files()
    _quiet_production_logging()
    return asyncio.run(_latency(plan))


async def _latency(plan: LatencyPlan) -> dict[str, Any]:
    from tests.feedserver import StaticResolver

    rng = random.Random(plan.seed)
    to_outbox: list[float] = []
    to_publish: list[float] = []
    bare: list[float] = []
    async with await open_rig(plan.farm, Path(plan.db), plan.feeds) as rig:
        numbers = list(rig.index.values())
        # One unmeasured cycle first: a running bot's parser workers are already started.
        await rig.change(rng.sample(numbers, 10))
        await rig.all_due()
        await rig.cycle(plan.feeds)
        for _ in range(plan.cycles):
            launches = sorted(rng.sample(numbers, plan.launch_feeds))
            await rig.change(launches, launches)
            await rig.all_due()
            await rig.cycle(plan.feeds, deliveries=plan.launch_feeds)
            arrived = await rig.arrivals(launches)
            committed = {rig.index[r.feed_id]: at for at, r in rig.reports.seen if r.deliveries}
            published = {_feed_of(job): at for at, job in rig.publisher.calls}
            for i in launches:
                to_outbox.append(committed[i] - arrived[i])
                to_publish.append(published[i] - arrived[i])
        # reference: one bare GET + feedparser parse of the same kind of body, idle machine
        resolver = StaticResolver({h: ["127.0.0.1"] for h in feedfarm.hosts(plan.feeds)})
        urls = [feedfarm.feed_url(i, plan.farm.port) for i in launches[:20]]
        for url in urls:
            started = time.perf_counter()
            [(u, body, headers)] = await fetch_bodies([url], resolver)
            feedparser.parse(io.BytesIO(body), response_headers=feed_headers_for_parse(headers, u))
            bare.append(time.perf_counter() - started)
    return {
        "samples": len(to_outbox),
        "outbox_p50": percentile(to_outbox, 50),
        "outbox_p99": percentile(to_outbox, 99),
        "publish_p50": percentile(to_publish, 50),
        "publish_p99": percentile(to_publish, 99),
        "publish_max": max(to_publish),
        "bare_p50": percentile(bare, 50),
    }


def _feed_of(job: DeliveryJob) -> int:
    link = job.event.sources[0].link or ""
    return int(link.rstrip("/").split("/")[-2])
