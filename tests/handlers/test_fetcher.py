"""FeedFetcher against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import socket
import struct
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web

from handlers.errors import (
    BlockedAddressError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    ResponseTooLargeError,
    TooManyRedirectsError,
)
from handlers.fetcher import (
    FeedFetcher,
    Fetcher,
    FetchLimits,
    FetchResult,
    FetchStatus,
    make_session,
    parse_max_age,
    parse_retry_after,
)
from handlers.netguard import ALLOW_PRIVATE_HINT, AddressGuard
from handlers.parser import parse_feed
from tests.feedserver import FeedServer, StaticResolver

RSS = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<rss version="2.0"><channel><title>Test feed</title><link>https://example.com/</link>'
    b"<item><title>Falcon 9 launches</title><link>https://example.com/1</link>"
    b"<guid>item-1</guid></item></channel></rss>"
)
LAST_MODIFIED = "Tue, 05 Mar 2024 14:30:00 GMT"
# Deadlines no healthy local fetch reaches however busy the machine is; the deadline tests
# set their own, shorter than anything the server could do.
FAST = FetchLimits(total_timeout=60.0, connect_timeout=30.0, read_timeout=30.0, max_bytes=64 * 1024)


@pytest.fixture
async def srv() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


@pytest.fixture
async def fetcher() -> AsyncIterator[FeedFetcher]:
    async with FeedFetcher.open(version="1.2.3", allow_private=True, limits=FAST) as f:
        yield f


def gzip_zeros(
    total: int, *, block: int = 1 << 20, per_write: int = 64
) -> Callable[[], Iterator[bytes]]:
    """A gzip stream of ``total`` zero bytes, produced lazily and cheaply.

    After a full flush deflate restarts from a clean state, so every 1 MiB block
    of zeros compresses to the same ~1 KB: the stream is that block repeated,
    and a 100 GB bomb costs nothing until someone reads it.
    """
    zeros = bytes(block)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    repeat = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    blocks = total // block

    def generate() -> Iterator[bytes]:
        yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + first
        left = blocks - 1
        while left > 0:
            n = min(per_write, left)
            yield repeat * n
            left -= n
        crc = 0
        for _ in range(blocks):
            crc = zlib.crc32(zeros, crc)
        yield b"\x03\x00" + struct.pack("<II", crc, total & 0xFFFFFFFF)

    return generate


def test_gzip_zeros_helper_is_valid_gzip() -> None:
    data = b"".join(gzip_zeros(4 << 20)())
    assert len(data) < 8 * 1024
    assert gzip.decompress(data) == bytes(4 << 20)


# ------------------------------------------------------------------ happy path


async def test_200_then_304_sends_validators_back(srv: FeedServer, fetcher: FeedFetcher) -> None:
    srv.route("/feed", body=RSS, etag='W/"v1"', last_modified=LAST_MODIFIED)

    first = await fetcher.fetch(
        srv.url("/feed"), etag=None, last_modified=None, previous_body_hash=None
    )
    assert first.status is FetchStatus.OK
    assert first.body == RSS
    assert first.etag == 'W/"v1"'
    assert first.last_modified == LAST_MODIFIED
    assert first.final_url == srv.url("/feed")
    assert first.http_status == 200
    assert first.permanent_redirect_url is None
    assert first.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert first.elapsed > 0
    assert "If-None-Match" not in srv.last("/feed").headers

    second = await fetcher.fetch(
        srv.url("/feed"),
        etag=first.etag,
        last_modified=first.last_modified,
        previous_body_hash=first.body_hash,
    )
    assert second.status is FetchStatus.NOT_MODIFIED
    assert second.status.value == "not_modified"
    assert second.body is None
    assert second.http_status == 304
    assert second.etag == 'W/"v1"'
    assert second.last_modified == LAST_MODIFIED
    assert second.body_hash == first.body_hash
    sent = srv.last("/feed").headers
    assert sent["If-None-Match"] == 'W/"v1"'
    assert sent["If-Modified-Since"] == LAST_MODIFIED


async def test_304_without_validators_keeps_the_stored_ones(
    srv: FeedServer, fetcher: FeedFetcher
) -> None:
    async def bare_304(request: web.Request) -> web.StreamResponse:
        return web.Response(status=304)

    srv.route("/feed", handler=bare_304)
    result = await fetcher.fetch(
        srv.url("/feed"), etag='"old"', last_modified=LAST_MODIFIED, previous_body_hash="abc"
    )
    assert result.status is FetchStatus.NOT_MODIFIED
    assert (result.etag, result.last_modified, result.body_hash) == ('"old"', LAST_MODIFIED, "abc")


async def test_304_to_an_unconditional_request_is_an_error(
    srv: FeedServer, fetcher: FeedFetcher
) -> None:
    srv.route("/feed", status=304)
    with pytest.raises(HTTPStatusError, match="not conditional"):
        await fetcher.fetch(srv.url("/feed"))


async def test_same_body_is_unchanged(srv: FeedServer, fetcher: FeedFetcher) -> None:
    srv.route("/feed", body=RSS)
    first = await fetcher.fetch(srv.url("/feed"))
    again = await fetcher.fetch(srv.url("/feed"), previous_body_hash=first.body_hash)
    assert again.status is FetchStatus.UNCHANGED
    assert again.body is None
    assert again.body_hash == first.body_hash

    srv.route("/feed", body=RSS.replace(b"Falcon 9", b"Falcon Heavy"))
    changed = await fetcher.fetch(srv.url("/feed"), previous_body_hash=first.body_hash)
    assert changed.status is FetchStatus.OK
    assert changed.body_hash != first.body_hash


async def test_honest_user_agent_and_feed_accept_header(
    srv: FeedServer, fetcher: FeedFetcher
) -> None:
    srv.route("/feed", body=RSS)
    await fetcher.fetch(srv.url("/feed"))
    headers = srv.last("/feed").headers
    assert headers["User-Agent"] == (
        "LaunchWatch/1.2.3 (+https://github.com/launchwatch/launchwatch)"
    )
    assert "application/rss+xml" in headers["Accept"]
    assert "application/atom+xml" in headers["Accept"]
    assert "gzip" in headers["Accept-Encoding"]
    assert "Cookie" not in headers


async def test_cache_control_max_age_minus_age(srv: FeedServer, fetcher: FeedFetcher) -> None:
    srv.route("/feed", body=RSS, headers={"Cache-Control": "public, max-age=600", "Age": "100"})
    assert (await fetcher.fetch(srv.url("/feed"))).max_age == 500
    srv.route("/nc", body=RSS, headers={"Cache-Control": "no-cache, max-age=600"})
    assert (await fetcher.fetch(srv.url("/nc"))).max_age is None
    srv.route("/none", body=RSS)
    assert (await fetcher.fetch(srv.url("/none"))).max_age is None


async def test_wrong_content_type_is_still_parsed_by_the_caller(
    srv: FeedServer, fetcher: FeedFetcher
) -> None:
    srv.route("/feed", body=RSS, headers={"Content-Type": "text/html; charset=utf-8"})
    result = await fetcher.fetch(srv.url("/feed"))
    assert result.body is not None
    parsed = parse_feed(result.body, result.headers, feed_url=result.final_url)
    assert [a.title for a in parsed.articles] == ["Falcon 9 launches"]


async def test_gzip_body_is_decompressed(srv: FeedServer, fetcher: FeedFetcher) -> None:
    srv.route("/feed", body=gzip.compress(RSS), headers={"Content-Encoding": "gzip"})
    result = await fetcher.fetch(srv.url("/feed"))
    assert result.body == RSS


async def test_deflate_body_is_decompressed(srv: FeedServer, fetcher: FeedFetcher) -> None:
    srv.route("/feed", body=zlib.compress(RSS), headers={"Content-Encoding": "deflate"})
    assert (await fetcher.fetch(srv.url("/feed"))).body == RSS


async def test_corrupt_gzip_is_a_fetch_error(srv: FeedServer, fetcher: FeedFetcher) -> None:
    srv.route("/feed", body=b"this is not gzip" * 10, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="could not be decompressed"):
        await fetcher.fetch(srv.url("/feed"))


async def test_truncated_body_is_a_fetch_error(srv: FeedServer, fetcher: FeedFetcher) -> None:
    async def hang_up(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": "1000"})
        await resp.prepare(request)
        await resp.write(b"<rss>")
        assert request.transport is not None
        request.transport.close()
        return resp

    srv.route("/feed", handler=hang_up)
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(srv.url("/feed"))
    assert str(info.value) == f"feed {srv.url('/feed')}: the download broke off before the end"


def test_feed_fetcher_satisfies_the_fetcher_protocol() -> None:
    class FakeFetcher:
        async def fetch(
            self,
            url: str,
            *,
            etag: str | None,
            last_modified: str | None,
            previous_body_hash: str | None,
        ) -> FetchResult:
            return FetchResult(FetchStatus.OK, url, url, 200, body=b"")

    fake: Fetcher = FakeFetcher()
    assert isinstance(fake, Fetcher)
    session_less = FeedFetcher.__new__(FeedFetcher)
    assert isinstance(session_less, Fetcher)


async def test_fetcher_does_not_close_a_session_it_was_given(srv: FeedServer) -> None:
    srv.route("/feed", body=RSS)
    guard = AddressGuard(allow_private=True)
    session = make_session(guard, limits=FAST)
    try:
        fetcher = FeedFetcher(session, guard=guard, version="0", limits=FAST)
        assert (await fetcher.fetch(srv.url("/feed"))).body == RSS
        assert not session.closed
    finally:
        await session.close()

    async with FeedFetcher.open(version="0", allow_private=True) as owned:
        inner = owned.session
        assert owned.limits == FetchLimits()
    assert inner.closed


# ---------------------------------------------------------------- HTTP errors


async def test_500_is_an_http_status_error(srv: FeedServer, fetcher: FeedFetcher) -> None:
    srv.route("/feed", status=500, body=b"oops")
    with pytest.raises(HTTPStatusError) as info:
        await fetcher.fetch(srv.url("/feed"))
    assert str(info.value) == f"feed {srv.url('/feed')} returned HTTP 500"
    assert info.value.status == 500
    assert info.value.retry_after is None
    assert info.value.url == srv.url("/feed")


async def test_429_with_retry_after_seconds(srv: FeedServer, fetcher: FeedFetcher) -> None:
    srv.route("/feed", status=429, headers={"Retry-After": "120"})
    with pytest.raises(HTTPStatusError) as info:
        await fetcher.fetch(srv.url("/feed"))
    assert info.value.status == 429
    assert info.value.retry_after == 120
    assert str(info.value) == f"feed {srv.url('/feed')} returned HTTP 429 (retry after 120 s)"


async def test_503_with_retry_after_http_date(srv: FeedServer, fetcher: FeedFetcher) -> None:
    when = datetime.now(UTC) + timedelta(seconds=300)
    srv.route("/feed", status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    with pytest.raises(HTTPStatusError) as info:
        await fetcher.fetch(srv.url("/feed"))
    assert info.value.status == 503
    assert info.value.retry_after is not None
    assert 295 <= info.value.retry_after <= 301


async def test_error_after_redirect_names_both_urls(srv: FeedServer, fetcher: FeedFetcher) -> None:
    srv.redirect("/old", "/gone")
    srv.route("/gone", status=404)
    with pytest.raises(HTTPStatusError) as info:
        await fetcher.fetch(srv.url("/old"))
    assert str(info.value) == (f"feed {srv.url('/old')} returned HTTP 404 (at {srv.url('/gone')})")
    assert info.value.url == srv.url("/old")


async def test_connection_refused_is_explained(fetcher: FeedFetcher) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed"
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(url)
    assert str(info.value) == f"feed {url}: could not connect to 127.0.0.1 (Connection refused)"


async def test_unknown_host_is_explained(srv: FeedServer) -> None:
    resolver = StaticResolver({})
    async with FeedFetcher.open(version="0", limits=FAST, resolver=resolver) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch("http://no-such-host.test/feed")
    assert str(info.value) == (
        "feed http://no-such-host.test/feed: host no-such-host.test could not be found (DNS)"
    )


# ------------------------------------------------------------------ timeouts


async def test_slow_response_hits_the_total_deadline(srv: FeedServer) -> None:
    # The server never answers, and the total deadline is the shortest: it must fire.
    srv.route("/feed", body=RSS, delay=3600)
    limits = FetchLimits(total_timeout=0.5, connect_timeout=60, read_timeout=60)
    async with FeedFetcher.open(version="0", allow_private=True, limits=limits) as fetcher:
        with pytest.raises(FetchTimeoutError) as info:
            await fetcher.fetch(srv.url("/feed"))
    assert str(info.value) == f"feed {srv.url('/feed')} did not finish downloading within 0.5 s"
    assert info.value.seconds == 0.5


async def test_slow_drip_is_cut_by_the_total_deadline(srv: FeedServer) -> None:
    # One byte every 50 ms (the body takes over 10 s) never trips a read-gap timeout;
    # only the deadline stops it.
    assert len(RSS) * 0.05 > 10
    srv.route("/feed", body=RSS, drip=0.05)
    limits = FetchLimits(total_timeout=0.5, connect_timeout=60, read_timeout=60)
    async with FeedFetcher.open(version="0", allow_private=True, limits=limits) as fetcher:
        with pytest.raises(FetchTimeoutError, match=r"did not finish downloading within 0\.5 s"):
            await fetcher.fetch(srv.url("/feed"))
    assert srv.sent("/feed") < len(RSS)


async def test_a_stall_mid_body_hits_the_read_gap_timeout(srv: FeedServer) -> None:
    async def stall(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": str(len(RSS))})
        await resp.prepare(request)
        await resp.write(RSS[:20])
        await asyncio.sleep(3600)  # never sends the rest
        return resp

    srv.route("/feed", handler=stall)
    # The read gap is the shortest deadline by far: it is the one that fires.
    limits = FetchLimits(total_timeout=120, connect_timeout=60, read_timeout=0.3)
    async with FeedFetcher.open(version="0", allow_private=True, limits=limits) as fetcher:
        with pytest.raises(FetchTimeoutError) as info:
            await fetcher.fetch(srv.url("/feed"))
    assert str(info.value) == f"feed {srv.url('/feed')}: the server sent nothing for 0.3 s"


# --------------------------------------------------------------------- size


async def test_too_large_by_content_length(srv: FeedServer) -> None:
    srv.route("/feed", body=b"x" * 4096)
    limits = FetchLimits(max_bytes=1024)
    async with FeedFetcher.open(version="0", allow_private=True, limits=limits) as fetcher:
        with pytest.raises(ResponseTooLargeError) as info:
            await fetcher.fetch(srv.url("/feed"))
    assert str(info.value) == f"feed {srv.url('/feed')} is 4 KB, over the 1 KB limit"
    assert info.value.limit == 1024


async def test_too_large_while_streaming_without_content_length(srv: FeedServer) -> None:
    def endless() -> Iterator[bytes]:
        while True:
            yield b"<item>" + b"x" * 65530

    srv.route("/feed", chunks=endless)
    limits = FetchLimits(max_bytes=256 * 1024, total_timeout=120)
    async with FeedFetcher.open(version="0", allow_private=True, limits=limits) as fetcher:
        with pytest.raises(ResponseTooLargeError, match="larger than the 256 KB limit"):
            await fetcher.fetch(srv.url("/feed"))


async def test_exactly_at_the_cap_is_fine(srv: FeedServer) -> None:
    srv.route("/feed", chunks=lambda: iter([b"a" * 1000, b"b" * 24]))
    limits = FetchLimits(max_bytes=1024)
    async with FeedFetcher.open(version="0", allow_private=True, limits=limits) as fetcher:
        result = await fetcher.fetch(srv.url("/feed"))
    assert result.body is not None
    assert len(result.body) == 1024


async def test_gzip_bomb_is_cut_at_the_cap_with_bounded_memory(srv: FeedServer) -> None:
    total = 100 << 30  # 100 GiB of zeros, about 100 MB gzipped, never materialised
    srv.route("/bomb", chunks=gzip_zeros(total), headers={"Content-Encoding": "gzip"})
    # Deadlines out of reach: the size cap must be what stops it, however slow the machine.
    limits = FetchLimits(total_timeout=300, connect_timeout=60, read_timeout=60)  # 5 MB cap
    async with FeedFetcher.open(version="0", allow_private=True, limits=limits) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError, match="larger than the 5 MB limit"):
                await fetcher.fetch(srv.url("/bomb"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # Server and client share this process, so the peak covers both.
    assert peak < 40 * 1024 * 1024
    # The client stopped reading long before the end of the compressed stream.
    assert srv.sent("/bomb") < 50 * 1024 * 1024


# ---------------------------------------------------------------- redirects


async def test_temporary_then_permanent_redirect_does_not_move_the_feed(
    srv: FeedServer, fetcher: FeedFetcher
) -> None:
    srv.redirect("/a", "/b", status=302)
    srv.redirect("/b", "/feed", status=301)
    srv.route("/feed", body=RSS)
    result = await fetcher.fetch(srv.url("/a"))
    assert result.status is FetchStatus.OK
    assert result.final_url == srv.url("/feed")
    assert result.url == srv.url("/a")
    assert result.permanent_redirect_url is None
    assert [r.path for r in srv.requests] == ["/a", "/b", "/feed"]


async def test_leading_permanent_redirects_move_the_feed(
    srv: FeedServer, fetcher: FeedFetcher
) -> None:
    srv.redirect("/p1", "/p2", status=301)
    srv.redirect("/p2", "/p3", status=308)
    srv.redirect("/p3", "/feed", status=307)
    srv.route("/feed", body=RSS)
    result = await fetcher.fetch(srv.url("/p1"))
    assert result.permanent_redirect_url == srv.url("/p3")
    assert result.final_url == srv.url("/feed")


async def test_single_permanent_redirect(srv: FeedServer, fetcher: FeedFetcher) -> None:
    srv.redirect("/old", "/feed", status=301)
    srv.route("/feed", body=RSS, etag='"x"')
    result = await fetcher.fetch(srv.url("/old"))
    assert result.permanent_redirect_url == srv.url("/feed")
    again = await fetcher.fetch(srv.url("/old"), etag='"x"')
    assert again.status is FetchStatus.NOT_MODIFIED
    assert again.permanent_redirect_url == srv.url("/feed")


async def test_relative_location_and_303(srv: FeedServer, fetcher: FeedFetcher) -> None:
    srv.redirect("/dir/a", "b?x=1#frag", status=303)
    srv.redirect("/dir/b", "../feed", status=302)
    srv.route("/feed", body=RSS)
    result = await fetcher.fetch(srv.url("/dir/a"))
    assert result.final_url == srv.url("/feed")
    assert srv.last("/dir/b").query == "x=1"


async def test_redirect_loop(srv: FeedServer, fetcher: FeedFetcher) -> None:
    srv.redirect("/l1", "/l2")
    srv.redirect("/l2", "/l1")
    with pytest.raises(TooManyRedirectsError) as info:
        await fetcher.fetch(srv.url("/l1"))
    assert str(info.value) == (
        f"feed {srv.url('/l1')} redirects in a loop (back to {srv.url('/l1')})"
    )
    assert srv.count("/l1") == 1


async def test_too_many_redirects(srv: FeedServer, fetcher: FeedFetcher) -> None:
    for i in range(7):
        srv.redirect(f"/r{i}", f"/r{i + 1}")
    srv.route("/r7", body=RSS)
    with pytest.raises(TooManyRedirectsError, match="redirected more than 5 times"):
        await fetcher.fetch(srv.url("/r0"))
    assert srv.count("/r6") == 0
    # Exactly the limit is fine.
    result = await fetcher.fetch(srv.url("/r2"))
    assert result.final_url == srv.url("/r7")


async def test_redirect_without_location(srv: FeedServer, fetcher: FeedFetcher) -> None:
    srv.route("/feed", status=302)
    with pytest.raises(HTTPStatusError, match="without saying where to"):
        await fetcher.fetch(srv.url("/feed"))


@pytest.mark.parametrize(
    "target", ["file:///etc/passwd", "ftp://example.com/feed", "gopher://example.com/"]
)
async def test_redirect_to_another_scheme_is_refused(
    srv: FeedServer, fetcher: FeedFetcher, target: str
) -> None:
    srv.redirect("/feed", target)
    with pytest.raises(BlockedAddressError, match="only http and https"):
        await fetcher.fetch(srv.url("/feed"))


# ------------------------------------------------------------------- guard


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "[::1]", "169.254.169.254", "10.0.0.1", "[::ffff:127.0.0.1]"],
)
async def test_guard_refuses_private_hosts_before_connecting(srv: FeedServer, host: str) -> None:
    srv.route("/feed", body=RSS)
    url = f"http://{host}:{srv.port}/feed"
    async with FeedFetcher.open(version="0", limits=FAST) as fetcher:
        # Refused before connecting: an attempt would end in a connect error or a timeout,
        # not in BlockedAddressError, and the local server would see the request.
        with pytest.raises(BlockedAddressError) as info:
            await fetcher.fetch(url)
    assert srv.requests == []
    message = str(info.value)
    assert message.startswith("refused http://")
    assert ALLOW_PRIVATE_HINT in message


async def test_guard_refuses_a_name_resolving_to_loopback_before_connecting(
    srv: FeedServer,
) -> None:
    srv.route("/feed", body=RSS)
    resolver = StaticResolver({"feeds.test": ["127.0.0.1"]})
    async with FeedFetcher.open(version="0", limits=FAST, resolver=resolver) as fetcher:
        with pytest.raises(BlockedAddressError) as info:
            await fetcher.fetch(f"http://feeds.test:{srv.port}/feed")
    assert srv.requests == []
    assert str(info.value) == (
        f"refused http://feeds.test:{srv.port}/feed: host resolves to loopback address "
        f"127.0.0.1 ({ALLOW_PRIVATE_HINT})"
    )


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("http://127.0.0.2:{port}/x", "loopback address 127.0.0.2"),
        ("http://[::1]:{port}/x", "loopback address ::1"),
        ("http://10.0.0.1:{port}/x", "private address 10.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "link-local address 169.254.169.254"),
        ("http://[::ffff:10.0.0.1]:{port}/x", "private address 10.0.0.1"),
        ("http://localhost:{port}/x", "loopback name"),
        ("http://evil.test:{port}/x", "host resolves to private address 192.168.7.7"),
    ],
)
async def test_redirect_to_a_private_address_is_refused(
    srv: FeedServer, target: str, why: str
) -> None:
    # Only the test server's own address is allowed, so the first hop works.
    srv.redirect("/feed", target.format(port=srv.port))
    resolver = StaticResolver({"feeds.test": ["127.0.0.1"], "evil.test": ["192.168.7.7"]})
    async with FeedFetcher.open(
        version="0", limits=FAST, allowed_networks=["127.0.0.1/32"], resolver=resolver
    ) as fetcher:
        url = f"http://feeds.test:{srv.port}/feed"
        with pytest.raises(BlockedAddressError) as info:
            await fetcher.fetch(url)
    assert [r.path for r in srv.requests] == ["/feed"]
    assert srv.requests[0].headers["Host"] == f"feeds.test:{srv.port}"
    message = str(info.value)
    assert why in message
    assert f"(redirect from feed {url})" in message
    assert info.value.url == url


async def test_allowed_network_reaches_the_server(srv: FeedServer) -> None:
    srv.route("/feed", body=RSS)
    async with FeedFetcher.open(
        version="0", limits=FAST, allowed_networks=["127.0.0.1/32"]
    ) as fetcher:
        assert (await fetcher.fetch(srv.url("/feed"))).body == RSS


# ------------------------------------------------------------ header parsing


@pytest.mark.parametrize(
    ("cache_control", "age", "expected"),
    [
        (None, None, None),
        ("", None, None),
        ("max-age=300", None, 300),
        ("public, MAX-AGE=60, must-revalidate", None, 60),
        ('max-age="90"', None, 90),
        ("max-age=300", "400", 0),
        ("max-age=300", "junk", 300),
        ("no-store", None, None),
        ("max-age=300, no-cache", None, None),
        ("max-age=soon", None, None),
        ("max-age=-5", None, None),
        ("s-maxage=100", None, None),
    ],
)
def test_parse_max_age(cache_control: str | None, age: str | None, expected: float | None) -> None:
    assert parse_max_age(cache_control, age) == expected


NOW = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120),
        (" 0 ", 0),
        ("Tue, 05 Mar 2024 12:02:00 GMT", 120),
        ("Tuesday, 05-Mar-24 12:01:00 GMT", 60),
        ("Tue, 05 Mar 2024 11:00:00 GMT", 0),
        ("-5", None),
        ("soon", None),
        ("1.5", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected
