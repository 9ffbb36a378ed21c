"""A schedule launch and the news about it are one launch event.

Each launch the schedule lists for the next few days (or that ended in the last hours) is
read like a news mention (:meth:`LaunchMatcher.named_launch`: the same knowledge base, so
"Falcon 9 Block 5 | Starlink Group 12-3" keys as the news's "Starlink 12-3") and resolved
against the stored events by the rules news follows (:func:`handlers.events.resolve`): it
joins the event the news made, or starts the event news later joins; never guessed between
two. Its source is the schedule itself, one per launch, so re-reading it adds no source;
what it changes (an exact NET, Go to Success) edits the alert like any news would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.domain import Article, LaunchEvent, LaunchMention
from handlers.events import SCHEDULE_SITE, resolve, schedule_source
from handlers.matching.matcher import LaunchMatcher
from handlers.ports import IngestStore
from handlers.schedule.launches import NetPrecision, ScheduledLaunch, ScheduleStatus

__all__ = [
    "LINK_AHEAD",
    "LinkReport",
    "link_launches",
    "mention_of",
    "schedule_link",
    "scheduled_id",
]

#: The article key of a schedule record's source: this prefix and the schedule's launch id.
KEY_PREFIX = "schedule:"
#: Launches this close to their NET become events (further out they are schedule, not news).
LINK_AHEAD = timedelta(days=3)
#: A launch that ended this long ago still brings its outcome to its event.
LINK_BEHIND = timedelta(hours=12)
#: Events from the schedule are global (seen by every server), like built-in feeds' events.
SCOPE = 0


@dataclass(frozen=True, slots=True)
class LinkReport:
    """What one pass over the schedule did to the events."""

    created: int = 0
    updated: int = 0
    deliveries: int = 0


def worth_an_event(launch: ScheduledLaunch, now: datetime) -> bool:
    """Near enough and firm enough to alert on: a NET within ``LINK_AHEAD`` known at least
    to the day (not "TBD"), or an outcome of the last hours."""
    if not launch.status.pending:
        return now - LINK_BEHIND <= launch.net <= now + LINK_AHEAD
    if launch.status is ScheduleStatus.TBD or launch.net_precision is NetPrecision.COARSE:
        return False
    return now - LINK_BEHIND <= launch.net <= now + LINK_AHEAD


def mention_of(launch: ScheduledLaunch, matcher: LaunchMatcher) -> LaunchMention:
    """The launch as a mention: names read with the knowledge base, the NET as precise as
    the schedule says (a day stays a day; a week or a month is no launch time)."""
    stated = None
    if launch.net_precision.has_time:
        stated = (launch.net, False)
    elif launch.net_precision is NetPrecision.DAY:
        stated = (launch.net, True)
    place = ", ".join(name for name in (launch.pad, launch.location) if name)
    mention = matcher.named_launch(
        vehicle=launch.vehicle,
        mission=launch.mission,
        place=place or None,
        provider=launch.provider,
        status=launch.status.launch_status,
        stated=stated,
        crewed=launch.crewed,
    )
    return dataclasses.replace(mention, phase=launch.status.value)


def schedule_article(launch: ScheduledLaunch, now: datetime) -> Article:
    """The schedule's record as the source of an event (one per launch)."""
    return Article(
        key=f"{KEY_PREFIX}{launch.id}",
        title=launch.name,
        summary="",
        link=launch.webcasts[0] if launch.webcasts else None,
        published=now,
        source=SCHEDULE_SITE,
    )


async def link_launches(
    store: IngestStore, matcher: LaunchMatcher, launches: Iterable[ScheduledLaunch], now: datetime
) -> LinkReport:
    """Resolve the schedule's near launches into events, in one transaction."""
    created = updated = deliveries = 0
    async with store.ingest() as tx:
        for launch in sorted(launches, key=lambda x: x.net):
            if not worth_an_event(launch, now):
                continue
            mention = mention_of(launch, matcher)
            candidates = await tx.event_candidates(
                mention.event_key, SCOPE, crewed=bool(mention.crewed), agencies=mention.agencies
            )
            change = resolve(mention, schedule_article(launch, now), candidates, now)
            event = change.event
            if change.is_new or change.changed:
                event = await tx.save_event(change, SCOPE, None, now)
                created += change.is_new
                updated += not change.is_new
                deliveries += await tx.enqueue_deliveries(event, change, SCOPE, now)
            if launch.webcast_live and launch.webcasts:
                # Once per launch and channel (the notice's tag is unique per alert).
                deliveries += await tx.enqueue_webcast(event, launch.webcasts[0], now)
    return LinkReport(created, updated, deliveries)


def schedule_link(event: LaunchEvent) -> str | None:
    """The webcast the schedule gave for the event's launch (its source's link), if any."""
    source = schedule_source(event)
    return source.link if source is not None else None


def scheduled_id(event: LaunchEvent) -> str | None:
    """The schedule's id of the event's launch, if the schedule lists it."""
    source = schedule_source(event)
    if source is None or not source.article_key.startswith(KEY_PREFIX):
        return None
    return source.article_key.removeprefix(KEY_PREFIX)
