"""When to poll a feed next: backoff after failures and politeness after success.

Pure functions; randomness comes in as a ``random.Random`` so tests and replays
are deterministic.
"""

from __future__ import annotations

import math
import random

__all__ = ["MAX_POLL_DELAY", "compute_backoff", "next_poll_delay"]

MAX_POLL_DELAY = 24 * 60 * 60.0
"""Longest LaunchWatch ever waits between polls, whatever a server asks for."""

INTERVAL_JITTER = 0.10


def _finite_non_negative(value: float | None) -> float:
    if value is None or not math.isfinite(value) or value < 0:
        return 0.0
    return value


def exponential_delay(failures: int, base: float, cap: float) -> float:
    """``min(cap, base * 2 ** (failures - 1))``: the ceiling of the retry delay after
    ``failures`` consecutive failures; no failures means no delay."""
    if failures <= 0 or base <= 0 or cap <= 0:
        return 0.0
    exponent = failures - 1
    # 2.0 ** 1024 raises OverflowError; long before that the cap has won.
    return cap if exponent > 1000 else min(cap, base * 2.0**exponent)


def compute_backoff(failures: int, base: float, cap: float, rng: random.Random) -> float:
    """Delay before retrying after ``failures`` consecutive failures ("full jitter").

    Uniform in ``[0, exponential_delay(failures, base, cap)]``: spreading retries
    over the whole window keeps many feeds that failed together (say, a host
    outage) from retrying in lockstep. No failures means no delay.
    """
    return rng.uniform(0.0, exponential_delay(failures, base, cap))


def next_poll_delay(
    interval: float,
    max_age: float | None,
    retry_after: float | None,
    rng: random.Random,
) -> float:
    """Seconds until the next poll of a feed that just answered.

    The configured ``interval`` gets ±10 % jitter so feeds added together drift
    apart. A server's Cache-Control ``max-age`` and ``Retry-After`` are floors:
    LaunchWatch never polls earlier than they ask. Everything is capped at
    :data:`MAX_POLL_DELAY` so a server asking for a week still gets checked
    daily. Missing, negative or non-finite hints are ignored.
    """
    if not math.isfinite(interval) or interval <= 0:
        raise ValueError(f"poll interval must be a positive number of seconds, not {interval!r}")
    jittered = interval * rng.uniform(1.0 - INTERVAL_JITTER, 1.0 + INTERVAL_JITTER)
    delay = max(jittered, _finite_non_negative(max_age), _finite_non_negative(retry_after))
    return min(delay, MAX_POLL_DELAY)
