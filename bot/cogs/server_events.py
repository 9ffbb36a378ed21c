"""/scheduled-events: a Discord scheduled event per upcoming launch, for servers that want
them (see :mod:`handlers.guild_events`)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs import CogHost, UserError, respond
from handlers.domain import utc_now
from handlers.guild_events import HORIZON, MAX_PER_GUILD


class ServerEventsCog(commands.Cog):
    """Turn scheduled events on or off for a server."""

    def __init__(self, bot: CogHost) -> None:
        self.bot = bot

    @app_commands.command(
        name="scheduled-events",
        description="A Discord scheduled event for each upcoming launch this server follows",
        extras={"ephemeral": True},
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(enabled="True: create and follow events; False: stop creating them")
    async def scheduled_events(self, interaction: discord.Interaction, enabled: bool) -> None:
        """Store the server's choice, after checking the bot may manage events."""
        assert interaction.guild_id is not None  # guild_only
        store = self.bot.storage.guild_events
        if enabled:
            perms = interaction.app_permissions
            if not (perms.manage_events or perms.create_events):
                raise UserError(
                    "I can't create scheduled events here: I'm missing **Manage Events**. "
                    "Grant LaunchWatch that permission, then run /scheduled-events again."
                )
        await store.set_scheduled_events(interaction.guild_id, enabled, utc_now())
        if enabled:
            days = HORIZON.days
            text = (
                f"✅ Scheduled events on: each launch this server gets alerts for appears in "
                f"Events {days} days ahead (at most {MAX_PER_GUILD}), moves when its time "
                "moves, starts when the webcast goes live and ends with the outcome."
            )
        else:
            text = (
                "Scheduled events off: no new ones will be created; those already made "
                "follow their launch to the end."
            )
        await respond(interaction, text)
