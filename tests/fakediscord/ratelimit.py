"""Discord-style rate limits: one global limit per bot plus fixed-window per-route buckets.

A bucket is identified by its route (``"POST /channels/{channel_id}/messages"``) and the
route's *major parameter* (channel, guild or webhook id + token), as Discord does. Windows
start at the first request and reset ``per`` seconds later.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: Per-route limits the fake applies unless told otherwise: ``route key -> (limit, per)``.
DEFAULT_ROUTE_LIMITS: dict[str, tuple[int, float]] = {
    "POST /channels/{channel_id}/messages": (5, 5.0),
    "PATCH /channels/{channel_id}/messages/{message_id}": (5, 5.0),
    "DELETE /channels/{channel_id}/messages/{message_id}": (5, 1.0),
    "POST /channels/{channel_id}/messages/{message_id}/crosspost": (10, 3600.0),
    "PUT /applications/{application_id}/commands": (10, 20.0),
    "PUT /applications/{application_id}/guilds/{guild_id}/commands": (10, 20.0),
    "POST /webhooks/{webhook_id}/{webhook_token}": (5, 2.0),
    "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original": (5, 2.0),
    "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}": (5, 2.0),
}
#: Routes without an entry above get this.
DEFAULT_LIMIT: tuple[int, float] = (50, 1.0)


@dataclass(frozen=True)
class BucketState:
    """What a request saw of its bucket; becomes the X-RateLimit-* headers."""

    limit: int
    remaining: int
    reset_at: float
    reset_after: float
    bucket: str
    retry_after: float | None = None

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": f"{self.reset_at:.3f}",
            "X-RateLimit-Reset-After": f"{self.reset_after:.3f}",
            "X-RateLimit-Bucket": self.bucket,
        }


@dataclass
class _Window:
    limit: int
    per: float
    started: float
    count: int = 0


def bucket_hash(route_key: str) -> str:
    """A stable opaque bucket id per route, like Discord's."""
    return hashlib.sha1(route_key.encode()).hexdigest()[:32]


def _retry(seconds: float) -> float:
    # Never tell a client to retry in 0 s: it would spin.
    return max(round(seconds, 3), 0.001)


class RateLimiter:
    """Counts requests against the global limit and the per-route buckets."""

    def __init__(
        self,
        global_limit: int | None,
        route_limits: Mapping[str, tuple[int, float]] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.global_limit = global_limit
        self.route_limits: dict[str, tuple[int, float]] = dict(DEFAULT_ROUTE_LIMITS)
        self.route_limits.update(route_limits or {})
        self._clock = clock
        self._wall = wall
        self._global: _Window | None = None
        self._buckets: dict[tuple[str, str], _Window] = {}

    def set_route_limit(self, route_key: str, limit: int, per: float) -> None:
        self.route_limits[route_key] = (limit, per)
        for key in [k for k in self._buckets if k[0] == route_key]:
            del self._buckets[key]

    def check_global(self) -> float | None:
        """Count one request; return ``retry_after`` if the global limit is exceeded."""
        if self.global_limit is None:
            return None
        now = self._clock()
        window = self._global
        if window is None or now >= window.started + window.per:
            window = self._global = _Window(self.global_limit, 1.0, now)
        if window.count >= self.global_limit:
            return _retry(window.started + window.per - now)
        window.count += 1
        return None

    def hit(self, route_key: str, major: str) -> BucketState:
        """Count one request on its bucket (unless it is already exhausted)."""
        limit, per = self.route_limits.get(route_key, DEFAULT_LIMIT)
        now = self._clock()
        key = (route_key, major)
        window = self._buckets.get(key)
        if window is None or now >= window.started + window.per:
            window = self._buckets[key] = _Window(limit, per, now)
        reset_after = window.started + window.per - now
        retry_after: float | None = None
        if window.count >= window.limit:
            retry_after = _retry(reset_after)
        else:
            window.count += 1
        return BucketState(
            limit=window.limit,
            remaining=window.limit - window.count,
            reset_at=self._wall() + reset_after,
            reset_after=reset_after,
            bucket=bucket_hash(route_key),
            retry_after=retry_after,
        )


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` is whole seconds, rounded up."""
    return str(max(1, math.ceil(seconds)))
