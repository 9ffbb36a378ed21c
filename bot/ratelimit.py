"""Pacing for the bot's own REST traffic to Discord.

Two guards, shared by everything that posts:

* :class:`TokenBucket` keeps delivery requests under Discord's global limit (50 requests
  per second per bot). The default 46/s with a burst of 2 allows at most 48 requests in
  *any* one-second window (rate + burst), leaving two for network jitter that bunches
  requests on arrival. discord.py still honours the per-route ``X-RateLimit-*`` buckets and
  retries 429s itself; the bucket only makes sure deliveries never get that far on the
  global limit.
* :class:`InvalidRequestTracker` counts 401, 403 and 429 answers over a rolling ten-minute
  window, because 10,000 of them in ten minutes get the bot's IP banned for an hour. Past
  a soft threshold the bucket slows down; past a hard threshold deliveries stop until the
  window has drained.

:class:`RequestPacer` combines the two and hooks into discord.py's HTTP session through an
``aiohttp.TraceConfig``, so every response the bot receives is counted, interactions included.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from types import SimpleNamespace
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[Any]]

#: Discord bans an IP for an hour after this many invalid requests in ten minutes.
DISCORD_INVALID_LIMIT = 10_000
INVALID_WINDOW = 600.0
INVALID_STATUSES = frozenset({401, 403, 429})


class TokenBucket:
    """An async token bucket (GCRA): ``await acquire()`` waits for the next free slot.

    Waiters are served in arrival order without a lock: each call reserves its slot
    synchronously before it sleeps.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self._clock = clock
        self._sleep = sleep
        self._burst = burst
        self._tat = 0.0  # theoretical arrival time of the next request
        self.rate = rate

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        self._rate = value
        self._interval = 1.0 / value
        self._tolerance = (self._burst - 1) * self._interval

    def reserve(self) -> float:
        """Take the next slot; return how long to wait before using it."""
        now = self._clock()
        tat = max(self._tat, now)
        self._tat = tat + self._interval
        return max(0.0, tat - self._tolerance - now)

    async def acquire(self) -> None:
        """Wait until a request may be sent."""
        wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)


class Pressure(StrEnum):
    """How close the bot is to Discord's invalid-request ban."""

    OK = "ok"
    SLOW = "slow"
    STOP = "stop"


class InvalidRequestTracker:
    """Rolling count of 401/403/429 responses over Discord's ten-minute window."""

    def __init__(
        self,
        *,
        soft: int = DISCORD_INVALID_LIMIT // 4,
        hard: int = DISCORD_INVALID_LIMIT * 7 // 10,
        window: float = INVALID_WINDOW,
        clock: Clock = time.monotonic,
    ) -> None:
        if not 0 < soft < hard:
            raise ValueError("need 0 < soft < hard")
        self.soft = soft
        self.hard = hard
        self._window = window
        self._clock = clock
        self._times: deque[float] = deque()
        self.total = 0

    def record(self, status: int, headers: Mapping[str, str] | None = None) -> bool:
        """Count a response if Discord counts it; return True when it was counted."""
        if status not in INVALID_STATUSES:
            return False
        # A 429 on a shared resource bucket is not the bot's fault and is not counted.
        if status == 429 and headers is not None and headers.get("X-RateLimit-Scope") == "shared":
            return False
        self._times.append(self._clock())
        self.total += 1
        return True

    def count(self) -> int:
        """Invalid responses within the window."""
        horizon = self._clock() - self._window
        while self._times and self._times[0] <= horizon:
            self._times.popleft()
        return len(self._times)

    @property
    def pressure(self) -> Pressure:
        """OK, SLOW (past the soft threshold) or STOP (past the hard one)."""
        n = self.count()
        if n >= self.hard:
            return Pressure.STOP
        return Pressure.SLOW if n >= self.soft else Pressure.OK

    def seconds_until_below(self, threshold: int) -> float:
        """How long until fewer than ``threshold`` responses are in the window."""
        n = self.count()
        if n < threshold:
            return 0.0
        oldest_to_expire = self._times[n - threshold]
        return max(0.0, oldest_to_expire + self._window - self._clock())


class RequestPacer:
    """The shared pacing for deliveries: rate limit plus invalid-request brake."""

    def __init__(
        self,
        rate: float = 46.0,
        burst: int = 2,
        *,
        slow_factor: float = 0.25,
        tracker: InvalidRequestTracker | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.full_rate = rate
        self.slow_rate = max(rate * slow_factor, 0.5)
        self.bucket = TokenBucket(rate, burst, clock=clock, sleep=sleep)
        self.invalid = tracker or InvalidRequestTracker(clock=clock)
        self.requests = 0
        self._pressure = Pressure.OK

    def blocked_for(self) -> float:
        """Seconds until deliveries may go on (0 when they may go on now)."""
        self._update_pressure()
        if self._pressure is not Pressure.STOP:
            return 0.0
        return max(1.0, self.invalid.seconds_until_below(self.invalid.hard))

    async def acquire(self) -> None:
        """Wait for a slot; slower when invalid responses pile up."""
        self._update_pressure()
        await self.bucket.acquire()
        self.requests += 1

    def record(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        """Count one response from Discord."""
        if self.invalid.record(status, headers):
            self._update_pressure()

    def _update_pressure(self) -> None:
        pressure = self.invalid.pressure
        if pressure is self._pressure:
            return
        previous, self._pressure = self._pressure, pressure
        self.bucket.rate = self.full_rate if pressure is Pressure.OK else self.slow_rate
        level = {Pressure.OK: logging.INFO, Pressure.SLOW: logging.WARNING}.get(
            pressure, logging.CRITICAL
        )
        log.log(
            level,
            "Discord invalid-request pressure %s -> %s (%d of %d allowed in 10 min); "
            "delivery rate now %.1f/s%s",
            previous,
            pressure,
            self.invalid.count(),
            DISCORD_INVALID_LIMIT,
            self.bucket.rate,
            "; deliveries paused" if pressure is Pressure.STOP else "",
        )

    def trace_config(self) -> aiohttp.TraceConfig:
        """A trace hook for discord.py's HTTP session: counts every response it receives."""
        config = aiohttp.TraceConfig()

        async def on_request_end(
            session: aiohttp.ClientSession,
            context: SimpleNamespace,
            params: aiohttp.TraceRequestEndParams,
        ) -> None:
            self.record(params.response.status, params.response.headers)

        config.on_request_end.append(on_request_end)
        return config
