"""Group matched articles into launch events in memory (``scan`` and evaluation).

The same :func:`handlers.events.resolve` the pipeline uses, with an in-memory store.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from handlers.domain import Article, LaunchEvent, LaunchMention
from handlers.events import resolve, vehicle_of_key


def group_mentions(
    matches: Iterable[tuple[Article, LaunchMention]], now: datetime
) -> list[LaunchEvent]:
    """Resolve mentions oldest article first; return the events, newest activity first."""
    by_vehicle: dict[str, list[LaunchEvent]] = defaultdict(list)
    next_id = 1
    ordered = sorted(matches, key=lambda pair: pair[0].published or now)
    for article, mention in ordered:
        candidates = by_vehicle[vehicle_of_key(mention.event_key)]
        change = resolve(mention, article, candidates, now)
        if change.is_new:
            event = dataclasses.replace(change.event, id=next_id)
            next_id += 1
            candidates.append(event)
        elif change.changed:
            candidates[:] = [change.event if e.id == change.event.id else e for e in candidates]
    events = [e for group in by_vehicle.values() for e in group]
    return sorted(events, key=lambda e: e.history[-1].at if e.history else e.updated, reverse=True)
