"""Run LaunchWatch on Discord: the client, the Discord publisher and the core service together.

``launchwatch run`` calls :func:`run_discord` once the core (database, fetcher, pipeline) is
open. The client logs in first, so a bad token fails fast with a clear message and
deliveries only start once REST calls can succeed; then the gateway connection and the
service run side by side until ``stop`` is set or the connection fails for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.client import LaunchWatchBot
from bot.guild_events import DiscordScheduledEvents
from bot.health import HEARTBEAT_GATEWAY
from bot.publisher import DiscordPublisher, jump_base
from bot.ratelimit import RequestPacer
from bot.runtime import Core, Service, run_until
from bot.settings import DEFAULT_API_BASE, Settings
from handlers.domain import utc_now
from handlers.errors import ConfigError, LaunchWatchError
from handlers.guild_events import GuildEventSync

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = 15.0


@contextlib.contextmanager
def discord_endpoints(settings: Settings) -> Iterator[None]:
    """Point discord.py at ``DISCORD_API_BASE`` / ``DISCORD_GATEWAY_URL`` while running.

    Both are class attributes in discord.py (one process talks to one Discord), so they
    are restored on exit for whoever runs next in the same process (tests).
    """
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = settings.discord_api_base
    if settings.discord_gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway


async def discover_gateway(bot: discord.Client, settings: Settings) -> None:
    """Behind a custom API base without a gateway URL, ask it where the gateway is."""
    if settings.discord_gateway_url or settings.discord_api_base == DEFAULT_API_BASE:
        return
    try:
        _, url, _ = await bot.http.get_bot_gateway()
    except discord.DiscordException as exc:
        log.warning(
            "could not ask %s for the gateway (%s); using Discord's", settings.discord_api_base, exc
        )
        return
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)


async def record_gateway_heartbeats(
    bot: discord.Client, core: Core, every: float = HEARTBEAT_EVERY
) -> None:
    """Write the gateway heartbeat while connected, for ``launchwatch healthcheck``."""
    while not bot.is_closed():
        connected = bot.is_ready() and bot.ws is not None and bot.ws.open
        if connected:
            if core.metrics is not None:
                core.metrics.set_gateway_latency(bot.latency)
            try:
                await core.storage.set_meta(HEARTBEAT_GATEWAY, utc_now().isoformat())
            except LaunchWatchError:
                log.exception("could not record the gateway heartbeat")
        # Check often until connected, so the first heartbeat follows READY closely.
        await asyncio.sleep(every if connected else 0.5)


async def _login(bot: LaunchWatchBot, token: str) -> None:
    try:
        await bot.login(token)
    except discord.LoginFailure:
        raise LaunchWatchError(
            "Discord rejected DISCORD_TOKEN: check the bot token in the Developer Portal"
        ) from None
    except discord.HTTPException as exc:
        # Not the response text: a misbehaving proxy may echo the Authorization header.
        raise LaunchWatchError(f"Discord refused the login (HTTP {exc.status})") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise LaunchWatchError(
            f"cannot reach Discord at {discord.http.Route.BASE}: {exc.__class__.__name__}"
        ) from None


async def run_discord(
    core: Core, stop: asyncio.Event, service_ref: list[Service], **client_options: Any
) -> None:
    """Run the bot until ``stop`` is set; close the connection and the service cleanly.

    ``client_options`` go to the discord.py client (tests shorten ``guild_ready_timeout``).
    """
    settings = core.settings
    if settings.discord_token is None:
        raise ConfigError("DISCORD_TOKEN is not set")
    token = settings.discord_token.get_secret_value()
    pacer = RequestPacer()
    with discord_endpoints(settings):
        bot = LaunchWatchBot(core, pacer=pacer, **client_options)
        publisher = DiscordPublisher(bot, pacer, link_base=jump_base(settings.discord_api_base))
        guild_events = GuildEventSync(
            core.storage.guild_events,
            core.storage.events.get_many,
            core.storage.schedule.get,
            DiscordScheduledEvents(bot, pacer),
        )
        service = Service(core, [publisher], guild_events=guild_events)
        service_ref.append(service)
        async with bot:
            await _login(bot, token)
            await discover_gateway(bot, settings)
            heartbeat = asyncio.create_task(
                record_gateway_heartbeats(bot, core), name="gateway-heartbeat"
            )
            try:
                await run_until(stop, service, also=bot.connect(reconnect=True))
            finally:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat
    log.info("disconnected from Discord")
