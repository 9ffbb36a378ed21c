"""The fake gateway: JSON over a websocket, with the transport compression the client asks for.

Implements HELLO, IDENTIFY (token, intent and shard checks with Discord's close codes),
heartbeats, READY followed by one GUILD_CREATE per guild, dispatches with sequence numbers,
RESUME (replaying missed events) and op 7 / op 9 on request. Voice, presences and member
chunking beyond the guild's known members are not modelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from .server import FakeDiscord

log = logging.getLogger(__name__)

API_VERSION = "10"

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT
#: Every intent bit Discord documents (0-21 and 24-25).
KNOWN_INTENTS = ((1 << 22) - 1) | (1 << 24) | (1 << 25)

#: Dispatches a session only receives if it identified with this intent.
EVENT_INTENTS: dict[str, int] = {
    "CHANNEL_CREATE": INTENT_GUILDS,
    "CHANNEL_UPDATE": INTENT_GUILDS,
    "CHANNEL_DELETE": INTENT_GUILDS,
    "THREAD_CREATE": INTENT_GUILDS,
    "THREAD_UPDATE": INTENT_GUILDS,
    "THREAD_DELETE": INTENT_GUILDS,
    "GUILD_UPDATE": INTENT_GUILDS,
    "GUILD_ROLE_CREATE": INTENT_GUILDS,
    "GUILD_ROLE_UPDATE": INTENT_GUILDS,
    "GUILD_ROLE_DELETE": INTENT_GUILDS,
    "GUILD_MEMBER_ADD": INTENT_GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": INTENT_GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": INTENT_GUILD_MEMBERS,
    "MESSAGE_CREATE": INTENT_GUILD_MESSAGES,
    "MESSAGE_UPDATE": INTENT_GUILD_MESSAGES,
    "MESSAGE_DELETE": INTENT_GUILD_MESSAGES,
}

CLOSE_UNKNOWN_ERROR = 4000
CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_DECODE_ERROR = 4002
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_INVALID_SEQ = 4007
CLOSE_RATE_LIMITED = 4008
CLOSE_INVALID_SHARD = 4010
CLOSE_INVALID_API_VERSION = 4012
CLOSE_INVALID_INTENTS = 4013
CLOSE_DISALLOWED_INTENTS = 4014

#: Client payloads allowed per connection per minute.
SEND_LIMIT = 120
RESUME_BUFFER = 1000


class Compressor(Protocol):
    def encode(self, text: str) -> bytes: ...


class ZlibStream:
    """``compress=zlib-stream``: one deflate stream per connection, each message sync-flushed."""

    def __init__(self) -> None:
        self._obj = zlib.compressobj()

    def encode(self, text: str) -> bytes:
        return self._obj.compress(text.encode()) + self._obj.flush(zlib.Z_SYNC_FLUSH)


class ZstdStream:
    """``compress=zstd-stream``: one zstd stream per connection, each message block-flushed.

    discord.py asks for this when ``zstandard`` (or Python 3.14's ``compression.zstd``) is
    importable, in which case the same module is available here.
    """

    def __init__(self) -> None:
        try:
            import zstandard
        except ImportError:
            from compression import zstd

            compressor = zstd.ZstdCompressor()
            mode = zstd.ZstdCompressor.FLUSH_BLOCK
            self._encode: Callable[[bytes], bytes] = lambda data: compressor.compress(
                data, mode=mode
            )
        else:
            obj = zstandard.ZstdCompressor().compressobj()
            flush_block = zstandard.COMPRESSOBJ_FLUSH_BLOCK
            self._encode = lambda data: obj.compress(data) + obj.flush(flush_block)

    def encode(self, text: str) -> bytes:
        return self._encode(text.encode())


def make_compressor(kind: str | None) -> Compressor | None:
    if kind is None:
        return None
    if kind == "zlib-stream":
        return ZlibStream()
    if kind == "zstd-stream":
        return ZstdStream()
    raise ValueError(kind)


@dataclass
class GatewaySession:
    """A session created by IDENTIFY; survives disconnects so that RESUME can replay."""

    session_id: str
    intents: int
    shard: tuple[int, int]
    identify: dict[str, Any]
    seq: int = 0
    buffer: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RESUME_BUFFER))
    connection: GatewayConnection | None = None
    invalidated: bool = False

    def covers(self, guild_id: int | None) -> bool:
        shard_id, shard_count = self.shard
        return (0 if guild_id is None else (guild_id >> 22) % shard_count) == shard_id


@dataclass(frozen=True)
class GatewayFrame:
    """One payload the fake sent or received, for assertions."""

    direction: str  # "sent" | "received"
    op: int
    event: str | None
    seq: int | None
    at: float


class GatewayConnection:
    """One websocket; a writer task sends queued payloads in order (compression is stateful)."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        compressor: Compressor | None,
        record: Callable[[GatewayFrame], None],
    ) -> None:
        self.ws = ws
        self.compressor = compressor
        self.session: GatewaySession | None = None
        self.closed = False
        self.close_code: int | None = None
        self._record = record
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name="fakediscord-gateway-writer")
        self._sent_window_start = time.monotonic()
        self._sent_in_window = 0

    def send(self, payload: dict[str, Any]) -> None:
        if not self.closed:
            self._queue.put_nowait(("send", payload))

    def close(self, code: int, reason: str) -> None:
        if not self.closed:
            self.close_code = code
            self._queue.put_nowait(("close", (code, reason)))

    def count_client_payload(self) -> bool:
        """Count a payload from the client; False once it exceeds the gateway send limit."""
        now = time.monotonic()
        if now - self._sent_window_start >= 60:
            self._sent_window_start, self._sent_in_window = now, 0
        self._sent_in_window += 1
        return self._sent_in_window <= SEND_LIMIT

    async def drain(self) -> None:
        if not self.closed:
            await self._queue.join()

    async def _write_loop(self) -> None:
        while True:
            kind, item = await self._queue.get()
            try:
                if kind == "close":
                    code, reason = item
                    self.closed = True
                    await self.ws.close(code=code, message=reason.encode())
                    return
                text = json.dumps(item, separators=(",", ":"))
                if self.compressor is None:
                    await self.ws.send_str(text)
                else:
                    await self.ws.send_bytes(self.compressor.encode(text))
                self._record(
                    GatewayFrame("sent", item["op"], item.get("t"), item.get("s"), time.monotonic())
                )
            except (ConnectionError, RuntimeError):
                self.closed = True
                return
            finally:
                self._queue.task_done()
                if self.closed:
                    self._discard_pending()

    def _discard_pending(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
            self._queue.task_done()

    async def finish(self) -> None:
        self.closed = True
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._discard_pending()


def _op(op: int, d: Any) -> dict[str, Any]:
    return {"op": op, "d": d, "s": None, "t": None}


class Gateway:
    """Serves ``/gateway`` for a :class:`FakeDiscord`."""

    def __init__(self, owner: FakeDiscord, *, heartbeat_interval_ms: int = 41250) -> None:
        self.owner = owner
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: set[GatewayConnection] = set()
        #: Every IDENTIFY's ``d`` (token replaced by ``"<redacted>"``).
        self.identifies: list[dict[str, Any]] = []
        #: Every RESUME's ``d`` (token redacted).
        self.resumes: list[dict[str, Any]] = []
        #: Close codes the fake sent, in order.
        self.close_codes: list[int] = []
        #: Close codes of connections the client closed (discord.py's ``close()`` ends up
        #: sending 4000, which keeps the session resumable, as with real Discord).
        self.client_close_codes: list[int | None] = []
        self.frames: list[GatewayFrame] = []
        self.heartbeats = 0
        self.presence_updates: list[dict[str, Any]] = []
        #: Query string of every websocket connection (``v``, ``encoding``, ``compress``).
        self.connect_queries: list[dict[str, str]] = []

    # ------------------------------------------------------------------ public helpers

    def dispatch(
        self,
        event: str,
        data: Any,
        *,
        guild_id: int | None = None,
        without_content: Any = None,
    ) -> int:
        """Send a DISPATCH to every session that should see it; return how many did.

        ``without_content`` is what sessions without the MESSAGE_CONTENT intent get instead.
        """
        needed = EVENT_INTENTS.get(event, 0)
        delivered = 0
        for session in list(self.sessions.values()):
            if session.invalidated or not session.covers(guild_id):
                continue
            if needed and not session.intents & needed:
                continue
            private = without_content is not None and not session.intents & INTENT_MESSAGE_CONTENT
            self._dispatch_to(session, event, without_content if private else data)
            delivered += 1
        return delivered

    def live_sessions(self, guild_id: int | None = None) -> list[GatewaySession]:
        """Sessions with an open connection (that cover ``guild_id``, if given)."""
        return [
            s
            for s in self.sessions.values()
            if s.connection is not None
            and not s.connection.closed
            and not s.invalidated
            and (guild_id is None or s.covers(guild_id))
        ]

    async def drain(self) -> None:
        """Wait until every queued payload has been written to its socket."""
        for conn in list(self.connections):
            await conn.drain()

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT to every live connection (the client should RESUME)."""
        for conn in list(self.connections):
            conn.send(_op(OP_RECONNECT, None))

    def invalidate_sessions(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION to every live connection."""
        for session in self.live_sessions():
            if not resumable:
                session.invalidated = True
            assert session.connection is not None
            session.connection.send(_op(OP_INVALID_SESSION, resumable))

    async def close_all(self, code: int = 1001) -> None:
        for conn in list(self.connections):
            conn.close(code, "fake Discord shutting down")
        for conn in list(self.connections):
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(conn.drain(), timeout=2)
            await conn.finish()
        self.connections.clear()

    # ------------------------------------------------------------------ websocket handler

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=4096 * 1024)
        await ws.prepare(request)
        query = request.query
        self.connect_queries.append(dict(query))
        error: tuple[int, str] | None = None
        compressor: Compressor | None = None
        if query.get("v") != API_VERSION:
            error = (CLOSE_INVALID_API_VERSION, "Invalid API version.")
        elif query.get("encoding", "json") != "json":
            error = (CLOSE_DECODE_ERROR, "The fake gateway only speaks encoding=json.")
        else:
            try:
                compressor = make_compressor(query.get("compress"))
            except (ValueError, ImportError):
                error = (CLOSE_UNKNOWN_ERROR, f"Unsupported compress={query.get('compress')}.")
        conn = GatewayConnection(ws, compressor, self.frames.append)
        self.connections.add(conn)
        try:
            if error is not None:
                self._close(conn, *error)
            else:
                conn.send(
                    _op(
                        OP_HELLO,
                        {
                            "heartbeat_interval": self.heartbeat_interval_ms,
                            "_trace": ['["fake-gateway",{"micros":0}]'],
                        },
                    )
                )
                await self._receive_loop(conn)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(conn.drain(), timeout=5)
        finally:
            await conn.finish()
            self.connections.discard(conn)
            if conn.close_code is None:
                self.client_close_codes.append(ws.close_code)
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
                # A client closing with 1000/1001 ends its session: it cannot be resumed.
                if conn.close_code is None and ws.close_code in (1000, 1001):
                    session.invalidated = True
            if not ws.closed:
                await ws.close()
        return ws

    async def _receive_loop(self, conn: GatewayConnection) -> None:
        async for msg in conn.ws:
            if conn.closed:
                return
            if msg.type == WSMsgType.TEXT:
                try:
                    payload = json.loads(msg.data)
                    op = payload["op"]
                    data = payload.get("d")
                except (ValueError, KeyError, TypeError):
                    self._close(conn, CLOSE_DECODE_ERROR, "Error while decoding payload.")
                    return
            elif msg.type == WSMsgType.BINARY:
                self._close(conn, CLOSE_DECODE_ERROR, "Error while decoding payload.")
                return
            else:
                return
            self.frames.append(GatewayFrame("received", op, None, None, time.monotonic()))
            if op != OP_HEARTBEAT and not conn.count_client_payload():
                self._close(conn, CLOSE_RATE_LIMITED, "You are being rate limited.")
                return
            if not self._handle_op(conn, op, data):
                return

    def _close(self, conn: GatewayConnection, code: int, reason: str) -> None:
        self.close_codes.append(code)
        conn.close(code, reason)

    def _handle_op(self, conn: GatewayConnection, op: Any, data: Any) -> bool:
        """Handle one client payload; False when the connection is being closed."""
        if op == OP_HEARTBEAT:
            self.heartbeats += 1
            conn.send(_op(OP_HEARTBEAT_ACK, None))
            return True
        if op == OP_IDENTIFY:
            return self._identify(conn, data)
        if op == OP_RESUME:
            return self._resume(conn, data)
        if conn.session is None:
            self._close(conn, CLOSE_NOT_AUTHENTICATED, "Not authenticated.")
            return False
        if op == OP_PRESENCE_UPDATE:
            self.presence_updates.append(data)
            return True
        if op == OP_VOICE_STATE_UPDATE:
            return True
        if op == OP_REQUEST_GUILD_MEMBERS:
            self._member_chunk(conn, data)
            return True
        self._close(conn, CLOSE_UNKNOWN_OPCODE, "Unknown opcode.")
        return False

    def _token_ok(self, token: Any) -> bool:
        if not isinstance(token, str):
            return False
        return token.removeprefix("Bot ") == self.owner.token

    def _identify(self, conn: GatewayConnection, data: Any) -> bool:
        if conn.session is not None:
            self._close(conn, CLOSE_ALREADY_AUTHENTICATED, "Already authenticated.")
            return False
        if not isinstance(data, dict) or not isinstance(data.get("properties"), dict):
            self._close(conn, CLOSE_DECODE_ERROR, "Error while decoding payload.")
            return False
        self.identifies.append({**data, "token": "<redacted>"})
        if not self._token_ok(data.get("token")):
            self._close(conn, CLOSE_AUTHENTICATION_FAILED, "Authentication failed.")
            return False
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents & ~KNOWN_INTENTS:
            self._close(conn, CLOSE_INVALID_INTENTS, "Invalid intent(s).")
            return False
        if intents & PRIVILEGED_INTENTS and not self.owner.allow_privileged:
            self._close(conn, CLOSE_DISALLOWED_INTENTS, "Disallowed intent(s).")
            return False
        shard = data.get("shard", [0, 1])
        if (
            not isinstance(shard, list)
            or len(shard) != 2
            or not all(isinstance(x, int) for x in shard)
            or not 0 <= shard[0] < shard[1]
        ):
            self._close(conn, CLOSE_INVALID_SHARD, "Invalid shard.")
            return False
        session = GatewaySession(
            session_id=secrets.token_hex(16),
            intents=intents,
            shard=(shard[0], shard[1]),
            identify=self.identifies[-1],
            connection=conn,
        )
        self.sessions[session.session_id] = session
        conn.session = session
        guilds = [g for g in self.owner.guilds.values() if not g.removed and session.covers(g.id)]
        self._dispatch_to(session, "READY", self.owner.ready_payload(session, guilds))
        for guild in guilds:
            if not guild.unavailable:
                self._dispatch_to(session, "GUILD_CREATE", guild.gateway_payload(self.owner.bot.id))
        return True

    def _resume(self, conn: GatewayConnection, data: Any) -> bool:
        if conn.session is not None:
            self._close(conn, CLOSE_ALREADY_AUTHENTICATED, "Already authenticated.")
            return False
        if not isinstance(data, dict):
            self._close(conn, CLOSE_DECODE_ERROR, "Error while decoding payload.")
            return False
        self.resumes.append({**data, "token": "<redacted>"})
        if not self._token_ok(data.get("token")):
            self._close(conn, CLOSE_AUTHENTICATION_FAILED, "Authentication failed.")
            return False
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if session is None or session.invalidated or not isinstance(seq, int):
            conn.send(_op(OP_INVALID_SESSION, False))
            return True
        if seq > session.seq:
            self._close(conn, CLOSE_INVALID_SEQ, "Invalid seq.")
            return False
        if session.connection is not None and session.connection is not conn:
            session.connection.close(CLOSE_UNKNOWN_ERROR, "Session resumed elsewhere.")
        session.connection = conn
        conn.session = session
        for payload in session.buffer:
            if payload["s"] > seq:
                conn.send(payload)
        self._dispatch_to(session, "RESUMED", {"_trace": ['["fake-gateway",{"micros":0}]']})
        return True

    def _member_chunk(self, conn: GatewayConnection, data: Any) -> None:
        if not isinstance(data, dict) or conn.session is None:
            return
        guild = self.owner.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        wanted = {int(u) for u in data.get("user_ids") or []}
        members = [m.payload() for m in guild.members.values() if not wanted or m.id in wanted]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self._dispatch_to(conn.session, "GUILD_MEMBERS_CHUNK", chunk)

    def _dispatch_to(self, session: GatewaySession, event: str, data: Any) -> None:
        session.seq += 1
        payload = {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}
        session.buffer.append(payload)
        if session.connection is not None:
            session.connection.send(payload)
