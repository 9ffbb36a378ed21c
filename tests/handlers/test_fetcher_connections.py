"""The fetcher keeps no idle connections: feeds are polled minutes apart."""

from __future__ import annotations

from handlers.fetcher import FeedFetcher
from tests.feedserver import FeedServer


async def test_every_fetch_closes_its_connection():
    async with (
        FeedServer() as server,
        FeedFetcher.open(version="test", allow_private=True) as fetcher,
    ):
        server.route("/a", body=b"<rss/>")
        for _ in range(3):
            await fetcher.fetch(server.url("/a"))
        assert [r.headers.get("Connection") for r in server.requests] == ["close"] * 3
