"""A churning feed can't spam: one story is one source, and edits are debounced.

One launch story is polled 20 times through the real pipeline and storage while a stand-in
for the delivery worker sends every job as soon as it is due (on the test's clock).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from handlers.domain import DeliveryKind
from handlers.events import EDIT_DEBOUNCE
from handlers.fetcher import FeedFetcher
from handlers.pipeline import PipelineConfig
from handlers.ports import PublishOutcome, PublishResult
from storage import Storage
from tests.builders import real_pipeline, subscribe_everything
from tests.feedgen import Item, rss
from tests.feedserver import FeedServer

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
POLL = timedelta(seconds=70)  # a little over the 60 s interval: every poll finds it due
OLD = [Item("funding", "Satellite startup raises $40 million", "", T0 - timedelta(days=1))]
TITLE = "Falcon 9 set to launch Starlink 10-77 from Cape Canaveral on Friday"


@pytest.fixture
async def setup(database_target):
    async with (
        FeedServer() as server,
        Storage.open(database_target) as store,
        FeedFetcher.open(version="test", allow_private=True) as fetcher,
    ):
        await subscribe_everything(store, 100, T0)
        await store.feeds.add(server.url("/feed"), T0, guild_id=1)
        server.route("/feed", body=rss(OLD))
        pipeline = real_pipeline(store, fetcher, PipelineConfig(poll_interval=60))
        await pipeline.run_due(T0)  # the silent first poll
        yield server, store, pipeline


async def _deliver_due(store, now: datetime, sent: list[tuple[datetime, DeliveryKind]]) -> None:
    """What the delivery worker would do at ``now``: send every due job."""
    for job in await store.outbox.claim("discord", now, 100):
        sent.append((now, job.kind))
        await store.outbox.complete(job, PublishResult(PublishOutcome.SENT, message_id=7), now)


async def _poll(server, store, pipeline, polls: int, items, sent) -> datetime:
    now = T0
    for n in range(1, polls + 1):
        now = T0 + n * POLL
        server.route("/feed", body=rss([*items(n, now), *OLD]))
        await pipeline.run_due(now)
        await _deliver_due(store, now, sent)
    return now


async def test_a_guid_that_changes_every_poll_adds_nothing(setup):
    server, store, pipeline = setup
    sent: list[tuple[datetime, DeliveryKind]] = []

    def churned(n: int, now: datetime) -> list[Item]:
        return [Item(f"guid-{n}", TITLE, "Weather is 90 % go.", T0 + POLL)]

    await _poll(server, store, pipeline, 20, churned, sent)
    [event] = await store.events.recent(limit=5, scope=1)
    assert len(event.sources) == 1, event.sources
    assert [kind for _, kind in sent] == [DeliveryKind.POST], sent


async def test_new_sources_edit_at_most_once_per_window_and_a_status_change_at_once(setup):
    server, store, pipeline = setup
    sent: list[tuple[datetime, DeliveryKind]] = []

    def more_coverage(n: int, now: datetime) -> list[Item]:
        # A new site's story about the same launch on every poll.
        return [Item(f"s{k}", f"{TITLE} (report {k})", "", T0 + k * POLL) for k in range(1, n + 1)]

    last = await _poll(server, store, pipeline, 20, more_coverage, sent)
    edits = [at for at, kind in sent if kind is DeliveryKind.EDIT]
    assert edits, "new sources do reach the message"
    assert all(b - a >= EDIT_DEBOUNCE for a, b in itertools.pairwise(edits)), edits
    assert len(edits) <= (last - T0) / EDIT_DEBOUNCE + 1

    # Then the launch happens: the status change is sent at once, not held back.
    launched = T0 + 21 * POLL
    server.route(
        "/feed",
        body=rss(
            [
                Item(
                    "liftoff", "Falcon 9 launches Starlink 10-77 from Cape Canaveral", "", launched
                ),
                *more_coverage(20, launched),
                *OLD,
            ]
        ),
    )
    await pipeline.run_due(launched)
    before = len(sent)
    await _deliver_due(store, launched, sent)
    assert DeliveryKind.EDIT in [kind for _, kind in sent[before:]]
    assert DeliveryKind.FOLLOWUP in [kind for _, kind in sent[before:]]
