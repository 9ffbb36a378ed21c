"""The discord.py client: intents, command tree, guild lifecycle and command sync.

Resources (settings, storage, the core services, the request pacer) are handed in by
``bot/discord_app.py``; nothing here is built at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs import build_cogs, report_error, start_auto_defer
from bot.ratelimit import RequestPacer
from handlers.domain import SubscriptionState, utc_now

if TYPE_CHECKING:
    from bot.runtime import Core
    from bot.settings import Settings
    from handlers.matching.knowledge import KnowledgeBase
    from storage import Storage

log = logging.getLogger(__name__)

COMMANDS_HASH = "commands.hash"
#: A 429 longer than this is not slept through inside discord.py: the job is retried later.
MAX_RATELIMIT_WAIT = 30.0


def bot_intents() -> discord.Intents:
    """Default intents without privileged ones, and without message events we never read."""
    intents = discord.Intents.default()
    intents.members = False
    intents.presences = False
    intents.message_content = False
    # Slash commands arrive as interactions whatever the intents; message and typing
    # events would only be gateway traffic to discard.
    intents.messages = False
    intents.typing = False
    return intents


class LaunchWatchTree(app_commands.CommandTree["LaunchWatchBot"]):
    """Command tree whose every error becomes a clear ephemeral answer."""

    def __init__(self, client: LaunchWatchBot, **options: Any) -> None:
        super().__init__(client, **options)
        self._auto_defers: set[asyncio.Task[None]] = set()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Arm the auto-defer safety timer for every slash command."""
        if interaction.type is discord.InteractionType.application_command:
            start_auto_defer(interaction, self._auto_defers)
        return True

    async def _call(self, interaction: discord.Interaction[LaunchWatchBot]) -> None:
        # discord.py routes only AppCommandError to on_error; anything raised while it
        # parses the interaction (before the command runs) would leave the user waiting.
        try:
            await super()._call(interaction)
        except app_commands.AppCommandError:
            raise
        except Exception as exc:
            if interaction.type is not discord.InteractionType.application_command:
                raise
            wrapped = app_commands.AppCommandError("could not read the interaction")
            wrapped.__cause__ = exc
            await report_error(interaction, wrapped)

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Answer the user and log real failures (never the token: logs are redacted)."""
        await report_error(interaction, error)


class LaunchWatchBot(commands.Bot):
    """LaunchWatch on Discord: slash commands plus the guild lifecycle."""

    def __init__(self, core: Core, *, pacer: RequestPacer | None = None, **options: Any) -> None:
        self.core = core
        self.pacer = pacer or RequestPacer()
        self.started_at = time.monotonic()
        self.commands_synced: bool | None = None
        # LaunchWatch never joins voice: discord.py's warnings about missing voice
        # libraries would only worry whoever reads the log.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=bot_intents(),
            tree_cls=LaunchWatchTree,
            allowed_mentions=discord.AllowedMentions.none(),
            http_trace=self.pacer.trace_config(),
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
            **options,
        )

    @property
    def settings(self) -> Settings:
        """The process settings."""
        return self.core.settings

    @property
    def storage(self) -> Storage:
        """The storage facade."""
        return self.core.storage

    @property
    def knowledge(self) -> KnowledgeBase:
        """The matcher's knowledge base (vehicles, sites, agencies) for autocomplete."""
        kb = getattr(self.core.matcher, "kb", None)
        if kb is None:
            from handlers.matching.knowledge import default_knowledge

            kb = default_knowledge()
        return kb

    async def close(self) -> None:
        """Close the connection; a READY still being delayed (waiting for guilds) is dropped.

        discord.py dispatches ``ready`` from a task of its own once the guilds arrive; if
        the bot closes first, that task would run after the client let go of its event
        loop and die with "Task exception was never retrieved".
        """
        ready = getattr(self._connection, "_ready_task", None)
        if ready is not None and not ready.done():
            ready.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ready
        await super().close()

    async def setup_hook(self) -> None:
        """Load the cogs and sync the command tree if it changed."""
        for cog in build_cogs(self):
            await self.add_cog(cog)
        self.commands_synced = await self.sync_commands()

    async def sync_commands(self) -> bool:
        """Sync only when the command definitions changed since the last sync.

        Syncing on every boot is rate limited and slow to propagate; with
        ``LAUNCHWATCH_DEV_GUILD`` the commands go to that guild only, where changes show
        at once.
        """
        dev_guild = self.settings.dev_guild
        guild = discord.Object(dev_guild) if dev_guild else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = [cmd.to_dict(self.tree) for cmd in self.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(
            json.dumps(
                {"app": self.application_id, "guild": dev_guild, "commands": payload},
                sort_keys=True,
                default=str,
            ).encode()
        ).hexdigest()
        if await self.storage.get_meta(COMMANDS_HASH) == digest:
            log.info("slash commands unchanged; not syncing")
            return False
        try:
            synced = await self.tree.sync(guild=guild)
        except discord.HTTPException:
            log.exception("syncing slash commands failed; the previous set stays active")
            return False
        await self.storage.set_meta(COMMANDS_HASH, digest)
        log.info(
            "synced %d slash commands %s",
            len(synced),
            f"to guild {dev_guild}" if dev_guild else "globally",
        )
        return True

    async def on_message(self, message: discord.Message) -> None:
        """LaunchWatch has no text commands; ignore messages."""

    async def on_ready(self) -> None:
        """Log the session once connected."""
        log.info(
            "connected to Discord as %s (id %s) in %d servers",
            self.user,
            self.user.id if self.user else "?",
            len(self.guilds),
        )

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """Removed from a server: pause its subscriptions (resumed if the bot returns)."""
        paused = await self.storage.subscriptions.set_guild_state(
            guild.id, SubscriptionState.PAUSED, utc_now(), only_from="active"
        )
        log.info("removed from guild %d; paused %d subscriptions", guild.id, paused)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Added (back) to a server: resume its paused subscriptions."""
        await self._resume(guild)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        """A server became available (startup, end of an outage): resume paused ones."""
        await self._resume(guild)

    async def _resume(self, guild: discord.Guild) -> None:
        resumed = await self.storage.subscriptions.set_guild_state(
            guild.id, SubscriptionState.ACTIVE, utc_now(), only_from="paused"
        )
        if resumed:
            log.info("guild %d is back; resumed %d subscriptions", guild.id, resumed)
