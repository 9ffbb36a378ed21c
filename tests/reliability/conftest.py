from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.feedserver import FeedServer
from tests.reliability.proc import LaunchWatch, NewsFeeds


@pytest.fixture
async def news() -> AsyncIterator[NewsFeeds]:
    """Three feeds on 127.0.0.1 that a test adds launch stories to."""
    async with FeedServer() as server:
        yield NewsFeeds(server, 3)


@pytest.fixture
async def launchwatch(tmp_path, news: NewsFeeds) -> AsyncIterator[LaunchWatch]:
    """The real ``launchwatch run`` against ``news``; every run is killed at teardown."""
    lw = LaunchWatch(tmp_path, news.urls)
    try:
        yield lw
    finally:
        await lw.stop_all()
