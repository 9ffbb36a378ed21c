"""Group matched articles into launch events in memory (``scan`` and evaluation).

The same :func:`handlers.events.resolve` the pipeline uses, with an in-memory store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

from handlers.domain import Article, LaunchEvent, LaunchMention
from handlers.events import is_nameless_key, provider_of, resolve, vehicle_of_key


def group_mentions(
    matches: Iterable[tuple[Article, LaunchMention]], now: datetime
) -> list[LaunchEvent]:
    """Resolve mentions oldest article first; return the events, newest activity first."""
    events_by_id: dict[int, LaunchEvent] = {}
    next_id = 1
    ordered = sorted(matches, key=lambda pair: pair[0].published or now)
    for article, mention in ordered:
        candidates = [e for e in events_by_id.values() if _candidate(mention, e)]
        change = resolve(mention, article, candidates, now)
        if change.is_new:
            event = dataclasses.replace(change.event, id=next_id)
            next_id += 1
            events_by_id[event.id] = event
        elif change.changed:
            events_by_id[change.event.id] = change.event
    events = list(events_by_id.values())
    return sorted(events, key=lambda e: e.history[-1].at if e.history else e.updated, reverse=True)


def _candidate(mention: LaunchMention, event: LaunchEvent) -> bool:
    """What the store's ``event_candidates`` returns: the same vehicle, the same named
    flight under any vehicle, or for a report naming neither, crewed events (when it has
    people aboard) and the events of the providers it names."""
    key, other = mention.event_key, event.key
    if is_nameless_key(key) and (
        (mention.crewed and event.crewed) or provider_of(event) in mention.agencies
    ):
        return True
    if vehicle_of_key(key) == vehicle_of_key(other):
        return True
    parts, others = key.split("|"), other.split("|")
    return len(parts) == len(others) == 2 and parts[1] == others[1]
