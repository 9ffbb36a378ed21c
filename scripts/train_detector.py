"""Train the launch-story detector (``handlers/matching/tables/detector.json``).

    python -m scripts.train_detector [--data ../shared/data] [--check]

Reads the two labelled sets (``launch-news/dev.jsonl``, 2026 with summaries, and
``launch-news/titles-2023.jsonl``, 2023 titles only); never ships them. dev.jsonl counts
twice, as served and with its summaries removed, so the model holds on title-only feeds.

The rules stay the first reader; the model overrules them only past two probabilities
(accept a story they rejected, veto one they accepted). Those are chosen forward in time:
a model trained on the earlier half of every set scores the later halves, and the pair with
the best mean F1 there ships. (The cross-set protocol, one set's model scoring the other,
says a model that saw only one year should never overrule the rules; `bench.matcher_eval`
prints those figures.) The shipped weights are then fitted on both sets. Training
is pure Python and seeded: the same data gives the same file, byte for byte (``--check``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from handlers.matching.detector import Detector, Example, Rules, Scored, best_thresholds, train
from handlers.matching.knowledge import default_knowledge
from handlers.matching.matcher import LaunchMatcher

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "handlers" / "matching" / "tables" / "detector.json"
DATA = ROOT.parent / "shared" / "data"
FOLDS = 5
DEV = Path("launch-news") / "dev.jsonl"
TITLES = Path("launch-news") / "titles-2023.jsonl"

Row = dict[str, Any]
T = TypeVar("T")


def load(path: Path) -> list[Row]:
    """The labelled items of one set."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def published(row: Row) -> datetime | None:
    """An item's publication time."""
    raw = row.get("published_at")
    return datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None


def by_date(rows: Sequence[Row]) -> list[int]:
    """Row indices, oldest first."""
    return sorted(range(len(rows)), key=lambda i: rows[i].get("published_at") or "")


def halves(items: Sequence[T], order: Sequence[int]) -> tuple[list[T], list[T]]:
    """The earlier and the later half of ``items`` in ``order``."""
    half = len(order) // 2
    return [items[i] for i in order[:half]], [items[i] for i in order[half:]]


def date_orders(data: Path) -> dict[str, list[int]]:
    """For each set of :func:`sets`, its items oldest first."""
    dev, titles = by_date(load(data / DEV)), by_date(load(data / TITLES))
    return {"dev": dev, "dev-titles": dev, "2023": titles}


def is_launch_story(row: Row) -> bool:
    return str(row.get("label", "other")) != "other"


def examples(rows: Iterable[Row], matcher: LaunchMatcher, *, summaries: bool) -> list[Example]:
    """One example per row, read by the rules alone (the matcher must have no detector)."""
    return [
        Example(
            tuple(
                matcher.featurize(
                    r["title"], (r.get("summary") or "") if summaries else "", published(r)
                )
            ),
            is_launch_story(r),
            r.get("label") in ("launched", "failed"),
        )
        for r in rows
    ]


def scored(detector: Detector, items: Sequence[Example]) -> list[Scored]:
    return [(detector.probability(ex.features), rules_said(ex), ex.label) for ex in items]


def rules_said(example: Example) -> Rules:
    """What the rules said of an example, as its features record it."""
    for feature in example.features:
        if feature.startswith("rules:"):
            return cast(Rules, feature.removeprefix("rules:"))
    raise ValueError("an example without the rules' verdict")


def fit_with_own_thresholds(items: Sequence[Example]) -> Detector:
    """A model whose thresholds come from k-fold scoring inside its own training data."""
    held_out: list[Scored] = []
    for k in range(FOLDS):
        fit = [ex for i, ex in enumerate(items) if i % FOLDS != k]
        held_out += scored(train(fit), [ex for i, ex in enumerate(items) if i % FOLDS == k])
    model, tense = train(items), train_tense(items)
    accept, veto = best_thresholds([held_out])
    return Detector(model.weights, model.bias, accept, veto, tense.weights, tense.bias)


def sets(data: Path, matcher: LaunchMatcher) -> dict[str, list[Example]]:
    dev = load(data / DEV)
    titles = load(data / TITLES)
    return {
        "dev": examples(dev, matcher, summaries=True),
        "dev-titles": examples(dev, matcher, summaries=False),
        "2023": examples(titles, matcher, summaries=False),
    }


def forward(data: Path, ex: dict[str, list[Example]]) -> list[list[Scored]]:
    """Forward in time: trained on the earlier half of each set, scored on the later halves."""
    split = [halves(ex[name], order) for name, order in date_orders(data).items()]
    model = train([item for early, _ in split for item in early])
    return [scored(model, late) for _, late in split]


def build(data: Path) -> tuple[Detector, dict[str, Any]]:
    ex = sets(data, LaunchMatcher(default_knowledge(), detector=None))
    accept, veto = best_thresholds(forward(data, ex))
    every = ex["dev"] + ex["dev-titles"] + ex["2023"]
    model = train(every)
    tense = train_tense(every)
    about = {
        "trained_on": "launch-news/dev.jsonl (with and without summaries) + titles-2023.jsonl",
        "examples": sum(len(items) for items in ex.values()),
        "thresholds_from": "best mean F1 on the later half of each set, trained on the earlier",
    }
    return Detector(model.weights, model.bias, accept, veto, tense.weights, tense.bias), about


def train_tense(items: Sequence[Example]) -> Detector:
    """P(launched or failed | launch story), on the launch stories among ``items``."""
    return train([Example(item.features, item.happened) for item in items if item.label])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="fail when --out is out of date")
    args = parser.parse_args(argv)
    if not (args.data / "launch-news" / "dev.jsonl").is_file():
        print(f"no labelled sets under {args.data}/launch-news: nothing to train", file=sys.stderr)
        return 2
    detector, about = build(args.data)
    text = detector.to_json(**about)
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{args.out} is out of date: retrain it")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    size = len(text.encode()) // 1024
    print(
        f"wrote {args.out}: {len(detector.weights)} weights, {size} kB, "
        f"accept at {detector.accept:.2f}, veto below {detector.veto:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
