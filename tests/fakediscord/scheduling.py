"""Guild scheduled events and threads started from messages, for :class:`FakeDiscord`.

What it checks, like Discord does:

* scheduled events: the bot needs Manage Events (or Create Events; editing another user's
  event needs Manage Events) in the guild (403 50013); external events need
  ``entity_metadata.location`` (1-100), a ``scheduled_end_time`` after the start and no
  channel; names 1-100, descriptions up to 1000; a start in the past is refused when an
  event is made or moved; at most 100 scheduled or active events per guild (30038); the
  only status changes are scheduled -> active, scheduled -> cancelled and active ->
  completed, and an ended event cannot be edited; unknown events are 404 10070.
* threads: Create Public Threads in the channel (403 50013), one thread per message
  (400 160004), text and announcement channels only (50024), names 1-100, the four archive
  durations; the thread's id is the message's. Sending into an archived thread is 400 50083;
  ``PATCH /channels/{thread}`` with ``archived: false`` unarchives it (a locked one only
  with Manage Threads).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import errors as err
from .errors import FormErrors
from .models import ChannelType, FakeChannel, FakeGuild, Permission, iso, utcnow

if TYPE_CHECKING:
    from .server import ApiRequest, Reply

#: Discord's limit of scheduled + active events per guild.
MAX_GUILD_EVENTS = 100
ENTITY_EXTERNAL = 3
PRIVACY_GUILD_ONLY = 2
SCHEDULED, ACTIVE, COMPLETED, CANCELED = 1, 2, 3, 4
ALLOWED_STEPS = {(SCHEDULED, ACTIVE), (SCHEDULED, CANCELED), (ACTIVE, COMPLETED)}
ARCHIVE_DURATIONS = frozenset({60, 1440, 4320, 10080})


@dataclass
class FakeScheduledEvent:
    """A guild scheduled event (external only)."""

    id: int
    guild_id: int
    creator_id: int
    name: str
    description: str | None
    location: str
    start: datetime
    end: datetime
    status: int = SCHEDULED
    #: Every accepted PATCH body, in order.
    edits: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "guild_id": str(self.guild_id),
            "channel_id": None,
            "creator_id": str(self.creator_id),
            "name": self.name,
            "description": self.description,
            "scheduled_start_time": iso(self.start),
            "scheduled_end_time": iso(self.end),
            "privacy_level": PRIVACY_GUILD_ONLY,
            "status": self.status,
            "entity_type": ENTITY_EXTERNAL,
            "entity_id": None,
            "entity_metadata": {"location": self.location},
            "user_count": 0,
            "image": None,
        }


def _time(errs: FormErrors, body: dict[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        errs.add((name,), "DATE_TIME_TYPE_CONVERT", "Could not parse timestamp.")
        return None
    if when.tzinfo is None:
        errs.add((name,), "DATE_TIME_TYPE_CONVERT", "Timestamp needs a time zone.")
        return None
    return when


def _text(errs: FormErrors, body: dict[str, Any], path: tuple[str, ...], lo: int, hi: int) -> None:
    node: Any = body
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, str) or not lo <= len(node) <= hi:
        errs.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {lo} and {hi} in length.")


class SchedulingMixin:
    """REST handlers mixed into :class:`FakeDiscord` (which provides the attributes)."""

    guilds: dict[int, FakeGuild]
    channels: dict[int, FakeChannel]

    def _init_scheduling(self) -> None:
        #: Scheduled events by id, every guild's.
        self.scheduled_events: dict[int, FakeScheduledEvent] = {}

    # ------------------------------------------------------------------ helpers for tests

    def guild_events(self, guild_id: int) -> list[FakeScheduledEvent]:
        """The guild's scheduled events, oldest first."""
        return sorted(
            (e for e in self.scheduled_events.values() if e.guild_id == guild_id),
            key=lambda e: e.id,
        )

    def add_scheduled_event(self, guild_id: int, name: str) -> FakeScheduledEvent:
        """An event a person made (a week from now), counted against the guild's limit."""
        start = utcnow() + timedelta(days=7)
        event = FakeScheduledEvent(
            id=self._ids.next(),  # type: ignore[attr-defined]
            guild_id=guild_id,
            creator_id=self.guilds[guild_id].owner_id,
            name=name,
            description=None,
            location="Somewhere",
            start=start,
            end=start + timedelta(hours=1),
        )
        self.scheduled_events[event.id] = event
        return event

    def set_guild_permissions(self, guild_id: int, *, manage_events: bool) -> None:
        """Give or take the bot's Manage Events (on its managed role)."""
        guild = self.guilds[guild_id]
        role = next(r for r in guild.roles.values() if r.bot_id is not None)
        if manage_events:
            role.permissions |= Permission.MANAGE_EVENTS
        else:
            role.permissions &= ~(Permission.MANAGE_EVENTS | Permission.CREATE_EVENTS)
        self._dispatch_guild(  # type: ignore[attr-defined]
            "GUILD_ROLE_UPDATE", {"guild_id": str(guild_id), "role": role.payload()}, guild_id
        )

    def archive_thread(self, thread_id: int, *, locked: bool = False) -> None:
        """Archive (and optionally lock) a thread, as inactivity or a moderator would."""
        thread = self.channels[thread_id]
        thread.archived = True
        thread.locked = locked
        self._dispatch_guild(  # type: ignore[attr-defined]
            "THREAD_UPDATE", thread.payload(), thread.guild_id
        )

    def guild_permissions(self, guild: FakeGuild, user_id: int) -> int:
        """Server-wide permissions: @everyone and the member's roles (no overwrites)."""
        member = guild.members.get(user_id)
        if member is None:
            return 0
        if guild.owner_id == user_id:
            return Permission.ALL
        perms = guild.everyone_role.permissions
        for role_id in member.role_ids:
            role = guild.roles.get(role_id)
            if role is not None:
                perms |= role.permissions
        return Permission.ALL if perms & Permission.ADMINISTRATOR else perms

    # ------------------------------------------------------------------ scheduled events

    def _events_guild(self, req: ApiRequest) -> tuple[FakeGuild, int]:
        guild = self._guild(req.snowflake("guild_id"))  # type: ignore[attr-defined]
        bot_id: int = self.bot.id  # type: ignore[attr-defined]
        return guild, self.guild_permissions(guild, bot_id)

    def _event(self, guild: FakeGuild, req: ApiRequest) -> FakeScheduledEvent:
        event = self.scheduled_events.get(req.snowflake("event_id"))
        if event is None or event.guild_id != guild.id:
            raise err.unknown_scheduled_event()
        return event

    async def _list_scheduled_events(self, req: ApiRequest) -> Reply:
        from .server import Reply

        guild, _ = self._events_guild(req)
        return Reply(
            body=[e.payload() for e in self.guild_events(guild.id) if e.status < COMPLETED]
        )

    async def _get_scheduled_event(self, req: ApiRequest) -> Reply:
        from .server import Reply

        guild, _ = self._events_guild(req)
        return Reply(body=self._event(guild, req).payload())

    async def _create_scheduled_event(self, req: ApiRequest) -> Reply:
        from .server import Reply

        guild, perms = self._events_guild(req)
        body = await req.object_body()
        errs = FormErrors()
        _text(errs, body, ("name",), 1, 100)
        if body.get("description") is not None:
            _text(errs, body, ("description",), 0, 1000)
        if body.get("privacy_level") != PRIVACY_GUILD_ONLY:
            errs.add(("privacy_level",), "BASE_TYPE_CHOICES", "Value must be one of {2}.")
        if body.get("entity_type") != ENTITY_EXTERNAL:
            errs.add(("entity_type",), "BASE_TYPE_CHOICES", "Only external events are modelled.")
        if body.get("channel_id") is not None:
            errs.add(("channel_id",), "GUILD_SCHEDULED_EVENT_CHANNEL", "Must be null.")
        _text(errs, body, ("entity_metadata", "location"), 1, 100)
        start = _time(errs, body, "scheduled_start_time")
        end = _time(errs, body, "scheduled_end_time")
        if start is None:
            errs.add(("scheduled_start_time",), "BASE_TYPE_REQUIRED", "This field is required")
        elif start <= utcnow():
            errs.add(
                ("scheduled_start_time",),
                "GUILD_SCHEDULED_EVENT_SCHEDULED_START_TIME_IN_PAST",
                "Cannot schedule event in the past.",
            )
        if end is None:
            errs.add(("scheduled_end_time",), "BASE_TYPE_REQUIRED", "This field is required")
        elif start is not None and end <= start:
            errs.add(
                ("scheduled_end_time",),
                "GUILD_SCHEDULED_EVENT_END_BEFORE_START",
                "Cannot end before it starts.",
            )
        errs.raise_if_any()
        if not perms & (Permission.MANAGE_EVENTS | Permission.CREATE_EVENTS):
            raise err.missing_permissions()
        live = [e for e in self.guild_events(guild.id) if e.status < COMPLETED]
        if len(live) >= MAX_GUILD_EVENTS:
            raise err.max_scheduled_events()
        assert start is not None and end is not None
        event = FakeScheduledEvent(
            id=self._ids.next(),  # type: ignore[attr-defined]
            guild_id=guild.id,
            creator_id=self.bot.id,  # type: ignore[attr-defined]
            name=body["name"],
            description=body.get("description"),
            location=body["entity_metadata"]["location"],
            start=start,
            end=end,
        )
        self.scheduled_events[event.id] = event
        return Reply(body=event.payload())

    async def _edit_scheduled_event(self, req: ApiRequest) -> Reply:
        from .server import Reply

        guild, perms = self._events_guild(req)
        event = self._event(guild, req)
        own = event.creator_id == self.bot.id  # type: ignore[attr-defined]
        if not perms & Permission.MANAGE_EVENTS and not (own and perms & Permission.CREATE_EVENTS):
            raise err.missing_permissions()
        body = await req.object_body()
        errs = FormErrors()
        if event.status >= COMPLETED:
            errs.add(("status",), "GUILD_SCHEDULED_EVENT_ENDED", "This event has ended.")
            errs.raise_if_any()
        if "name" in body:
            _text(errs, body, ("name",), 1, 100)
        if body.get("description") is not None:
            _text(errs, body, ("description",), 0, 1000)
        if "entity_metadata" in body:
            _text(errs, body, ("entity_metadata", "location"), 1, 100)
        start = _time(errs, body, "scheduled_start_time")
        end = _time(errs, body, "scheduled_end_time")
        if start is not None:
            if event.status != SCHEDULED:
                errs.add(
                    ("scheduled_start_time",),
                    "GUILD_SCHEDULED_EVENT_STARTED",
                    "Cannot move an event that has started.",
                )
            elif start <= utcnow():
                errs.add(
                    ("scheduled_start_time",),
                    "GUILD_SCHEDULED_EVENT_SCHEDULED_START_TIME_IN_PAST",
                    "Cannot schedule event in the past.",
                )
        if (end or event.end) <= (start or event.start):
            errs.add(
                ("scheduled_end_time",),
                "GUILD_SCHEDULED_EVENT_END_BEFORE_START",
                "Cannot end before it starts.",
            )
        status = body.get("status")
        if status is not None and (event.status, status) not in ALLOWED_STEPS:
            errs.add(
                ("status",),
                "GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION",
                f"Cannot change status from {event.status} to {status}.",
            )
        errs.raise_if_any()
        if "name" in body:
            event.name = body["name"]
        if "description" in body:
            event.description = body["description"]
        if "entity_metadata" in body:
            event.location = body["entity_metadata"]["location"]
        event.start = start or event.start
        event.end = end or event.end
        if status is not None:
            event.status = status
        event.edits.append(body)
        return Reply(body=event.payload())

    async def _delete_scheduled_event(self, req: ApiRequest) -> Reply:
        from .server import Reply

        guild, perms = self._events_guild(req)
        event = self._event(guild, req)
        if not perms & Permission.MANAGE_EVENTS:
            raise err.missing_permissions()
        del self.scheduled_events[event.id]
        return Reply(204)

    # ------------------------------------------------------------------ threads

    async def _start_thread(self, req: ApiRequest) -> Reply:
        from .server import Reply

        channel, guild, perms = self._channel(  # type: ignore[attr-defined]
            req.snowflake("channel_id")
        )
        if channel.type not in (ChannelType.TEXT, ChannelType.ANNOUNCEMENT):
            raise err.wrong_channel_type()
        message = self._messages.get(req.snowflake("message_id"))  # type: ignore[attr-defined]
        if message is None or message.deleted or message.channel_id != channel.id:
            raise err.unknown_message()
        body = await req.object_body()
        errs = FormErrors()
        _text(errs, body, ("name",), 1, 100)
        duration = body.get("auto_archive_duration")
        if duration is not None and duration not in ARCHIVE_DURATIONS:
            errs.add(("auto_archive_duration",), "BASE_TYPE_CHOICES", "Not a valid duration.")
        errs.raise_if_any()
        if not perms & Permission.CREATE_PUBLIC_THREADS:
            raise err.missing_permissions()
        if message.id in self.channels:
            raise err.thread_already_created()
        kind = (
            ChannelType.ANNOUNCEMENT_THREAD
            if channel.type == ChannelType.ANNOUNCEMENT
            else ChannelType.PUBLIC_THREAD
        )
        thread = FakeChannel(
            id=message.id,
            guild_id=guild.id,
            name=body["name"],
            type=kind,
            position=len(guild.channels),
            parent_id=channel.id,
            owner_id=self.bot.id,  # type: ignore[attr-defined]
            auto_archive_duration=duration or 4320,
        )
        guild.channels[thread.id] = thread
        self.channels[thread.id] = thread
        self._channel_messages[thread.id] = []  # type: ignore[attr-defined]
        payload = thread.payload()
        self._dispatch_guild(  # type: ignore[attr-defined]
            "THREAD_CREATE", {**payload, "newly_created": True}, guild.id
        )
        return Reply(201, payload)

    async def _edit_channel(self, req: ApiRequest) -> Reply:
        from .server import Reply

        channel, _, perms = self._channel(req.snowflake("channel_id"))  # type: ignore[attr-defined]
        body = await req.object_body()
        if not channel.is_thread:
            if not perms & Permission.MANAGE_CHANNELS:
                raise err.missing_permissions()
            if "name" in body:
                channel.name = str(body["name"])
            return Reply(body=channel.payload())
        manage = bool(perms & Permission.MANAGE_THREADS)
        if "locked" in body and not manage:
            raise err.missing_permissions()
        if body.get("archived") is False and channel.archived:
            if channel.locked and not manage:
                raise err.missing_permissions()
            if not perms & Permission.SEND_MESSAGES_IN_THREADS:
                raise err.missing_permissions()
            channel.archived = False
        elif body.get("archived") is True:
            if not manage and channel.owner_id != self.bot.id:  # type: ignore[attr-defined]
                raise err.missing_permissions()
            channel.archived = True
        if "locked" in body:
            channel.locked = bool(body["locked"])
        self._dispatch_guild(  # type: ignore[attr-defined]
            "THREAD_UPDATE", channel.payload(), channel.guild_id
        )
        return Reply(body=channel.payload())
