"""A small learned judge of "is this a launch story?", over words and the rules' readings.

The rules (:mod:`handlers.matching.matcher`) read status and entities well but decide
"launch story or not" from phrase lists, which miss paraphrases ("India's lunar lander on
its way") and let through the classes the rubric excludes (round-ups, post-launch news,
distant dates, ground tests, business). A logistic regression over

* the headline's words and word pairs, and the summary lead's words;
* what the rules read: their verdict, each cue family found in the headline and the lead,
  whether a vehicle, mission, agency or site is named, and the excluded-class detectors;

weighs that evidence instead. It is trained by ``python -m scripts.train_detector`` from the
labelled sets (pure Python, seeded, no network), and its threshold is chosen by the
cross-set protocol: trained on one set, scored on the other, both ways. The weights ship as
``tables/detector.json`` (a few hundred kB); no model, no change: :func:`default_detector`
returns None when the file is absent and the rules decide alone.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "Detector",
    "Example",
    "Rules",
    "best_thresholds",
    "default_detector",
    "grams",
    "train",
]

_WORD = re.compile(r"[a-z0-9]+")
_DIGITS = str.maketrans("123456789", "000000000")
#: What the rules said of an item: sure of a launch story, accepted it, rejected it for want
#: of evidence, or excluded it by name (a class the rubric excludes).
Rules = Literal["sure", "accept", "reject", "excluded"]
#: Words of the summary lead that count (its first sentences hold the news).
LEAD_WORDS = 40
FORMAT = 2


def grams(norm: str, *, pairs: bool = True, limit: int | None = None) -> list[str]:
    """Words (digits folded to "0") and, optionally, adjacent word pairs of normalised text."""
    words = _WORD.findall(norm.translate(_DIGITS))[:limit]
    out = list(words)
    if pairs:
        out.extend(f"{a}_{b}" for a, b in itertools.pairwise(words))
    return out


@dataclass(frozen=True, slots=True)
class Detector:
    """Logistic regression weights and the two probabilities at which it overrules the rules.

    The rules stay the first reader: the detector accepts a story the rules rejected for
    want of evidence only when ``p >= accept``, and rejects one they accepted without
    being sure (no launch cue with a named subject in the headline) only when ``p < veto``.
    A headline the rules are sure of, or that the rubric excludes by name, stands.
    """

    weights: Mapping[str, float]
    bias: float
    accept: float = 0.5
    veto: float = 0.5
    #: A second model over the same features, for stories the rules found no tense cue in:
    #: P(the launch has happened | a launch story) ("Virgin Galactic completes ... flight").
    tense: Mapping[str, float] = field(default_factory=dict)
    tense_bias: float = 0.0

    def probability(self, features: Iterable[str]) -> float:
        """P(launch story | features); features absent from the model weigh nothing."""
        return _logistic(self.bias, self.weights, features)

    def happened(self, features: Iterable[str]) -> bool:
        """Whether a launch story without a tense cue reports a launch that happened."""
        return _logistic(self.tense_bias, self.tense, features) >= 0.5

    def decide(self, rules: Rules, p: float) -> bool:
        """The verdict given what the rules said and the model's probability."""
        if rules == "sure" or rules == "excluded":
            return rules == "sure"
        return p >= self.veto if rules == "accept" else p >= self.accept

    # --------------------------------------------------------------- persistence
    def to_json(self, **about: Any) -> str:
        body = {
            "format": FORMAT,
            **about,
            "bias": round(self.bias, 6),
            "accept": round(self.accept, 6),
            "veto": round(self.veto, 6),
            "weights": _rounded(self.weights),
            "tense": {"bias": round(self.tense_bias, 6), "weights": _rounded(self.tense)},
        }
        return json.dumps(body, indent=0, sort_keys=False, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Detector:
        raw = json.loads(text)
        if raw.get("format") != FORMAT:
            raise ValueError(f"detector weights: format {raw.get('format')!r}, expected {FORMAT}")
        tense = raw.get("tense") or {}
        return cls(
            _weights(raw["weights"]),
            float(raw["bias"]),
            float(raw["accept"]),
            float(raw["veto"]),
            _weights(tense.get("weights", {})),
            float(tense.get("bias", 0.0)),
        )

    @classmethod
    def from_path(cls, path: Path) -> Detector:
        return cls.from_json(path.read_text(encoding="utf-8"))


def _logistic(bias: float, weights: Mapping[str, float], features: Iterable[str]) -> float:
    z = bias + sum(weights.get(f, 0.0) for f in set(features))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def _rounded(weights: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v, 5) for k, v in sorted(weights.items()) if abs(v) > 1e-4}


def _weights(raw: object) -> dict[str, float]:
    if not isinstance(raw, dict) or not all(isinstance(v, int | float) for v in raw.values()):
        raise ValueError("detector weights: 'weights' must map features to numbers")
    return {str(k): float(v) for k, v in raw.items()}


@cache
def default_detector() -> Detector | None:
    """The shipped detector (``tables/detector.json``), or None when none is shipped."""
    resource = resources.files("handlers.matching") / "tables" / "detector.json"
    if not resource.is_file():
        return None
    return Detector.from_json(resource.read_text("utf-8"))


# --------------------------------------------------------------------------- training
@dataclass(frozen=True, slots=True)
class Example:
    features: tuple[str, ...]
    label: bool
    #: For a launch story: the launch has happened (launched or failed).
    happened: bool = False


def train(
    examples: Sequence[Example],
    *,
    epochs: int = 12,
    l2: float = 1e-3,
    rate: float = 0.3,
    min_count: int = 2,
    seed: int = 0,
) -> Detector:
    """Fit logistic regression with AdaGrad; deterministic for a given example order and seed.

    Features seen in fewer than ``min_count`` examples are dropped (they would only
    memorise one headline). The thresholds are left at 0.5: choose them with
    :func:`best_thresholds` on data the model was not fitted on.
    """
    counts = Counter(f for ex in examples for f in set(ex.features))
    kept = [
        (tuple(sorted({f for f in ex.features if counts[f] >= min_count})), ex.label)
        for ex in examples
    ]
    weights: dict[str, float] = {}
    squares: dict[str, float] = {}
    bias, bias_sq = 0.0, 0.0
    rng = random.Random(seed)
    order = list(range(len(kept)))
    for _ in range(epochs):
        rng.shuffle(order)
        for i in order:
            feats, label = kept[i]
            z = bias + sum(weights.get(f, 0.0) for f in feats)
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            grad = p - (1.0 if label else 0.0)
            bias_sq += grad * grad
            bias -= rate * grad / math.sqrt(bias_sq + 1e-8)
            for f in feats:
                w = weights.get(f, 0.0)
                g = grad + l2 * w
                squares[f] = squares.get(f, 0.0) + g * g
                weights[f] = w - rate * g / math.sqrt(squares[f] + 1e-8)
    return Detector(weights, bias)


#: One held-out item: the model's probability, what the rules said, its label.
Scored = tuple[float, Rules, bool]


def best_thresholds(scorings: Sequence[Sequence[Scored]]) -> tuple[float, float]:
    """(accept, veto) with the best mean F1 over several held-out scorings.

    Each scoring comes from a model that did not see those items; averaging over them keeps
    one set's peculiarities from choosing the thresholds. Ties go to the pair that
    overrules the rules least (highest accept, lowest veto).
    """
    grid = [i / 20 for i in range(1, 20)]
    pairs = [(a, v) for a in grid for v in grid if v <= a] + [(1.01, 0.0)]
    return max(
        pairs,
        key=lambda av: (round(sum(_f1(s, *av) for s in scorings), 6), av[0], -av[1]),
    )


def _f1(scored: Sequence[Scored], accept: float, veto: float) -> float:
    judge = Detector({}, 0.0, accept, veto)
    tp = fp = fn = 0
    for p, rules, label in scored:
        said = judge.decide(rules, p)
        tp += said and label
        fp += said and not label
        fn += label and not said
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
