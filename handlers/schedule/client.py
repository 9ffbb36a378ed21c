"""Launch Library 2 over HTTP: one page of upcoming or recent launches per request.

The client does no pacing of its own: :class:`handlers.schedule.refresh.ScheduleRefresher`
decides when a request may go (the budget) and records each one. The client reads one page,
under a byte cap and a deadline, and turns a 429 into :class:`ScheduleThrottled` with the
wait the service asked for (``Retry-After``, or the seconds in its ``detail`` text).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import aiohttp

from handlers.errors import LaunchWatchError, error_text
from handlers.fetcher import parse_retry_after, user_agent
from handlers.schedule.launches import ScheduledLaunch, parse_page

__all__ = [
    "DEFAULT_SCHEDULE_URL",
    "ScheduleClient",
    "ScheduleError",
    "SchedulePage",
    "ScheduleThrottled",
]

DEFAULT_SCHEDULE_URL = "https://ll.thespacedevs.com/2.3.0"
MAX_PAGE_BYTES = 8_000_000
PAGE_SIZE = 50
TIMEOUT = 30.0
# "Request was throttled. Expected available in 3599 seconds."
_THROTTLE_DETAIL = re.compile(r"available in (\d+) seconds?")

Kind = Literal["upcoming", "previous"]


class ScheduleError(LaunchWatchError):
    """The schedule could not be read this time (the stored schedule stays in use)."""


class ScheduleThrottled(ScheduleError):
    """The service refused the request for its rate limit: wait ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class SchedulePage:
    """One page read: its launches, and why records were left out."""

    kind: Kind
    launches: list[ScheduledLaunch]
    skipped: list[str]


class ScheduleClient:
    """Reads launch pages from ``base_url`` (the API's version root)."""

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, *, token: str | None = None
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._token = token

    @classmethod
    @asynccontextmanager
    async def open(
        cls, base_url: str, *, version: str, token: str | None = None
    ) -> AsyncIterator[ScheduleClient]:
        """A client with its own session (closed on exit)."""
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=TIMEOUT),
            headers={"User-Agent": user_agent(version), "Accept": "application/json"},
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        try:
            yield cls(session, base_url, token=token)
        finally:
            await session.close()

    async def fetch(self, kind: Kind, *, limit: int = PAGE_SIZE) -> SchedulePage:
        """The next (``upcoming``) or latest (``previous``) launches, one page."""
        url = f"{self._base}/launches/{kind}/"
        params = {"mode": "detailed", "limit": str(limit)}
        headers = {"Authorization": f"Token {self._token}"} if self._token else {}
        try:
            async with self._session.get(url, params=params, headers=headers) as resp:
                if resp.status == 429:
                    raise ScheduleThrottled(
                        "the launch schedule is rate-limiting us",
                        retry_after=await _retry_after(resp),
                    )
                if resp.status != 200:
                    raise ScheduleError(f"the launch schedule answered HTTP {resp.status}")
                body = await _read_capped(resp)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ScheduleError(f"the launch schedule is unreachable: {error_text(exc)}") from exc
        try:
            launches, skipped = parse_page(json.loads(body))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ScheduleError(f"the launch schedule sent an unreadable page: {exc}") from exc
        return SchedulePage(kind, launches, skipped)


async def _read_capped(resp: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_PAGE_BYTES:
            raise ScheduleError(f"the launch schedule sent more than {MAX_PAGE_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _retry_after(resp: aiohttp.ClientResponse) -> float:
    """The wait a 429 asks for: its header, else its ``detail`` text, else an hour."""
    header = parse_retry_after(resp.headers.get("Retry-After"))
    if header is not None:
        return header
    try:
        detail = str((await resp.json(content_type=None)).get("detail", ""))
    except (ValueError, AttributeError, aiohttp.ClientError):
        detail = ""
    found = _THROTTLE_DETAIL.search(detail)
    return float(found.group(1)) if found else 3600.0
