"""Download feeds politely and defensively.

:class:`FeedFetcher` does one conditional GET per poll through a shared
:class:`aiohttp.ClientSession`, following redirects itself so each hop passes the
SSRF guard (:mod:`handlers.netguard`) and permanent moves can be told apart from
temporary ones. Bodies are streamed under a byte cap and a total deadline, so a
hostile or broken server can cost at most ``max_bytes`` of memory and
``total_timeout`` seconds.

Compression is negotiated by aiohttp: gzip and deflate always, br and zstd only
when their decoders are installed, so a server is never offered an encoding we
cannot read.

Session ownership: a fetcher never closes a session it was given. Use
:meth:`FeedFetcher.open` to get a fetcher that owns (and closes) its session, or
build one with :func:`make_session` and close it yourself. A session built any
other way must use a :class:`~handlers.netguard.GuardedResolver` connector, or
only literal-IP hosts are guarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from handlers.errors import (
    BlockedAddressError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    ResponseTooLargeError,
    TooManyRedirectsError,
)
from handlers.netguard import AddressGuard, GuardedResolver, IPNetwork

__all__ = [
    "ACCEPT",
    "FEED_HEADERS",
    "FeedFetcher",
    "FetchLimits",
    "FetchResult",
    "FetchStatus",
    "Fetcher",
    "make_session",
    "parse_max_age",
    "parse_retry_after",
    "user_agent",
]

log = logging.getLogger(__name__)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
FEED_HEADERS = ("content-type", "content-location", "content-language")
"""Response headers feedparser uses to pick an encoding, base URL and language."""

PERMANENT_REDIRECTS = frozenset({301, 308})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


def user_agent(version: str) -> str:
    """The honest User-Agent LaunchWatch sends, so site owners can find us."""
    return f"LaunchWatch/{version} (+https://github.com/launchwatch/launchwatch)"


class FetchStatus(StrEnum):
    """How a fetch ended when it did not fail."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """How much time and memory one fetch may take."""

    total_timeout: float = 20.0
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Outcome of one successful fetch.

    ``body`` is set only for ``ok``: for ``not_modified`` (HTTP 304) and
    ``unchanged`` (200 with the same body hash as last time) there is nothing
    new to parse. ``etag``/``last_modified`` are the validators to store for the
    next poll (the old ones are kept when a 304 does not repeat them).
    ``permanent_redirect_url`` is set when the request was moved permanently
    (only 301/308 hops, from the first hop on), and is the URL to store instead
    of the old one. Pass ``final_url`` and ``headers`` to the parser.
    """

    status: FetchStatus
    url: str
    final_url: str
    http_status: int
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    permanent_redirect_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    max_age: float | None = None
    retry_after: float | None = None
    elapsed: float = 0.0


@runtime_checkable
class Fetcher(Protocol):
    """Anything that can fetch a feed; the pipeline depends on this, not on aiohttp."""

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        previous_body_hash: str | None,
    ) -> FetchResult:
        """Fetch ``url`` conditionally; raise a FetchError subclass on failure."""
        ...


def parse_max_age(cache_control: str | None, age: str | None = None) -> float | None:
    """Seconds a response stays fresh per ``Cache-Control: max-age``, minus ``Age``.

    None when there is no max-age, or when ``no-store``/``no-cache`` say the
    server wants to be asked every time (the poll interval then applies).
    """
    if not cache_control:
        return None
    max_age: float | None = None
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-store", "no-cache"):
            return None
        if name == "max-age":
            try:
                max_age = float(int(value.strip().strip('"')))
            except ValueError:
                return None
    if max_age is None or max_age < 0:
        return None
    if age:
        with contextlib.suppress(ValueError):
            max_age = max(0.0, max_age - max(0, int(age.strip())))
    return max_age


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait per a ``Retry-After`` header (delta-seconds or HTTP-date).

    A date in the past means "now" (0); an unreadable header means no advice.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return float(max(0, math.ceil(seconds)))


def _mb(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    if size >= 1024:
        return f"{size / 1024:g} KB"
    return f"{size} bytes"


def _seconds(value: float) -> str:
    return f"{value:g} s"


def make_session(
    guard: AddressGuard,
    *,
    limits: FetchLimits | None = None,
    max_connections: int = 10,
    resolver: AbstractResolver | None = None,
) -> aiohttp.ClientSession:
    """Build the session feeds are fetched through; the caller closes it.

    ``resolver`` replaces aiohttp's default DNS resolver *inside* the guard
    (tests use it to map names to addresses without DNS). Call from async code.
    """
    limits = limits or FetchLimits()
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(guard, resolver),
        limit=max_connections,
        limit_per_host=4,
        ttl_dns_cache=60,
        # One connection per fetch ("Connection: close"). A feed is polled minutes after
        # the last one, so a kept-alive socket is almost never reused, yet every idle one
        # holds a file descriptor and buffers until it times out: with thousands of hosts
        # that was 16,000 sockets and +110 MB at 20,000 feeds, and a slower event loop
        # (bench/ section 1). ``max_connections`` now bounds the sockets open at once.
        force_close=True,
    )
    return aiohttp.ClientSession(
        connector=connector,
        # The total deadline is an asyncio.timeout around each fetch, so that
        # it also covers our own redirect loop and body read.
        timeout=aiohttp.ClientTimeout(
            total=None,
            sock_connect=limits.connect_timeout,
            sock_read=limits.read_timeout,
        ),
        # Feeds need no cookies, and a shared jar would carry state between feeds.
        cookie_jar=aiohttp.DummyCookieJar(),
        # An environment proxy would be resolved outside the guard.
        trust_env=False,
        auto_decompress=True,
        raise_for_status=False,
    )


class FeedFetcher:
    """Fetch feeds through one shared session; satisfies :class:`Fetcher`."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        guard: AddressGuard,
        version: str,
        limits: FetchLimits | None = None,
    ) -> None:
        self._session = session
        self._guard = guard
        self._limits = limits or FetchLimits()
        self._user_agent = user_agent(version)

    @property
    def session(self) -> aiohttp.ClientSession:
        """The shared session (owned by whoever created it)."""
        return self._session

    @property
    def limits(self) -> FetchLimits:
        """The time and size limits every fetch runs under."""
        return self._limits

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        *,
        version: str,
        allow_private: bool = False,
        allowed_networks: Iterable[str | IPNetwork] = (),
        limits: FetchLimits | None = None,
        max_connections: int = 10,
        resolver: AbstractResolver | None = None,
    ) -> AsyncIterator[FeedFetcher]:
        """A fetcher with its own guarded session, closed on exit."""
        guard = AddressGuard(allow_private, allowed_networks=allowed_networks)
        session = make_session(
            guard, limits=limits, max_connections=max_connections, resolver=resolver
        )
        try:
            yield cls(session, guard=guard, version=version, limits=limits)
        finally:
            await session.close()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        previous_body_hash: str | None = None,
    ) -> FetchResult:
        """Fetch ``url`` with conditional-GET validators from the last poll.

        Raises BlockedAddressError, FetchTimeoutError, ResponseTooLargeError,
        TooManyRedirectsError, HTTPStatusError or FetchError; all carry ``url``.
        """
        started = time.monotonic()
        total = self._limits.total_timeout
        try:
            async with asyncio.timeout(total):
                result = await self._follow(url, etag, last_modified, previous_body_hash, started)
        except TimeoutError:
            raise FetchTimeoutError(
                f"feed {url} did not finish downloading within {_seconds(total)}",
                url=url,
                seconds=total,
            ) from None
        log.debug(
            "fetched %s: %s (HTTP %d, %s bytes) in %.2f s",
            url,
            result.status,
            result.http_status,
            len(result.body) if result.body is not None else "-",
            result.elapsed,
        )
        return result

    def _request_headers(self, etag: str | None, last_modified: str | None) -> dict[str, str]:
        headers = {"User-Agent": self._user_agent, "Accept": ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return headers

    async def _follow(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        previous_body_hash: str | None,
        started: float,
    ) -> FetchResult:
        headers = self._request_headers(etag, last_modified)
        max_redirects = self._limits.max_redirects
        current = self._guard.check_url(url)
        seen = {str(current)}
        permanent: URL | None = None
        all_permanent = True
        for hops in range(max_redirects + 1):
            hop = str(current)
            try:
                async with self._session.get(
                    current, headers=headers, allow_redirects=False
                ) as resp:
                    status = resp.status
                    if status not in REDIRECTS:
                        return await self._finish(
                            resp,
                            url=url,
                            hop=hop,
                            etag=etag,
                            last_modified=last_modified,
                            previous_body_hash=previous_body_hash,
                            permanent=permanent,
                            started=started,
                        )
                    location = resp.headers.get("Location")
            except (aiohttp.ClientError, BlockedAddressError, ValueError) as exc:
                raise _translate(exc, url, hop, self._limits) from exc
            if not location:
                raise HTTPStatusError(
                    f"feed {hop} redirected (HTTP {status}) without saying where to",
                    url=url,
                    status=status,
                )
            try:
                target = current.join(URL(location.strip())).with_fragment(None)
            except (ValueError, TypeError):
                raise FetchError(
                    f"feed {hop} redirected to an invalid URL {location[:200]!r}", url=url
                ) from None
            if hops == max_redirects:
                raise TooManyRedirectsError(
                    f"feed {url} redirected more than {max_redirects} times", url=url
                )
            if str(target) in seen:
                raise TooManyRedirectsError(
                    f"feed {url} redirects in a loop (back to {target})", url=url
                )
            seen.add(str(target))
            # Only an unbroken run of permanent moves from the stored URL means
            # the stored URL itself moved; a temporary hop anywhere before
            # breaks that chain.
            if status in PERMANENT_REDIRECTS and all_permanent:
                permanent = target
            else:
                all_permanent = False
            log.debug("feed %s: HTTP %d redirect to %s", url, status, target)
            try:
                current = self._guard.check_url(target)
            except BlockedAddressError as exc:
                raise _refused(exc, url, exc.url) from None
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def _finish(
        self,
        resp: aiohttp.ClientResponse,
        *,
        url: str,
        hop: str,
        etag: str | None,
        last_modified: str | None,
        previous_body_hash: str | None,
        permanent: URL | None,
        started: float,
    ) -> FetchResult:
        status = resp.status
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        where = "" if hop == url else f" (at {hop})"
        if status == 304:
            if not etag and not last_modified:
                raise HTTPStatusError(
                    f"feed {url} returned HTTP 304 to a request that was not conditional{where}",
                    url=url,
                    status=status,
                )
            return FetchResult(
                status=FetchStatus.NOT_MODIFIED,
                url=url,
                final_url=hop,
                http_status=status,
                headers=_feed_headers(resp),
                permanent_redirect_url=str(permanent) if permanent else None,
                etag=resp.headers.get("ETag") or etag,
                last_modified=resp.headers.get("Last-Modified") or last_modified,
                body_hash=previous_body_hash,
                max_age=parse_max_age(resp.headers.get("Cache-Control"), resp.headers.get("Age")),
                retry_after=retry_after,
                elapsed=time.monotonic() - started,
            )
        if not 200 <= status < 300:
            wait = f" (retry after {_seconds(retry_after)})" if retry_after is not None else ""
            raise HTTPStatusError(
                f"feed {url} returned HTTP {status}{where}{wait}",
                url=url,
                status=status,
                retry_after=retry_after,
            )
        body = await self._read_body(resp, url=url)
        body_hash = hashlib.sha256(body).hexdigest()
        unchanged = previous_body_hash is not None and body_hash == previous_body_hash
        return FetchResult(
            status=FetchStatus.UNCHANGED if unchanged else FetchStatus.OK,
            url=url,
            final_url=hop,
            http_status=status,
            body=None if unchanged else body,
            headers=_feed_headers(resp),
            permanent_redirect_url=str(permanent) if permanent else None,
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
            body_hash=body_hash,
            max_age=parse_max_age(resp.headers.get("Cache-Control"), resp.headers.get("Age")),
            retry_after=retry_after,
            elapsed=time.monotonic() - started,
        )

    async def _read_body(self, resp: aiohttp.ClientResponse, *, url: str) -> bytes:
        limit = self._limits.max_bytes
        declared = resp.content_length
        if declared is not None and declared > limit:
            resp.close()
            raise ResponseTooLargeError(
                f"feed {url} is {_mb(declared)}, over the {_mb(limit)} limit",
                url=url,
                limit=limit,
            )
        # aiohttp inflates gzip/deflate/br incrementally, at most a buffer's worth
        # ahead of this loop, so a compression bomb stops here at the cap rather
        # than being inflated in full.
        body = bytearray()
        async for chunk in resp.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > limit:
                resp.close()
                raise ResponseTooLargeError(
                    f"feed {url} is larger than the {_mb(limit)} limit",
                    url=url,
                    limit=limit,
                )
        return bytes(body)


def _feed_headers(resp: aiohttp.ClientResponse) -> dict[str, str]:
    return {name: resp.headers[name] for name in FEED_HEADERS if name in resp.headers}


def _translate(exc: Exception, url: str, hop: str, limits: FetchLimits) -> FetchError:
    """Turn a transport error into a LaunchWatch error about feed ``url``.

    The message names the redirect hop that failed when it is not ``url``.
    """
    if isinstance(exc, BlockedAddressError):
        return _refused(exc, url, hop)
    subject = f"feed {url}" if hop == url else f"feed {url} (redirected to {hop})"
    host = URL(hop).host or hop
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        seconds = limits.connect_timeout
        return FetchTimeoutError(
            f"{subject}: could not connect to {host} within {_seconds(seconds)}",
            url=url,
            seconds=seconds,
        )
    if isinstance(exc, aiohttp.ServerTimeoutError):
        seconds = limits.read_timeout
        return FetchTimeoutError(
            f"{subject}: the server sent nothing for {_seconds(seconds)}", url=url, seconds=seconds
        )
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return FetchError(f"{subject}: host {host} could not be found (DNS)", url=url)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return FetchError(
            f"{subject}: the TLS certificate of {host} is not valid ({exc.certificate_error})",
            url=url,
        )
    if isinstance(exc, aiohttp.ClientSSLError):
        return FetchError(f"{subject}: TLS handshake with {host} failed", url=url)
    if isinstance(exc, aiohttp.ClientConnectorError):
        errno = exc.os_error.errno
        # asyncio's strerror reads "Connect call failed (...)"; the errno says it plainly.
        reason = os.strerror(errno) if errno else str(exc.os_error) or "connection failed"
        return FetchError(f"{subject}: could not connect to {host} ({reason})", url=url)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return FetchError(f"{subject}: the server closed the connection early", url=url)
    if isinstance(exc, aiohttp.ClientPayloadError):
        if "encoding" in str(exc).lower():
            return FetchError(f"{subject}: the body could not be decompressed", url=url)
        return FetchError(f"{subject}: the download broke off before the end", url=url)
    if isinstance(exc, aiohttp.ClientResponseError):
        return FetchError(
            f"{subject}: the server sent an invalid HTTP response ({exc.message})", url=url
        )
    if isinstance(exc, aiohttp.InvalidURL | ValueError):
        return FetchError(f"{subject}: not a valid URL", url=url)
    return FetchError(f"{subject}: could not be fetched ({type(exc).__name__}: {exc})", url=url)


def _refused(exc: BlockedAddressError, url: str, hop: str) -> BlockedAddressError:
    """Re-word a guard refusal (which may come from deep in the resolver) for feed ``url``."""
    where = hop if hop == url else f"{hop} (redirect from feed {url})"
    return BlockedAddressError(
        f"refused {where}: {exc.reason}",
        url=url,
        host=exc.host,
        address=exc.address,
        reason=exc.reason,
    )
