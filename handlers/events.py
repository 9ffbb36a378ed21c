"""Event resolution: which launch event a mention belongs to, and what it changes.

Pure functions over frozen values; the caller loads candidate events (same key, same scope)
and persists the returned :class:`EventChange`.

Rules:

- A mention joins a candidate with the same key while the candidate is *live*: not yet
  launched/failed and touched within ``UPCOMING_WINDOW`` (previews of a launch that keeps
  slipping stay one event), or launched/failed no more than ``REPORT_WINDOW`` before the
  article (the launch reports of the following days). Otherwise it starts a new event — the
  next Starlink flight with a generic name is a new launch, not an update.
- Status moves forward only: upcoming ⇄ scrubbed while the launch is pending (an older
  article never undoes a newer status), anything → launched/failed, launched → failed
  (a failure found later). A late preview never moves a launched event back to upcoming.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import islice

from handlers.domain import (
    Article,
    LaunchEvent,
    LaunchMention,
    LaunchStatus,
    Notice,
    Source,
    StatusChange,
)
from handlers.parser import canonical_url

UPCOMING_WINDOW = timedelta(days=45)
REPORT_WINDOW = timedelta(days=3)
VAGUE_WINDOW = timedelta(days=3)
UNKNOWN_VEHICLE = "unknown"
_FLIGHT_NUMBER = re.compile(r"flight-\d+")
VAGUE_MISSION = "launch"
MAX_SOURCES = 50
#: The site name of the launch schedule's source on an event (Launch Library 2).
SCHEDULE_SITE = "Launch Library 2"
#: Launch sites side by side that news names for one another.
SPACE_COAST = frozenset({"Cape Canaveral SFS", "Kennedy Space Center"})
# Edits of one alert message that only add sources or details are at least this far apart;
# a status change is sent at once.
EDIT_DEBOUNCE = timedelta(minutes=5)

_RANK = {
    LaunchStatus.UPCOMING: 0,
    LaunchStatus.SCRUBBED: 0,
    LaunchStatus.LAUNCHED: 1,
    LaunchStatus.FAILED: 2,
}


@dataclass(frozen=True, slots=True)
class EventChange:
    """What one mention does to the event store.

    ``event.id`` is 0 for a new event. ``changed`` means a reader would see a difference
    (the message should be edited); ``status_changed`` means the status moved and
    subscribers deserve a notification.
    """

    event: LaunchEvent
    is_new: bool
    changed: bool
    status_changed: bool
    previous_status: LaunchStatus | None = None
    #: The status notices this change is news for, each with its one-of-a-kind tag
    #: (``"launched"``, ``"go"``, ``"time@<launch time>"`` ...): a channel gets each once.
    notices: tuple[tuple[Notice, str], ...] = ()


def article_time(article: Article, now: datetime) -> datetime:
    """When the article speaks from: its date, or when we saw it if it has none."""
    if article.published is None or article.published > now:
        return now
    return article.published


def pick_candidate(
    mention: LaunchMention, at: datetime, candidates: Sequence[LaunchEvent]
) -> LaunchEvent | None:
    """The live event ``mention`` belongs to, if any.

    A report naming neither rocket nor mission joins nothing ("China launches a satellite"
    and "Japan launches a lander" on one day share only the day) unless it has people aboard
    and one crewed launch is live. Otherwise same key first.
    Failing that, a *vague* report ("SLS rolled back", no mission named) joins
    the one live event of the same vehicle, and a specific report joins a live vague event of
    its vehicle — but only when exactly one such event is live, so two Falcon 9 flights in a
    week never merge.
    """
    if is_nameless_key(mention.event_key):
        return _nameless_join(mention, at, candidates)
    ordered = [
        e
        for e in sorted(candidates, key=lambda e: e.updated, reverse=True)
        if same_place(e.site, mention.site)
    ]
    for event in ordered:
        if event.key == mention.event_key and _is_live(event, at, UPCOMING_WINDOW):
            return event
    same_flight = _same_flight(mention.event_key, at, ordered)
    if same_flight is not None:
        return same_flight
    vehicle = vehicle_of_key(mention.event_key)
    if vehicle == UNKNOWN_VEHICLE:
        return None
    kin = (
        _kin(mention, vehicle, at, ordered) if mention.kin else _scheduled_kin(mention, at, ordered)
    )
    if kin is not None:
        return kin
    if not mention.vague_joins:
        return None
    vague = is_vague_key(mention.event_key)
    return _the_one(
        e
        for e in ordered
        if e.key != mention.event_key
        and vehicle_of_key(e.key) == vehicle
        and (vague or is_vague_key(e.key))
        and _is_live(e, at, UPCOMING_WINDOW)
    )


def _nameless_join(
    mention: LaunchMention, at: datetime, candidates: Sequence[LaunchEvent]
) -> LaunchEvent | None:
    """Where a report naming no rocket and no mission belongs. A shared day is all it has in
    common with another such report; people aboard narrow it to the one crewed launch of
    these days, a named provider to the one live launch of that provider's rockets (not for
    a provider flying several times a week: see ``LaunchMention.vague_joins``)."""
    if mention.crewed:
        return _the_one(
            e
            for e in candidates
            if e.crewed and (_is_live(e, at, VAGUE_WINDOW) or _launched_on(e, mention.launch_time))
        )
    if not mention.vague_joins:
        return None
    return _the_one(
        e
        for e in candidates
        if provider_of(e) in mention.agencies and _is_live(e, at, VAGUE_WINDOW)
    )


def provider_of(event: LaunchEvent) -> str | None:
    """Who flies the event's rocket: the first agency of an event whose rocket is known."""
    return event.agencies[0] if event.vehicle and event.agencies else None


def same_place(a: str | None, b: str | None) -> bool:
    """Two reports may be of one launch as far as their sites tell: one is unknown, they are
    the same, or they are neighbours a report may name for each other (the Cape for a launch
    from Kennedy's pads). Two Starlink launches of one day, one from each coast, differ here."""
    if a is None or b is None or a == b:
        return True
    return a in SPACE_COAST and b in SPACE_COAST


def _launched_on(event: LaunchEvent, day: datetime | None) -> bool:
    """The event launched on the day a later report says its launch was ("... flew to
    space on Friday", in a profile of an astronaut days after)."""
    if day is None or not event.status.is_outcome:
        return False
    return (event.launch_time or _status_since(event)).date() == day.date()


def _the_one(events: Iterable[LaunchEvent]) -> LaunchEvent | None:
    """The event when exactly one qualifies; with two, a report could mean either."""
    found = list(islice(events, 2))
    return found[0] if len(found) == 1 else None


def _kin(
    mention: LaunchMention, vehicle: str, at: datetime, ordered: Sequence[LaunchEvent]
) -> LaunchEvent | None:
    """The one live event of the same family and days: a recurring name ("Cygnus",
    "ViaSat-3") and a numbered flight of it ("NG-24", "ViaSat-3 F3") on the same vehicle,
    the recurring name's date within ``VAGUE_WINDOW`` of the flight's launch time or news.
    Two such events: the report could mean either, so it joins neither. (Families flying
    several times a week never get here: their mentions say ``kin=False``.)"""
    key = mention.event_key
    family = family_of(key)

    def related(event: LaunchEvent) -> bool:
        if family is not None:  # a recurring name: a numbered flight of it
            near = _near(key, event.launch_time, _last_activity(event))
            # or itself, still pending ("to launch" one day, "launches" the next); two
            # launch reports on two days may be two launches
            pending = family_of(event.key) == family and not event.status.is_outcome
            return (_in_family(family, event.key) or pending) and near
        theirs = family_of(event.key)  # a numbered flight: its recurring name's event
        near = _near(event.key, mention.launch_time, at)
        return theirs is not None and _in_family(theirs, key) and near

    return _the_one(
        e
        for e in ordered
        if vehicle_of_key(e.key) == vehicle and _is_live(e, at, VAGUE_WINDOW) and related(e)
    )


def _scheduled_kin(
    mention: LaunchMention, at: datetime, ordered: Sequence[LaunchEvent]
) -> LaunchEvent | None:
    """A recurring name of a family flying several times a week ("SpaceX launches 24
    Starlink satellites") joins a numbered flight of it only where the launch schedule lists
    the flights: the one scheduled flight of the family, its vehicle and site, launching on
    the report's day or the day next to it. Without the schedule such a report could mean
    a flight nobody named, so it stays apart."""
    key = mention.event_key
    family = family_of(key)
    if family is None:
        return None
    vehicle = vehicle_of_key(key)
    return _the_one(
        e
        for e in ordered
        if vehicle_of_key(e.key) == vehicle
        and _in_family(family, e.key)
        and schedule_source(e) is not None
        and _near(key, e.launch_time, within=timedelta(days=1))
        and _is_live(e, at, UPCOMING_WINDOW)
    )


def schedule_source(event: LaunchEvent) -> Source | None:
    """The source the launch schedule gave this event (None: the schedule does not list it)."""
    return next((s for s in event.sources if s.site == SCHEDULE_SITE), None)


def _near(dated_key: str, *times: datetime | None, within: timedelta = VAGUE_WINDOW) -> bool:
    """The date of a recurring-name key is within ``VAGUE_WINDOW`` of one of ``times``."""
    try:
        day = date.fromisoformat(dated_key.split("|")[-1])
    except ValueError:
        return False  # "undated"
    return any(t is not None and abs(t.date() - day) <= within for t in times)


def _same_flight(key: str, at: datetime, ordered: Sequence[LaunchEvent]) -> LaunchEvent | None:
    """One named flight ("Euclid", "NROL-107") reported with and without its rocket
    ("SpaceX launches Euclid" names no rocket): the one live event of that flight."""
    flight = _flight(key)
    if flight is None:
        return None
    return _the_one(
        e
        for e in ordered
        if e.key != key
        and _flight(e.key) == flight
        and UNKNOWN_VEHICLE in (vehicle_of_key(e.key), vehicle_of_key(key))
        and _is_live(e, at, UPCOMING_WINDOW)
    )


def _flight(key: str) -> str | None:
    """The one flight a key names, with or without its rocket ("euclid"), else None."""
    return key.split("|")[1] if is_specific_key(key) or _unknown_flight(key) else None


def _unknown_flight(key: str) -> bool:
    """A named flight whose rocket the report did not name ("unknown|euclid")."""
    parts = key.split("|")
    return (
        len(parts) == 2
        and parts[0] == UNKNOWN_VEHICLE
        and parts[1] != VAGUE_MISSION
        and _FLIGHT_NUMBER.fullmatch(parts[1]) is None
    )


def family_of(key: str) -> str | None:
    """The recurring name of a dated key ("falcon-9|starlink|2026-03-01" -> "starlink")."""
    parts = key.split("|")
    return parts[1] if len(parts) == 3 and not is_vague_key(key) else None


def is_specific_key(key: str) -> bool:
    """A key naming one flight: vehicle and a numbered or unique mission, no date."""
    return len(key.split("|")) == 2 and not is_vague_key(key)


def _in_family(family: str, key: str) -> bool:
    mission = key.split("|")[1] if is_specific_key(key) else None
    return mission is not None and (mission == family or mission.startswith(family + "-"))


def vehicle_of_key(key: str) -> str:
    """The vehicle part of an event key (see :mod:`handlers.matching.matcher`)."""
    return key.split("|", 1)[0]


def is_vague_key(key: str) -> bool:
    """True for keys of reports that name no mission or no vehicle ("Flight 3" names no
    mission: the payload's name is the flight's other name)."""
    parts = key.split("|")
    return parts[0] == UNKNOWN_VEHICLE or (
        len(parts) > 1
        and (parts[1] == VAGUE_MISSION or _FLIGHT_NUMBER.fullmatch(parts[1]) is not None)
    )


def is_nameless_key(key: str) -> bool:
    """True for keys of reports that name neither a vehicle nor a mission."""
    parts = key.split("|")
    return parts[0] == UNKNOWN_VEHICLE and len(parts) > 1 and parts[1] == VAGUE_MISSION


def _is_live(event: LaunchEvent, at: datetime, window: timedelta) -> bool:
    if event.status.is_outcome:
        return at - _status_since(event) <= min(window, REPORT_WINDOW)
    return at - _last_activity(event) <= window


def resolve(
    mention: LaunchMention,
    article: Article,
    candidates: Sequence[LaunchEvent],
    now: datetime,
) -> EventChange:
    """Decide how ``mention`` (read from ``article``) changes the events it may belong to."""
    at = article_time(article, now)
    source = Source(
        article_key=article.key,
        title=article.title,
        link=article.link,
        site=article.source,
        published=article.published,
    )
    existing = pick_candidate(mention, at, candidates)
    if existing is None:
        return EventChange(
            event=_new_event(mention, article, source, now),
            is_new=True,
            changed=True,
            status_changed=False,
        )
    return _merge(existing, mention, source, at, now)


def _new_event(
    mention: LaunchMention, article: Article, source: Source, now: datetime
) -> LaunchEvent:
    return LaunchEvent(
        id=0,
        key=mention.event_key,
        status=mention.status,
        vehicle=mention.vehicle,
        mission=mention.mission,
        site=mention.site,
        crewed=mention.crewed,
        agencies=mention.agencies,
        launch_time=mention.launch_time,
        launch_day_only=mention.launch_day_only and mention.launch_time is not None,
        phase=mention.phase,
        summary=article.summary,
        first_seen=now,
        updated=now,
        revision=1,
        sources=(source,),
        history=(StatusChange(mention.status, article_time(article, now), article.key),),
    )


def next_status(
    current: LaunchStatus, current_since: datetime, proposed: LaunchStatus, at: datetime
) -> LaunchStatus:
    """The status after a mention proposing ``proposed`` written at ``at``."""
    if proposed == current:
        return current
    if _RANK[proposed] > _RANK[current]:
        return proposed
    if _RANK[proposed] < _RANK[current]:
        return current
    # upcoming ⇄ scrubbed: only news newer than the current status moves it.
    return proposed if at > current_since else current


def _merge(
    event: LaunchEvent, mention: LaunchMention, source: Source, at: datetime, now: datetime
) -> EventChange:
    status = next_status(event.status, _status_since(event), mention.status, at)
    status_changed = status != event.status
    has_source = any(same_story(s, source) for s in event.sources)
    sources = event.sources
    if not has_source and len(sources) < MAX_SOURCES:
        sources = (*sources, source)
    launch_time, day_only = _launch_time(event, mention, at)
    agencies = event.agencies + tuple(a for a in mention.agencies if a not in event.agencies)
    # A vague or recurring-name event that a report of one flight joins takes that
    # report's key and mission from now on ("Cygnus" becomes "NG-24").
    named = is_specific_key(mention.event_key) and (
        not is_specific_key(event.key) or _unknown_flight(event.key)
    )
    vague_joined = is_vague_key(event.key) and not is_vague_key(mention.event_key)
    key = mention.event_key if named or vague_joined else event.key
    mission = mention.mission if named and mention.mission else event.mission or mention.mission
    merged = dataclasses.replace(
        event,
        key=key,
        status=status,
        vehicle=event.vehicle or mention.vehicle,
        mission=mission,
        site=event.site or mention.site,
        crewed=event.crewed if event.crewed is not None else mention.crewed,
        agencies=agencies,
        launch_time=launch_time,
        launch_day_only=day_only,
        sources=sources,
        phase=mention.phase or event.phase,
    )
    changed = _visible(merged) != _visible(event)
    if status_changed:
        merged = dataclasses.replace(
            merged, history=(*event.history, StatusChange(status, at, source.article_key))
        )
    if changed:
        merged = dataclasses.replace(merged, updated=now, revision=event.revision + 1)
    return EventChange(
        event=merged,
        is_new=False,
        changed=changed,
        status_changed=status_changed,
        previous_status=event.status,
        notices=_notices(event, merged, status_changed),
    )


_STATUS_NOTICE = {
    LaunchStatus.SCRUBBED: Notice.HOLD,
    LaunchStatus.LAUNCHED: Notice.LIFTOFF,
    LaunchStatus.FAILED: Notice.OUTCOME,
}


def _notices(
    before: LaunchEvent, after: LaunchEvent, status_changed: bool
) -> tuple[tuple[Notice, str], ...]:
    """What a merge is news for: a new status, Go from the schedule, success after liftoff,
    a launch time that moved while the launch is pending (not a day made exact)."""
    found: list[tuple[Notice, str]] = []
    if status_changed and after.status in _STATUS_NOTICE:
        found.append((_STATUS_NOTICE[after.status], after.status.value))
    if after.phase != before.phase:
        if after.phase == "Go" and after.status is LaunchStatus.UPCOMING:
            found.append((Notice.GO, "go"))
        if after.phase == "Success" and after.status is LaunchStatus.LAUNCHED:
            found.append((Notice.OUTCOME, "success"))
    old, new = before.launch_time, after.launch_time
    if not after.status.is_outcome and old is not None and new is not None and new != old:
        made_exact = before.launch_day_only and old.date() == new.date()
        if not made_exact:
            found.append((Notice.TIME, f"time@{new.isoformat()}"))
    return tuple(found)


def same_story(a: Source, b: Source) -> bool:
    """Whether two sources are one article: the same key, the same page, or the same title
    from the same site (a feed that gives its items a new GUID on every poll)."""
    if a.article_key == b.article_key:
        return True
    if a.link and b.link and canonical_url(a.link) == canonical_url(b.link):
        return True
    return _story_title(a) == _story_title(b) and a.site.casefold() == b.site.casefold()


def _story_title(source: Source) -> str:
    return " ".join(source.title.casefold().split())


def _visible(event: LaunchEvent) -> tuple[object, ...]:
    return (
        event.key,
        event.status,
        event.vehicle,
        event.mission,
        event.site,
        event.crewed,
        event.agencies,
        event.launch_time,
        event.launch_day_only,
        len(event.sources),
        event.summary,
        event.phase,
    )


def _launch_time(
    event: LaunchEvent, mention: LaunchMention, at: datetime
) -> tuple[datetime | None, bool]:
    """The event's launch time after ``mention``: only as precise as the text, never moved
    by an article older than the event's news, never made less precise by a date alone.

    While the launch is pending, news newer than everything the event has heard sets the
    time (a slip moves it); once launched or failed, only a first time is taken.
    """
    current = (event.launch_time, event.launch_day_only)
    if mention.launch_time is None:
        return current
    proposed = (mention.launch_time, mention.launch_day_only)
    if event.launch_time is None:
        return proposed
    if event.status.is_outcome or at < _last_activity(event):
        return current
    same_day = mention.launch_time.date() == event.launch_time.date()
    if same_day and mention.launch_day_only and not event.launch_day_only:
        return current  # "launches Tuesday" adds nothing to "Tuesday 14:32 UTC"
    return proposed


def _last_activity(event: LaunchEvent) -> datetime:
    times = [s.published for s in event.sources if s.published is not None]
    times.extend(h.at for h in event.history)
    return max(times, default=event.updated)


def _status_since(event: LaunchEvent) -> datetime:
    return event.history[-1].at if event.history else event.first_seen
