"""Interactions the fake sent, and what the bot answered.

Discord's clock: the first callback must arrive within 3 s of the INTERACTION_CREATE
(later ones get ``404 / 10062 Unknown interaction``), only one callback is accepted
(``400 / 40060``), and the token works for edits and follow-ups for 15 minutes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.budget import PATIENCE

from .models import FakeMessage, MessageFlag

ACK_DEADLINE = 3.0
TOKEN_TTL = 15 * 60.0

INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_AUTOCOMPLETE = 4

CALLBACK_PONG = 1
CALLBACK_CHANNEL_MESSAGE = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE_MESSAGE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE_RESULT = 8
CALLBACK_MODAL = 9

#: Which callback types each interaction type accepts.
ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    INTERACTION_APPLICATION_COMMAND: frozenset(
        {CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE, CALLBACK_MODAL}
    ),
    INTERACTION_AUTOCOMPLETE: frozenset({CALLBACK_AUTOCOMPLETE_RESULT}),
}


@dataclass(frozen=True)
class CallbackAttempt:
    """One POST to ``/interactions/{id}/{token}/callback``, accepted or not."""

    at: float
    elapsed: float
    type: int | None
    data: Any
    status: int
    error_code: int | None = None

    @property
    def accepted(self) -> bool:
        return self.status < 300


@dataclass(frozen=True)
class FinalResponse:
    """What the user ends up seeing for a command."""

    content: str
    embeds: list[dict[str, Any]]
    flags: int
    message: FakeMessage
    #: ``"response"`` (type 4), ``"edit"`` (PATCH @original) or ``"followup"``.
    via: str

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & MessageFlag.EPHEMERAL)


@dataclass
class FakeInteraction:
    """An interaction the fake dispatched, and everything the bot did with its token."""

    id: int
    token: str
    type: int
    application_id: int
    guild_id: int | None
    channel_id: int
    user_id: int
    command: dict[str, Any]
    payload: dict[str, Any]
    dispatched_at: float
    #: Option type of the focused option (autocomplete only).
    focused_type: int | None = None
    attempts: list[CallbackAttempt] = field(default_factory=list)
    response_type: int | None = None
    response_data: Any = None
    original: FakeMessage | None = None
    followups: list[FakeMessage] = field(default_factory=list)
    #: How the original response got its final content (see :class:`FinalResponse`).
    completed_via: str | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def acknowledged(self) -> bool:
        return self.response_type is not None

    def age(self) -> float:
        return time.monotonic() - self.dispatched_at

    def notify(self) -> None:
        """Wake everyone waiting on this interaction."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` holds; False on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            event = self._changed
            try:
                await asyncio.wait_for(event.wait(), timeout=remaining)
            except TimeoutError:
                return predicate()
        return True


class InteractionResult:
    """What :meth:`FakeDiscord.invoke_command` / :meth:`FakeDiscord.autocomplete` observed."""

    def __init__(self, interaction: FakeInteraction) -> None:
        self.interaction = interaction

    def __repr__(self) -> str:
        return (
            f"<InteractionResult type={self.callback_type} status={self.callback_status} "
            f"elapsed={self.elapsed} deadline_missed={self.deadline_missed}>"
        )

    @property
    def attempts(self) -> list[CallbackAttempt]:
        """Every callback the bot sent, accepted or not, in order."""
        return list(self.interaction.attempts)

    @property
    def response(self) -> CallbackAttempt | None:
        """The accepted callback, else the first (rejected) one, else None."""
        attempts = self.interaction.attempts
        accepted = [a for a in attempts if a.accepted]
        if accepted:
            return accepted[0]
        return attempts[0] if attempts else None

    @property
    def callback_type(self) -> int | None:
        """Callback type (4 message, 5 deferred, 8 autocomplete result, 9 modal), if any."""
        attempt = self.response
        return attempt.type if attempt else None

    @property
    def callback_status(self) -> int | None:
        """HTTP status the fake gave it (404 / 10062 when it came too late)."""
        attempt = self.response
        return attempt.status if attempt else None

    @property
    def accepted(self) -> bool:
        return self.interaction.acknowledged

    @property
    def elapsed(self) -> float | None:
        """Seconds from INTERACTION_CREATE to that callback."""
        attempt = self.response
        return attempt.elapsed if attempt else None

    @property
    def deadline_missed(self) -> bool:
        """True unless a callback was accepted within 3 s (else the user sees
        "The application did not respond")."""
        return not any(a.accepted and a.elapsed <= ACK_DEADLINE for a in self.interaction.attempts)

    @property
    def data(self) -> dict[str, Any]:
        attempt = self.response
        return dict(attempt.data or {}) if attempt else {}

    @property
    def content(self) -> str | None:
        return self.data.get("content")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.data.get("embeds") or [])

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & MessageFlag.EPHEMERAL)

    @property
    def choices(self) -> list[dict[str, Any]]:
        """Autocomplete choices (type 8 callbacks)."""
        return list(self.data.get("choices") or [])

    @property
    def original(self) -> FakeMessage | None:
        return self.interaction.original

    @property
    def followups(self) -> list[FakeMessage]:
        return list(self.interaction.followups)

    async def wait_final(self, timeout: float = PATIENCE) -> FinalResponse:
        """The response the user ends up with: the type-4 message, or, after a defer,
        the original once edited or replaced by the first follow-up.

        Raises ``TimeoutError`` if the bot never completes it within ``timeout``.
        """
        interaction = self.interaction

        def done() -> bool:
            original = interaction.original
            return original is not None and not original.loading

        if not await interaction.wait_until(done, timeout):
            raise TimeoutError(
                f"interaction {interaction.id} was not completed within {timeout}s "
                f"(callback type {self.callback_type})"
            )
        original = interaction.original
        assert original is not None
        return FinalResponse(
            content=original.content,
            embeds=list(original.embeds),
            flags=original.flags,
            message=original,
            via=interaction.completed_via or "response",
        )

    async def wait_followups(self, count: int, timeout: float = PATIENCE) -> list[FakeMessage]:
        """Wait for at least ``count`` follow-up messages."""
        interaction = self.interaction
        if not await interaction.wait_until(lambda: len(interaction.followups) >= count, timeout):
            raise TimeoutError(
                f"only {len(interaction.followups)} of {count} follow-ups within {timeout}s"
            )
        return list(interaction.followups)
