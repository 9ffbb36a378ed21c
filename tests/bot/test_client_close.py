"""Closing the bot while discord.py still waits for guilds leaves no task behind.

discord.py holds READY back in a task of its own until the guilds arrive (or
``guild_ready_timeout`` passes). Left running after a close, that task dispatches
``ready`` into a client without an event loop and dies with "Task exception was never
retrieved" in the log of a bot that was stopped a couple of seconds after connecting.
"""

from __future__ import annotations

import asyncio

from bot.client import LaunchWatchBot
from tests.bot.conftest import wait_for


async def test_closing_before_ready_leaves_no_task_behind(fake, core, world):
    fake.set_guild_unavailable(world.guild.id)  # READY comes, the guild never does
    bot = LaunchWatchBot(core, guild_ready_timeout=3600)  # READY is held back for an hour
    with fake.patch_discord():
        running = asyncio.create_task(bot.start(fake.token))
        held: asyncio.Task[None] = await wait_for(
            lambda: getattr(bot._connection, "_ready_task", None), what="READY"
        )
        await bot.close()
        await running
    assert held.done(), "discord.py's READY task outlived the client"
    assert not bot.is_ready()
