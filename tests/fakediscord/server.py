"""A strict fake of Discord's REST API and gateway, for running the real discord.py client.

``FakeDiscord`` serves ``/api/v10/...`` and a websocket gateway on 127.0.0.1 (random port)
from one aiohttp app in the test's event loop. Point discord.py at it with
:meth:`FakeDiscord.patch_discord` (sets ``discord.http.Route.BASE`` and
``DiscordWebSocket.DEFAULT_GATEWAY``), or use :func:`tests.fakediscord.running`.

What it checks, like Discord does:

* auth: ``Authorization: Bot <token>`` on every bot route (401 otherwise); the IDENTIFY token
  (close 4004); privileged intents (close 4014 unless ``allow_privileged``); shards (4010).
* gateway: zlib-stream or zstd-stream transport compression as the client asks, HELLO,
  heartbeats, READY + GUILD_CREATE per guild of the shard, sequence numbers, RESUME with
  replay, op 7 / op 9 on request, events filtered by intents, other people's message content
  withheld without the MESSAGE_CONTENT intent unless the bot is mentioned.
* messages: content <= 2000, <= 10 embeds, embed title/description/fields/footer/author
  limits, 6000 characters across all embeds, http(s) URLs, colours, allowed_mentions
  shape, nonce <= 25, empty messages (50006), ``enforce_nonce`` de-duplication, replies to
  unknown messages; who would actually be pinged is recorded on every message.
* permissions: the bot's view / send / embed-links / attach / history permissions per channel,
  computed from roles and overwrites as Discord does (50001 Missing Access, 50013 Missing
  Permissions); deleted channels 10003; guilds the bot left 50001.
* application commands: names, descriptions, options, choices, sizes, duplicates, counts.
* interactions: the 3 s acknowledgement deadline (10062), one callback only (40060), the
  15-minute token (50027), the callback types each interaction accepts, autocomplete choices,
  modals; a follow-up after a defer fills in the "thinking..." message, as on Discord.
* rate limits: a global per-second limit (interaction routes exempt) and per-route buckets
  with Discord's X-RateLimit-* headers and 429 bodies (``Via`` header included: without it
  discord.py takes a 429 for a Cloudflare ban). Global 429s carry only the global headers,
  as Discord's do. 401/403/429 responses are counted as "invalid requests".

* scheduled events and threads from messages: see :mod:`.scheduling`.

What it does not model: DMs, reactions, components beyond storing them, webhooks other than
interaction ones, audit logs, voice, presences, member chunking beyond known members,
Cloudflare bans, message content privacy over REST, per-route limits other than the
defaults in :mod:`.ratelimit` (set your own with :meth:`FakeDiscord.set_route_limit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import discord.gateway
import discord.http
import yarl
from aiohttp import BodyPartReader, web

from tests.budget import PATIENCE

from . import errors as err
from .errors import DiscordError, FormErrors
from .gateway import Gateway, GatewaySession
from .interactions import (
    ALLOWED_CALLBACKS,
    CALLBACK_AUTOCOMPLETE_RESULT,
    CALLBACK_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_CHANNEL_MESSAGE,
    CALLBACK_MODAL,
    INTERACTION_APPLICATION_COMMAND,
    INTERACTION_AUTOCOMPLETE,
    CallbackAttempt,
    FakeInteraction,
    InteractionResult,
)
from .models import (
    ChannelType,
    FakeChannel,
    FakeEdit,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    MessageFlag,
    Overwrite,
    Permission,
    SnowflakeFactory,
    interaction_token,
    iso,
    make_bot_token,
    utcnow,
)
from .ratelimit import BucketState, RateLimiter, retry_after_header
from .scheduling import SchedulingMixin
from .validation import (
    COMMANDS_PER_TYPE_MAX,
    INTERACTION_MESSAGE_FLAGS,
    MESSAGE_CREATE_FLAGS,
    OPTION_BOOLEAN,
    OPTION_CHANNEL,
    OPTION_INTEGER,
    OPTION_MENTIONABLE,
    OPTION_NUMBER,
    OPTION_ROLE,
    OPTION_STRING,
    OPTION_SUB_COMMAND,
    OPTION_SUB_COMMAND_GROUP,
    OPTION_USER,
    compute_pings,
    count_by_type,
    message_is_empty,
    validate_autocomplete_result,
    validate_command,
    validate_command_list,
    validate_message,
    validate_modal,
)

API_VERSION = 10
API_PREFIX = f"/api/v{API_VERSION}"
GATEWAY_PATH = "/gateway"

MESSAGE_DEFAULT = 0
MESSAGE_REPLY = 19
MESSAGE_CHAT_INPUT_COMMAND = 20

#: Application flags: GATEWAY_PRESENCE_LIMITED, GATEWAY_GUILD_MEMBERS_LIMITED,
#: GATEWAY_MESSAGE_CONTENT_LIMITED (the toggles in the developer portal).
PRIVILEGED_APP_FLAGS = (1 << 13) | (1 << 15) | (1 << 19)
APPLICATION_COMMAND_BADGE = 1 << 23

ChannelSpec = str | tuple[str, int] | tuple[str, int, str] | Mapping[str, Any]
RoleSpec = str | tuple[str, int] | Mapping[str, Any]


# --------------------------------------------------------------------------- request plumbing


@dataclass(frozen=True)
class RequestRecord:
    """One REST request the fake answered."""

    method: str
    path: str
    #: ``"POST /channels/{channel_id}/messages"``; ``None`` for routes the fake does not know.
    route: str | None
    status: int
    #: ``time.monotonic()`` when the response was produced.
    at: float
    wall: float
    bucket: str | None = None
    #: For 429s: ``"user"`` (a route bucket), ``"global"`` or ``"shared"``.
    scope: str | None = None
    retry_after: float | None = None
    body: Any = None
    error_code: int | None = None
    #: The JSON the fake answered with (None for 204) and its headers.
    response: Any = None
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str | None
    size: int
    content_type: str | None


@dataclass
class Reply:
    status: int = 200
    body: Any = None


class _RateLimited(Exception):
    def __init__(self, retry_after: float, scope: str, state: BucketState | None) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after
        self.scope = scope
        self.state = state


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Callable[[ApiRequest], Awaitable[Reply]]
    auth: bool = True
    global_limit: bool = True

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    def major(self, params: Mapping[str, str]) -> str:
        for name in ("channel_id", "guild_id"):
            if name in params:
                return params[name]
        if "webhook_id" in params:
            return f"{params['webhook_id']}+{params.get('webhook_token', '')}"
        return ""


class ApiRequest:
    """One incoming REST request: route parameters plus a lazily parsed body."""

    def __init__(self, raw: web.Request, route: _Route, params: dict[str, str]) -> None:
        self.raw = raw
        self.route = route
        self.params = params
        self.body: Any = None
        self.files: list[UploadedFile] = []
        self._parsed = False

    @property
    def query(self) -> Mapping[str, str]:
        return self.raw.query

    def snowflake(self, name: str) -> int:
        return int(self.params[name])

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true")

    async def parse(self) -> Any:
        """The JSON body, or the ``payload_json`` part of a multipart body."""
        if self._parsed:
            return self.body
        self._parsed = True
        if self.raw.content_type.startswith("multipart/"):
            reader = await self.raw.multipart()
            payload: Any = None
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "payload_json":
                    try:
                        payload = json.loads(await part.text())
                    except ValueError:
                        raise err.invalid_json() from None
                else:
                    data = await part.read()
                    self.files.append(
                        UploadedFile(
                            field=part.name or "",
                            filename=part.filename,
                            size=len(data),
                            content_type=part.headers.get("Content-Type"),
                        )
                    )
            self.body = payload
            return self.body
        raw = await self.raw.read()
        if raw:
            try:
                self.body = json.loads(raw)
            except ValueError:
                raise err.invalid_json() from None
        return self.body

    async def object_body(self) -> dict[str, Any]:
        body = await self.parse()
        if body is None:
            return {}
        if not isinstance(body, dict):
            errs = FormErrors()
            errs.add((), "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
            errs.raise_if_any()
        return dict(body)


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    echo_auth: bool = False


@dataclass
class _NonceEntry:
    message_id: int
    at: float


@dataclass
class CommandSync:
    """One bulk overwrite of a command scope (``guild_id`` None = global)."""

    guild_id: int | None
    names: list[str]
    at: float


# --------------------------------------------------------------------------- the fake


class FakeDiscord(SchedulingMixin):
    """Discord's REST API and gateway for one bot, in-process. Use ``async with``."""

    def __init__(
        self,
        *,
        bot_name: str = "LaunchWatch",
        allow_privileged: bool = False,
        global_limit: int | None = 50,
        route_limits: Mapping[str, tuple[int, float]] | None = None,
        latency: float = 0.0,
        shard_count: int = 1,
        heartbeat_interval_ms: int = 41250,
        interaction_deadline: float = 3.0,
        interaction_token_ttl: float = 15 * 60.0,
        nonce_window: float = 300.0,
    ) -> None:
        self._ids = SnowflakeFactory()
        self.bot = FakeUser(self._ids.next(), bot_name, bot=True)
        #: Modern applications share their id with their bot user.
        self.application_id = self.bot.id
        self.token = make_bot_token(self.bot.id)
        self.app_owner = FakeUser(self._ids.next(), "app-owner", global_name="App Owner")
        self.allow_privileged = allow_privileged
        self.latency = latency
        self.shard_count = shard_count
        self.interaction_deadline = interaction_deadline
        self.interaction_token_ttl = interaction_token_ttl
        self.nonce_window = nonce_window

        self.users: dict[int, FakeUser] = {self.bot.id: self.bot, self.app_owner.id: self.app_owner}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self._messages: dict[int, FakeMessage] = {}
        self._channel_messages: dict[int, list[FakeMessage]] = {}
        self._nonces: dict[tuple[int, int, str], _NonceEntry] = {}
        self.global_commands: dict[int, dict[str, Any]] = {}
        self.guild_commands: dict[int, dict[int, dict[str, Any]]] = {}
        self.command_syncs: list[CommandSync] = []
        self.interactions: dict[int, FakeInteraction] = {}
        self._interactions_by_token: dict[str, FakeInteraction] = {}

        #: Every REST request, in the order answered.
        self.requests: list[RequestRecord] = []
        #: Requests to routes the fake does not know (a bot calling something unexpected).
        self.unknown_routes: list[RequestRecord] = []
        #: 401, 403 and 429 (except ``shared`` scope) responses: Discord bans an IP at 10,000
        #: of these in 10 minutes.
        self.invalid_request_count = 0
        self.limiter = RateLimiter(global_limit, route_limits)
        self._faults: list[_Fault] = []
        #: Exceptions raised by the fake's own handlers (re-raised by :meth:`stop`).
        self.internal_errors: list[BaseException] = []

        self._init_scheduling()
        self.gateway = Gateway(self, heartbeat_interval_ms=heartbeat_interval_ms)
        self._routes = self._build_routes()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_get(GATEWAY_PATH, self.gateway.handle)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.internal_errors:
            raise RuntimeError(
                f"fake Discord raised {len(self.internal_errors)} internal error(s)"
            ) from self.internal_errors[0]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``discord.http.Route.BASE`` must be set to."""
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """The websocket URL (also returned by GET /gateway/bot and in READY)."""
        return f"ws://127.0.0.1:{self.port}{GATEWAY_PATH}"

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST base and default gateway at this fake, then restore."""
        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # ------------------------------------------------------------------ configuration

    @property
    def global_limit(self) -> int | None:
        return self.limiter.global_limit

    @global_limit.setter
    def global_limit(self, value: int | None) -> None:
        self.limiter.global_limit = value

    def set_route_limit(self, route: str, limit: int, per: float) -> None:
        """Set a per-route bucket, e.g. ``("POST /channels/{channel_id}/messages", 5, 5.0)``."""
        self.limiter.set_route_limit(route, limit, per)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int = 500,
        times: int = 1,
        *,
        echo_auth: bool = False,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status``.

        ``path_regex`` must match the whole path after ``/api/v10``
        (e.g. ``r"/channels/\\d+/messages"``). Note discord.py retries 500/502/504 after
        1 s, 3 s, ... so prefer 503 (not retried) unless the retry is what you test.
        ``echo_auth`` puts the request's Authorization header in the error message, as a
        misbehaving proxy in front of Discord might.
        """
        fault = _Fault(method.upper(), re.compile(path_regex), status, times, echo_auth)
        self._faults.append(fault)

    # ------------------------------------------------------------------ world building

    def add_user(self, username: str, *, bot: bool = False) -> FakeUser:
        user = FakeUser(self._ids.next(), username, bot=bot, global_name=username.title())
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        channels: Iterable[ChannelSpec] = ("general",),
        roles: Iterable[RoleSpec] = (),
        *,
        owner: FakeUser | None = None,
    ) -> FakeGuild:
        """Create a guild the bot is in: @everyone, the bot's managed role, ``roles``,
        ``channels`` (``"name"``, ``(name, type)``, ``(name, type, parent_name)`` or a dict
        with ``name``/``type``/``parent``/``topic``), an owner and the bot as members.
        Dispatches GUILD_CREATE if a client is connected.
        """
        guild_id = self._ids.next()
        owner = owner or self.add_user(f"{name.lower().replace(' ', '-')}-owner")
        guild = FakeGuild(id=guild_id, name=name, owner_id=owner.id)
        guild.roles[guild_id] = FakeRole(
            guild_id, guild_id, "@everyone", Permission.EVERYONE_DEFAULT
        )
        bot_role = FakeRole(
            self._ids.next(),
            guild_id,
            self.bot.username,
            Permission.BOT_DEFAULT,
            position=1,
            managed=True,
            bot_id=self.bot.id,
        )
        guild.roles[bot_role.id] = bot_role
        for position, role_spec in enumerate(roles, start=2):
            role = self._role_from_spec(guild_id, role_spec, position)
            guild.roles[role.id] = role
        guild.members[owner.id] = FakeMember(owner, guild_id)
        guild.members[self.bot.id] = FakeMember(self.bot, guild_id, [bot_role.id])
        self.guilds[guild_id] = guild
        for position, channel_spec in enumerate(channels):
            self._channel_from_spec(guild, channel_spec, position)
        self._dispatch_guild(
            "GUILD_CREATE", guild.gateway_payload(self.bot.id, joined=True), guild.id
        )
        return guild

    def add_channel(
        self,
        guild_id: int,
        name: str,
        type: int = ChannelType.TEXT,
        *,
        parent_id: int | None = None,
        topic: str | None = None,
    ) -> FakeChannel:
        """Create a channel (threads need ``parent_id``); dispatches CHANNEL/THREAD_CREATE."""
        channel = self._new_channel(guild_id, name, type, parent_id=parent_id, topic=topic)
        event = "THREAD_CREATE" if channel.is_thread else "CHANNEL_CREATE"
        payload = channel.payload()
        if channel.is_thread:
            payload["newly_created"] = True
        self._dispatch_guild(event, payload, guild_id)
        return channel

    def _new_channel(
        self,
        guild_id: int,
        name: str,
        type: int,
        *,
        parent_id: int | None = None,
        topic: str | None = None,
    ) -> FakeChannel:
        guild = self.guilds[guild_id]
        if type not in ChannelType.SUPPORTED:
            raise ValueError(f"channel type {type} is not modelled")
        if type in ChannelType.THREADS and parent_id is None:
            raise ValueError("threads need a parent_id")
        channel = FakeChannel(
            id=self._ids.next(),
            guild_id=guild_id,
            name=name,
            type=type,
            position=len(guild.channels),
            parent_id=parent_id,
            topic=topic,
            owner_id=self.bot.id if type in ChannelType.THREADS else None,
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        self._channel_messages[channel.id] = []
        return channel

    def delete_channel(self, channel_id: int) -> None:
        """Delete a channel (and its threads); dispatches CHANNEL/THREAD_DELETE.
        REST calls on it then get ``404 / 10003 Unknown Channel``."""
        channel = self.channels[channel_id]
        channel.deleted = True
        if channel.is_thread:
            self._dispatch_guild(
                "THREAD_DELETE",
                {
                    "id": str(channel.id),
                    "guild_id": str(channel.guild_id),
                    "parent_id": str(channel.parent_id),
                    "type": channel.type,
                },
                channel.guild_id,
            )
            return
        self._dispatch_guild("CHANNEL_DELETE", channel.payload(), channel.guild_id)
        for other in self.channels.values():
            if other.parent_id == channel_id and other.is_thread and not other.deleted:
                other.deleted = True

    def add_role(
        self, guild_id: int, name: str, permissions: int = 0, *, mentionable: bool = False
    ) -> FakeRole:
        guild = self.guilds[guild_id]
        role = FakeRole(
            self._ids.next(), guild_id, name, permissions, len(guild.roles), mentionable
        )
        guild.roles[role.id] = role
        self._dispatch_guild(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": role.payload()}, guild_id
        )
        return role

    def add_member(
        self, guild_id: int, user: FakeUser | str, roles: Iterable[FakeRole | int] = ()
    ) -> FakeMember:
        """Add a user (or a new user called ``user``) to a guild."""
        if isinstance(user, str):
            user = self.add_user(user)
        role_ids = [r.id if isinstance(r, FakeRole) else int(r) for r in roles]
        member = FakeMember(user, guild_id, role_ids)
        self.guilds[guild_id].members[user.id] = member
        self._dispatch_guild(
            "GUILD_MEMBER_ADD", {**member.payload(), "guild_id": str(guild_id)}, guild_id
        )
        return member

    def set_bot_permissions(
        self,
        channel_id: int,
        *,
        view: bool | None = None,
        send: bool | None = None,
        embed: bool | None = None,
        attach: bool | None = None,
        history: bool | None = None,
    ) -> None:
        """Allow (True), deny (False) or inherit (None) the bot's permissions in a channel,
        through a member overwrite (dispatches CHANNEL_UPDATE so discord.py sees it).
        For threads the override is fake-only: real threads have no overwrites."""
        channel = self.channels[channel_id]
        send_bit = (
            Permission.SEND_MESSAGES_IN_THREADS if channel.is_thread else Permission.SEND_MESSAGES
        )
        changes = {
            Permission.VIEW_CHANNEL: view,
            send_bit: send,
            Permission.EMBED_LINKS: embed,
            Permission.ATTACH_FILES: attach,
            Permission.READ_MESSAGE_HISTORY: history,
        }
        if channel.is_thread:
            for bit, value in changes.items():
                if value is None:
                    continue
                if value:
                    channel.thread_allow |= bit
                    channel.thread_deny &= ~bit
                else:
                    channel.thread_deny |= bit
                    channel.thread_allow &= ~bit
            return
        overwrite = channel.overwrites.get(self.bot.id) or Overwrite(self.bot.id, 1)
        for bit, value in changes.items():
            if value is None:
                continue
            if value:
                overwrite.allow |= bit
                overwrite.deny &= ~bit
            else:
                overwrite.deny |= bit
                overwrite.allow &= ~bit
        if overwrite.allow or overwrite.deny:
            channel.overwrites[self.bot.id] = overwrite
        else:
            channel.overwrites.pop(self.bot.id, None)
        self._dispatch_guild("CHANNEL_UPDATE", channel.payload(), channel.guild_id)

    def remove_guild(self, guild_id: int) -> None:
        """The bot is kicked or the guild deleted: GUILD_DELETE; REST on it then gets 50001."""
        guild = self.guilds[guild_id]
        guild.removed = True
        self._dispatch_guild("GUILD_DELETE", {"id": str(guild_id)}, guild_id)

    def rejoin_guild(self, guild_id: int) -> FakeGuild:
        """The bot is added back to a guild it was removed from (GUILD_CREATE as a join)."""
        guild = self.guilds[guild_id]
        guild.removed = False
        guild.unavailable = False
        guild.joined_at = utcnow()
        self._dispatch_guild(
            "GUILD_CREATE", guild.gateway_payload(self.bot.id, joined=True), guild_id
        )
        return guild

    def set_guild_unavailable(self, guild_id: int, unavailable: bool = True) -> None:
        """An outage (GUILD_DELETE with ``unavailable``) or its end (GUILD_CREATE)."""
        guild = self.guilds[guild_id]
        guild.unavailable = unavailable
        if unavailable:
            self._dispatch_guild(
                "GUILD_DELETE", {"id": str(guild_id), "unavailable": True}, guild_id
            )
        else:
            self._dispatch_guild("GUILD_CREATE", guild.gateway_payload(self.bot.id), guild_id)

    def add_user_message(self, channel_id: int, author: FakeUser, content: str) -> FakeMessage:
        """A message from a human (dispatches MESSAGE_CREATE), e.g. for the bot to reply to."""
        channel = self.channels[channel_id]
        msg = self._store_message(
            channel,
            {"content": content},
            [],
            author=author,
            flags=0,
        )
        self._dispatch_message("MESSAGE_CREATE", msg)
        return msg

    # ------------------------------------------------------------------ gateway helpers

    def dispatch(self, event: str, data: Any, *, guild_id: int | None = None) -> int:
        """Send a gateway DISPATCH to connected sessions; returns how many got it."""
        if guild_id is None and isinstance(data, dict) and data.get("guild_id"):
            guild_id = int(data["guild_id"])
        return self.gateway.dispatch(event, data, guild_id=guild_id)

    async def drain(self) -> None:
        """Wait until all queued gateway payloads have been written."""
        await self.gateway.drain()

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT (discord.py then RESUMEs)."""
        self.gateway.request_reconnect()

    def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION (non-resumable: discord.py re-IDENTIFYs)."""
        self.gateway.invalidate_sessions(resumable=resumable)

    @property
    def identifies(self) -> list[dict[str, Any]]:
        return self.gateway.identifies

    @property
    def intents(self) -> int | None:
        """The intents of the last IDENTIFY."""
        return self.gateway.identifies[-1].get("intents") if self.gateway.identifies else None

    def ready_payload(self, session: GatewaySession, guilds: Sequence[FakeGuild]) -> dict[str, Any]:
        return {
            "v": API_VERSION,
            "user_settings": {},
            "user": self._me_payload(),
            "session_type": "normal",
            "session_id": session.session_id,
            "resume_gateway_url": self.gateway_url,
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["us-east", "us-central"],
            "application": {"id": str(self.application_id), "flags": self.application_flags},
            "auth": {},
            "shard": list(session.shard),
            "_trace": ['["fake-gateway",{"micros":0}]'],
        }

    @property
    def application_flags(self) -> int:
        flags = APPLICATION_COMMAND_BADGE
        if self.allow_privileged:
            flags |= PRIVILEGED_APP_FLAGS
        return flags

    def _dispatch_guild(self, event: str, data: Any, guild_id: int) -> None:
        self.gateway.dispatch(event, data, guild_id=guild_id)

    # ------------------------------------------------------------------ inspection

    def messages(
        self, channel_id: int, *, include_deleted: bool = False, include_ephemeral: bool = True
    ) -> list[FakeMessage]:
        """Messages in a channel, oldest first."""
        return [
            m
            for m in self._channel_messages.get(channel_id, [])
            if (include_deleted or not m.deleted) and (include_ephemeral or not m.ephemeral)
        ]

    def message(self, message_id: int) -> FakeMessage:
        return self._messages[message_id]

    def requests_to(self, route: str) -> list[RequestRecord]:
        """Requests to one route key, e.g. ``"POST /channels/{channel_id}/messages"``."""
        return [r for r in self.requests if r.route == route]

    def rate_limited(
        self, route: str | None = None, *, scope: str | None = None
    ) -> list[RequestRecord]:
        """The 429 responses, optionally for one route and/or scope."""
        return [
            r
            for r in self.requests
            if r.status == 429
            and (route is None or r.route == route)
            and (scope is None or r.scope == scope)
        ]

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """The registered commands of a scope (global when ``guild_id`` is None)."""
        scope = self.global_commands if guild_id is None else self.guild_commands.get(guild_id, {})
        return list(scope.values())

    # ------------------------------------------------------------------ interactions

    async def invoke_command(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        permissions: int | None = None,
        locale: str = "en-US",
        timeout: float = PATIENCE,
    ) -> InteractionResult:
        """A user runs ``/name`` (``"group sub"`` for subcommands) with ``options``.

        Dispatches INTERACTION_CREATE shaped like Discord's (command id from the synced
        command, resolved users/members/roles/channels, member permissions, app_permissions)
        and waits up to ``timeout`` for the bot's first callback.
        """
        interaction = self._build_interaction(
            INTERACTION_APPLICATION_COMMAND,
            guild_id,
            channel_id,
            user_id,
            name,
            options or {},
            focused=None,
            permissions=permissions,
            locale=locale,
        )
        await interaction.wait_until(lambda: bool(interaction.attempts), timeout)
        return InteractionResult(interaction)

    async def autocomplete(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        permissions: int | None = None,
        locale: str = "en-US",
        timeout: float = PATIENCE,
    ) -> InteractionResult:
        """A user types into option ``focused``; returns the bot's choices (``.choices``)."""
        interaction = self._build_interaction(
            INTERACTION_AUTOCOMPLETE,
            guild_id,
            channel_id,
            user_id,
            name,
            options,
            focused=focused,
            permissions=permissions,
            locale=locale,
        )
        await interaction.wait_until(lambda: bool(interaction.attempts), timeout)
        return InteractionResult(interaction)

    def _find_command(self, guild_id: int, name: str) -> dict[str, Any] | None:
        for scope in (self.guild_commands.get(guild_id, {}), self.global_commands):
            for command in scope.values():
                if command["name"] == name and command.get("type", 1) == 1:
                    return command
        return None

    def _build_interaction(
        self,
        kind: int,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        options: Mapping[str, Any],
        *,
        focused: str | None,
        permissions: int | None,
        locale: str,
    ) -> FakeInteraction:
        guild = self.guilds[guild_id]
        channel = self.channels[channel_id]
        if channel.guild_id != guild_id or channel.deleted:
            raise ValueError(f"channel {channel_id} is not a live channel of guild {guild_id}")
        member = guild.members.get(user_id)
        if member is None:
            raise ValueError(f"user {user_id} is not a member of guild {guild_id}")
        parts = name.split()
        command = self._find_command(guild_id, parts[0])
        if command is None:
            raise LookupError(
                f"/{parts[0]} is not registered globally or in guild {guild_id} "
                "(did the bot sync its command tree?)"
            )
        user_perms = (
            permissions
            if permissions is not None
            else self.permissions_for(guild, user_id, channel)
        )
        required = command.get("default_member_permissions")
        if (
            required is not None
            and not user_perms & Permission.ADMINISTRATOR
            and int(required) & ~user_perms
        ):
            raise PermissionError(
                f"Discord would not offer /{parts[0]} to this user "
                f"(default_member_permissions={required})"
            )
        level: list[dict[str, Any]] = list(command.get("options") or [])
        chain: list[dict[str, Any]] = []
        for part in parts[1:]:
            sub = next(
                (
                    o
                    for o in level
                    if o["name"] == part
                    and o["type"] in (OPTION_SUB_COMMAND, OPTION_SUB_COMMAND_GROUP)
                ),
                None,
            )
            if sub is None:
                raise LookupError(f"/{name}: no subcommand {part!r}")
            chain.append(sub)
            level = list(sub.get("options") or [])
        if any(o["type"] in (OPTION_SUB_COMMAND, OPTION_SUB_COMMAND_GROUP) for o in level):
            raise ValueError(f"/{name} needs a subcommand")
        resolved: dict[str, dict[str, Any]] = {}
        built: list[dict[str, Any]] = []
        known = {o["name"] for o in level}
        unknown = set(options) - known
        if unknown:
            raise ValueError(f"/{name} has no option(s) {sorted(unknown)}")
        focused_type: int | None = None
        for schema in level:
            opt_name = schema["name"]
            if opt_name not in options:
                if schema.get("required") and kind == INTERACTION_APPLICATION_COMMAND:
                    raise ValueError(f"/{name} requires option {opt_name!r}")
                continue
            if opt_name == focused:
                if not schema.get("autocomplete"):
                    raise ValueError(f"option {opt_name!r} of /{name} has no autocomplete")
                focused_type = schema["type"]
                built.append(
                    {
                        "name": opt_name,
                        "type": schema["type"],
                        "value": str(options[opt_name]),
                        "focused": True,
                    }
                )
                continue
            value = self._option_value(schema, options[opt_name], guild, channel, member, resolved)
            built.append({"name": opt_name, "type": schema["type"], "value": value})
        if focused is not None and focused_type is None:
            raise ValueError(f"focused option {focused!r} must be given in options")
        for sub in reversed(chain):
            built = [{"name": sub["name"], "type": sub["type"], "options": built}]

        data: dict[str, Any] = {
            "id": command["id"],
            "name": command["name"],
            "type": 1,
        }
        if built:
            data["options"] = built
        if resolved:
            data["resolved"] = resolved
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]

        interaction_id = self._ids.next()
        token = interaction_token()
        member_payload = member.payload()
        member_payload["permissions"] = str(user_perms)
        channel_payload = channel.payload()
        channel_payload["permissions"] = str(user_perms)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
            "guild_id": str(guild_id),
            "channel": channel_payload,
            "channel_id": str(channel_id),
            "member": member_payload,
            "token": token,
            "version": 1,
            "app_permissions": str(self.permissions_for(guild, self.bot.id, channel)),
            "locale": locale,
            "guild_locale": "en-US",
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        interaction = FakeInteraction(
            id=interaction_id,
            token=token,
            type=kind,
            application_id=self.application_id,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            command=command,
            payload=payload,
            dispatched_at=time.monotonic(),
            focused_type=focused_type,
        )
        if not self.gateway.live_sessions(guild_id):
            raise RuntimeError("no gateway connection for this guild: is the bot connected?")
        self.interactions[interaction_id] = interaction
        self._interactions_by_token[token] = interaction
        self.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=guild_id)
        return interaction

    def _option_value(
        self,
        schema: Mapping[str, Any],
        value: Any,
        guild: FakeGuild,
        channel: FakeChannel,
        invoker: FakeMember,
        resolved: dict[str, dict[str, Any]],
    ) -> Any:
        kind = schema["type"]
        name = schema["name"]
        choices = schema.get("choices")
        if kind == OPTION_STRING:
            if not isinstance(value, str):
                raise TypeError(f"option {name!r} takes a string")
            low, high = schema.get("min_length"), schema.get("max_length")
            if (low is not None and len(value) < low) or (high is not None and len(value) > high):
                raise ValueError(f"option {name!r}: length outside {low}..{high}")
        elif kind == OPTION_INTEGER:
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"option {name!r} takes an integer")
        elif kind == OPTION_NUMBER:
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise TypeError(f"option {name!r} takes a number")
        elif kind == OPTION_BOOLEAN:
            if not isinstance(value, bool):
                raise TypeError(f"option {name!r} takes a boolean")
            return value
        if kind in (OPTION_INTEGER, OPTION_NUMBER):
            low, high = schema.get("min_value"), schema.get("max_value")
            if (low is not None and value < low) or (high is not None and value > high):
                raise ValueError(f"option {name!r}: {value} outside {low}..{high}")
        if kind in (OPTION_STRING, OPTION_INTEGER, OPTION_NUMBER):
            if choices and value not in [c["value"] for c in choices]:
                raise ValueError(f"option {name!r}: {value!r} is not one of the choices")
            return value
        target = getattr(value, "id", value)
        target_id = int(target)
        if kind in (OPTION_USER, OPTION_MENTIONABLE) and target_id in self.users:
            user = self.users[target_id]
            resolved.setdefault("users", {})[str(target_id)] = user.payload()
            member = guild.members.get(target_id)
            if member is not None:
                member_payload = member.payload(with_user=False)
                member_payload["permissions"] = str(self.permissions_for(guild, target_id, channel))
                resolved.setdefault("members", {})[str(target_id)] = member_payload
            return str(target_id)
        if kind in (OPTION_ROLE, OPTION_MENTIONABLE) and target_id in guild.roles:
            resolved.setdefault("roles", {})[str(target_id)] = guild.roles[target_id].payload()
            return str(target_id)
        if kind == OPTION_CHANNEL and target_id in guild.channels:
            target_channel = guild.channels[target_id]
            allowed_types = schema.get("channel_types")
            if allowed_types and target_channel.type not in allowed_types:
                raise ValueError(f"option {name!r} accepts channel types {allowed_types}")
            data = {
                "id": str(target_id),
                "name": target_channel.name,
                "type": target_channel.type,
                "parent_id": str(target_channel.parent_id) if target_channel.parent_id else None,
                "permissions": str(self.permissions_for(guild, invoker.id, target_channel)),
            }
            if target_channel.is_thread:
                data["thread_metadata"] = target_channel.payload()["thread_metadata"]
            resolved.setdefault("channels", {})[str(target_id)] = data
            return str(target_id)
        raise ValueError(f"option {name!r} (type {kind}): nothing with id {target_id} fits")

    # ------------------------------------------------------------------ permissions

    def permissions_for(self, guild: FakeGuild, user_id: int, channel: FakeChannel) -> int:
        """Discord's permission algorithm: roles, then @everyone/role/member overwrites."""
        if guild.members.get(user_id) is None:
            return 0
        perms = self.guild_permissions(guild, user_id)
        if perms == Permission.ALL:
            return perms
        member = guild.members[user_id]
        target = channel
        if channel.is_thread and channel.parent_id in guild.channels:
            target = guild.channels[channel.parent_id]
        overwrites = target.overwrites
        everyone = overwrites.get(guild.id)
        if everyone is not None:
            perms = (perms & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for role_id in member.role_ids:
            overwrite = overwrites.get(role_id)
            if overwrite is not None and overwrite.type == 0:
                allow |= overwrite.allow
                deny |= overwrite.deny
        perms = (perms & ~deny) | allow
        own = overwrites.get(user_id)
        if own is not None and own.type == 1:
            perms = (perms & ~own.deny) | own.allow
        if channel.is_thread:
            perms = (perms & ~channel.thread_deny) | channel.thread_allow
        if not perms & Permission.VIEW_CHANNEL:
            return 0
        send_bit = (
            Permission.SEND_MESSAGES_IN_THREADS if channel.is_thread else Permission.SEND_MESSAGES
        )
        if not perms & send_bit:
            # Discord: no send means no mentions, embeds or attachments either.
            perms &= ~(
                Permission.MENTION_EVERYONE | Permission.EMBED_LINKS | Permission.ATTACH_FILES
            )
        return perms

    def bot_permissions(self, channel_id: int) -> int:
        channel = self.channels[channel_id]
        return self.permissions_for(self.guilds[channel.guild_id], self.bot.id, channel)

    def _channel(self, channel_id: int) -> tuple[FakeChannel, FakeGuild, int]:
        """A channel the bot can see, its guild and the bot's permissions there."""
        channel = self.channels.get(channel_id)
        if channel is None or channel.deleted:
            raise err.unknown_channel()
        guild = self.guilds[channel.guild_id]
        if guild.removed:
            raise err.missing_access()
        perms = self.permissions_for(guild, self.bot.id, channel)
        if not perms & Permission.VIEW_CHANNEL:
            raise err.missing_access()
        return channel, guild, perms

    def _guild(self, guild_id: int) -> FakeGuild:
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise err.unknown_guild()
        if guild.removed:
            raise err.missing_access()
        return guild

    # ------------------------------------------------------------------ payloads

    def _me_payload(self) -> dict[str, Any]:
        data = self.bot.payload()
        data.update(verified=True, mfa_enabled=False, locale="en-US", email=None, premium_type=0)
        return data

    def _message_payload(self, msg: FakeMessage, *, nested: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(msg.id),
            "channel_id": str(msg.channel_id),
            "author": msg.author.payload(),
            "content": msg.content,
            "timestamp": iso(msg.timestamp),
            "edited_timestamp": iso(msg.edited_timestamp) if msg.edited_timestamp else None,
            "tts": msg.tts,
            "mention_everyone": msg.pinged_everyone,
            "mentions": [self.users[u].payload() for u in msg.pinged_users if u in self.users],
            "mention_roles": [str(r) for r in msg.pinged_roles],
            "attachments": msg.attachments,
            "embeds": msg.embeds,
            "pinned": False,
            "type": msg.type,
            "flags": msg.flags,
            "components": msg.components,
        }
        if msg.nonce is not None:
            data["nonce"] = msg.nonce
        if msg.webhook_id is not None:
            data["webhook_id"] = str(msg.webhook_id)
            data["application_id"] = str(self.application_id)
        if msg.message_reference is not None:
            ref = msg.message_reference
            data["message_reference"] = {
                "type": 0,
                "message_id": str(ref["message_id"]),
                "channel_id": str(msg.channel_id),
                "guild_id": str(msg.guild_id) if msg.guild_id else None,
            }
            if not nested:
                referenced = self._messages.get(int(ref["message_id"]))
                data["referenced_message"] = (
                    self._message_payload(referenced, nested=True) if referenced else None
                )
        if msg.interaction_id is not None:
            interaction = self.interactions[msg.interaction_id]
            user = self.users[interaction.user_id].payload()
            data["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": user,
                "authorizing_integration_owners": {"0": str(interaction.guild_id)},
                "name": interaction.command["name"],
                "command_type": 1,
            }
            data["interaction"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "name": interaction.command["name"],
                "user": user,
            }
        return data

    def _gateway_message(self, msg: FakeMessage) -> dict[str, Any]:
        data = self._message_payload(msg)
        if msg.guild_id is not None:
            data["guild_id"] = str(msg.guild_id)
            member = self.guilds[msg.guild_id].members.get(msg.author.id)
            if member is not None and msg.webhook_id is None:
                data["member"] = member.payload(with_user=False)
        return data

    def _dispatch_message(self, event: str, msg: FakeMessage) -> None:
        if msg.ephemeral or msg.guild_id is None:
            return
        if event == "MESSAGE_DELETE":
            data: dict[str, Any] = {
                "id": str(msg.id),
                "channel_id": str(msg.channel_id),
                "guild_id": str(msg.guild_id),
            }
            self.gateway.dispatch(event, data, guild_id=msg.guild_id)
            return
        data = self._gateway_message(msg)
        redacted: dict[str, Any] | None = None
        if msg.author.id != self.bot.id and self.bot.id not in msg.pinged_users:
            # Without MESSAGE_CONTENT a bot only reads other people's messages that mention it.
            redacted = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
            redacted.pop("poll", None)
        self.gateway.dispatch(event, data, guild_id=msg.guild_id, without_content=redacted)

    # ------------------------------------------------------------------ message storage

    def _store_message(
        self,
        channel: FakeChannel,
        payload: dict[str, Any],
        files: Sequence[UploadedFile],
        *,
        author: FakeUser,
        flags: int,
        type: int | None = None,
        interaction: FakeInteraction | None = None,
    ) -> FakeMessage:
        content = payload.get("content") or ""
        ref = payload.get("message_reference")
        replied_author: int | None = None
        if isinstance(ref, dict) and ref.get("message_id") is not None:
            referenced = self._messages.get(int(ref["message_id"]))
            replied_author = referenced.author.id if referenced else None
        else:
            ref = None
        pings = compute_pings(content, payload.get("allowed_mentions"), replied_author)
        if type is None:
            type = MESSAGE_REPLY if ref else MESSAGE_DEFAULT
        msg = FakeMessage(
            id=self._ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=author,
            content=content,
            embeds=[_normalize_embed(e) for e in payload.get("embeds") or []],
            allowed_mentions=payload.get("allowed_mentions"),
            nonce=payload.get("nonce"),
            enforce_nonce=bool(payload.get("enforce_nonce")),
            message_reference=ref,
            flags=flags,
            tts=bool(payload.get("tts", False)),
            components=list(payload.get("components") or []),
            attachments=self._attachments(payload, files),
            payload=payload,
            created_at=time.monotonic(),
            timestamp=utcnow(),
            type=type,
            pinged_everyone=pings.everyone,
            pinged_roles=pings.roles,
            pinged_users=pings.users,
            interaction_id=interaction.id if interaction else None,
            webhook_id=self.application_id if interaction else None,
        )
        self._messages[msg.id] = msg
        self._channel_messages.setdefault(channel.id, []).append(msg)
        if not msg.ephemeral:
            channel.last_message_id = msg.id
        return msg

    def _attachments(
        self, payload: Mapping[str, Any], files: Sequence[UploadedFile]
    ) -> list[dict[str, Any]]:
        described = {
            str(a.get("id")): a for a in payload.get("attachments") or [] if isinstance(a, dict)
        }
        out: list[dict[str, Any]] = []
        for index, upload in enumerate(files):
            meta = described.get(str(index), {})
            filename = meta.get("filename") or upload.filename or f"file{index}"
            attachment_id = self._ids.next()
            url = f"https://cdn.discordapp.com/attachments/0/{attachment_id}/{filename}"
            out.append(
                {
                    "id": str(attachment_id),
                    "filename": filename,
                    "size": upload.size,
                    "url": url,
                    "proxy_url": url,
                    "content_type": upload.content_type or "application/octet-stream",
                    "description": meta.get("description"),
                }
            )
        return out

    def _apply_edit(
        self,
        msg: FakeMessage,
        payload: dict[str, Any],
        files: Sequence[UploadedFile],
        *,
        allowed_flags: int,
    ) -> None:
        """Validate and apply a PATCH body to a message (raises DiscordError)."""
        errs = FormErrors()
        validate_message(errs, payload, allowed_flags=allowed_flags, partial=True)
        errs.raise_if_any()
        content = msg.content
        embeds = msg.embeds
        if "content" in payload:
            content = payload["content"] or ""
        if "embeds" in payload:
            embeds = [_normalize_embed(e) for e in payload["embeds"] or []]
        components = (
            list(payload.get("components") or []) if "components" in payload else msg.components
        )
        attachments = msg.attachments
        if "attachments" in payload or files:
            keep = {
                str(a.get("id")) for a in payload.get("attachments") or [] if isinstance(a, dict)
            }
            attachments = [a for a in msg.attachments if a["id"] in keep]
            attachments += self._attachments(payload, files)
        merged = {
            "content": content,
            "embeds": embeds,
            "components": components,
            "attachments": attachments,
        }
        if message_is_empty(merged):
            raise err.empty_message()
        msg.content = content
        msg.embeds = embeds
        msg.components = components
        msg.attachments = attachments
        if "allowed_mentions" in payload:
            msg.allowed_mentions = payload["allowed_mentions"]
        if payload.get("flags") is not None:
            suppress = MessageFlag.SUPPRESS_EMBEDS
            msg.flags = (msg.flags & ~suppress) | (int(payload["flags"]) & suppress)
        msg.edited_timestamp = utcnow()
        msg.edits.append(FakeEdit(time.monotonic(), payload, content, list(embeds)))

    # ------------------------------------------------------------------ HTTP plumbing

    def _route(
        self,
        method: str,
        template: str,
        handler: Callable[[ApiRequest], Awaitable[Reply]],
        *,
        auth: bool = True,
        global_limit: bool = True,
    ) -> _Route:
        regex = ""
        for piece in re.split(r"(\{[a-z_]+\})", template):
            if piece.startswith("{"):
                regex += f"(?P<{piece[1:-1]}>[^/]+)"
            else:
                regex += re.escape(piece)
        return _Route(method, template, re.compile(regex), handler, auth, global_limit)

    def _build_routes(self) -> list[_Route]:
        r = self._route
        apps = "/applications/{application_id}"
        hook = "/webhooks/{webhook_id}/{webhook_token}"
        chan = "/channels/{channel_id}"
        return [
            r("GET", "/gateway", self._get_gateway, auth=False),
            r("GET", "/gateway/bot", self._get_gateway_bot),
            r("GET", "/users/@me", self._get_me),
            r("GET", "/users/@me/guilds", self._get_my_guilds),
            r("DELETE", "/users/@me/guilds/{guild_id}", self._leave_guild),
            r("GET", "/users/{user_id}", self._get_user),
            r("GET", "/oauth2/applications/@me", self._get_application),
            r("GET", "/applications/@me", self._get_application),
            r("GET", f"{apps}/commands", self._list_commands),
            r("PUT", f"{apps}/commands", self._bulk_commands),
            r("POST", f"{apps}/commands", self._create_command),
            r("GET", f"{apps}/commands/{{command_id}}", self._get_command),
            r("DELETE", f"{apps}/commands/{{command_id}}", self._delete_command),
            r("GET", f"{apps}/guilds/{{guild_id}}/commands", self._list_commands),
            r("PUT", f"{apps}/guilds/{{guild_id}}/commands", self._bulk_commands),
            r("POST", f"{apps}/guilds/{{guild_id}}/commands", self._create_command),
            r("GET", f"{apps}/guilds/{{guild_id}}/commands/{{command_id}}", self._get_command),
            r(
                "DELETE",
                f"{apps}/guilds/{{guild_id}}/commands/{{command_id}}",
                self._delete_command,
            ),
            r("GET", chan, self._get_channel),
            r("PATCH", chan, self._edit_channel),
            r("POST", f"{chan}/messages/{{message_id}}/threads", self._start_thread),
            r("GET", f"{chan}/messages", self._list_messages),
            r("POST", f"{chan}/messages", self._create_message),
            r("GET", f"{chan}/messages/{{message_id}}", self._get_message),
            r("PATCH", f"{chan}/messages/{{message_id}}", self._edit_message),
            r("DELETE", f"{chan}/messages/{{message_id}}", self._delete_message),
            r("POST", f"{chan}/messages/{{message_id}}/crosspost", self._crosspost),
            r("POST", f"{chan}/typing", self._typing),
            r("GET", "/guilds/{guild_id}", self._get_guild),
            r("GET", "/guilds/{guild_id}/channels", self._get_guild_channels),
            r("GET", "/guilds/{guild_id}/roles", self._get_guild_roles),
            r("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
            r("GET", "/guilds/{guild_id}/scheduled-events", self._list_scheduled_events),
            r("POST", "/guilds/{guild_id}/scheduled-events", self._create_scheduled_event),
            *(
                r(method, "/guilds/{guild_id}/scheduled-events/{event_id}", handler)
                for method, handler in (
                    ("GET", self._get_scheduled_event),
                    ("PATCH", self._edit_scheduled_event),
                    ("DELETE", self._delete_scheduled_event),
                )
            ),
            r(
                "POST",
                "/interactions/{webhook_id}/{webhook_token}/callback",
                self._interaction_callback,
                auth=False,
                global_limit=False,
            ),
            *(
                r(method, f"{hook}/messages/@original", handler, auth=False, global_limit=False)
                for method, handler in (
                    ("GET", self._get_original),
                    ("PATCH", self._edit_original),
                    ("DELETE", self._delete_original),
                )
            ),
            r("POST", hook, self._followup, auth=False, global_limit=False),
            *(
                r(
                    method,
                    f"{hook}/messages/{{message_id}}",
                    handler,
                    auth=False,
                    global_limit=False,
                )
                for method, handler in (
                    ("GET", self._get_webhook_message),
                    ("PATCH", self._edit_webhook_message),
                    ("DELETE", self._delete_webhook_message),
                )
            ),
        ]

    def _match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str], bool]:
        """(route, params, path_known): path_known is True if another method would match."""
        path_known = False
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            if route.method == method:
                return route, match.groupdict(), True
            path_known = True
        return None, {}, path_known

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method == method and fault.pattern.fullmatch(path):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.token}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.method
        path = request.path
        rel = path[len(API_PREFIX) :] if path.startswith(API_PREFIX + "/") else None
        route, params, path_known = (None, {}, False) if rel is None else self._match(method, rel)
        api: ApiRequest | None = None
        state: BucketState | None = None
        scope: str | None = None
        retry_after: float | None = None
        headers: dict[str, str] = {"Via": "1.1 google"}
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            if route is None:
                raise err.method_not_allowed() if path_known else err.not_found_route()
            assert rel is not None
            api = ApiRequest(request, route, params)
            if route.auth and not self._authorized(request):
                raise err.unauthorized()
            if route.global_limit:
                wait = self.limiter.check_global()
                if wait is not None:
                    raise _RateLimited(wait, "global", None)
            state = self.limiter.hit(route.key, route.major(params))
            if state.retry_after is not None:
                raise _RateLimited(state.retry_after, "user", state)
            fault = self._take_fault(method, rel)
            if fault is not None and fault.echo_auth:
                auth = request.headers.get("Authorization", "")
                raise DiscordError(fault.status, 0, f"Forbidden for Authorization: {auth}")
            if fault is not None:
                raise err.server_error(fault.status)
            self._check_snowflakes(params)
            reply = await route.handler(api)
            status, body = reply.status, reply.body
        except DiscordError as exc:
            status, body = exc.status, exc.body()
        except _RateLimited as exc:
            status, scope, retry_after = 429, exc.scope, exc.retry_after
            body = {
                "message": "You are being rate limited.",
                "retry_after": exc.retry_after,
                "global": exc.scope == "global",
            }
            headers["Retry-After"] = retry_after_header(exc.retry_after)
            headers["X-RateLimit-Scope"] = exc.scope
            if exc.scope == "global":
                headers["X-RateLimit-Global"] = "true"
        except Exception as exc:
            # A bug in the fake itself: answer 500 and fail the test when the fake stops.
            self.internal_errors.append(exc)
            status, body = 500, {"message": "500: fake Discord crashed", "code": 0}
        if state is not None:
            headers.update(state.headers())
        if status in (401, 403) or (status == 429 and scope != "shared"):
            self.invalid_request_count += 1
        record = RequestRecord(
            method=method,
            path=path,
            route=route.key if route else None,
            status=status,
            at=time.monotonic(),
            wall=time.time(),
            bucket=state.bucket if state else None,
            scope=scope,
            retry_after=retry_after,
            body=api.body if api else None,
            error_code=body.get("code") if isinstance(body, dict) and status >= 400 else None,
            response=None if status == 204 else body,
            headers=dict(headers),
        )
        self.requests.append(record)
        if route is None:
            self.unknown_routes.append(record)
        if status == 204:
            return web.Response(status=204, headers=headers)
        # Exactly "application/json": discord.py compares the header verbatim (no charset).
        headers["Content-Type"] = "application/json"
        return web.Response(
            body=json.dumps(body, separators=(",", ":")).encode(), status=status, headers=headers
        )

    @staticmethod
    def _check_snowflakes(params: Mapping[str, str]) -> None:
        errs = FormErrors()
        for name, value in params.items():
            if name.endswith("_id") and not value.isdigit():
                errs.add((name,), "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')
        errs.raise_if_any()

    # ------------------------------------------------------------------ REST: users, gateway

    async def _get_gateway(self, req: ApiRequest) -> Reply:
        return Reply(body={"url": self.gateway_url})

    async def _get_gateway_bot(self, req: ApiRequest) -> Reply:
        used = len(self.gateway.identifies)
        return Reply(
            body={
                "url": self.gateway_url,
                "shards": self.shard_count,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": max(0, 1000 - used),
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def _get_me(self, req: ApiRequest) -> Reply:
        return Reply(body=self._me_payload())

    async def _get_my_guilds(self, req: ApiRequest) -> Reply:
        out: list[dict[str, Any]] = []
        for guild in self.guilds.values():
            if guild.removed:
                continue
            out.append(
                {
                    "id": str(guild.id),
                    "name": guild.name,
                    "icon": None,
                    "banner": None,
                    "owner": False,
                    "permissions": str(guild.everyone_role.permissions | Permission.BOT_DEFAULT),
                    "features": [],
                }
            )
        return Reply(body=out)

    async def _leave_guild(self, req: ApiRequest) -> Reply:
        guild = self._guild(req.snowflake("guild_id"))
        self.remove_guild(guild.id)
        return Reply(204)

    async def _get_user(self, req: ApiRequest) -> Reply:
        user = self.users.get(req.snowflake("user_id"))
        if user is None:
            raise err.unknown_user()
        return Reply(body=user.payload())

    async def _get_application(self, req: ApiRequest) -> Reply:
        return Reply(
            body={
                "id": str(self.application_id),
                "name": self.bot.username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "hook": True,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": secrets.token_hex(32),
                "owner": self.app_owner.payload(),
                "team": None,
                "flags": self.application_flags,
                "tags": [],
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "role_connections_verification_url": None,
                "install_params": None,
                "integration_types_config": {"0": {}},
                "approximate_guild_count": sum(not g.removed for g in self.guilds.values()),
                "bot": self.bot.payload(),
            }
        )

    # ------------------------------------------------------------------ REST: commands

    def _command_scope(self, req: ApiRequest) -> tuple[dict[int, dict[str, Any]], int | None]:
        if req.snowflake("application_id") != self.application_id:
            raise err.missing_access()
        if "guild_id" not in req.params:
            return self.global_commands, None
        guild = self.guilds.get(req.snowflake("guild_id"))
        if guild is None or guild.removed:
            # What a sync to a guild without the bot (or its applications.commands scope) gets.
            raise err.missing_access()
        return self.guild_commands.setdefault(guild.id, {}), guild.id

    def _store_command(
        self, scope: dict[int, dict[str, Any]], guild_id: int | None, body: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        kind = body.get("type", 1)
        existing = next(
            (c for c in scope.values() if c["name"] == body["name"] and c["type"] == kind), None
        )
        command_id = int(existing["id"]) if existing else self._ids.next()
        stored: dict[str, Any] = {
            "id": str(command_id),
            "application_id": str(self.application_id),
            "version": str(self._ids.next()),
            "type": kind,
            "name": body["name"],
            "name_localizations": body.get("name_localizations"),
            "description": body.get("description", ""),
            "description_localizations": body.get("description_localizations"),
            "default_member_permissions": body.get("default_member_permissions"),
            "nsfw": bool(body.get("nsfw", False)),
            "options": body.get("options") or [],
        }
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        else:
            stored["dm_permission"] = body.get("dm_permission", True)
            stored["contexts"] = body.get("contexts")
            stored["integration_types"] = body.get("integration_types") or [0]
        scope[command_id] = stored
        return stored, existing is None

    async def _list_commands(self, req: ApiRequest) -> Reply:
        scope, _ = self._command_scope(req)
        return Reply(body=list(scope.values()))

    async def _bulk_commands(self, req: ApiRequest) -> Reply:
        scope, guild_id = self._command_scope(req)
        body = await req.parse()
        errs = FormErrors()
        validate_command_list(errs, body)
        errs.raise_if_any()
        for kind, count in count_by_type(body).items():
            limit = COMMANDS_PER_TYPE_MAX[kind]
            if count > limit:
                raise DiscordError(
                    400, 30032, f"Maximum number of application commands reached ({limit})"
                )
        old = dict(scope)
        scope.clear()
        out = []
        for command in body:
            # Keep ids of commands that already existed, as Discord does.
            stored, _ = self._store_command(old, guild_id, command)
            scope[int(stored["id"])] = stored
            out.append(stored)
        self.command_syncs.append(
            CommandSync(guild_id, [c["name"] for c in body], time.monotonic())
        )
        return Reply(body=out)

    async def _create_command(self, req: ApiRequest) -> Reply:
        scope, guild_id = self._command_scope(req)
        body = await req.object_body()
        errs = FormErrors()
        validate_command(errs, (), body)
        errs.raise_if_any()
        kind = body.get("type", 1)
        is_new = not any(c["name"] == body["name"] and c["type"] == kind for c in scope.values())
        if is_new and count_by_type(scope.values()).get(kind, 0) >= COMMANDS_PER_TYPE_MAX[kind]:
            limit = COMMANDS_PER_TYPE_MAX[kind]
            raise DiscordError(
                400, 30032, f"Maximum number of application commands reached ({limit})"
            )
        stored, created = self._store_command(scope, guild_id, body)
        return Reply(201 if created else 200, stored)

    async def _get_command(self, req: ApiRequest) -> Reply:
        scope, _ = self._command_scope(req)
        command = scope.get(req.snowflake("command_id"))
        if command is None:
            raise err.unknown_command()
        return Reply(body=command)

    async def _delete_command(self, req: ApiRequest) -> Reply:
        scope, _ = self._command_scope(req)
        if scope.pop(req.snowflake("command_id"), None) is None:
            raise err.unknown_command()
        return Reply(204)

    # ------------------------------------------------------------------ REST: channels, messages

    async def _get_channel(self, req: ApiRequest) -> Reply:
        channel, _, _ = self._channel(req.snowflake("channel_id"))
        return Reply(body=channel.payload())

    async def _list_messages(self, req: ApiRequest) -> Reply:
        channel, _, perms = self._channel(req.snowflake("channel_id"))
        if not perms & Permission.READ_MESSAGE_HISTORY:
            return Reply(body=[])
        try:
            limit = int(req.query.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            errs = FormErrors()
            errs.add(("limit",), "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
            errs.raise_if_any()
        msgs = self.messages(channel.id, include_ephemeral=False)
        if "before" in req.query:
            msgs = [m for m in msgs if m.id < int(req.query["before"])]
        if "after" in req.query:
            msgs = [m for m in msgs if m.id > int(req.query["after"])][:limit]
        msgs = sorted(msgs, key=lambda m: m.id, reverse=True)[:limit]
        return Reply(body=[self._message_payload(m) for m in msgs])

    async def _create_message(self, req: ApiRequest) -> Reply:
        channel, _, perms = self._channel(req.snowflake("channel_id"))
        if channel.type not in ChannelType.MESSAGEABLE:
            raise err.non_text_channel()
        payload = await req.object_body()
        errs = FormErrors()
        validate_message(errs, payload, allowed_flags=MESSAGE_CREATE_FLAGS)
        ref = payload.get("message_reference")
        if ref is not None:
            referenced = None
            if isinstance(ref, dict) and str(ref.get("message_id", "")).isdigit():
                referenced = self._messages.get(int(ref["message_id"]))
            if (referenced is None or referenced.channel_id != channel.id) and (
                not isinstance(ref, dict) or ref.get("fail_if_not_exists", True)
            ):
                errs.add(
                    ("message_reference",),
                    "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                    "Unknown message",
                )
        errs.raise_if_any()
        if message_is_empty(payload, file_count=len(req.files)):
            raise err.empty_message()
        if channel.is_thread and channel.archived:
            raise err.thread_archived()
        send_bit = (
            Permission.SEND_MESSAGES_IN_THREADS if channel.is_thread else Permission.SEND_MESSAGES
        )
        if not perms & send_bit:
            raise err.missing_permissions()
        if payload.get("embeds") and not perms & Permission.EMBED_LINKS:
            raise err.missing_permissions()
        if req.files and not perms & Permission.ATTACH_FILES:
            raise err.missing_permissions()
        if ref is not None and not perms & Permission.READ_MESSAGE_HISTORY:
            raise err.missing_permissions()

        nonce = payload.get("nonce")
        now = time.monotonic()
        key = (channel.id, self.bot.id, str(nonce))
        if nonce is not None and payload.get("enforce_nonce"):
            entry = self._nonces.get(key)
            if entry is not None and now - entry.at <= self.nonce_window:
                original = self._messages[entry.message_id]
                if not original.deleted:
                    original.nonce_replays += 1
                    return Reply(body=self._message_payload(original))
        msg = self._store_message(
            channel, payload, req.files, author=self.bot, flags=int(payload.get("flags") or 0)
        )
        if nonce is not None:
            self._nonces[key] = _NonceEntry(msg.id, now)
        self._dispatch_message("MESSAGE_CREATE", msg)
        return Reply(body=self._message_payload(msg))

    def _channel_message(self, req: ApiRequest) -> tuple[FakeMessage, FakeChannel, int]:
        channel, _, perms = self._channel(req.snowflake("channel_id"))
        msg = self._messages.get(req.snowflake("message_id"))
        if msg is None or msg.deleted or msg.channel_id != channel.id or msg.ephemeral:
            raise err.unknown_message()
        return msg, channel, perms

    async def _get_message(self, req: ApiRequest) -> Reply:
        msg, _, perms = self._channel_message(req)
        if not perms & Permission.READ_MESSAGE_HISTORY:
            raise err.missing_access()
        return Reply(body=self._message_payload(msg))

    async def _edit_message(self, req: ApiRequest) -> Reply:
        msg, _, perms = self._channel_message(req)
        payload = await req.object_body()
        if msg.author.id != self.bot.id:
            raise err.cannot_edit_others()
        if payload.get("embeds") and not perms & Permission.EMBED_LINKS:
            raise err.missing_permissions()
        self._apply_edit(msg, payload, req.files, allowed_flags=MESSAGE_CREATE_FLAGS)
        self._dispatch_message("MESSAGE_UPDATE", msg)
        return Reply(body=self._message_payload(msg))

    async def _delete_message(self, req: ApiRequest) -> Reply:
        msg, _, perms = self._channel_message(req)
        if msg.author.id != self.bot.id and not perms & Permission.MANAGE_MESSAGES:
            raise err.missing_permissions()
        msg.deleted = True
        self._dispatch_message("MESSAGE_DELETE", msg)
        return Reply(204)

    async def _crosspost(self, req: ApiRequest) -> Reply:
        msg, channel, perms = self._channel_message(req)
        if channel.type != ChannelType.ANNOUNCEMENT:
            raise err.wrong_channel_type()
        needed = (
            Permission.SEND_MESSAGES if msg.author.id == self.bot.id else Permission.MANAGE_MESSAGES
        )
        if not perms & needed:
            raise err.missing_permissions()
        if msg.flags & MessageFlag.CROSSPOSTED:
            raise err.already_crossposted()
        msg.flags |= MessageFlag.CROSSPOSTED
        self._dispatch_message("MESSAGE_UPDATE", msg)
        return Reply(body=self._message_payload(msg))

    async def _typing(self, req: ApiRequest) -> Reply:
        _, _, perms = self._channel(req.snowflake("channel_id"))
        if not perms & Permission.SEND_MESSAGES:
            raise err.missing_permissions()
        return Reply(204)

    # ------------------------------------------------------------------ REST: guilds

    async def _get_guild(self, req: ApiRequest) -> Reply:
        guild = self._guild(req.snowflake("guild_id"))
        return Reply(body=guild.rest_payload(with_counts=req.flag("with_counts")))

    async def _get_guild_channels(self, req: ApiRequest) -> Reply:
        guild = self._guild(req.snowflake("guild_id"))
        return Reply(body=[c.payload() for c in guild.live_channels() if not c.is_thread])

    async def _get_guild_roles(self, req: ApiRequest) -> Reply:
        guild = self._guild(req.snowflake("guild_id"))
        return Reply(body=[r.payload() for r in guild.roles.values()])

    async def _get_member(self, req: ApiRequest) -> Reply:
        guild = self._guild(req.snowflake("guild_id"))
        member = guild.members.get(req.snowflake("user_id"))
        if member is None:
            raise err.unknown_member()
        return Reply(body=member.payload())

    # ------------------------------------------------------------------ REST: interactions

    async def _interaction_callback(self, req: ApiRequest) -> Reply:
        interaction = self.interactions.get(req.snowflake("webhook_id"))
        now = time.monotonic()
        body = await req.object_body()
        if interaction is None or req.params["webhook_token"] != interaction.token:
            raise err.unknown_interaction()
        elapsed = now - interaction.dispatched_at
        kind = body.get("type")
        data = body.get("data")

        def attempt(status: int, code: int | None = None) -> None:
            interaction.attempts.append(CallbackAttempt(now, elapsed, kind, data, status, code))
            interaction.notify()

        if interaction.acknowledged:
            attempt(400, 40060)
            raise err.already_acknowledged()
        if elapsed > self.interaction_deadline:
            attempt(404, 10062)
            raise err.unknown_interaction()
        try:
            msg = self._accept_callback(interaction, kind, data, req.files)
        except DiscordError as exc:
            attempt(exc.status, exc.code)
            raise
        with_response = req.flag("with_response")
        attempt(200 if with_response else 204)
        if not with_response:
            return Reply(204)
        result: dict[str, Any] = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
            }
        }
        resource: dict[str, Any] = {"type": kind}
        if msg is not None:
            result["interaction"].update(
                response_message_id=str(msg.id),
                response_message_loading=msg.loading,
                response_message_ephemeral=msg.ephemeral,
            )
            resource["message"] = self._message_payload(msg)
        result["resource"] = resource
        return Reply(body=result)

    def _accept_callback(
        self,
        interaction: FakeInteraction,
        kind: Any,
        data: Any,
        files: Sequence[UploadedFile],
    ) -> FakeMessage | None:
        """Validate a callback body; on success record the response (and its message)."""
        errs = FormErrors()
        if kind not in ALLOWED_CALLBACKS[interaction.type]:
            allowed = sorted(ALLOWED_CALLBACKS[interaction.type])
            errs.add(("type",), "BASE_TYPE_CHOICES", f"Value must be one of {allowed}.")
            errs.raise_if_any()
        data = data or {}
        if not isinstance(data, dict):
            errs.add(("data",), "MODEL_TYPE_CONVERT", "Only dictionaries may be used")
            errs.raise_if_any()
        channel = self.channels[interaction.channel_id]
        msg: FakeMessage | None = None
        if kind == CALLBACK_CHANNEL_MESSAGE:
            validate_message(errs, data, allowed_flags=INTERACTION_MESSAGE_FLAGS)
            errs.raise_if_any()
            if message_is_empty(data, file_count=len(files)):
                raise err.empty_message()
            msg = self._store_message(
                channel,
                data,
                files,
                author=self.bot,
                flags=int(data.get("flags") or 0),
                type=MESSAGE_CHAT_INPUT_COMMAND,
                interaction=interaction,
            )
            interaction.completed_via = "response"
        elif kind == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            flags = data.get("flags") or 0
            if not isinstance(flags, int) or flags & ~MessageFlag.EPHEMERAL:
                errs.add(("data", "flags"), "MESSAGE_FLAGS_INVALID", f"Invalid flags: {flags}")
                errs.raise_if_any()
            msg = self._store_message(
                channel,
                {},
                [],
                author=self.bot,
                flags=MessageFlag.LOADING | (flags & MessageFlag.EPHEMERAL),
                type=MESSAGE_CHAT_INPUT_COMMAND,
                interaction=interaction,
            )
        elif kind == CALLBACK_AUTOCOMPLETE_RESULT:
            validate_autocomplete_result(errs, data, interaction.focused_type or OPTION_STRING)
            errs.raise_if_any()
        elif kind == CALLBACK_MODAL:
            validate_modal(errs, data)
            errs.raise_if_any()
        interaction.response_type = kind
        interaction.response_data = data
        if msg is not None:
            interaction.original = msg
            self._dispatch_message("MESSAGE_CREATE", msg)
        return msg

    def _webhook_interaction(self, req: ApiRequest) -> FakeInteraction:
        if req.snowflake("webhook_id") != self.application_id:
            raise err.unknown_webhook()
        interaction = self._interactions_by_token.get(req.params["webhook_token"])
        if interaction is None:
            raise err.unknown_webhook()
        if interaction.age() > self.interaction_token_ttl:
            raise err.invalid_webhook_token()
        return interaction

    def _interaction_message(self, interaction: FakeInteraction, message_id: int) -> FakeMessage:
        candidates = [interaction.original, *interaction.followups]
        for msg in candidates:
            if msg is not None and msg.id == message_id and not msg.deleted:
                return msg
        raise err.unknown_message()

    def _original(self, interaction: FakeInteraction) -> FakeMessage:
        msg = interaction.original
        if msg is None or msg.deleted:
            raise err.unknown_message()
        return msg

    async def _get_original(self, req: ApiRequest) -> Reply:
        interaction = self._webhook_interaction(req)
        return Reply(body=self._message_payload(self._original(interaction)))

    async def _edit_original(self, req: ApiRequest) -> Reply:
        interaction = self._webhook_interaction(req)
        msg = self._original(interaction)
        return await self._edit_interaction_message(req, interaction, msg)

    async def _edit_interaction_message(
        self, req: ApiRequest, interaction: FakeInteraction, msg: FakeMessage
    ) -> Reply:
        payload = await req.object_body()
        was_loading = msg.loading
        # The ephemeral bit is fixed at creation; a completed defer stops loading.
        self._apply_edit(msg, payload, req.files, allowed_flags=INTERACTION_MESSAGE_FLAGS)
        if was_loading:
            msg.flags &= ~MessageFlag.LOADING
            if msg is interaction.original and interaction.completed_via is None:
                interaction.completed_via = "edit"
        self._dispatch_message("MESSAGE_UPDATE", msg)
        interaction.notify()
        return Reply(body=self._message_payload(msg))

    async def _delete_original(self, req: ApiRequest) -> Reply:
        interaction = self._webhook_interaction(req)
        msg = self._original(interaction)
        msg.deleted = True
        self._dispatch_message("MESSAGE_DELETE", msg)
        interaction.notify()
        return Reply(204)

    async def _followup(self, req: ApiRequest) -> Reply:
        interaction = self._webhook_interaction(req)
        payload = await req.object_body()
        if not interaction.acknowledged:
            raise err.unknown_webhook()
        errs = FormErrors()
        validate_message(errs, payload, allowed_flags=INTERACTION_MESSAGE_FLAGS)
        errs.raise_if_any()
        if message_is_empty(payload, file_count=len(req.files)):
            raise err.empty_message()
        original = interaction.original
        if original is not None and original.loading and not original.deleted:
            # After a defer, the first follow-up fills in the "thinking..." message.
            self._apply_edit(original, payload, req.files, allowed_flags=INTERACTION_MESSAGE_FLAGS)
            original.flags &= ~MessageFlag.LOADING
            interaction.completed_via = "followup"
            self._dispatch_message("MESSAGE_UPDATE", original)
            msg = original
        else:
            msg = self._store_message(
                self.channels[interaction.channel_id],
                payload,
                req.files,
                author=self.bot,
                flags=int(payload.get("flags") or 0),
                type=MESSAGE_CHAT_INPUT_COMMAND,
                interaction=interaction,
            )
            interaction.followups.append(msg)
            self._dispatch_message("MESSAGE_CREATE", msg)
        interaction.notify()
        if not req.flag("wait"):
            return Reply(204)
        return Reply(body=self._message_payload(msg))

    async def _get_webhook_message(self, req: ApiRequest) -> Reply:
        interaction = self._webhook_interaction(req)
        msg = self._interaction_message(interaction, req.snowflake("message_id"))
        return Reply(body=self._message_payload(msg))

    async def _edit_webhook_message(self, req: ApiRequest) -> Reply:
        interaction = self._webhook_interaction(req)
        msg = self._interaction_message(interaction, req.snowflake("message_id"))
        return await self._edit_interaction_message(req, interaction, msg)

    async def _delete_webhook_message(self, req: ApiRequest) -> Reply:
        interaction = self._webhook_interaction(req)
        msg = self._interaction_message(interaction, req.snowflake("message_id"))
        msg.deleted = True
        self._dispatch_message("MESSAGE_DELETE", msg)
        interaction.notify()
        return Reply(204)

    # ------------------------------------------------------------------ spec helpers

    def _role_from_spec(self, guild_id: int, spec: RoleSpec, position: int) -> FakeRole:
        if isinstance(spec, str):
            name, perms, mentionable = spec, 0, False
        elif isinstance(spec, tuple):
            name, perms, mentionable = spec[0], spec[1], False
        else:
            name = spec["name"]
            perms = int(spec.get("permissions", 0))
            mentionable = bool(spec.get("mentionable", False))
        return FakeRole(self._ids.next(), guild_id, name, perms, position, mentionable)

    def _channel_from_spec(self, guild: FakeGuild, spec: ChannelSpec, position: int) -> None:
        parent: str | None = None
        topic: str | None = None
        if isinstance(spec, str):
            name, kind = spec, ChannelType.TEXT
        elif isinstance(spec, tuple):
            name, kind = spec[0], spec[1]
            parent = spec[2] if len(spec) > 2 else None
        else:
            name = spec["name"]
            kind = int(spec.get("type", ChannelType.TEXT))
            parent = spec.get("parent")
            topic = spec.get("topic")
        parent_id = guild.channel(parent).id if parent else None
        if kind in ChannelType.THREADS and parent_id is None:
            texts = [c for c in guild.live_channels() if c.type == ChannelType.TEXT]
            if not texts:
                raise ValueError(f"thread {name!r} needs a parent text channel")
            parent_id = texts[0].id
        channel = self._new_channel(guild.id, name, kind, parent_id=parent_id, topic=topic)
        channel.position = position


def _normalize_embed(embed: Any) -> dict[str, Any]:
    """Discord stores embeds with ``type: rich`` unless told otherwise."""
    if not isinstance(embed, dict):
        return {}
    data = dict(embed)
    data.setdefault("type", "rich")
    return data


__all__ = [
    "ApiRequest",
    "CommandSync",
    "FakeDiscord",
    "RequestRecord",
    "UploadedFile",
]
