"""Fixtures for the bot layer: the fake Discord, LaunchWatch's core, the real client.

Every test runs the real discord.py client against :class:`tests.fakediscord.FakeDiscord`
with a real SQLite database in a temporary directory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.client import LaunchWatchBot
from bot.runtime import Core, open_core
from bot.settings import Settings
from handlers.domain import Article, LaunchEvent, utc_now
from handlers.events import resolve
from handlers.matching.matcher import default_matcher
from tests.budget import PATIENCE
from tests.fakediscord import (
    ChannelType,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeRole,
    FakeUser,
    InteractionResult,
    running,
)
from tests.fakediscord.interactions import FinalResponse

READY_FAST = 0.05  # READY and the GUILD_CREATEs arrive back to back from the fake


def make_settings(tmp_path: Path, **env: Any) -> Settings:
    """Settings as the environment would give them (keys are the variable names)."""
    values: dict[str, Any] = {
        "LAUNCHWATCH_DB": str(tmp_path / "launchwatch.db"),
        "LAUNCHWATCH_FEEDS": "https://feeds.example/rss",
        "LAUNCHWATCH_POLL_INTERVAL": 1,
        "DISCORD_TOKEN": "not-a-real-token",
        "LAUNCHWATCH_SCHEDULE": "off",
    }
    values.update(env)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def wait_for(
    condition: Callable[[], Any] | Callable[[], Awaitable[Any]],
    timeout: float = PATIENCE,
    interval: float = 0.05,
    what: str = "condition",
) -> Any:
    """Poll ``condition`` (sync or async) until it is truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


@dataclass
class World:
    """One server: channels of every kind, an admin, a plain member and a ping role."""

    guild: FakeGuild
    alerts: FakeChannel
    news: FakeChannel
    voice: FakeChannel
    thread: FakeChannel
    owner: FakeUser
    member: FakeUser
    role: FakeRole


def build_world(fake: FakeDiscord, name: str = "Launch Fans") -> World:
    """A guild the bot is in, with one of each channel LaunchWatch cares about."""
    guild = fake.add_guild(
        name,
        channels=[
            "general",
            "alerts",
            ("launch-news", ChannelType.ANNOUNCEMENT),
            ("Mission Control", ChannelType.VOICE),
            ("flight-day", ChannelType.PUBLIC_THREAD, "general"),
        ],
        roles=[{"name": "Launch Pings", "mentionable": True}],
    )
    member = fake.add_member(guild.id, f"{name.split()[0].lower()}-rookie").user
    return World(
        guild=guild,
        alerts=guild.channel("alerts"),
        news=guild.channel("launch-news"),
        voice=guild.channel("Mission Control"),
        thread=guild.channel("flight-day"),
        owner=fake.users[guild.owner_id],
        member=member,
        role=guild.role("Launch Pings"),
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
def settings_env(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Extra settings: ``@pytest.mark.parametrize("settings_env", [{...}], indirect=True)``."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def settings(tmp_path: Path, settings_env: Mapping[str, Any]) -> Settings:
    return make_settings(tmp_path, **settings_env)


@pytest.fixture
async def core(settings: Settings) -> AsyncIterator[Core]:
    async with open_core(settings) as opened:
        yield opened


@pytest.fixture
def world(fake: FakeDiscord) -> World:
    return build_world(fake)


@pytest.fixture
async def bot(fake: FakeDiscord, core: Core, world: World) -> AsyncIterator[LaunchWatchBot]:
    client = LaunchWatchBot(core, guild_ready_timeout=READY_FAST)
    async with running(fake, client) as started:
        yield started


async def invoke(
    fake: FakeDiscord,
    world: World,
    name: str,
    options: Mapping[str, Any] | None = None,
    *,
    user: FakeUser | None = None,
    channel: FakeChannel | None = None,
    permissions: int | None = None,
) -> tuple[InteractionResult, FinalResponse]:
    """Run a slash command as a user would; assert Discord's 3 s deadline was met."""
    result = await fake.invoke_command(
        world.guild.id,
        (channel or world.alerts).id,
        (user or world.owner).id,
        name,
        options or {},
        permissions=permissions,
    )
    assert not result.deadline_missed, f"/{name} was not answered within 3 s: {result}"
    final = await result.wait_final(timeout=PATIENCE)
    return result, final


def final_text(final: FinalResponse) -> str:
    """Everything the user reads in a response: content and embed text."""
    return "\n".join(p for p in (final.content, final.message.embed_text()) if p)


async def store_event(
    core: Core,
    title: str,
    *,
    summary: str = "",
    at: datetime | None = None,
    scope: int = 0,
    key: str | None = None,
    link: str | None = None,
) -> LaunchEvent:
    """Put a launch event in storage exactly as the pipeline would from one article."""
    now = at or utc_now()
    article_key = key or f"{title}-{now.timestamp()}"
    article = Article(
        key=article_key,
        title=title,
        summary=summary,
        link=link or f"https://news.example/{abs(hash(article_key))}",
        published=now,
        source="Space News",
    )
    mention = default_matcher().match_article(article)
    assert mention is not None, f"the matcher does not see a launch in {title!r}"
    async with core.storage.events.ingest() as tx:
        candidates = await tx.event_candidates(
            mention.event_key, scope, crewed=bool(mention.crewed), agencies=mention.agencies
        )
        change = resolve(mention, article, candidates, now)
        return await tx.save_event(change, scope, None, now)
