"""/feeds list|add|remove|test: a server's own extra news feeds.

A server's feeds are polled like the defaults, but the launch events found only in them
are visible to that server alone. URLs go through the same SSRF guard as every fetch, and
each server may add at most ``LAUNCHWATCH_MAX_GUILD_FEEDS`` feeds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs import CogHost, UserError, defer, respond
from bot.embeds import discord_time, list_line, pack_lines, safe_text, safe_url, truncate
from handlers.domain import Article, Feed, FeedState, utc_now
from handlers.errors import BlockedAddressError, LaunchWatchError, error_text
from handlers.netguard import canonical_feed_url, check_url
from handlers.summary import scan_summary

if TYPE_CHECKING:
    from storage import SqlFeedStore

log = logging.getLogger(__name__)

_STATE_ICON = {
    FeedState.OK: "✅",
    FeedState.NEW: "🆕",
    FeedState.FAILING: "⚠️",
    FeedState.DISABLED: "⛔",
}


def shown_url(url: str) -> str:
    """A URL safe to show in a message (not linkified into an embed preview)."""
    safe = safe_url(url)
    return f"<{safe}>" if safe else f"`{truncate(safe_text(url), 200)}`"


def feed_line(feed: Feed, parse_seconds: float | None = None) -> str:
    """One line of /feeds list with the feed's health (and its last parse time, if known)."""
    line = f"{_STATE_ICON[feed.state]} {shown_url(feed.url)}"
    if feed.title:
        line += f" — {truncate(safe_text(feed.title), 80)}"
    if feed.last_success_at:
        line += f" · last read {discord_time(feed.last_success_at, 'R')}"
    if parse_seconds is not None:
        line += f" · parsed in {parse_seconds:.2f} s"
    problem = feed.disabled_reason or (feed.last_error if feed.consecutive_failures else None)
    if problem:
        line += f"\n  {feed.state.value}: {truncate(safe_text(problem), 300)}"
    return line


class FeedsCog(commands.Cog):
    """Extra feeds a server's admins add for themselves."""

    feeds = app_commands.Group(
        name="feeds",
        description="This server's extra news feeds",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: CogHost) -> None:
        self.bot = bot

    @property
    def _store(self) -> SqlFeedStore:
        return self.bot.storage.feeds

    async def _guild_feeds(self, guild_id: int) -> list[Feed]:
        feeds: list[Feed] = await self._store.list_feeds(guild_id=guild_id, everything=False)
        return feeds

    def _checked_url(self, url: str) -> str:
        try:
            return check_url(url.strip(), allow_private=self.bot.settings.allow_private_networks)
        except BlockedAddressError as exc:
            reason = truncate(safe_text(exc.reason), 300)
            raise UserError(f"That URL can't be used: {reason}.") from None

    # ------------------------------------------------------------------ list

    @feeds.command(
        name="list",
        description="This server's extra feeds and their health",
        extras={"ephemeral": True},
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def list_feeds(self, interaction: discord.Interaction) -> None:
        """Every feed this server added."""
        assert interaction.guild_id is not None  # guild_only group
        feeds = await self._guild_feeds(interaction.guild_id)
        limit = self.bot.settings.max_feeds_per_guild
        embed = discord.Embed(
            title=f"This server's feeds ({len(feeds)}/{limit})", colour=discord.Colour(0x3B82F6)
        )
        muted = await self._store.muted(interaction.guild_id)
        parse_times = self.bot.core.parser.stats.per_feed_seconds
        lines = [feed_line(f, parse_times.get(f.id)) for f in feeds]
        if not feeds:
            lines.append(
                "This server follows no extra feeds; LaunchWatch's built-in feeds "
                "always apply. Add one with /feeds add."
            )
        if muted:
            lines.append("**Muted built-in feeds**")
            lines.extend(f"🔇 {shown_url(f.url)}" for f in muted)
        embed.description = pack_lines(lines, limit=4096, max_chunks=1)[0]
        await respond(interaction, embed=embed)

    # ------------------------------------------------------------------ add

    @feeds.command(
        name="add",
        description="Follow another RSS/Atom feed in this server",
        extras={"ephemeral": True},
    )
    @app_commands.describe(url="The feed's address (https://…)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def add(self, interaction: discord.Interaction, url: str) -> None:
        """Follow a feed; other servers may follow the same one without knowing of each other."""
        assert interaction.guild_id is not None  # guild_only group
        checked = self._checked_url(url)
        limit = self.bot.settings.max_feeds_per_guild
        if limit == 0:
            raise UserError("Adding feeds is turned off on this LaunchWatch.")
        known = await self._store.get_by_url(checked)
        if known is not None and known.builtin:
            raise UserError(
                "That feed is one of LaunchWatch's built-in feeds: its launches already "
                "reach this server."
            )
        existing = await self._guild_feeds(interaction.guild_id)
        if len(existing) >= limit:
            raise UserError(
                f"This server already has {len(existing)} feeds, the most allowed "
                f"({limit}). Remove one with /feeds remove first."
            )
        _, created = await self._store.add(checked, utc_now(), guild_id=interaction.guild_id)
        if not created:
            raise UserError("This server already follows that feed.")
        await respond(
            interaction,
            f"✅ Added {shown_url(checked)}. LaunchWatch reads it shortly; alerts start with "
            "the next new launch story in it. Try /feeds test to see what it would find.",
        )

    # ------------------------------------------------------------------ remove

    @feeds.command(
        name="remove",
        description="Stop following one of this server's feeds",
        extras={"ephemeral": True},
    )
    @app_commands.describe(url="The feed's address, as /feeds list shows it")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def remove(self, interaction: discord.Interaction, url: str) -> None:
        """Remove this server's link to a feed; other servers' links are untouched."""
        assert interaction.guild_id is not None  # guild_only group
        candidate = canonical_feed_url(url)
        if await self._store.remove(candidate, guild_id=interaction.guild_id, now=utc_now()):
            await respond(interaction, f"🛑 Removed {shown_url(candidate)}.")
            return
        known = await self._store.get_by_url(candidate)
        if known is not None and known.builtin:
            raise UserError(
                "That is one of LaunchWatch's built-in feeds, which only its operator can "
                "remove. /feeds mute stops its alerts in this server."
            )
        raise UserError(
            f"This server does not follow {shown_url(candidate)}. "
            "/feeds list shows this server's feeds."
        )

    # ------------------------------------------------------------------ mute

    @feeds.command(
        name="mute",
        description="Stop alerts from one of LaunchWatch's built-in feeds in this server",
        extras={"ephemeral": True},
    )
    @app_commands.describe(url="The built-in feed's address")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def mute(self, interaction: discord.Interaction, url: str) -> None:
        """Mute a built-in feed for this server only."""
        assert interaction.guild_id is not None  # guild_only group
        candidate = canonical_feed_url(url)
        if not await self._store.mute(candidate, guild_id=interaction.guild_id, now=utc_now()):
            raise UserError(
                f"{shown_url(candidate)} is not one of LaunchWatch's built-in feeds. "
                "/feeds remove stops one of this server's own feeds."
            )
        await respond(
            interaction,
            f"🔇 Muted {shown_url(candidate)} in this server. /feeds unmute brings it back.",
        )

    @feeds.command(
        name="unmute",
        description="Hear a muted built-in feed again in this server",
        extras={"ephemeral": True},
    )
    @app_commands.describe(url="The muted feed's address, as /feeds list shows it")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def unmute(self, interaction: discord.Interaction, url: str) -> None:
        """Unmute a built-in feed for this server."""
        assert interaction.guild_id is not None  # guild_only group
        candidate = canonical_feed_url(url)
        if not await self._store.unmute(candidate, guild_id=interaction.guild_id):
            raise UserError(f"This server has not muted {shown_url(candidate)}.")
        await respond(interaction, f"🔊 {shown_url(candidate)} is heard again in this server.")

    @remove.autocomplete("url")
    async def _remove_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        feeds = await self._guild_feeds(interaction.guild_id)
        typed = current.casefold()
        return [
            app_commands.Choice(name=truncate(f.url, 100), value=f.url)
            for f in feeds
            if typed in f.url.casefold() and len(f.url) <= 100
        ][:25]

    # ------------------------------------------------------------------ test

    @feeds.command(
        name="test",
        description="Read a feed now and show what LaunchWatch would post",
        extras={"ephemeral": True},
    )
    @app_commands.describe(url="The feed's address (https://…)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def test(self, interaction: discord.Interaction, url: str) -> None:
        """Fetch, parse, match and group one feed without storing anything."""
        checked = self._checked_url(url)
        await defer(interaction)  # fetching takes longer than the 3 s Discord waits
        try:
            title, articles = await self._read(checked)
        except LaunchWatchError as exc:
            raise UserError(
                f"Could not read {shown_url(checked)}: {truncate(safe_text(error_text(exc)), 400)}"
            ) from None
        await respond(interaction, embed=self._scan_embed(checked, title, articles))

    async def _read(self, url: str) -> tuple[str, list[Article]]:
        # The poller's own path: the same guard, parser pool and parse budget.
        read = await self.bot.core.reader.read(url)
        title = read.parsed.title if read.parsed is not None else ""
        return title, list(read.articles)

    def _scan_embed(self, url: str, title: str, articles: list[Article]) -> discord.Embed:
        from handlers.grouping import group_mentions

        pairs = self.bot.core.reader.launch_stories(articles)
        events = group_mentions(pairs, utc_now())
        embed = discord.Embed(
            title=truncate(f"Feed test: {safe_text(title) or 'untitled feed'}", 256),
            colour=discord.Colour(0x3B82F6),
        )
        summary = f"{shown_url(url)}\n{scan_summary(len(articles), len(pairs), len(events))}."
        lines = [list_line(e) for e in events]
        if lines:
            summary += "\n\n" + pack_lines(lines, limit=3500, max_chunks=1)[0]
        elif articles:
            summary += "\n\nNo launch news in it right now; LaunchWatch would post nothing yet."
        embed.description = truncate(summary, 4096)
        return embed
