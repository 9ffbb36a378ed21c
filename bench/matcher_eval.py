"""Evaluate the launch-story matcher on every labelled set in ../shared/data/launch-news.

For ``dev.jsonl`` (Feb-Apr 2026, title and summary), ``titles-2023.jsonl`` (2023, titles
only) and ``dev.jsonl`` with the summaries removed, each on its own: precision, recall and
F1 of "is a launch story"; recall on launched/failed items; status accuracy on true
positives; vehicle, mission and site accuracy where the label names one (labels are
canonicalised through the KB, missions compared in a normalised form); launches with at
least one alert, alerts per launch and launches merged with another, from events built as
the pipeline builds them; articles per second on one core. ``--errors N`` lists N misses
and N false alerts per set. The rules are the sets' only reader: dev.jsonl is the set they
were written from, so the other two are the honest figures.

The data is not shipped with the repo; when ``../shared/data`` is absent this exits 0 with a
message. Run: ``python -m bench.matcher_eval [--errors N]``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from handlers.domain import Article, LaunchMention
from handlers.grouping import group_mentions
from handlers.matching.detector import default_detector
from handlers.matching.knowledge import KnowledgeBase, default_knowledge, normalize
from handlers.matching.matcher import LaunchMatcher
from scripts.train_detector import by_date, load, published

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEV = DATA / "launch-news" / "dev.jsonl"
TITLES_2023 = DATA / "launch-news" / "titles-2023.jsonl"
STATUSES = ("upcoming", "scrubbed", "launched", "failed")


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


SETS = {
    "dev.jsonl (Feb-Apr 2026, title + summary)": (DEV, False),
    "titles-2023.jsonl (2023, titles only)": (TITLES_2023, False),
    "dev.jsonl, summaries removed": (DEV, True),
}


@dataclass
class Scores:
    """Every figure of one labelled set."""

    items: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    outcome_hit: int = 0
    outcome_total: int = 0
    status_right: int = 0
    status_total: int = 0
    entities: dict[str, tuple[int, int]] = field(default_factory=dict)
    launches: int = 0
    launches_alerted: int = 0
    alerts: int = 0
    launches_merged: int = 0
    rate: float = 0.0
    misses: list[str] = field(default_factory=list)
    false_alerts: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)


def score(rows: list[dict[str, Any]], matcher: LaunchMatcher, *, speed: bool = True) -> Scores:
    """Run the matcher on every row and compute every figure."""
    out: list[LaunchMention | None] = [
        matcher.match(r["title"], r.get("summary") or "", published(r)) for r in rows
    ]
    sc = Scores(items=len(rows))
    for r, m in zip(rows, out, strict=True):
        gold = r["label"] != "other"
        sc.tp += gold and m is not None
        sc.fp += not gold and m is not None
        sc.fn += gold and m is None
        if r["label"] in ("launched", "failed"):
            sc.outcome_total += 1
            sc.outcome_hit += m is not None
        if gold and m is not None:
            sc.status_total += 1
            sc.status_right += r["label"] == m.status.value
        if gold and m is None:
            sc.misses.append(f"[{r['label']}] {r['title']}")
        if not gold and m is not None:
            sc.false_alerts.append(f"[{m.status.value}] {r['title']}")
    sc.entities = _entity_scores(rows, out, matcher.kb)
    _alerts_per_launch(rows, out, sc)
    if speed:
        sc.rate = _speed(rows, matcher)
    return sc


def report(name: str, sc: Scores, n_errors: int) -> None:
    """Print one set's figures (and its errors, when asked)."""
    print(f"\n== {name}: {sc.items} items")
    print(
        f"  launch story     P {sc.precision:.3f}  R {sc.recall:.3f}  F1 {sc.f1:.3f}"
        f"  (tp {sc.tp} fp {sc.fp} fn {sc.fn})"
    )
    print(
        f"  launched/failed recall {ratio(sc.outcome_hit, sc.outcome_total):.3f}"
        f" ({sc.outcome_hit}/{sc.outcome_total});  status accuracy"
        f" {ratio(sc.status_right, sc.status_total):.3f} ({sc.status_right}/{sc.status_total})"
    )
    print(
        "  "
        + ";  ".join(f"{k} {ratio(ok, n):.3f} ({ok}/{n})" for k, (ok, n) in sc.entities.items())
    )
    print(
        f"  launches with >=1 alert {ratio(sc.launches_alerted, sc.launches):.3f}"
        f" ({sc.launches_alerted}/{sc.launches});  alerts per alerted launch"
        f" {ratio(sc.alerts, sc.launches_alerted):.2f};  launches merged with another"
        f" {sc.launches_merged}"
    )
    if sc.rate:
        print(f"  speed {sc.rate:,.0f} articles/s on one core")
    if n_errors:
        for title, items in (("misses", sc.misses), ("false alerts", sc.false_alerts)):
            print(f"  {title} ({len(items)}):")
            for item in items[:n_errors]:
                print(f"    - {item[:140]}")


def _entity_scores(
    rows: list[dict[str, Any]], out: list[LaunchMention | None], kb: KnowledgeBase
) -> dict[str, tuple[int, int]]:
    counts: dict[str, list[int]] = {"vehicle": [0, 0], "mission": [0, 0], "site": [0, 0]}
    for r, m in zip(rows, out, strict=True):
        if r["label"] == "other" or m is None:
            continue
        if r.get("vehicle"):
            gold = gold_vehicle(kb, r)
            counts["vehicle"][0] += gold is not None and gold == m.vehicle
            counts["vehicle"][1] += gold is not None
        if r.get("mission"):
            counts["mission"][0] += _mission_ok(kb, r["mission"], m.mission)
            counts["mission"][1] += 1
        if r.get("site"):
            gold_site = kb.canonical_site(r["site"])
            counts["site"][0] += gold_site is not None and gold_site == m.site
            counts["site"][1] += gold_site is not None
    return {k: (v[0], v[1]) for k, v in counts.items()}


def _mission_ok(kb: KnowledgeBase, gold: str, pred: str | None) -> bool:
    if pred is None:
        return False
    g, p = norm_mission(kb.canonical_mission(gold) or gold), norm_mission(pred)
    return bool(g) and (g == p or g.startswith(p) or p.startswith(g))


def _launch_of(row: dict[str, Any]) -> str | None:
    """The real launch a positive item is about (dev: ``event``; 2023: the first link)."""
    if row.get("event"):
        return str(row["event"])
    names = row.get("ll2_launch_names") or []
    return str(names[0]) if names else None


def _alerts_per_launch(
    rows: list[dict[str, Any]], out: list[LaunchMention | None], sc: Scores
) -> None:
    """Events as the pipeline builds them (keys plus the resolver's windows), per launch."""
    pairs = []
    truth: dict[str, str] = {}
    launches: set[str] = set()
    for r, m in zip(rows, out, strict=True):
        launch = _launch_of(r) if r["label"] != "other" and not r.get("roundup") else None
        if launch is None:
            continue
        launches.add(launch)
        if m is not None:
            pairs.append((Article(key=r["key"], title=r["title"], published=published(r)), m))
            truth[r["key"]] = launch
    now = max((a.published for a, _ in pairs if a.published), default=datetime.now(UTC))
    per_launch: dict[str, set[int]] = defaultdict(set)
    merged: set[str] = set()
    for event in group_mentions(pairs, now):
        found = {truth[s.article_key] for s in event.sources}
        if len(found) > 1:
            merged |= found
        for launch in found:
            per_launch[launch].add(event.id)
    sc.launches = len(launches)
    sc.launches_alerted = len(per_launch)
    sc.alerts = sum(len(ids) for ids in per_launch.values())
    sc.launches_merged = len(merged)


def _speed(rows: list[dict[str, Any]], matcher: LaunchMatcher) -> float:
    from bench.micro import throughput

    items = [(r["title"], r.get("summary") or "", published(r)) for r in rows]
    rate, _ = throughput(lambda item: matcher.match(*item), items, 1.0)
    return float(rate)


def _cross_set_matchers(kb: KnowledgeBase) -> dict[str, tuple[str, LaunchMatcher]] | None:
    """For each set, a matcher whose detector never saw it (threshold from its own data)."""
    from scripts.train_detector import fit_with_own_thresholds, sets

    if not TITLES_2023.is_file():
        return None
    ex = sets(DATA, LaunchMatcher(kb))
    from_dev = LaunchMatcher(kb, detector=fit_with_own_thresholds(ex["dev"] + ex["dev-titles"]))
    from_2023 = LaunchMatcher(kb, detector=fit_with_own_thresholds(ex["2023"]))
    names = list(SETS)
    return {
        names[0]: ("detector trained on 2023 only", from_2023),
        names[1]: ("detector trained on dev only", from_dev),
        names[2]: ("detector trained on 2023 only", from_2023),
    }


def _forward_in_time(kb: KnowledgeBase, n_errors: int) -> None:
    """2023's later half, by a detector trained on the earlier half of every set."""
    from scripts.train_detector import date_orders, fit_with_own_thresholds, halves, sets

    ex = sets(DATA, LaunchMatcher(kb))
    early = [
        item for name, order in date_orders(DATA).items() for item in halves(ex[name], order)[0]
    ]
    rows = load(TITLES_2023)
    later = [{**row, "summary": ""} for row in halves(rows, by_date(rows))[1]]
    matcher = LaunchMatcher(kb, detector=fit_with_own_thresholds(early))
    report("titles-2023.jsonl, later half -- rules alone", score(later, LaunchMatcher(kb)), 0)
    report(
        "titles-2023.jsonl, later half -- FORWARD: detector trained on the earlier half of "
        "every set",
        score(later, matcher),
        n_errors,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns 0 also when the data set is absent (nothing to evaluate)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--errors", type=int, default=0, metavar="N", help="list N misses and N false alerts"
    )
    args = parser.parse_args(argv)
    if not DEV.is_file():
        print(f"matcher_eval: labelled data not found at {DATA} (../shared/data absent); skipping.")
        return 0
    kb = default_knowledge()
    rules = LaunchMatcher(kb)
    shipped = LaunchMatcher(kb, detector=default_detector())
    held_out = _cross_set_matchers(kb)
    for name, (path, titles_only) in SETS.items():
        if not path.is_file():
            print(f"\n== {name}: not found at {path}; skipped")
            continue
        rows = load(path)
        if titles_only:
            rows = [{**r, "summary": ""} for r in rows]
        report(f"{name} -- rules alone", score(rows, rules), 0)
        if held_out is not None:
            report(f"{name} -- CROSS-SET: {held_out[name][0]}", score(rows, held_out[name][1]),
                   args.errors)  # fmt: skip
        if shipped.detector is not None:
            report(f"{name} -- shipped detector (fitted on this set too)", score(rows, shipped), 0)
    if held_out is not None:
        _forward_in_time(kb, args.errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
