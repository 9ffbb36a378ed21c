"""Backoff and next-poll arithmetic."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.schedule_math import MAX_POLL_DELAY, compute_backoff, next_poll_delay


def rng() -> random.Random:
    return random.Random(42)


@pytest.mark.parametrize("failures", [0, -1])
def test_no_failures_no_backoff(failures: int) -> None:
    assert compute_backoff(failures, 60, 3600, rng()) == 0.0


@pytest.mark.parametrize(
    ("failures", "ceiling"),
    [(1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (50, 3600), (10_000, 3600)],
)
def test_backoff_stays_under_the_exponential_ceiling(failures: int, ceiling: float) -> None:
    r = rng()
    samples = [compute_backoff(failures, 60, 3600, r) for _ in range(500)]
    assert all(0 <= s <= ceiling for s in samples)
    # Full jitter spreads over the whole window, not just near the top.
    assert min(samples) < ceiling * 0.1
    assert max(samples) > ceiling * 0.9


def test_backoff_is_deterministic_for_a_seed() -> None:
    a = [compute_backoff(n, 30, 900, random.Random(7)) for n in range(1, 10)]
    b = [compute_backoff(n, 30, 900, random.Random(7)) for n in range(1, 10)]
    assert a == b


def test_backoff_grows_on_average() -> None:
    r = rng()

    def mean(failures: int) -> float:
        return sum(compute_backoff(failures, 10, 10_000, r) for _ in range(2000)) / 2000

    assert mean(1) < mean(3) < mean(6)


@pytest.mark.parametrize(("base", "cap"), [(0, 100), (10, 0), (-1, 100)])
def test_degenerate_backoff_parameters(base: float, cap: float) -> None:
    assert compute_backoff(3, base, cap, rng()) == 0.0


def test_interval_gets_ten_percent_jitter() -> None:
    r = rng()
    delays = [next_poll_delay(600, None, None, r) for _ in range(1000)]
    assert all(540 <= d <= 660 for d in delays)
    assert min(delays) < 550
    assert max(delays) > 650


def test_max_age_is_a_floor() -> None:
    assert next_poll_delay(600, 3600, None, rng()) == 3600
    assert 540 <= next_poll_delay(600, 60, None, rng()) <= 660


def test_retry_after_is_a_floor() -> None:
    assert next_poll_delay(600, None, 7200, rng()) == 7200
    assert next_poll_delay(600, 3600, 7200, rng()) == 7200
    assert next_poll_delay(600, 9000, 7200, rng()) == 9000


def test_everything_is_capped_at_a_day() -> None:
    assert next_poll_delay(600, 7 * 86400, None, rng()) == MAX_POLL_DELAY
    assert next_poll_delay(600, None, 1e12, rng()) == MAX_POLL_DELAY
    assert next_poll_delay(3 * 86400, None, None, rng()) == MAX_POLL_DELAY


@pytest.mark.parametrize("hint", [-5.0, math.nan, math.inf, None])
def test_bad_hints_are_ignored(hint: float | None) -> None:
    assert 540 <= next_poll_delay(600, hint, hint, rng()) <= 660


@pytest.mark.parametrize("interval", [0, -1, math.nan, math.inf])
def test_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError, match="poll interval"):
        next_poll_delay(interval, None, None, rng())


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    interval=st.floats(min_value=1, max_value=200_000),
    max_age=st.none() | st.floats(min_value=0, max_value=1e7),
    retry_after=st.none() | st.floats(min_value=0, max_value=1e7),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_next_poll_never_earlier_than_asked_and_never_past_a_day(
    interval: float, max_age: float | None, retry_after: float | None, seed: int
) -> None:
    delay = next_poll_delay(interval, max_age, retry_after, random.Random(seed))
    assert 0 < delay <= MAX_POLL_DELAY
    floor = max(interval * 0.9, max_age or 0, retry_after or 0)
    assert delay >= min(floor, MAX_POLL_DELAY)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    failures=st.integers(min_value=-3, max_value=5000),
    base=st.floats(min_value=0.001, max_value=1e4),
    cap=st.floats(min_value=0.001, max_value=1e6),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_backoff_is_within_zero_and_cap(failures: int, base: float, cap: float, seed: int) -> None:
    delay = compute_backoff(failures, base, cap, random.Random(seed))
    assert 0 <= delay <= cap
