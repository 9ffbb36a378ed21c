"""A tiny real HTTP server on 127.0.0.1 for feed tests.

    async with FeedServer() as srv:
        srv.route("/feed", body=RSS, etag='"v1"')
        result = await fetcher.fetch(srv.url("/feed"))
        assert srv.count("/feed") == 1
        assert srv.requests[0].headers["User-Agent"].startswith("LaunchWatch/")

Routes can delay the response, drip the body a byte at a time, stream chunks
from a (possibly endless, lazily generated) iterator, answer conditional
requests with 304, or hand the request to a custom aiohttp handler. Every
request is recorded with its headers.

:class:`StaticResolver` answers DNS from a table, so tests can give the server
host names (``http://feeds.test:PORT/``) without touching real DNS.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDict

__all__ = ["FeedServer", "RecordedRequest", "Route", "StaticResolver", "feed_server"]

Chunks = Iterable[bytes] | AsyncIterable[bytes]
ChunkSource = Chunks | Callable[[], Chunks]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

RSS_TYPE = "application/rss+xml; charset=utf-8"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    query: str
    headers: CIMultiDict[str]


@dataclass
class Route:
    """How one path answers; ``sent`` counts body bytes actually written."""

    body: bytes = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drip: float | None = None
    chunks: ChunkSource | None = None
    etag: str | None = None
    last_modified: str | None = None
    handler: Handler | None = None
    sent: int = 0
    hits: int = 0


class FeedServer:
    """Real aiohttp server bound to an ephemeral port on 127.0.0.1."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.requests: list[RecordedRequest] = []
        self._routes: dict[str, Route] = {}
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # Cancel handlers whose client hung up (a timed-out fetch) and don't wait
        # long for stragglers, so a test never pays for a slow route it abandoned.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str = "/") -> str:
        """Absolute URL of ``path`` on this server."""
        return f"http://{self.host}:{self.port}{path}"

    def route(
        self,
        path: str,
        *,
        body: bytes = b"",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        drip: float | None = None,
        chunks: ChunkSource | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        handler: Handler | None = None,
    ) -> Route:
        """Define (or replace) what ``path`` answers.

        ``delay`` waits before the status line; ``drip`` sends ``body`` one byte
        every ``drip`` seconds; ``chunks`` streams with chunked encoding (pass a
        callable to get a fresh iterator per request); ``etag``/``last_modified``
        are sent and make matching conditional requests get 304.
        """
        merged = {"Content-Type": RSS_TYPE}
        merged.update(headers or {})
        route = Route(
            body=body,
            status=status,
            headers=merged,
            delay=delay,
            drip=drip,
            chunks=chunks,
            etag=etag,
            last_modified=last_modified,
            handler=handler,
        )
        self._routes[path] = route
        return route

    def redirect(self, path: str, to: str, status: int = 302) -> Route:
        """Make ``path`` redirect to ``to`` (a path on this server or any URL)."""
        return self.route(path, status=status, headers={"Location": to})

    def count(self, path: str) -> int:
        """How many requests ``path`` received."""
        return sum(1 for r in self.requests if r.path == path)

    def last(self, path: str) -> RecordedRequest:
        """The most recent request to ``path``."""
        return [r for r in self.requests if r.path == path][-1]

    def sent(self, path: str) -> int:
        """Body bytes written for ``path`` so far."""
        return self._routes[path].sent

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=request.query_string,
                headers=CIMultiDict(request.headers),
            )
        )
        route = self._routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="no such route")
        route.hits += 1
        if route.delay:
            await asyncio.sleep(route.delay)
        if route.handler is not None:
            return await route.handler(request)
        headers = dict(route.headers)
        if route.etag is not None:
            headers["ETag"] = route.etag
        if route.last_modified is not None:
            headers["Last-Modified"] = route.last_modified
        if self._not_modified(route, request):
            headers.pop("Content-Type", None)
            return web.Response(status=304, headers=headers)
        if route.chunks is not None:
            return await self._stream(request, route, headers)
        if route.drip is not None:
            return await self._drip(request, route, headers)
        route.sent += len(route.body)
        return web.Response(status=route.status, body=route.body, headers=headers)

    @staticmethod
    def _not_modified(route: Route, request: web.Request) -> bool:
        if route.etag is not None and request.headers.get("If-None-Match") == route.etag:
            return True
        return (
            route.last_modified is not None
            and request.headers.get("If-Modified-Since") == route.last_modified
        )

    async def _stream(
        self, request: web.Request, route: Route, headers: dict[str, str]
    ) -> web.StreamResponse:
        resp = web.StreamResponse(status=route.status, headers=headers)
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        source = route.chunks
        chunks = source() if callable(source) else source
        # The client hanging up mid-stream is what most streaming tests expect.
        with contextlib.suppress(ConnectionError):
            if isinstance(chunks, AsyncIterable):
                async for chunk in chunks:
                    await resp.write(chunk)
                    route.sent += len(chunk)
            else:
                assert chunks is not None
                for chunk in chunks:
                    await resp.write(chunk)
                    route.sent += len(chunk)
            await resp.write_eof()
        return resp

    async def _drip(
        self, request: web.Request, route: Route, headers: dict[str, str]
    ) -> web.StreamResponse:
        headers["Content-Length"] = str(len(route.body))
        resp = web.StreamResponse(status=route.status, headers=headers)
        await resp.prepare(request)
        assert route.drip is not None
        with contextlib.suppress(ConnectionError):
            for i in range(len(route.body)):
                await resp.write(route.body[i : i + 1])
                route.sent += 1
                await asyncio.sleep(route.drip)
            await resp.write_eof()
        return resp


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A started FeedServer; import this name into a test module (or conftest) to use it."""
    async with FeedServer() as server:
        yield server


class StaticResolver(AbstractResolver):
    """DNS from a table: ``{"feeds.test": ["127.0.0.1"]}``.

    A host may map to a list of answer lists to script successive lookups
    (the last one repeats); unknown hosts fail like NXDOMAIN.
    """

    def __init__(self, table: Mapping[str, list[str] | list[list[str]]]) -> None:
        self._table = {host: _script(answers) for host, answers in table.items()}
        self.calls: list[str] = []
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls.append(host)
        script = self._table.get(host)
        if script is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        addresses = script.pop(0) if len(script) > 1 else script[0]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        self.closed = True


def _script(answers: list[str] | list[list[str]]) -> list[list[str]]:
    if answers and all(isinstance(a, str) for a in answers):
        return [[a for a in answers if isinstance(a, str)]]
    return [list(a) for a in answers if not isinstance(a, str)]
