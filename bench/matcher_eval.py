"""Evaluate the launch-story matcher on the labelled dev set (../shared/data/launch-news).

Prints: precision / recall / F1 of "is a launch story"; recall on launched+failed items;
status accuracy on true positives with a confusion table; vehicle, mission and site accuracy
where the label names one (labels are canonicalised through the KB, missions compared in a
normalised form); grouping (distinct event keys vs real launches, and key purity);
throughput on one core; and the top errors by kind, to drive rule work.

The data is not shipped with the repo; when ``../shared/data`` is absent this exits 0 with a
message. Run: ``python -m bench.matcher_eval [--errors N]``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from handlers.domain import Article, LaunchMention
from handlers.grouping import group_mentions
from handlers.knowledge import KnowledgeBase, default_knowledge, normalize
from handlers.matcher import LaunchMatcher

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEV = DATA / "launch-news" / "dev.jsonl"
STATUSES = ("upcoming", "scrubbed", "launched", "failed")


def load(path: Path) -> list[dict[str, Any]]:
    """Read the labelled items."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def published(row: dict[str, Any]) -> datetime | None:
    """Parse the item's publication time."""
    raw = row.get("published_at")
    return datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None


def norm_mission(text: str | None) -> str:
    """Mission names compare without case, punctuation, and with Roman numerals as digits."""
    if not text:
        return ""
    t = normalize(text)
    t = re.sub(
        r"\b(iv|iii|ii|i|v)\b",
        lambda m: str(["i", "ii", "iii", "iv", "v"].index(m.group(1)) + 1),
        t,
    )
    return re.sub(r"[^a-z0-9]", "", t)


def gold_vehicle(kb: KnowledgeBase, row: dict[str, Any]) -> str | None:
    """Canonical vehicle of a label: its text through the KB, else the event's vehicle."""
    if not row.get("vehicle"):
        return None
    event_vehicle = (row.get("event") or "").split("|")[0].strip()
    return kb.canonical_vehicle(row["vehicle"]) or kb.canonical_vehicle(event_vehicle)


def ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def evaluate(rows: list[dict[str, Any]], matcher: LaunchMatcher, n_errors: int) -> None:
    """Run the matcher on every row and print every figure."""
    kb = matcher.kb
    out: list[LaunchMention | None] = [
        matcher.match(r["title"], r.get("summary") or "", published(r)) for r in rows
    ]
    gold_pos = [r["label"] != "other" for r in rows]
    pred_pos = [m is not None for m in out]
    tp = sum(g and p for g, p in zip(gold_pos, pred_pos, strict=True))
    fp = sum(p and not g for g, p in zip(gold_pos, pred_pos, strict=True))
    fn = sum(g and not p for g, p in zip(gold_pos, pred_pos, strict=True))
    prec, rec = ratio(tp, tp + fp), ratio(tp, tp + fn)
    f1 = ratio(2 * tp, 2 * tp + fp + fn)
    print(f"items {len(rows)}  positives {sum(gold_pos)}  predicted {sum(pred_pos)}")
    print(
        f"launch story: precision {prec:.3f}  recall {rec:.3f}  F1 {f1:.3f}  "
        f"(tp {tp} fp {fp} fn {fn})"
    )
    outcome = [i for i, r in enumerate(rows) if r["label"] in ("launched", "failed")]
    hit = sum(out[i] is not None for i in outcome)
    print(f"recall on launched/failed: {ratio(hit, len(outcome)):.3f} ({hit}/{len(outcome)})")
    _status(rows, out)
    _entities(rows, out, kb)
    _grouping(rows, out)
    _speed(rows, matcher)
    _errors(rows, out, n_errors)


def _status(rows: list[dict[str, Any]], out: list[LaunchMention | None]) -> None:
    confusion: Counter[tuple[str, str]] = Counter()
    for r, m in zip(rows, out, strict=True):
        if r["label"] != "other" and m is not None:
            confusion[(r["label"], m.status.value)] += 1
    total = sum(confusion.values())
    right = sum(v for (g, p), v in confusion.items() if g == p)
    print(f"status accuracy on true positives: {ratio(right, total):.3f} ({right}/{total})")
    print("  gold \\ pred " + " ".join(f"{s:>9}" for s in STATUSES))
    for g in STATUSES:
        print(f"  {g:>11} " + " ".join(f"{confusion[(g, p)]:>9}" for p in STATUSES))


def _entities(
    rows: list[dict[str, Any]], out: list[LaunchMention | None], kb: KnowledgeBase
) -> None:
    counts: dict[str, list[int]] = {"vehicle": [0, 0], "mission": [0, 0], "site": [0, 0]}
    unresolved = Counter[str]()
    for r, m in zip(rows, out, strict=True):
        if r["label"] == "other" or m is None:
            continue
        if r.get("vehicle"):
            gold = gold_vehicle(kb, r)
            if gold is None:
                unresolved["vehicle"] += 1
            counts["vehicle"][0] += gold is not None and gold == m.vehicle
            counts["vehicle"][1] += gold is not None
        if r.get("mission"):
            counts["mission"][0] += _mission_ok(kb, r["mission"], m.mission)
            counts["mission"][1] += 1
        if r.get("site"):
            gold_site = kb.canonical_site(r["site"])
            if gold_site is None:
                unresolved["site"] += 1
            counts["site"][0] += gold_site is not None and gold_site == m.site
            counts["site"][1] += gold_site is not None
    for name, (ok, n) in counts.items():
        extra = f", {unresolved[name]} labels not in the KB" if unresolved[name] else ""
        print(f"{name} accuracy: {ratio(ok, n):.3f} ({ok}/{n}{extra})")


def _mission_ok(kb: KnowledgeBase, gold: str, pred: str | None) -> bool:
    if pred is None:
        return False
    g, p = norm_mission(kb.canonical_mission(gold) or gold), norm_mission(pred)
    return bool(g) and (g == p or g.startswith(p) or p.startswith(g))


def _grouping(rows: list[dict[str, Any]], out: list[LaunchMention | None]) -> None:
    keys: dict[str, set[str]] = defaultdict(set)
    events: set[str] = set()
    for r, m in zip(rows, out, strict=True):
        if r["label"] != "other" and r.get("event"):
            events.add(r["event"])
            if m is not None:
                keys[m.event_key].add(r["event"])
    pure = sum(len(v) == 1 for v in keys.values())
    per_event: dict[str, set[str]] = defaultdict(set)
    for k, evs in keys.items():
        for e in evs:
            per_event[e].add(k)
    split = sum(len(v) > 1 for v in per_event.values())
    print(
        f"grouping: {len(keys)} distinct keys for {len(events)} real launches; "
        f"purity {ratio(pure, len(keys)):.3f} ({pure}/{len(keys)}); "
        f"launches split over >1 key: {split}"
    )
    _resolved_grouping(rows, out, len(events))


def _resolved_grouping(
    rows: list[dict[str, Any]], out: list[LaunchMention | None], real: int
) -> None:
    """Events as the pipeline builds them: keys plus the resolver's time windows."""
    pairs = []
    truth: dict[str, str] = {}
    for r, m in zip(rows, out, strict=True):
        if r["label"] != "other" and r.get("event") and m is not None:
            article = Article(key=r["key"], title=r["title"], published=published(r))
            pairs.append((article, m))
            truth[r["key"]] = r["event"]
    now = max((a.published for a, _ in pairs if a.published), default=datetime.now(UTC))
    grouped = group_mentions(pairs, now)
    pure = sum(len({truth[s.article_key] for s in e.sources}) == 1 for e in grouped)
    per_launch: dict[str, set[int]] = defaultdict(set)
    for e in grouped:
        for s in e.sources:
            per_launch[truth[s.article_key]].add(e.id)
    split = sum(len(ids) > 1 for ids in per_launch.values())
    print(
        f"events after resolution (what users see): {len(grouped)} for {real} real launches; "
        f"purity {ratio(pure, len(grouped)):.3f}; launches split over >1 event: {split}"
    )


def _speed(rows: list[dict[str, Any]], matcher: LaunchMatcher) -> None:
    from bench.micro import throughput

    items = [(r["title"], r.get("summary") or "", published(r)) for r in rows]
    rate, repeats = throughput(lambda item: matcher.match(*item), items, 2.0)
    print(f"speed: {rate:,.0f} articles/s (single core, {repeats} passes)")


def _errors(rows: list[dict[str, Any]], out: list[LaunchMention | None], n: int) -> None:
    kinds: dict[str, list[str]] = defaultdict(list)
    for r, m in zip(rows, out, strict=True):
        gold = r["label"]
        if gold == "other" and m is not None:
            kinds["false positive"].append(f"[{m.status.value}] {r['title']}")
        elif gold != "other" and m is None:
            kinds[f"false negative ({gold})"].append(r["title"])
        elif m is not None and gold != m.status.value:
            kinds[f"wrong status {gold}->{m.status.value}"].append(r["title"])
    print("\ntop errors by kind:")
    for kind, titles in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        print(f"  {kind}: {len(titles)}")
        for t in titles[:n]:
            print(f"    - {t[:120]}")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns 0 also when the data set is absent (nothing to evaluate)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--errors", type=int, default=8, help="examples shown per error kind")
    parser.add_argument(
        "--titles-only", action="store_true", help="drop summaries (as some feeds serve them)"
    )
    args = parser.parse_args(argv)
    if not DEV.is_file():
        print(f"matcher_eval: dev set not found at {DEV} (../shared/data absent); skipping.")
        return 0
    rows = load(DEV)
    if args.titles_only:
        rows = [{**r, "summary": ""} for r in rows]
    evaluate(rows, LaunchMatcher(default_knowledge()), args.errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
