"""Loading several events at once (the outbox claims jobs for many events in one go)."""

from __future__ import annotations

from handlers.domain import LaunchStatus
from handlers.events import resolve
from tests.builders import T0, article, mention


async def test_get_many_returns_each_event_with_its_sources_and_skips_unknown_ids(store):
    feed, _ = await store.feeds.add("https://news.example/feed", T0)
    ids = []
    for n in range(3):
        async with store.events.ingest() as tx:
            m = mention(LaunchStatus.UPCOMING, key=f"falcon-9|m{n}", mission=f"Mission {n}")
            change = resolve(m, article(f"a{n}"), await tx.event_candidates(m.event_key, 0), T0)
            ids.append((await tx.save_event(change, 0, feed.id, T0)).id)

    events = await store.events.get_many([ids[2], ids[0], ids[2], 999_999])

    assert sorted(events) == sorted([ids[0], ids[2]])
    for event_id in (ids[0], ids[2]):
        assert events[event_id] == await store.events.get(event_id)
    assert [s.article_key for s in events[ids[2]].sources] == ["a2"]
    assert await store.events.get_many([]) == {}
