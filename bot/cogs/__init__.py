"""Slash commands, one cog per feature, plus the helpers every command answers through.

Every interaction must be acknowledged within three seconds. Commands answer through
:func:`respond`, which sends the first response or a follow-up, whichever is due; a safety
timer (:func:`start_auto_defer`) defers any command still silent after
:data:`AUTO_DEFER_AFTER` seconds, so a slow database or feed never shows "The application
did not respond". A per-interaction lock keeps the timer and the command from answering
at the same moment.

Bad input raises :class:`UserError`; the tree's error handler turns it (and every other
error) into an ephemeral message.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import discord
from discord import app_commands
from discord.ext import commands

if TYPE_CHECKING:
    from bot.ratelimit import RequestPacer
    from bot.runtime import Core
    from bot.settings import Settings
    from handlers.matching.knowledge import KnowledgeBase
    from storage import Storage


class CogHost(Protocol):
    """What the cogs need from the bot that loads them: a small interface, so the cogs
    do not depend on the client (which depends on them to load them)."""

    core: Core
    pacer: RequestPacer

    @property
    def settings(self) -> Settings:
        """The process settings."""
        ...

    @property
    def storage(self) -> Storage:
        """The storage facade."""
        ...

    @property
    def knowledge(self) -> KnowledgeBase:
        """Vehicles, sites and agencies, for autocomplete."""
        ...

    @property
    def latency(self) -> float:
        """The gateway heartbeat latency in seconds (``inf`` before it connects)."""
        ...

    async def fetch_channel(self, channel_id: int, /) -> Any:
        """A channel by id, from Discord."""
        ...


log = logging.getLogger(__name__)

AUTO_DEFER_AFTER = 1.8
_LOCK_KEY = "launchwatch.lock"


class UserError(app_commands.AppCommandError):
    """Bad input or a refused request; the message is shown to the user as it is."""


def is_ephemeral(interaction: discord.Interaction) -> bool:
    """Whether the command's answer is for the caller alone (``extras['ephemeral']``)."""
    command = interaction.command
    return bool(command is not None and command.extras.get("ephemeral", True))


def _lock(interaction: discord.Interaction) -> asyncio.Lock:
    lock = interaction.extras.get(_LOCK_KEY)
    if lock is None:
        lock = interaction.extras[_LOCK_KEY] = asyncio.Lock()
    return lock


async def defer(interaction: discord.Interaction, *, ephemeral: bool | None = None) -> None:
    """Acknowledge now ("thinking…"); the answer follows through :func:`respond`."""
    eph = is_ephemeral(interaction) if ephemeral is None else ephemeral
    async with _lock(interaction):
        if not interaction.response.is_done():
            await interaction.response.defer(ephemeral=eph, thinking=True)


def start_auto_defer(
    interaction: discord.Interaction,
    running: set[asyncio.Task[None]],
    after: float = AUTO_DEFER_AFTER,
) -> None:
    """Defer the interaction if the command has not answered ``after`` seconds from now.

    The timer task is kept in ``running`` (owned by the caller) until it ends.
    """

    async def guard() -> None:
        await asyncio.sleep(after)
        try:
            await defer(interaction)
        except discord.HTTPException as exc:
            log.warning("could not defer interaction %s: %s", interaction.id, exc)

    task = asyncio.create_task(guard(), name=f"auto-defer-{interaction.id}")
    running.add(task)
    task.add_done_callback(running.discard)


async def respond(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    embed: discord.Embed | None = None,
    embeds: Sequence[discord.Embed] | None = None,
    ephemeral: bool | None = None,
) -> None:
    """Answer the interaction: the first response, or a follow-up once acknowledged."""
    eph = is_ephemeral(interaction) if ephemeral is None else ephemeral
    kwargs: dict[str, Any] = {
        "ephemeral": eph,
        "allowed_mentions": discord.AllowedMentions.none(),
    }
    if content is not None:
        kwargs["content"] = content[:2000]
    if embed is not None:
        kwargs["embed"] = embed
    if embeds:
        kwargs["embeds"] = list(embeds)
    async with _lock(interaction):
        if interaction.response.is_done():
            await interaction.followup.send(**kwargs)
        else:
            await interaction.response.send_message(**kwargs)


def close_matches(text: str, options: Iterable[str], n: int = 5) -> list[str]:
    """Names similar to ``text`` (case-insensitive), for "did you mean" hints."""
    by_fold = {o.casefold(): o for o in options}
    found = difflib.get_close_matches(text.casefold(), list(by_fold), n=n, cutoff=0.5)
    contains = [o for f, o in by_fold.items() if text.casefold() in f and o not in found]
    return ([by_fold[f] for f in found] + contains)[:n]


def split_list(text: str | None) -> list[str]:
    """``"a, b ,c"`` → ``["a", "b", "c"]``."""
    if not text:
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


def choices_for_last_item(
    current: str, options: Sequence[str], limit: int = 25
) -> list[app_commands.Choice[str]]:
    """Autocomplete for comma-separated lists: complete the item being typed."""
    head, _, tail = current.rpartition(",")
    prefix = f"{head}, " if head else ""
    typed = tail.strip().casefold()
    starts = [o for o in options if o.casefold().startswith(typed)]
    inside = [o for o in options if typed in o.casefold() and o not in starts]
    choices = []
    for option in [*starts, *inside][:limit]:
        value = f"{prefix}{option}"
        if len(value) <= 100:
            choices.append(app_commands.Choice(name=value, value=value))
    return choices


# --------------------------------------------------------------------------- errors

_PERMISSION_NAMES = {
    "manage_channels": "Manage Channels",
    "manage_guild": "Manage Server",
    "administrator": "Administrator",
}


def _human_permissions(names: Iterable[str]) -> str:
    return ", ".join(_PERMISSION_NAMES.get(n, n.replace("_", " ").title()) for n in names)


def error_message(error: app_commands.AppCommandError) -> str:
    """What the user reads for an error (unexpected ones are logged by the caller)."""
    if isinstance(error, UserError):
        return str(error)
    if isinstance(error, app_commands.MissingPermissions):
        needed = _human_permissions(error.missing_permissions)
        return f"You need the **{needed}** permission to do that."
    if isinstance(error, app_commands.BotMissingPermissions):
        return f"I need the **{_human_permissions(error.missing_permissions)}** permission here."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.TransformerError):
        if error.type is discord.AppCommandOptionType.channel:
            return "Pick a text channel, an announcement channel or a thread."
        return f"`{str(error.value)[:100]}` is not a valid value here."
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        return "This command has just changed. Please try again in a minute."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    return "Something went wrong on LaunchWatch's side. It has been logged; please try again later."


def is_unexpected(error: app_commands.AppCommandError) -> bool:
    """True for errors that are bugs or outages rather than user mistakes."""
    return isinstance(error, app_commands.CommandInvokeError) or not isinstance(
        error,
        UserError
        | app_commands.CheckFailure
        | app_commands.TransformerError
        | app_commands.CommandNotFound
        | app_commands.CommandSignatureMismatch,
    )


async def report_error(
    interaction: discord.Interaction, error: app_commands.AppCommandError
) -> None:
    """Tell the user what went wrong (ephemerally); log the traceback of real failures."""
    command = interaction.command.qualified_name if interaction.command else "?"
    if is_unexpected(error):
        original = getattr(error, "original", error)
        log.error(
            "command /%s failed (guild=%s channel=%s user=%s)",
            command,
            interaction.guild_id,
            interaction.channel_id,
            interaction.user.id,
            exc_info=original,
        )
    else:
        log.info("command /%s refused: %s", command, error)
    try:
        await respond(interaction, error_message(error), ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("could not report an error for /%s: %s", command, exc)


# --------------------------------------------------------------------------- cogs


def build_cogs(bot: CogHost) -> list[commands.Cog]:
    """One cog per feature, each given the bot (and through it the core services)."""
    from bot.cogs.feeds import FeedsCog
    from bot.cogs.launches import LaunchesCog
    from bot.cogs.server_events import ServerEventsCog
    from bot.cogs.status import StatusCog
    from bot.cogs.subscriptions import SubscriptionsCog

    return [
        SubscriptionsCog(bot),
        ServerEventsCog(bot),
        LaunchesCog(bot),
        FeedsCog(bot),
        StatusCog(bot),
    ]
