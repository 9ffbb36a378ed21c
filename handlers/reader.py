"""Fetch, parse, match: the one path every reader of a feed takes.

The poller (:class:`~handlers.pipeline.Pipeline`), ``launchwatch scan`` and ``/feeds
test`` all read feeds through a :class:`FeedReader`, so they share the fetcher's guard
and caps, the parser pool and its budget, and the matcher: what a user tests is what
the bot polls.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from handlers.domain import Article, LaunchMention
from handlers.fetcher import Fetcher, FetchResult, FetchStatus
from handlers.parser import ParsedFeed

__all__ = ["FeedRead", "FeedReader", "Matcher", "ParseFn"]

ParseFn = Callable[[bytes, Mapping[str, str], str, int | None], Awaitable[ParsedFeed]]
"""``(body, headers, url, feed_id) -> ParsedFeed``: a parser pool's ``parse``."""


class Matcher(Protocol):
    """Reads one article and says which launch it is about, if any."""

    def match_article(self, article: Article) -> LaunchMention | None:
        """A launch mention, or None for anything that is not a launch story."""
        ...


@dataclass(frozen=True, slots=True)
class FeedRead:
    """One read of a feed: the download, and its parse when there was a new body."""

    fetched: FetchResult
    parsed: ParsedFeed | None  # None: not modified, or the same body as last time
    parse_seconds: float | None = None

    @property
    def articles(self) -> tuple[Article, ...]:
        """The parsed articles (none when nothing new was downloaded)."""
        return self.parsed.articles if self.parsed is not None else ()


class FeedReader:
    """Fetches a feed, parses it in the parser pool, and finds its launch stories."""

    def __init__(self, fetcher: Fetcher, parse: ParseFn, matcher: Matcher) -> None:
        self.fetcher = fetcher
        self.parse = parse
        self.matcher = matcher

    async def read(
        self,
        url: str,
        *,
        feed_id: int | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        previous_body_hash: str | None = None,
    ) -> FeedRead:
        """Download ``url`` (conditionally, given validators) and parse a new body.

        Raises the fetcher's and the parser's :class:`~handlers.errors.FeedError`\\ s.
        """
        fetched = await self.fetcher.fetch(
            url, etag=etag, last_modified=last_modified, previous_body_hash=previous_body_hash
        )
        if fetched.status is not FetchStatus.OK or fetched.body is None:
            return FeedRead(fetched, None)
        parsed, seconds = await self.parse_body(
            fetched.body, fetched.headers, fetched.final_url, feed_id
        )
        return FeedRead(fetched, parsed, seconds)

    async def parse_body(
        self, body: bytes, headers: Mapping[str, str], url: str, feed_id: int | None = None
    ) -> tuple[ParsedFeed, float]:
        """Parse a body that came from ``url`` (or a file); also return the seconds it took."""
        started = time.monotonic()
        parsed = await self.parse(body, headers, url, feed_id)
        return parsed, time.monotonic() - started

    def launch_stories(self, articles: Iterable[Article]) -> list[tuple[Article, LaunchMention]]:
        """The articles that are launch stories, each with what the matcher read in it."""
        pairs: list[tuple[Article, LaunchMention]] = []
        for article in articles:
            mention = self.matcher.match_article(article)
            if mention is not None:
                pairs.append((article, mention))
        return pairs
