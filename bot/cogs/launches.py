"""/launches recent|upcoming and /launch: browse the launch events LaunchWatch knows.

A server sees the global events plus those found in its own feeds (its *scope*), never
another server's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs import CogHost, UserError, close_matches, respond
from bot.embeds import (
    STATUS_LABEL,
    event_time,
    list_line,
    render_detail_embed,
    render_lines_embed,
    render_list_embed,
    render_schedule_embed,
    safe_text,
    schedule_line,
    truncate,
)
from handlers.domain import LaunchEvent, LaunchStatus, utc_now
from handlers.schedule.launches import ScheduledLaunch
from handlers.schedule.linking import KEY_PREFIX, mention_of, scheduled_id

if TYPE_CHECKING:
    from storage import SqlEventStore

STATUS_CHOICES = [app_commands.Choice(name=STATUS_LABEL[s], value=s.value) for s in LaunchStatus]


def scope_of(interaction: discord.Interaction) -> int:
    """The event scope a command sees: its server's id, or 0 (global only) in DMs."""
    return interaction.guild_id or 0


#: Autocomplete values naming a schedule launch rather than an event: this prefix + its id.
SCHEDULED_VALUE = "s:"
#: How far around now autocomplete offers the schedule's launches.
SCHEDULE_BEHIND = timedelta(days=2)
SCHEDULE_AHEAD = timedelta(days=31)


def scheduled_choice(launch: ScheduledLaunch) -> app_commands.Choice[str]:
    """An autocomplete entry for a launch the schedule lists (value ``s:<id>``)."""
    label = f"🗓️ {launch.name} — {launch.status.value} {launch.net:%d %b %Y}"
    return app_commands.Choice(
        name=truncate(" ".join(label.split()), 100), value=f"{SCHEDULED_VALUE}{launch.id}"[:100]
    )


def event_choice(event: LaunchEvent) -> app_commands.Choice[str]:
    """An autocomplete entry whose value is the event id."""
    when = event.launch_time or event.updated
    label = f"{event.name} — {event.status.value} {when:%d %b %Y}"
    # Choice names are shown as plain text, but keep them single-line and short.
    return app_commands.Choice(name=truncate(" ".join(label.split()), 100), value=str(event.id))


class LaunchesCog(commands.Cog):
    """Recent and upcoming launches, and one launch in full."""

    launches = app_commands.Group(name="launches", description="Recent and upcoming launches")

    def __init__(self, bot: CogHost) -> None:
        self.bot = bot

    @property
    def _events(self) -> SqlEventStore:
        return self.bot.storage.events

    def _canonical(self, text: str | None, what: str) -> str | None:
        if not text:
            return None
        kb = self.bot.knowledge
        canonical, known = {
            "vehicle": (kb.canonical_vehicle, kb.vehicles()),
            "agency": (kb.canonical_agency, kb.agencies()),
        }[what]
        name = canonical(text)
        if name is None:
            hint = close_matches(text, known)
            suggestion = f" Did you mean: {', '.join(hint)}?" if hint else ""
            raise UserError(f"Unknown {what} `{truncate(safe_text(text), 60)}`.{suggestion}")
        return name

    @launches.command(
        name="recent", description="The latest launch news", extras={"ephemeral": False}
    )
    @app_commands.describe(
        limit="How many (1-25, default 10)",
        status="Only this status",
        vehicle="Only this rocket",
        agency="Only this agency or launch provider",
    )
    @app_commands.choices(status=STATUS_CHOICES)
    async def recent(
        self,
        interaction: discord.Interaction,
        limit: app_commands.Range[int, 1, 25] = 10,
        status: str | None = None,
        vehicle: str | None = None,
        agency: str | None = None,
    ) -> None:
        """Newest first."""
        events = await self._events.recent(
            limit=limit,
            statuses=(LaunchStatus(status),) if status else (),
            vehicle=self._canonical(vehicle, "vehicle"),
            agency=self._canonical(agency, "agency"),
            scope=scope_of(interaction),
        )
        title = "Recent launches" + (f" — {STATUS_LABEL[LaunchStatus(status)]}" if status else "")
        await respond(interaction, embed=render_list_embed(title, events))

    @launches.command(
        name="upcoming",
        description="Launches that have not happened yet",
        extras={"ephemeral": False},
    )
    @app_commands.describe(limit="How many (1-25, default 10)")
    async def upcoming(
        self, interaction: discord.Interaction, limit: app_commands.Range[int, 1, 25] = 10
    ) -> None:
        """Soonest first: the launch schedule (with the news linked to each launch) and the
        launches only the news knows."""
        events = await self._events.recent(
            limit=limit, upcoming_only=True, scope=scope_of(interaction)
        )
        now = utc_now()
        scheduled = [
            launch
            for launch in await self.bot.storage.schedule.between(
                now - timedelta(hours=1), now + timedelta(days=31)
            )
            if launch.status.pending
        ]
        if not scheduled:
            embed = render_list_embed(
                "Upcoming launches", events, empty="No upcoming launch in the news right now."
            )
            await respond(interaction, embed=embed)
            return
        by_key = {e.key: e for e in events}
        timed: list[tuple[datetime, str]] = []
        for launch in scheduled:
            linked = by_key.pop(mention_of(launch, self.bot.core.matcher).event_key, None)
            timed.append((launch.net, schedule_line(launch, linked)))
        timed.extend((event_time(e), list_line(e)) for e in by_key.values())
        timed.sort(key=lambda item: item[0])
        lines = [line for _, line in timed[:limit]]
        await respond(interaction, embed=render_lines_embed("Upcoming launches", lines))

    @recent.autocomplete("vehicle")
    async def _vehicle_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return _prefix_choices(current, self.bot.knowledge.vehicles())

    @recent.autocomplete("agency")
    async def _agency_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return _prefix_choices(current, self.bot.knowledge.agencies())

    # ------------------------------------------------------------------ /launch

    @app_commands.command(
        name="launch",
        description="One launch in full: status history and every source",
        extras={"ephemeral": False},
    )
    @app_commands.describe(name="Rocket or mission, e.g. Falcon 9 or Crew-12")
    async def launch(self, interaction: discord.Interaction, name: str) -> None:
        """Show one event; ``name`` is an autocomplete id or free text."""
        scope = scope_of(interaction)
        if name.startswith(SCHEDULED_VALUE):
            launch_id = name.removeprefix(SCHEDULED_VALUE)
            linked = await self._events.by_source(f"{KEY_PREFIX}{launch_id}", scope=scope)
            scheduled = await self.bot.storage.schedule.get(launch_id)
            if linked is not None:
                await respond(interaction, embed=render_detail_embed(linked, scheduled))
                return
            if scheduled is not None:
                await respond(interaction, embed=render_schedule_embed(scheduled))
                return
        event = await self.find_event(name, scope)
        if event is None:
            shown = truncate(safe_text(name), 80)
            raise UserError(
                f"No launch matches `{shown}`. Pick one from the suggestions, "
                "or see /launches recent."
            )
        scheduled = await self._scheduled(event)
        await respond(interaction, embed=render_detail_embed(event, scheduled))

    async def _scheduled(self, event: LaunchEvent) -> ScheduledLaunch | None:
        """The schedule's record of the event's launch, if the schedule lists it."""
        launch_id = scheduled_id(event)
        return await self.bot.storage.schedule.get(launch_id) if launch_id else None

    async def find_event(self, text: str, scope: int) -> LaunchEvent | None:
        """The event an id (from autocomplete) or a typed name refers to, within ``scope``."""
        text = text.strip()
        if not text:
            return None
        if text.isascii() and text.isdigit() and len(text) < 19:  # "²".isdigit() is true
            event: LaunchEvent | None = await self._events.get(int(text), scope=scope)
            if event is not None:
                return event
        found: list[LaunchEvent] = await self._events.search(text, scope=scope, limit=25)
        exact = [e for e in found if e.name.casefold() == text.casefold()]
        best = exact or found
        return best[0] if best else None

    @launch.autocomplete("name")
    async def _launch_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        scope = scope_of(interaction)
        typed = current.strip()
        now = utc_now()
        window = (now - SCHEDULE_BEHIND, now + SCHEDULE_AHEAD)
        if typed:
            events = await self._events.search(typed, scope=scope, limit=25)
            launches = await self.bot.storage.schedule.search(typed, *window, limit=25)
        else:
            events = await self._events.recent(limit=25, scope=scope)
            launches = [
                launch
                for launch in await self.bot.storage.schedule.between(now, window[1])
                if launch.status.pending
            ]
        # A launch the news already reported is offered once, as its event.
        shown = {scheduled_id(e) for e in events}
        extra = [scheduled_choice(x) for x in launches if x.id not in shown][:10]
        return (extra + [event_choice(e) for e in events])[:25]


def _prefix_choices(current: str, options: list[str]) -> list[app_commands.Choice[str]]:
    typed = current.strip().casefold()
    starts = [o for o in options if o.casefold().startswith(typed)]
    inside = [o for o in options if typed in o.casefold() and o not in starts]
    return [app_commands.Choice(name=o[:100], value=o[:100]) for o in (starts + inside)[:25]]
