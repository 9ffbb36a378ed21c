"""Domain values shared by the pipeline, the stores and the edges.

All values are frozen; times are timezone-aware UTC ``datetime`` objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class LaunchStatus(StrEnum):
    """Where a launch stands, as the news tells it."""

    UPCOMING = "upcoming"
    SCRUBBED = "scrubbed"
    LAUNCHED = "launched"
    FAILED = "failed"

    @property
    def is_outcome(self) -> bool:
        """True for statuses that end the story of a launch attempt."""
        return self in (LaunchStatus.LAUNCHED, LaunchStatus.FAILED)


@dataclass(frozen=True, slots=True)
class Article:
    """One news item as read from a feed, with HTML already stripped."""

    key: str
    title: str
    summary: str = ""
    link: str | None = None
    published: datetime | None = None
    source: str = ""
    feed_id: int | None = None


@dataclass(frozen=True, slots=True)
class LaunchMention:
    """What the matcher read about one launch in one article."""

    status: LaunchStatus
    vehicle: str | None
    mission: str | None
    site: str | None
    crewed: bool | None
    agencies: tuple[str, ...]
    launch_time: datetime | None
    event_key: str
    confidence: float
    #: ``launch_time`` stands for its whole UTC day: the text gave a date, no clock time.
    launch_day_only: bool = False
    #: May join the live event of a flight of the same family under its other name
    #: ("Cygnus" and "NG-24")? False for families flying several times a week (Starlink):
    #: a report of one could mean any of them.
    kin: bool = True
    #: The launch schedule's own status for this launch ("Go", "In Flight", "Success" ...);
    #: None in news.
    phase: str | None = None
    #: May a report naming no mission join the one live event of its vehicle (and may a
    #: named flight join such a report's event)? Naming no rocket either: the one live
    #: event of the provider it names. False for rockets and providers flying several times
    #: a week (Falcon 9, SpaceX): "Falcon 9 launches from California" could be any of them.
    vague_joins: bool = True

    @property
    def name(self) -> str:
        """Launch name in the usual ``Vehicle | Mission`` form."""
        return launch_name(self.vehicle, self.mission)


def launch_name(vehicle: str | None, mission: str | None) -> str:
    """Render ``Vehicle | Mission`` with whatever parts are known."""
    parts = [p for p in (vehicle, mission) if p]
    return " | ".join(parts) if parts else "Unknown launch"


@dataclass(frozen=True, slots=True)
class Source:
    """An article linked to a launch event."""

    article_key: str
    title: str
    link: str | None
    site: str
    published: datetime | None


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One step in a launch event's status history."""

    status: LaunchStatus
    at: datetime
    article_key: str | None = None


@dataclass(frozen=True, slots=True)
class LaunchEvent:
    """One real launch, however many articles report it.

    ``revision`` grows every time something a reader would see changes, so a
    delivery knows whether the message it posted is stale.
    """

    id: int
    key: str
    status: LaunchStatus
    vehicle: str | None
    mission: str | None
    site: str | None
    crewed: bool | None
    agencies: tuple[str, ...]
    launch_time: datetime | None
    summary: str
    first_seen: datetime
    updated: datetime
    revision: int = 1
    sources: tuple[Source, ...] = ()
    history: tuple[StatusChange, ...] = ()
    #: ``launch_time`` stands for its whole UTC day (shown as a date, never as 00:00).
    launch_day_only: bool = False
    #: The launch schedule's latest status for this launch (None: the schedule never said).
    phase: str | None = None

    @property
    def name(self) -> str:
        """Launch name in the usual ``Vehicle | Mission`` form."""
        return launch_name(self.vehicle, self.mission)


class FeedState(StrEnum):
    """Health of a feed as shown to users."""

    OK = "ok"
    FAILING = "failing"
    DISABLED = "disabled"
    NEW = "new"


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed LaunchWatch polls, with its HTTP validators and health."""

    id: int
    url: str
    title: str = ""
    enabled: bool = True
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    next_poll_at: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    disabled_reason: str | None = None
    seeded: bool = False
    builtin: bool = True  # the operator's (configured or added by hand), not a server's

    @property
    def scope(self) -> int:
        """Where this feed's launch events live: 0, global, for a built-in feed; else the
        feed's own scope (``-id``), which every server following it sees."""
        return 0 if self.builtin else -self.id

    @property
    def state(self) -> FeedState:
        """Summarise enabled/failure fields into one word."""
        if not self.enabled:
            return FeedState.DISABLED
        if self.consecutive_failures:
            return FeedState.FAILING
        if self.last_success_at is None:
            return FeedState.NEW
        return FeedState.OK


def utc_now() -> datetime:
    """The wall clock, in UTC (code that needs a clock takes it as a parameter)."""
    return datetime.now(UTC)


ALL_STATUSES: frozenset[LaunchStatus] = frozenset(LaunchStatus)


@dataclass(frozen=True, slots=True)
class SubscriptionFilter:
    """Which launch events a subscription wants; empty sets mean "any"."""

    statuses: frozenset[LaunchStatus] = ALL_STATUSES
    vehicles: frozenset[str] = frozenset()
    agencies: frozenset[str] = frozenset()
    sites: frozenset[str] = frozenset()
    crewed_only: bool = False

    def matches(self, event: LaunchEvent) -> bool:
        """True when the event passes every filter (names compare case-insensitively)."""
        if event.status not in self.statuses:
            return False
        if self.crewed_only and not event.crewed:
            return False
        if self.vehicles and not _any_in(self.vehicles, (event.vehicle,)):
            return False
        if self.sites and not _any_in(self.sites, (event.site,)):
            return False
        return not self.agencies or _any_in(self.agencies, event.agencies)


def _any_in(wanted: frozenset[str], have: tuple[str | None, ...]) -> bool:
    folded = {w.casefold() for w in wanted}
    return any(h is not None and h.casefold() in folded for h in have)


class SubscriptionState(StrEnum):
    """Whether deliveries flow to a subscription."""

    ACTIVE = "active"
    BROKEN = "broken"
    PAUSED = "paused"


class Notice(StrEnum):
    """Short replies to a launch's alert that a channel may ask for (``/subscribe notices``)."""

    GO = "go"  # the schedule says Go for launch
    HOLD = "hold"  # on hold, scrubbed or delayed
    LIFTOFF = "liftoff"  # launched: the schedule's In Flight or the first launch report
    OUTCOME = "outcome"  # success (after liftoff) or failure
    TIME = "time"  # the launch time moved
    WEBCAST = "webcast"  # the official webcast went live (from the launch schedule)


#: What a channel gets unless it chooses: the follow-ups LaunchWatch always sent.
DEFAULT_NOTICES = frozenset({Notice.HOLD, Notice.LIFTOFF, Notice.OUTCOME})


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel (or the console, in dry-run) that wants launch alerts."""

    id: int
    target: str
    guild_id: int
    channel_id: int
    filters: SubscriptionFilter = field(default_factory=SubscriptionFilter)
    role_id: int | None = None
    created_by: int | None = None
    state: SubscriptionState = SubscriptionState.ACTIVE
    broken_reason: str | None = None
    #: Reminder lead times in seconds before liftoff, longest first (empty: none).
    reminders: tuple[int, ...] = ()
    #: Which status notices the channel gets as replies to an alert.
    notices: frozenset[Notice] = DEFAULT_NOTICES
    #: Each alert opens a thread where that launch's notices and reminders go.
    threads: bool = False


class DeliveryKind(StrEnum):
    """What a delivery job does on the publisher side."""

    POST = "post"
    EDIT = "edit"
    FOLLOWUP = "followup"
    REMINDER = "reminder"


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """One claimed outbox row, with everything a publisher needs to act on it."""

    id: int
    kind: DeliveryKind
    subscription: Subscription
    event: LaunchEvent
    attempts: int
    nonce: str
    message_id: int | None = None
    posted_revision: int = 0
    #: For a follow-up: what it announces (a status, "go", "success" or "time@<launch time>").
    followup_status: str | None = None
    #: For a reminder: its lead time in seconds before liftoff.
    reminder: int | None = None
    #: The thread opened on the alert (None: none), where notices and reminders go.
    thread_id: int | None = None
