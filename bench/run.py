"""LaunchWatch performance bench: one command, one table.

    python -m bench.run            # full run, 20,000 feeds (about 5–7 minutes)
    python -m bench.run --quick    # smaller and shorter (under 2 minutes)
    python -m bench.run --feeds 5000 --only 1,2,3

Every figure is printed next to a raw reference measured in the same run (bare aiohttp,
bare feedparser, the stdlib sqlite3 driver, a keyword regex, Discord's global rate limit),
and their ratio, so the numbers mean something on a noisy machine. Everything talks only
to 127.0.0.1: feeds come from :mod:`bench.feedfarm` running in its own process, so its CPU
is not counted as the pipeline's; each scenario runs in a fresh process whose CPU (main
process plus parser workers, from ``/proc``) and peak RSS are its own.

Sections:

1. Poll cycle, nothing changed: every feed answers 304; feeds/s through the real service
   (scheduler tick, fetch, batched state update) vs a bare aiohttp loop doing the same
   conditional GETs with the same connection limits.
2. Poll cycle, 10 % changed: two new items in each changed feed; feeds/s and entries/s
   through fetch + parse + seen-check + match + store, vs bare feedparser (default options,
   one core) on the same bodies; then the cycle is repeated to prove nothing is re-parsed.
3. Capacity: the feeds on the real 5-minute schedule (due times spread over the
   interval), 10 % changed, for a window; CPU seconds per cycle per 1,000 feeds and the
   feed count one core sustains, vs the raw floor (bare aiohttp + bare feedparser cost);
   schedule lag; peak RSS.
4. Alert latency: 1,000 feeds in the cycle, 100 of them with a new launch story; time from
   the farm receiving the poll to the outbox row (commit) and to the publisher's call.
5. Fan-out: one event to 10,000 channels in 1,000 guilds through the real
   DiscordPublisher against the fake Discord (50 requests/s global limit).
6. Matcher: articles/s on ../shared/data/launch-news/dev.jsonl (skipped when absent).
7. Storage: seen-checks/s, batches of 50 keys against 100k stored keys.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import feedfarm
from bench.measure import raise_open_files, run_in_child

SECTIONS = ("1", "2", "3", "4", "5", "6", "7")


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    section: str
    figure: str
    value: str
    reference: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""


def _fmt(value: float, unit: str = "", digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    text = f"{value:,.{digits}f}"
    return f"{text} {unit}".rstrip()


def _ratio(value: float, ref: float) -> str:
    return f"{value / ref:.2f}×" if ref else "n/a"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


# ----------------------------------------------------------------------------- runs


def _polling(feeds: int, window: float, tmp: Path) -> dict[str, Any]:
    from bench.polling import PollPlan, polling_scenario, seed_database

    with feedfarm.running_farm(feeds) as farm:
        db = tmp / "poll.db"
        started = time.perf_counter()
        asyncio.run(seed_database(db, farm, feeds))
        seeded = time.perf_counter() - started
        result = run_in_child(
            polling_scenario, PollPlan(farm=farm, db=str(db), feeds=feeds, capacity_window=window)
        )
    result["seed_seconds"] = seeded
    return dict(result)


def _latency(cycles: int, tmp: Path) -> dict[str, Any]:
    from bench.polling import LatencyPlan, latency_scenario, seed_database

    with feedfarm.running_farm(1000) as farm:
        db = tmp / "latency.db"
        asyncio.run(seed_database(db, farm, 1000))
        return dict(
            run_in_child(latency_scenario, LatencyPlan(farm=farm, db=str(db), cycles=cycles))
        )


# ---------------------------------------------------------------------------- rows


def polling_rows(r: dict[str, Any], sections: set[str]) -> list[Row]:
    """Rows of sections 1–3."""
    n = r["feeds"]
    rows: list[Row] = []
    bare = r["bare_304"]
    bare_rate = n / bare["wall"]
    if "1" in sections:
        u = r["unchanged"]
        rate = n / u["wall"]
        all_304 = u["statuses"] == {"not_modified": n}
        rows += [
            Row(
                "1",
                f"nothing changed, {n:,} feeds all 304: feeds/s",
                _fmt(rate, "/s"),
                f"bare aiohttp {_fmt(bare_rate, '/s')}",
                _ratio(rate, bare_rate),
                "≥ 0.40×",
                _verdict(rate >= 0.4 * bare_rate and all_304),
            ),
            Row(
                "1",
                "  CPU per poll (pipeline process)",
                _fmt(1e3 * (u["cpu_main"] + u["cpu_workers"]) / n, "ms", 2),
                f"bare aiohttp {_fmt(1e3 * bare['cpu'] / n, 'ms', 2)}",
                _ratio(u["cpu_main"] + u["cpu_workers"], bare["cpu"]),
            ),
        ]
    c, p, again = r["changed"], r["bare_parse"], r["repeat"]
    parse_rate = p["entries"] / p["seconds"]
    if "2" in sections:
        entries_rate = c["entries"] / c["wall"]
        parsed = c["statuses"].get("ok", 0)
        reparsed = again["statuses"].get("ok", 0) + again["statuses"].get("unchanged", 0)
        rows += [
            Row(
                "2",
                f"10% changed ({c['changed']:,} feeds × 2 new of 30): entries/s",
                _fmt(entries_rate, "/s"),
                f"feedparser 1 core {_fmt(parse_rate, '/s')}",
                _ratio(entries_rate, parse_rate),
                "≥ 1.5×",
                _verdict(entries_rate >= 1.5 * parse_rate),
            ),
            Row(
                "2",
                "  feeds/s over the whole cycle",
                _fmt(n / c["wall"], "/s"),
                f"bare aiohttp 304s {_fmt(bare_rate, '/s')}",
                _ratio(n / c["wall"], bare_rate),
            ),
            Row(
                "2",
                f"  parser pool alone ({r['parser_workers']} workers): entries/s",
                _fmt(p["entries"] / p["ours_pool"], "/s"),
                f"same parser, 1 core {_fmt(p['entries'] / p['ours_one_core'], '/s')}",
                _ratio(p["ours_one_core"], p["ours_pool"]),
                "both cores",
                _verdict(p["ours_one_core"] / p["ours_pool"] >= 1.5),
            ),
            Row(
                "2",
                "  CPU in the cycle: main process + parser workers (cores)",
                f"{c['cpu_main'] / c['wall']:.2f} + {c['cpu_workers'] / c['wall']:.2f}",
                f"feed farm {c['farm_cpu'] / c['wall']:.2f}",
            ),
            Row(
                "2",
                "  bodies parsed: changed cycle / repeat cycle",
                f"{parsed:,} / {reparsed:,}",
                f"changed feeds {c['changed']:,} / 0",
                "",
                "never twice",
                _verdict(parsed == c["changed"] and reparsed == 0),
            ),
            Row(
                "2",
                "  new items stored; launch alerts published",
                f"{c['new_items']:,}; {c['deliveries']:,}",
                f"{2 * c['changed']:,}; {c['launch_feeds']:,}",
                "",
                "exact",
                _verdict(
                    c["new_items"] == 2 * c["changed"] and c["deliveries"] == c["launch_feeds"]
                ),
            ),
        ]
    if "3" in sections:
        cap = r["capacity"]
        cpu = cap["cpu_main"] + cap["cpu_workers"]
        per_poll = cpu / max(1, cap["polls"])
        capacity = 300.0 / per_poll
        changed = cap["statuses"].get("ok", 0) / max(1, cap["polls"])
        raw_per_poll = (1 - changed) * bare["cpu"] / n + changed * p["floor_seconds"] / p["feeds"]
        raw_capacity = 300.0 / raw_per_poll
        rows += [
            Row(
                "3",
                f"capacity at 5 min, {changed:.0%} changed, ≤ 1 core: feeds",
                _fmt(capacity),
                f"raw floor {_fmt(raw_capacity)}",  # bare aiohttp + bare feedparser
                _ratio(capacity, raw_capacity),
                "≥ 20,000",
                _verdict(capacity >= 20_000 and cap["missed"] == 0),
            ),
            Row(
                "3",
                "  CPU s per cycle per 1,000 feeds",
                _fmt(1000 * per_poll, "s", 2),
                f"raw floor {_fmt(1000 * raw_per_poll, 's', 2)}",
                _ratio(per_poll, raw_per_poll),
            ),
            Row(
                "3",
                f"  measured: {cap['polls']:,} polls in {cap['wall']:.0f} s"
                f" (= {_fmt(300 * cap['polls'] / cap['wall'])} feeds at 5 min)",
                f"{cpu / cap['wall']:.2f} cores",
                f"main {cap['cpu_main'] / cap['wall']:.2f}"
                f" + workers {cap['cpu_workers'] / cap['wall']:.2f}",
                "",
                "≤ 1 core",
                _verdict(cpu / cap["wall"] <= 1.0),
            ),
            Row(
                "3",
                "  schedule lag p50 / p99; due feeds missed",
                f"{cap['lag_p50']:.1f} / {cap['lag_p99']:.1f} s; {cap['missed']}",
                "tick 5 s",
                "",
                "kept",
                _verdict(cap["missed"] == 0 and cap["lag_p99"] <= 10),
            ),
            Row(
                "3",
                f"  peak RSS, {n:,} feeds, {30 * n:,} seen keys (+ parser workers)",
                f"{r['peak_rss_mb']:.0f} MB (+{r['workers_peak_rss_mb']:.0f})",
                f"after imports {r['baseline_rss_mb']:.0f} MB",
                _ratio(r["peak_rss_mb"], r["baseline_rss_mb"]),
                "≤ 250 MB, all",
                _verdict(r["peak_rss_mb"] + r["workers_peak_rss_mb"] <= 250),
            ),
        ]
    return rows


def latency_rows(r: dict[str, Any]) -> list[Row]:
    """Rows of section 4."""
    ref = f"GET+parse {_fmt(1e3 * r['bare_p50'], 'ms')}"
    return [
        Row(
            "4",
            f"alert latency → outbox row, p50 / p99 ({r['samples']} launches)",
            f"{r['outbox_p50']:.2f} / {r['outbox_p99']:.2f} s",
            ref,
            _ratio(r["outbox_p50"], r["bare_p50"]),
        ),
        Row(
            "4",
            "alert latency → publisher call, p50 / p99",
            f"{r['publish_p50']:.2f} / {r['publish_p99']:.2f} s",
            ref,
            _ratio(r["publish_p50"], r["bare_p50"]),
            "p99 ≤ 2 s",
            _verdict(r["publish_p99"] <= 2.0),
        ),
    ]


def matcher_rows(r: dict[str, Any]) -> list[Row]:
    """Rows of section 6."""
    if "skipped" in r:
        return [Row("6", "matcher articles/s", f"not run: {r['skipped']}")]
    return [
        Row(
            "6",
            f"matcher, dev.jsonl ({r['items']} items × {r['passes']}): articles/s",
            _fmt(r["rate"], "/s"),
            f"keyword regex {_fmt(r['ref'], '/s')}",
            _ratio(r["rate"], r["ref"]),
            "≥ 5,000",
            _verdict(r["rate"] >= 5000),
        )
    ]


def storage_rows(r: dict[str, Any]) -> list[Row]:
    """Rows of section 7."""
    return [
        Row(
            "7",
            f"seen-checks/s, batches of 50, {r['stored']:,} stored",
            _fmt(r["rate"], "/s"),
            f"stdlib sqlite3 {_fmt(r['ref'], '/s')}",
            _ratio(r["rate"], r["ref"]),
        )
    ]


def fanout_rows(r: dict[str, Any]) -> list[Row]:
    """Rows of section 5."""
    if "skipped" in r:
        return [Row("5", "fan-out messages/s", f"not run: {r['skipped']}")]
    limited = "; ".join(f"{route} {scope}" for route, scope, _ in r["limited"])
    return [
        Row(
            "5",
            f"fan-out, {r['channels']:,} channels / {r['guilds']:,} guilds: messages/s",
            _fmt(r["rate"], "/s", 2),
            "global limit 50/s",
            _ratio(r["rate"], 50.0),
            "≥ 0.90×",
            _verdict(r["rate"] >= 45 and r["ok"]),
        ),
        Row(
            "5",
            "  messages per channel; 429s beyond the first per bucket",
            f"{r['per_channel']}; {r['extra_429']}",
            "1; 0",
            "",
            "exact",
            _verdict(r["ok"]),
        ),
        Row(
            "5",
            f"  ingest of the story with {r['channels']:,} subscriptions; 429s seen",
            f"{r['ingest_seconds']:.2f} s; {r['status_429']}",
            limited,
        ),
    ]


def print_table(rows: list[Row], out: Callable[[str], None] = print) -> None:
    """The table, columns sized to their content."""
    header = Row("#", "figure", "measured", "reference (same run)", "ratio", "target", "verdict")
    cells = [
        [x.section, x.figure, x.value, x.reference, x.ratio, x.target, x.verdict]
        for x in [header, *rows]
    ]
    widths = [max(len(c[k]) for c in cells) for k in range(7)]
    for number, line in enumerate(cells):
        out("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if number == 0:
            out("  ".join("-" * w for w in widths))


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Run the selected sections and print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small and short (under 2 min)")
    parser.add_argument(
        "--feeds", type=int, help="feeds in sections 1–3 (default 20,000; quick 2,000)"
    )
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections, e.g. 1,2,6")
    args = parser.parse_args(argv)
    sections = set(args.only.split(","))
    feeds = args.feeds or (2000 if args.quick else 20_000)
    window = 15.0 if args.quick else 60.0
    raise_open_files()
    rows: list[Row] = []
    started = time.perf_counter()

    def progress(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {text}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="lw-bench-") as tmpdir:
        tmp = Path(tmpdir)
        if sections & {"1", "2", "3"}:
            progress(f"sections 1–3: {feeds:,} feeds")
            rows += polling_rows(_polling(feeds, window, tmp), sections)
        if "4" in sections:
            progress("section 4: alert latency")
            rows += latency_rows(_latency(1 if args.quick else 3, tmp))
        if "5" in sections:
            progress("section 5: fan-out")
            from bench.fanout import fanout_scenario

            channels = 500 if args.quick else 10_000
            rows += fanout_rows(run_in_child(fanout_scenario, channels, channels // 10))
        if "6" in sections:
            progress("section 6: matcher")
            from bench.micro import matcher_scenario

            rows += matcher_rows(run_in_child(matcher_scenario, 1.0 if args.quick else 3.0))
        if "7" in sections:
            progress("section 7: storage")
            from bench.micro import storage_scenario

            rows += storage_rows(
                run_in_child(storage_scenario, 100_000, 1.0 if args.quick else 3.0)
            )
    progress("done")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
