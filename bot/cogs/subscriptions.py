"""/subscribe, /unsubscribe and /subscriptions: which channels get launch alerts.

Every query is scoped to the server the command runs in, so one server can never see,
change or delete another server's subscriptions. The channel is checked before anything
is stored: it must belong to this server, be a text or announcement channel or a thread,
and LaunchWatch must be able to post embeds there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs import (
    CogHost,
    UserError,
    choices_for_last_item,
    close_matches,
    respond,
    split_list,
)
from bot.embeds import pack_lines, safe_text, truncate
from bot.publisher import missing_permissions
from handlers.domain import (
    ALL_STATUSES,
    DEFAULT_NOTICES,
    LaunchStatus,
    Notice,
    Subscription,
    SubscriptionFilter,
    SubscriptionState,
    utc_now,
)
from handlers.schedule.reminders import format_reminders, parse_reminders

if TYPE_CHECKING:
    from storage import SqlSubscriptionStore

TARGET = "discord"
ALERT_CHANNEL_TYPES = (
    discord.ChannelType.text,
    discord.ChannelType.news,
    discord.ChannelType.news_thread,
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
)
THREAD_TYPES = frozenset(ALERT_CHANNEL_TYPES[2:])
_TYPE_NAMES = {
    discord.ChannelType.voice: "a voice channel",
    discord.ChannelType.stage_voice: "a stage channel",
    discord.ChannelType.category: "a category",
    discord.ChannelType.forum: "a forum",
    discord.ChannelType.media: "a media channel",
}
STATUS_HELP = "upcoming, scrubbed, launched, failed"


class AlertChannel(app_commands.Transformer):
    """A channel option limited to where alerts can go; the value is passed through raw.

    discord.py's own channel annotations need the channel in the cache; the raw resolved
    channel is enough, and :func:`resolve_target` checks the rest.
    """

    @property
    def type(self) -> discord.AppCommandOptionType:
        """Discord's option type."""
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        """The channel types Discord's picker offers."""
        return list(ALERT_CHANNEL_TYPES)

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> Any:
        """No transformation: the raw resolved channel."""
        return value


@dataclass(frozen=True, slots=True)
class Target:
    """A channel in this server that alerts can be posted to."""

    id: int
    is_thread: bool
    #: The bot's permissions there, when known.
    perms: discord.Permissions | None = None

    @property
    def mention(self) -> str:
        """``<#id>``."""
        return f"<#{self.id}>"


def _type_name(kind: discord.ChannelType | None) -> str:
    return _TYPE_NAMES.get(kind, "that kind of channel") if kind else "that kind of channel"


async def resolve_target(
    bot: CogHost, interaction: discord.Interaction, channel: Any | None
) -> Target:
    """The channel to subscribe: in this server, of a usable type, and postable by the bot."""
    guild = interaction.guild
    if guild is None:
        raise UserError("LaunchWatch has to be added to this server to post alerts here.")
    channel_id = channel.id if channel is not None else interaction.channel_id
    if channel_id is None:
        raise UserError("Pick a channel.")
    found: Any = guild.get_channel_or_thread(channel_id)
    if found is None:
        found = await _fetch_channel(bot, channel_id)
        if getattr(found, "guild", None) is None or found.guild.id != guild.id:
            raise UserError("That channel is not in this server.")
    if found.type not in ALERT_CHANNEL_TYPES:
        raise UserError(
            f"LaunchWatch posts in text channels, announcement channels and threads; "
            f"<#{channel_id}> is {_type_name(found.type)}."
        )
    target = Target(channel_id, found.type in THREAD_TYPES)
    perms = _bot_permissions(interaction, guild, found, target)
    if perms is not None:
        missing = missing_permissions(perms, thread=target.is_thread)
        if missing:
            raise UserError(
                f"I can't post alerts in {target.mention}: I'm missing **{', '.join(missing)}**"
                " there. Grant LaunchWatch these permissions, then run /subscribe again."
            )
    return dataclasses.replace(target, perms=perms)


async def _fetch_channel(bot: CogHost, channel_id: int) -> Any:
    try:
        return await bot.fetch_channel(channel_id)
    except (discord.NotFound, discord.Forbidden):
        raise UserError(
            f"I can't see <#{channel_id}>. Give LaunchWatch **View Channel** there."
        ) from None
    except discord.HTTPException as exc:
        raise UserError(f"Discord did not let me check that channel ({exc.status}).") from exc


def _bot_permissions(
    interaction: discord.Interaction, guild: discord.Guild, channel: Any, target: Target
) -> discord.Permissions | None:
    """The bot's permissions in the target channel (None: unknown; the first delivery will
    tell, and /subscriptions shows it)."""
    if target.id == interaction.channel_id:
        # Discord computes the bot's permissions in the channel a command runs in.
        return interaction.app_permissions
    if guild.me is not None and hasattr(channel, "permissions_for"):
        return channel.permissions_for(guild.me)  # type: ignore[no-any-return]
    return None


def check_threads(target: Target) -> None:
    """A thread per launch needs a channel that can hold threads and Create Public Threads."""
    if target.is_thread:
        raise UserError(
            f"{target.mention} is a thread, and threads cannot hold threads. Pick a text or "
            "announcement channel for a thread per launch."
        )
    if target.perms is not None and not target.perms.create_public_threads:
        raise UserError(
            f"I can't open threads in {target.mention}: I'm missing **Create Public Threads**"
            " there. Grant LaunchWatch that permission, then run /subscribe again."
        )


def parse_statuses(text: str | None) -> frozenset[LaunchStatus]:
    """``"launched, failed"`` → those statuses; empty or ``all`` → every status."""
    words = [w.casefold() for w in split_list(text)]
    if not words or words == ["all"]:
        return ALL_STATUSES
    unknown = [w for w in words if w not in {s.value for s in LaunchStatus}]
    if unknown:
        shown = ", ".join(f"`{truncate(safe_text(w), 40)}`" for w in unknown[:5])
        raise UserError(
            f"Unknown status {shown}. Use any of {STATUS_HELP} (comma-separated), or all."
        )
    return frozenset(LaunchStatus(w) for w in words)


def canonical_names(
    text: str | None,
    what: str,
    canonical: Callable[[str], str | None],
    known: Sequence[str],
) -> frozenset[str]:
    """Each comma-separated name through the knowledge base; unknown ones are an error."""
    names = set()
    for raw in split_list(text):
        name = canonical(raw)
        if name is None:
            hint = close_matches(raw, known)
            shown = truncate(safe_text(raw), 60)
            suggestion = f" Did you mean: {', '.join(hint)}?" if hint else ""
            raise UserError(f"Unknown {what} `{shown}`.{suggestion}")
        names.add(name)
    return frozenset(names)


def check_role(interaction: discord.Interaction, role: discord.Role | None) -> None:
    """Only a real role of this server may be pinged (never @everyone)."""
    if role is None:
        return
    if role.is_default():
        raise UserError("Pick a role to ping; LaunchWatch never pings @everyone.")
    guild = interaction.guild
    if guild is None or guild.get_role(role.id) is None:
        raise UserError("That role is not in this server.")


def describe_filters(filters: SubscriptionFilter) -> str:
    """One line: what a subscription lets through."""
    parts = []
    if filters.statuses != ALL_STATUSES:
        parts.append("statuses: " + ", ".join(sorted(s.value for s in filters.statuses)))
    for label, values in (
        ("vehicles", filters.vehicles),
        ("agencies", filters.agencies),
        ("sites", filters.sites),
    ):
        if values:
            parts.append(f"{label}: " + ", ".join(sorted(safe_text(v) for v in values)))
    if filters.crewed_only:
        parts.append("crewed only")
    return "; ".join(parts) or "every launch"


_STATE_ICON = {
    SubscriptionState.ACTIVE: "✅",
    SubscriptionState.PAUSED: "⏸️",
    SubscriptionState.BROKEN: "⚠️",
}


def parse_notices(text: str) -> frozenset[Notice]:
    """``"go, liftoff"`` -> those notices; ``all`` / ``none``; anything else is a UserError."""
    words = {w.strip().casefold() for w in text.split(",") if w.strip()}
    if words <= {"none", "off"}:
        return frozenset()
    if words == {"all"}:
        return frozenset(Notice)
    known = {n.value for n in Notice}
    unknown = sorted(words - known)
    if unknown:
        raise UserError(
            f"Notices: {', '.join(unknown)} unknown; choose from {', '.join(sorted(known))},"
            " all or none."
        )
    return frozenset(Notice(w) for w in words)


def describe_notices(notices: frozenset[Notice]) -> str:
    order = [n for n in Notice if n in notices]
    return ", ".join(n.value for n in order) or "none"


def subscription_line(sub: Subscription) -> str:
    """One line of /subscriptions, with the reason when broken."""
    role = f" · pings <@&{sub.role_id}>" if sub.role_id else ""
    if sub.reminders:
        role += f" · reminders {format_reminders(sub.reminders)}"
    if sub.notices != DEFAULT_NOTICES:
        role += f" · notices {describe_notices(sub.notices)}"
    if sub.threads:
        role += " · a thread per launch"
    line = f"{_STATE_ICON[sub.state]} <#{sub.channel_id}> — {describe_filters(sub.filters)}{role}"
    if sub.state is SubscriptionState.BROKEN:
        reason = truncate(sub.broken_reason or "unknown reason", 300)
        line += f"\n  **broken**: {reason}. Fix it, then run /subscribe there again."
    elif sub.state is SubscriptionState.PAUSED:
        line += "\n  paused: LaunchWatch is not in this server right now"
    return line


class SubscriptionsCog(commands.Cog):
    """Subscribe channels to launch alerts, and manage them."""

    def __init__(self, bot: CogHost) -> None:
        self.bot = bot

    @property
    def _subs(self) -> SqlSubscriptionStore:
        return self.bot.storage.subscriptions

    # ------------------------------------------------------------------ /subscribe

    @app_commands.command(
        name="subscribe",
        description="Post launch alerts in a channel (run again to change its filters)",
        extras={"ephemeral": True},
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.checks.has_permissions(manage_channels=True)
    @app_commands.describe(
        channel="Where to post (default: this channel)",
        statuses="Which news to post, comma-separated: upcoming, scrubbed, launched, failed",
        vehicle="Only these rockets (comma-separated)",
        agency="Only these agencies or launch providers (comma-separated)",
        site="Only these launch sites (comma-separated)",
        crewed_only="Only launches with people on board",
        role="A role to ping with each new alert",
        reminders="Reminders before liftoff, e.g. 1d,1h,15m (1 minute to 31 days; none: off)",
        notices="Replies to an alert: go, hold, liftoff, outcome, time, webcast (all; none)",
        thread="Open a thread on each alert for that launch's notices and reminders",
    )
    async def subscribe(
        self,
        interaction: discord.Interaction,
        channel: app_commands.Transform[Any, AlertChannel] | None = None,
        statuses: str | None = None,
        vehicle: str | None = None,
        agency: str | None = None,
        site: str | None = None,
        crewed_only: bool = False,
        role: discord.Role | None = None,
        reminders: str | None = None,
        notices: str | None = None,
        thread: bool | None = None,
    ) -> None:
        """Create or update the channel's subscription."""
        kb = self.bot.knowledge
        try:
            leads = None if reminders is None else parse_reminders(reminders)
        except ValueError as exc:
            raise UserError(f"Reminders: {exc}.") from None
        wanted_notices = None if notices is None else parse_notices(notices)
        filters = SubscriptionFilter(
            statuses=parse_statuses(statuses),
            vehicles=canonical_names(vehicle, "vehicle", kb.canonical_vehicle, kb.vehicles()),
            agencies=canonical_names(agency, "agency", kb.canonical_agency, kb.agencies()),
            sites=canonical_names(site, "launch site", kb.canonical_site, kb.sites()),
            crewed_only=crewed_only,
        )
        check_role(interaction, role)
        assert interaction.guild_id is not None  # guild_only
        target = await resolve_target(self.bot, interaction, channel)
        if thread:
            check_threads(target)
        await self._check_limit(interaction.guild_id, target)
        try:
            sub, created = await self._subs.upsert(
                target=TARGET,
                guild_id=interaction.guild_id,
                channel_id=target.id,
                filters=filters,
                role_id=role.id if role else None,
                created_by=interaction.user.id,
                now=utc_now(),
                reminders=leads,
                notices=wanted_notices,
                threads=thread,
            )
        except PermissionError:
            raise UserError("That channel is subscribed from another server.") from None
        verb = "Subscribed" if created else "Updated"
        text = f"✅ {verb} {target.mention}: {describe_filters(sub.filters)}."
        if sub.notices != DEFAULT_NOTICES:
            text += f" Notices: {describe_notices(sub.notices)}."
        if sub.threads:
            text += " Each alert opens a thread for that launch's notices and reminders."
        if sub.reminders:
            text += (
                f" Reminders {format_reminders(sub.reminders)} before liftoff, for launches"
                " with an exact time."
            )
        if role is not None:
            text += f" New alerts ping {role.mention}."
            if not role.mentionable and not interaction.app_permissions.mention_everyone:
                text += (
                    f"\nNote: {role.mention} is not mentionable and I lack **Mention Everyone**,"
                    " so Discord will not notify it."
                )
        await respond(interaction, text)

    async def _check_limit(self, guild_id: int, target: Target) -> None:
        if await self._subs.get(TARGET, target.id) is not None:
            return  # updating an existing subscription never hits the limit
        limit = self.bot.settings.max_subscriptions_per_guild
        count = await self._subs.count_for_guild(guild_id)
        if count >= limit:
            raise UserError(
                f"This server already has {count} subscriptions, the most allowed ({limit}). "
                "Remove one with /unsubscribe first."
            )

    @subscribe.autocomplete("statuses")
    async def _statuses_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return choices_for_last_item(current, [s.value for s in LaunchStatus] + ["all"])

    @subscribe.autocomplete("vehicle")
    async def _vehicle_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return choices_for_last_item(current, self.bot.knowledge.vehicles())

    @subscribe.autocomplete("agency")
    async def _agency_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return choices_for_last_item(current, self.bot.knowledge.agencies())

    @subscribe.autocomplete("site")
    async def _site_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return choices_for_last_item(current, self.bot.knowledge.sites())

    # ------------------------------------------------------------------ /unsubscribe

    @app_commands.command(
        name="unsubscribe",
        description="Stop launch alerts in a channel",
        extras={"ephemeral": True},
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.checks.has_permissions(manage_channels=True)
    @app_commands.describe(
        channel="The channel (default: this channel)",
        channel_id="Or pick a subscription by channel id (e.g. of a deleted channel)",
    )
    async def unsubscribe(
        self,
        interaction: discord.Interaction,
        channel: app_commands.Transform[Any, AlertChannel] | None = None,
        channel_id: str | None = None,
    ) -> None:
        """Remove the channel's subscription (only within this server)."""
        assert interaction.guild_id is not None  # guild_only
        if channel is not None:
            target = channel.id
        elif channel_id:
            text = channel_id.strip()
            # ASCII digits only ("²".isdigit() is true) and a snowflake SQLite can store.
            if not (text.isascii() and text.isdigit() and len(text) < 20 and int(text) < 2**63):
                raise UserError("`channel_id` must be a channel id (pick one from the list).")
            target = int(text)
        else:
            target = interaction.channel_id
        removed = await self._subs.remove(guild_id=interaction.guild_id, channel_id=target)
        if not removed:
            raise UserError(f"<#{target}> has no LaunchWatch subscription in this server.")
        await respond(interaction, f"🛑 <#{target}> no longer gets launch alerts.")

    @unsubscribe.autocomplete("channel_id")
    async def _subscription_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        guild = interaction.guild
        choices = []
        for sub in await self._subs.list_for_guild(interaction.guild_id):
            found = guild.get_channel_or_thread(sub.channel_id) if guild else None
            name = f"#{found.name}" if found else "deleted channel"
            label = truncate(f"{name} ({sub.channel_id}) — {sub.state.value}", 100)
            if current.casefold() in label.casefold():
                choices.append(app_commands.Choice(name=label, value=str(sub.channel_id)))
        return choices[:25]

    # ------------------------------------------------------------------ /subscriptions

    @app_commands.command(
        name="subscriptions",
        description="This server's launch-alert subscriptions and their health",
        extras={"ephemeral": True},
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.checks.has_permissions(manage_channels=True)
    async def subscriptions(self, interaction: discord.Interaction) -> None:
        """List this server's subscriptions, broken ones with their reason."""
        assert interaction.guild_id is not None  # guild_only
        subs = await self._subs.list_for_guild(interaction.guild_id)
        limit = self.bot.settings.max_subscriptions_per_guild
        embed = discord.Embed(
            title=f"Launch alerts in this server ({len(subs)}/{limit})",
            colour=discord.Colour(0x3B82F6),
        )
        if not subs:
            embed.description = "No channel gets launch alerts yet. Use /subscribe in one."
        else:
            embed.description = pack_lines(
                [subscription_line(s) for s in subs], limit=4096, max_chunks=1
            )[0]
        await respond(interaction, embed=embed)
