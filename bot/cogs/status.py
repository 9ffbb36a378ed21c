"""/status: is LaunchWatch healthy? Feeds, polling, deliveries, subscriptions, gateway."""

from __future__ import annotations

import math
import time
from collections import Counter
from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot import __version__
from bot.cogs import CogHost, respond
from bot.embeds import discord_time
from handlers.domain import FeedState, utc_now
from handlers.schedule.budget import HOUR


def format_duration(seconds: float) -> str:
    """``3d 4h 5m`` style."""
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days}d"] if days else []
    if days or hours:
        parts.append(f"{hours}h")
    parts.append(f"{minutes}m")
    return " ".join(parts)


class StatusCog(commands.Cog):
    """Health and diagnostics."""

    def __init__(self, bot: CogHost) -> None:
        self.bot = bot

    @app_commands.command(
        name="status",
        description="LaunchWatch's health: feeds, deliveries, connection",
        extras={"ephemeral": True},
    )
    async def status(self, interaction: discord.Interaction) -> None:
        """One embed of health figures (never any secret)."""
        await respond(interaction, embed=await self.status_embed())

    async def _schedule_line(self) -> str:
        """When the launch schedule was last read, what it holds and what is left to spend."""
        refresher = self.bot.core.schedule
        if refresher is None:
            return "off (LAUNCHWATCH_SCHEDULE=off): alerts come from news alone"
        store = self.bot.core.storage.schedule
        now = utc_now()
        last = await store.last_success()
        week = await store.between(now, now + timedelta(days=7))
        spent = len(await store.requests_since(now - HOUR))
        refreshed = f"refreshed {discord_time(last, 'R')}" if last else "not read yet"
        return (
            f"{refreshed} · {len(week)} launches in the next 7 days · next read "
            f"{discord_time(await refresher.next_due(now), 'R')} · "
            f"{spent}/{refresher.budget.per_hour} requests this hour"
        )

    async def status_embed(self) -> discord.Embed:
        """Build the /status embed from storage and the running services."""
        core = self.bot.core
        storage = core.storage
        feeds = await storage.feeds.list_feeds()
        states = Counter(f.state for f in feeds)
        subs = await storage.subscriptions.counts_by_state()
        pending = await storage.outbox.pending_count()
        embed = discord.Embed(title="LaunchWatch status", colour=discord.Colour(0x22C55E))
        embed.add_field(
            name="Feeds",
            value=(
                f"{states[FeedState.OK] + states[FeedState.NEW]} OK · "
                f"{states[FeedState.FAILING]} failing · {states[FeedState.DISABLED]} disabled"
            ),
            inline=False,
        )
        last = core.pipeline.last_cycle_at
        embed.add_field(name="Last poll", value=discord_time(last, "R") if last else "not yet")
        embed.add_field(name="Pending deliveries", value=str(pending))
        embed.add_field(
            name="Subscriptions",
            value=" · ".join(f"{n} {state}" for state, n in sorted(subs.items())) or "none",
        )
        embed.add_field(name="Uptime", value=format_duration(time.monotonic() - core.started_at))
        latency = self.bot.latency
        embed.add_field(
            name="Gateway latency",
            value="n/a" if not math.isfinite(latency) else f"{latency * 1000:.0f} ms",
        )
        parser = core.parser
        stats = parser.stats
        timed = stats.parsed + stats.failed + stats.stopped + stats.died
        average = stats.seconds / max(1, timed)
        embed.add_field(
            name="Feed parsing",
            value=(
                f"{stats.parsed} parsed · avg {average:.2f} s · slowest {stats.slowest:.2f} s"
                f" · {stats.stopped} stopped at the {parser.budget:g} s budget"
            ),
            inline=False,
        )
        embed.add_field(name="Launch schedule", value=await self._schedule_line(), inline=False)
        invalid = self.bot.pacer.invalid.count()
        embed.add_field(name="Rejected requests (10 min)", value=str(invalid))
        embed.set_footer(text=f"LaunchWatch {__version__} · discord.py {discord.__version__}")
        return embed
