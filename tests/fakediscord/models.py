"""State the fake Discord keeps: users, guilds, channels, roles, members, messages.

Every model knows how to render itself as the JSON payload real Discord sends (API v10), so
discord.py parses the fake's answers with the same code paths it uses in production.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000


class ChannelType:
    """Channel type numbers the fake models (others are rejected)."""

    TEXT = 0
    VOICE = 2
    CATEGORY = 4
    ANNOUNCEMENT = 5
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12

    THREADS = frozenset({ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})
    SUPPORTED = frozenset({TEXT, VOICE, CATEGORY, ANNOUNCEMENT, *THREADS})
    #: Channels that have a message list (voice channels have text-in-voice).
    MESSAGEABLE = frozenset({TEXT, VOICE, ANNOUNCEMENT, *THREADS})


class Permission:
    """Permission bits (https://discord.com/developers/docs/topics/permissions)."""

    CREATE_INSTANT_INVITE = 1 << 0
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_EVENTS = 1 << 33
    CREATE_EVENTS = 1 << 44
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    SEND_MESSAGES_IN_THREADS = 1 << 38

    ALL = (1 << 51) - 1
    #: What a fresh guild's @everyone role gets.
    EVERYONE_DEFAULT = (
        CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | MENTION_EVERYONE
        | USE_EXTERNAL_EMOJIS
        | CONNECT
        | SPEAK
        | CHANGE_NICKNAME
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | SEND_MESSAGES_IN_THREADS
    )
    #: What the bot's managed integration role gets.
    BOT_DEFAULT = (
        VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | SEND_MESSAGES_IN_THREADS
        | USE_APPLICATION_COMMANDS
    )


class MessageFlag:
    """Message flag bits the fake understands."""

    CROSSPOSTED = 1 << 0
    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_COMPONENTS_V2 = 1 << 15


class SnowflakeFactory:
    """Hands out strictly increasing snowflakes built from the current time."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        """A new id, greater than every id handed out before."""
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate


def iso(ts: datetime) -> str:
    """Discord's ISO-8601 timestamp format."""
    return ts.isoformat(timespec="microseconds")


def utcnow() -> datetime:
    """The current UTC time (aware)."""
    return datetime.now(UTC)


def make_bot_token(bot_id: int) -> str:
    """A token shaped like a real one: base64(id).timestamp.hmac."""
    head = base64.urlsafe_b64encode(str(bot_id).encode()).decode().rstrip("=")
    return f"{head}.{secrets.token_urlsafe(4)}.{secrets.token_urlsafe(27)}"


@dataclass
class FakeUser:
    """A Discord user (the bot itself or a human)."""

    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
        }

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass
class FakeRole:
    """A guild role. The @everyone role has the guild's id."""

    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    mentionable: bool = False
    managed: bool = False
    bot_id: int | None = None

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data

    @property
    def mention(self) -> str:
        return "@everyone" if self.id == self.guild_id else f"<@&{self.id}>"


@dataclass
class Overwrite:
    """A channel permission overwrite for a role (type 0) or a member (type 1)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass
class FakeChannel:
    """A guild channel or thread."""

    id: int
    guild_id: int
    name: str
    type: int
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    #: For threads only: the fake's own allow/deny on top of the parent's permissions
    #: (real threads have no overwrites, so discord.py cannot see this).
    thread_allow: int = 0
    thread_deny: int = 0
    owner_id: int | None = None
    last_message_id: int | None = None
    deleted: bool = False
    #: Threads only: archived (read-only until unarchived) and locked (only Manage Threads
    #: may unarchive).
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 4320

    @property
    def is_thread(self) -> bool:
        return self.type in ChannelType.THREADS

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def payload(self) -> dict[str, Any]:
        last = str(self.last_message_id) if self.last_message_id else None
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "flags": 0,
        }
        if self.is_thread:
            data.update(
                owner_id=str(self.owner_id or 0),
                last_message_id=last,
                rate_limit_per_user=0,
                message_count=0,
                member_count=1,
                total_message_sent=0,
                thread_metadata={
                    "archived": self.archived,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": iso(utcnow()),
                    "locked": self.locked,
                    "create_timestamp": iso(utcnow()),
                },
            )
            return data
        data.update(
            position=self.position,
            permission_overwrites=[ow.payload() for ow in self.overwrites.values()],
            nsfw=False,
        )
        if self.type in (ChannelType.TEXT, ChannelType.ANNOUNCEMENT):
            data.update(
                topic=self.topic,
                last_message_id=last,
                rate_limit_per_user=0,
                default_auto_archive_duration=4320,
            )
        elif self.type == ChannelType.VOICE:
            data.update(
                last_message_id=last,
                bitrate=64000,
                user_limit=0,
                rtc_region=None,
                video_quality_mode=1,
                rate_limit_per_user=0,
            )
        return data


@dataclass
class FakeMember:
    """A user's membership in one guild."""

    user: FakeUser
    guild_id: int
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: datetime = field(default_factory=utcnow)

    @property
    def id(self) -> int:
        return self.user.id

    def payload(self, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in self.role_ids],
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        return data


@dataclass
class FakeGuild:
    """A guild with its channels, roles and members."""

    id: int
    name: str
    owner_id: int
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    roles: dict[int, FakeRole] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    #: The bot was removed from the guild (GUILD_DELETE without ``unavailable``).
    removed: bool = False
    #: An outage: GUILD_DELETE with ``unavailable: true`` was sent.
    unavailable: bool = False
    joined_at: datetime = field(default_factory=utcnow)

    def channel(self, name: str) -> FakeChannel:
        """The live channel called ``name`` (KeyError if none)."""
        for ch in self.channels.values():
            if ch.name == name and not ch.deleted:
                return ch
        raise KeyError(f"guild {self.name!r} has no channel {name!r}")

    def role(self, name: str) -> FakeRole:
        """The role called ``name`` (KeyError if none)."""
        for role in self.roles.values():
            if role.name == name:
                return role
        raise KeyError(f"guild {self.name!r} has no role {name!r}")

    @property
    def everyone_role(self) -> FakeRole:
        return self.roles[self.id]

    def live_channels(self) -> list[FakeChannel]:
        return [c for c in self.channels.values() if not c.deleted]

    def rest_payload(self, *, with_counts: bool = False) -> dict[str, Any]:
        """The guild object as GET /guilds/{id} returns it."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": [r.payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_presences": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "incidents_data": None,
        }
        if with_counts:
            data["approximate_member_count"] = len(self.members)
            data["approximate_presence_count"] = 0
        return data

    def gateway_payload(self, bot_id: int, *, joined: bool = False) -> dict[str, Any]:
        """The GUILD_CREATE payload: the guild plus channels, threads and the bot's member.

        ``unavailable: false`` marks a guild that was known but unavailable (start-up, end of
        an outage); a guild the bot just joined has no ``unavailable`` key.
        """
        data = self.rest_payload()
        live = self.live_channels()
        if not joined:
            data["unavailable"] = False
        data.update(
            joined_at=iso(self.joined_at),
            large=False,
            member_count=len(self.members),
            voice_states=[],
            # Without the GUILD_MEMBERS intent Discord only sends the bot's own member.
            members=[self.members[bot_id].payload()] if bot_id in self.members else [],
            channels=[c.payload() for c in live if not c.is_thread],
            threads=[c.payload() for c in live if c.is_thread],
            presences=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
        )
        return data


@dataclass(frozen=True)
class FakeEdit:
    """One accepted edit of a message."""

    at: float
    payload: dict[str, Any]
    content: str
    embeds: list[dict[str, Any]]


@dataclass
class FakeMessage:
    """A message the bot created (through REST or an interaction response).

    ``pinged_*`` say who would actually have been notified, given the content and
    ``allowed_mentions`` (computed as if the bot had Mention Everyone and every role were
    mentionable: the worst case, which is what a security test wants to rule out).
    """

    id: int
    channel_id: int
    guild_id: int | None
    author: FakeUser
    content: str
    embeds: list[dict[str, Any]]
    allowed_mentions: dict[str, Any] | None
    nonce: str | int | None
    enforce_nonce: bool
    message_reference: dict[str, Any] | None
    flags: int
    tts: bool
    components: list[Any]
    attachments: list[dict[str, Any]]
    payload: dict[str, Any]
    created_at: float
    timestamp: datetime
    type: int = 0
    pinged_everyone: bool = False
    pinged_roles: frozenset[int] = frozenset()
    pinged_users: frozenset[int] = frozenset()
    interaction_id: int | None = None
    webhook_id: int | None = None
    edits: list[FakeEdit] = field(default_factory=list)
    deleted: bool = False
    #: How many later sends with the same nonce returned this message instead of a new one.
    nonce_replays: int = 0
    edited_timestamp: datetime | None = None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & MessageFlag.EPHEMERAL)

    @property
    def loading(self) -> bool:
        """A deferred interaction response nobody has filled in yet."""
        return bool(self.flags & MessageFlag.LOADING)

    @property
    def pinged_anyone(self) -> bool:
        return self.pinged_everyone or bool(self.pinged_roles) or bool(self.pinged_users)

    def embed_text(self) -> str:
        """All embed text joined, for simple assertions."""
        parts: list[str] = []
        for embed in self.embeds:
            parts.extend(str(embed.get(k, "")) for k in ("title", "description"))
            parts.extend(
                f"{f.get('name', '')} {f.get('value', '')}" for f in embed.get("fields", [])
            )
            parts.append(str((embed.get("footer") or {}).get("text", "")))
            parts.append(str((embed.get("author") or {}).get("name", "")))
        return "\n".join(p for p in parts if p)


_counter = itertools.count(1)


def interaction_token() -> str:
    """An opaque interaction token (real ones are long and URL-safe)."""
    return f"aW50ZXJhY3Rpb24{next(_counter)}{secrets.token_urlsafe(48)}"
