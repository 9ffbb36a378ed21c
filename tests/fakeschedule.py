"""A fake Launch Library 2 on 127.0.0.1, as strict as the real API about what tests use.

    async with FakeSchedule(per_hour=15) as ll2:
        ll2.upcoming = [ll2_launch("a", net=T0 + timedelta(hours=3))]
        async with ScheduleClient.open(ll2.base_url, version="test") as client:
            page = await client.fetch("upcoming")

- ``GET /2.3.0/launches/upcoming/`` and ``/launches/previous/`` with ``mode`` in
  (list, normal, detailed) and ``1 <= limit <= 100``; anything else is a 400 or 404.
- An ``Authorization`` header must read ``Token <key>`` with a key the fake knows, or the
  answer is 401 ``{"detail": "Invalid token."}`` (the API's token authentication).
- More than ``per_hour`` requests in a sliding hour (per token, else per client) get 429 with
  ``Retry-After`` and ``{"detail": "Request was throttled. Expected available in N
  seconds."}``, as the API's throttling answers. ``retry_header=False`` leaves the header
  out (some proxies drop it), ``down=True`` answers 503.
Every request is recorded with its headers and the fake's clock (``clock``, real by default).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from aiohttp import web

__all__ = ["FakeSchedule", "ll2_launch"]

VERSION = "2.3.0"
HOUR = timedelta(hours=1)


@dataclass
class FakeSchedule:
    per_hour: int = 15
    tokens: frozenset[str] = frozenset()
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    upcoming: list[dict[str, Any]] = field(default_factory=list)
    previous: list[dict[str, Any]] = field(default_factory=list)
    retry_header: bool = True
    down: bool = False
    body_override: bytes | None = None
    requests: list[tuple[datetime, str, dict[str, str]]] = field(default_factory=list)
    _sent: dict[str, list[datetime]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{VERSION}"

    async def __aenter__(self) -> FakeSchedule:
        app = web.Application()
        app.router.add_get(f"/{VERSION}/launches/{{kind}}/", self._launches)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _launches(self, request: web.Request) -> web.StreamResponse:
        now = self.clock()
        self.requests.append((now, request.path_qs, dict(request.headers)))
        kind = request.match_info["kind"]
        if kind not in ("upcoming", "previous"):
            return _json({"detail": "Not found."}, 404)
        auth = request.headers.get("Authorization")
        who = request.remote or "?"
        if auth is not None:
            scheme, _, key = auth.partition(" ")
            if scheme != "Token" or key not in self.tokens:
                return _json({"detail": "Invalid token."}, 401)
            who = f"token:{key}"
        sent = [t for t in self._sent.get(who, []) if now - t < HOUR]
        if len(sent) >= self.per_hour:
            wait = math.ceil((sent[0] + HOUR - now).total_seconds())
            detail = f"Request was throttled. Expected available in {wait} seconds."
            headers = {"Retry-After": str(wait)} if self.retry_header else {}
            return _json({"detail": detail}, 429, headers)
        self._sent[who] = [*sent, now]
        if self.down:
            return _json({"detail": "Service unavailable."}, 503)
        mode = request.query.get("mode", "normal")
        limit = request.query.get("limit", "10")
        if mode not in ("list", "normal", "detailed") or not limit.isdigit():
            return _json({"detail": "bad query"}, 400)
        if not 1 <= int(limit) <= 100:
            return _json({"detail": "limit must be between 1 and 100"}, 400)
        if self.body_override is not None:
            return web.Response(body=self.body_override, content_type="application/json")
        results = (self.upcoming if kind == "upcoming" else self.previous)[: int(limit)]
        return _json({"count": len(results), "next": None, "previous": None, "results": results})


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(payload), status=status, headers=headers, content_type="application/json"
    )


_STATUS = {
    "Go": (1, "Go for Launch"),
    "TBD": (2, "To Be Determined"),
    "Success": (3, "Launch Successful"),
    "Failure": (4, "Launch Failure"),
    "Hold": (5, "On Hold"),
    "In Flight": (6, "Launch in Flight"),
    "Partial Failure": (7, "Launch was a Partial Failure"),
    "TBC": (8, "To Be Confirmed"),
}


def ll2_launch(
    ident: str,
    *,
    net: datetime,
    status: str = "Go",
    vehicle: str = "Falcon 9 Block 5",
    mission: str = "Starlink Group 12-3",
    provider: str = "SpaceX",
    pad: str = "Space Launch Complex 40",
    location: str = "Cape Canaveral SFS, FL, USA",
    precision: str = "MIN",
    crew: int = 0,
    webcasts: tuple[str, ...] = (),
    webcast_live: bool = False,
) -> dict[str, Any]:
    """One launch record shaped like the API's ``mode=detailed`` answer (fields we read)."""
    sid, name = _STATUS[status]
    stamp = net.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": ident,
        "name": f"{vehicle} | {mission}",
        "status": {"id": sid, "name": name, "abbrev": status, "description": ""},
        "last_updated": stamp,
        "net": stamp,
        "net_precision": {"id": 1, "name": precision.title(), "abbrev": precision},
        "window_start": stamp,
        "window_end": stamp,
        "probability": 90,
        "webcast_live": webcast_live,
        "launch_service_provider": {"id": 121, "name": provider, "abbrev": provider},
        "rocket": {
            "id": 1,
            "configuration": {"id": 164, "name": vehicle.split(" Block")[0], "full_name": vehicle},
            "spacecraft_stage": [{"id": 7, "launch_crew": [{"id": n} for n in range(crew)]}],
        },
        "mission": {"id": 1, "name": mission, "type": "Communications"},
        "pad": {"id": 80, "name": pad, "location": {"id": 12, "name": location}},
        "vid_urls": [{"priority": 10, "url": url, "live": webcast_live} for url in webcasts],
    }
