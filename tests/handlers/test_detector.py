"""The learned launch-story detector: training, thresholds, persistence, and how it sits
beside the rules. Headlines are invented for these tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.domain import LaunchStatus
from handlers.matching.detector import (
    Detector,
    Example,
    best_thresholds,
    default_detector,
    grams,
    train,
)
from handlers.matching.matcher import LaunchMatcher, default_matcher

PUBLISHED = datetime(2030, 6, 10, 9, 0, tzinfo=UTC)


def _examples() -> list[Example]:
    launch = [("t:lifts", "t:satellite"), ("t:lifts", "t:probe"), ("t:lifts", "t:crew")]
    other = [("t:contract", "t:satellite"), ("t:contract", "t:probe"), ("t:contract", "t:crew")]
    return [Example(f, True) for f in launch * 3] + [Example(f, False) for f in other * 3]


def test_training_learns_the_words_that_separate_and_is_deterministic():
    first, second = train(_examples()), train(_examples())
    assert first.weights == second.weights and first.bias == second.bias
    assert first.probability(["t:lifts", "t:satellite"]) > 0.8
    assert first.probability(["t:contract", "t:satellite"]) < 0.2
    assert first.weights["t:lifts"] > 0 > first.weights["t:contract"]


def test_rare_features_are_not_learned():
    examples = [*_examples(), Example(("t:lifts", "t:once"), True)]
    assert "t:once" not in train(examples, min_count=2).weights


def test_unknown_features_weigh_nothing():
    d = Detector({"t:lifts": 2.0}, bias=-1.0)
    assert d.probability(["t:lifts", "t:never-seen"]) == d.probability(["t:lifts"])


def test_the_rules_stand_where_they_are_sure_or_exclude_by_name():
    d = Detector({}, 0.0, accept=0.6, veto=0.3)
    assert d.decide("sure", 0.0) and not d.decide("excluded", 1.0)
    assert d.decide("accept", 0.3) and not d.decide("accept", 0.29)
    assert d.decide("reject", 0.6) and not d.decide("reject", 0.59)


def test_thresholds_come_from_held_out_scorings():
    # The rules reject two stories the model is sure of, and accept a non-story it doubts.
    scoring = [(0.9, "reject", True), (0.8, "reject", True), (0.1, "accept", False)]
    scoring += [(0.3, "reject", False), (0.95, "sure", True)]
    accept, veto = best_thresholds([scoring])
    assert 0.3 < accept <= 0.8 and veto > 0.1
    # With nothing to gain the rules are never overruled.
    assert best_thresholds([[(0.9, "sure", True), (0.1, "reject", False)]]) == (1.01, 0.0)


def test_weights_round_trip_and_a_wrong_format_is_refused():
    d = Detector(
        {"t:lifts": 1.5, "h:vehicle": -0.25},
        bias=0.5,
        accept=0.7,
        veto=0.2,
        tense={"t:completes": 2.0},
        tense_bias=-0.5,
    )
    again = Detector.from_json(d.to_json(trained_on="test"))
    assert again == d
    with pytest.raises(ValueError, match="format"):
        Detector.from_json('{"format": 99, "weights": {}, "bias": 0, "accept": 1, "veto": 0}')
    with pytest.raises(ValueError, match="numbers"):
        Detector.from_json(
            '{"format": 2, "weights": {"a": "x"}, "bias": 0, "accept": 1, "veto": 0}'
        )


def test_grams_fold_digits_and_pair_words():
    assert grams("crew 12 lifts off") == [
        "crew", "00", "lifts", "off", "crew_00", "00_lifts", "lifts_off",
    ]  # fmt: skip
    assert grams("a b c", pairs=False, limit=2) == ["a", "b"]


def test_the_shipped_detector_loads_and_is_used_by_the_default_matcher():
    shipped = default_detector()
    assert shipped is not None and len(shipped.weights) > 1000
    assert default_matcher().detector is shipped


# --------------------------------------------------------------------------- beside the rules
def _judge(**weights: float) -> LaunchMatcher:
    return LaunchMatcher(detector=Detector(weights, bias=-3.0, accept=0.5, veto=0.5))


def test_a_confident_model_accepts_a_story_the_rules_found_no_subject_in():
    title = "Country sends its first radar satellite aloft from a desert base"
    assert LaunchMatcher().match(title, "", PUBLISHED) is None
    got = _judge(**{"t:aloft": 6.0}).match(title, "", PUBLISHED)
    assert got is not None


def test_a_story_without_a_tense_cue_gets_its_tense_from_the_model():
    title = "Country sends its first radar satellite aloft from a desert base"
    weights = {"t:aloft": 6.0}
    done = Detector(weights, -3.0, 0.5, 0.5, tense={"t:sends": 3.0}, tense_bias=-1.0)
    pending = Detector(weights, -3.0, 0.5, 0.5, tense={"t:sends": -3.0}, tense_bias=-1.0)
    got = LaunchMatcher(detector=done).match(title, "", PUBLISHED)
    assert got is not None and got.status is LaunchStatus.LAUNCHED
    got = LaunchMatcher(detector=pending).match(title, "", PUBLISHED)
    assert got is not None and got.status is LaunchStatus.UPCOMING


def test_no_model_overrules_a_class_the_rubric_excludes():
    title = "Rocket maker wins contract to launch weather satellites on Electron"
    assert _judge(**{"t:contract": 9.0, "t:wins": 9.0}).match(title, "", PUBLISHED) is None


def test_no_model_overrules_a_headline_the_rules_are_sure_of():
    title = "Electron launches radar satellite for Japanese company"
    got = _judge(**{"t:radar": -9.0}).match(title, "", PUBLISHED)
    assert got is not None and got.status is LaunchStatus.LAUNCHED


def test_a_doubtful_acceptance_can_be_vetoed():
    title = "Falcon 9 and the weather: what to watch"  # no tense cue: the rules are unsure
    rules = LaunchMatcher().match(title, "Falcon 9 launches at 10:00 from the Cape.", PUBLISHED)
    judged = _judge(**{"t:weather": -9.0}).match(
        title, "Falcon 9 launches at 10:00 from the Cape.", PUBLISHED
    )
    assert rules is not None and rules.confidence < 0.9
    assert judged is None


def test_every_shipped_table_is_package_data():
    """A non-editable install (the README's first command) must carry the weights too."""
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["handlers.matching"]
    tables = sorted(p.name for p in (root / "handlers" / "matching" / "tables").iterdir())
    assert "detector.json" in tables
    for name in tables:
        assert any(fnmatch.fnmatch(f"tables/{name}", g) for g in globs), name
