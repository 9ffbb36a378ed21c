"""Guarantee 3 — hostile users: no slash-command input breaks the bot, pings anyone, or
reaches another server's setup; and only members with the right permission change anything.

The real discord.py client runs against the fake Discord with a real database. Hypothesis
types into every free-text option (any Unicode, control characters, mentions, markdown,
6,000-character strings, URLs of every shape, unknown launches, filters that match
nothing) and into every autocomplete box. For every input the bot must answer within
Discord's 3 s, answer something (never silence or a crash logged as an internal error),
produce a message Discord accepts, and ping nobody — not even if Discord were to parse
every mention in the text. A second server hammering the first one's channel ids, feed
URLs and private launch never sees or changes any of them.

Rendering of feed text into alerts is fuzzed in test_fuzz_chain.py.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.client import LaunchWatchBot
from bot.runtime import Core, open_core
from handlers.domain import LaunchEvent, SubscriptionFilter, utc_now
from handlers.netguard import check_url
from tests.bot.conftest import (
    READY_FAST,
    World,
    build_world,
    final_text,
    invoke,
    make_settings,
    store_event,
)
from tests.fakediscord import FakeDiscord, running
from tests.fakediscord.validation import EVERYONE_RE, ROLE_MENTION_RE, USER_MENTION_RE

HOSTILE = [
    "@everyone",
    "@here",
    "<@123456789012345678>",
    "<@!1>",
    "<@&1>",
    "<#1>",
    "</subscribe:1>",
    "`@everyone`",
    "``` @everyone ```",
    "**",
    "||",
    "[x](https://evil.example)",
    "\\",
    "\u202e",
    "\u200b",
    "\x00",
    "\x1b[2J",
    "\r\n",
    "Falcon 9",
    "falcon-9",
    "launched, exploded",
    "all",
    ",,,",
    " ",
    "🚀",
    "' OR 1=1 --",
    "%",
    "_",
    "1" * 40,
    "10000000000000000000",
    "1" * 5000,
    "²",
    "١٢٣",
    "-1",
]
hostile = st.one_of(
    st.text(max_size=60),
    st.sampled_from(HOSTILE),
    st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=8).map(" ".join),
    st.builds(lambda s, n: (s * n)[:6000], st.sampled_from([*HOSTILE, "A"]), st.integers(50, 700)),
).filter(lambda s: s != "")
HOSTS = [
    "127.0.0.1",
    "10.0.0.1",
    "169.254.169.254",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "0.0.0.0",
    "2130706433",
    "0x7f.1",
    "localhost",
    "localhost.",
    "user:pass@feeds.example",
    "feeds.example",
    "xn--80ak6aa92e.example",
    "例え.テスト",
    "@everyone",
    "",
]
url = st.one_of(
    hostile,
    st.builds(
        lambda scheme, host, port, path: f"{scheme}{host}{port}/{path}",
        st.sampled_from(["http://", "https://", "HTTPS://", "ftp://", "file://", "//", ""]),
        st.sampled_from(HOSTS),
        st.sampled_from(["", ":80", ":0", ":22", ":8080", ":65536", ":x"]),
        hostile,
    ),
)
# Only addresses refused before any network I/O, for the command that fetches (/feeds test).
refused_url = st.builds(
    lambda scheme, host, path: f"{scheme}{host}/{path}",
    st.sampled_from(["http://", "https://", "ftp://", "gopher://"]),
    st.sampled_from(HOSTS[:10]),
    st.text(max_size=20),
)
COMMANDS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "subscribe": st.fixed_dictionaries(
        {},
        optional={
            "statuses": hostile,
            "vehicle": hostile,
            "agency": hostile,
            "site": hostile,
            "crewed_only": st.booleans(),
        },
    ),
    "unsubscribe": st.fixed_dictionaries({"channel_id": hostile}),
    "launch": st.fixed_dictionaries({"name": hostile}),
    "launches recent": st.fixed_dictionaries(
        {}, optional={"vehicle": hostile, "agency": hostile, "limit": st.integers(1, 25)}
    ),
    "feeds add": st.fixed_dictionaries({"url": url}),
    "feeds remove": st.fixed_dictionaries({"url": url}),
    "feeds test": st.fixed_dictionaries({"url": refused_url}),
}
AUTOCOMPLETE = [
    ("subscribe", "statuses"),
    ("subscribe", "vehicle"),
    ("subscribe", "agency"),
    ("subscribe", "site"),
    ("unsubscribe", "channel_id"),
    ("launch", "name"),
    ("launches recent", "vehicle"),
    ("launches recent", "agency"),
    ("feeds remove", "url"),
]
# CI: a fixed 80 inputs per test. Longer: LAUNCHWATCH_FUZZ_EXAMPLES=5000 (random each run).
_LONG = os.environ.get("LAUNCHWATCH_FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(_LONG or 80),
    deadline=None,
    derandomize=_LONG is None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
PRIVATE_TITLE = "Soyuz MS-29 blasts off from Baikonur with three crew members bound for the ISS"


@dataclass
class Arena:
    """Two servers on one LaunchWatch: ``home`` is set up, ``other`` is hostile."""

    fake: FakeDiscord
    core: Core
    home: World
    other: World
    home_feed: str
    private_event: LaunchEvent


@pytest.fixture
async def arena(tmp_path) -> AsyncIterator[Arena]:
    async with FakeDiscord() as fake, open_core(make_settings(tmp_path)) as core:
        home = build_world(fake, "Launch Fans")
        other = build_world(fake, "Rocket Club")
        client = LaunchWatchBot(core, guild_ready_timeout=READY_FAST)
        async with running(fake, client):
            await core.storage.subscriptions.upsert(
                target="discord",
                guild_id=home.guild.id,
                channel_id=home.alerts.id,
                filters=SubscriptionFilter(crewed_only=True),
                role_id=home.role.id,
                created_by=home.owner.id,
                now=utc_now(),
            )
            home_feed = "https://home-only.example/rss"
            await core.storage.feeds.add(home_feed, utc_now(), guild_id=home.guild.id)
            private = await store_event(core, PRIVATE_TITLE, scope=home.guild.id)
            yield Arena(fake, core, home, other, home_feed, private)


_SHOWN_URL = re.compile(r"<https?://[^\s<>]+>")


def _inert(text: str) -> bool:
    """Would ping nobody even if Discord parsed every mention in its words.

    URLs the bot shows as ``<https://…>`` are left out: a path may contain ``@everyone``
    verbatim, and only ``allowed_mentions`` (checked as ``pinged_anyone``) keeps that inert.
    """
    text = _SHOWN_URL.sub("", text)
    return not (EVERYONE_RE.search(text) or USER_MENTION_RE.search(text))


def _bot_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("bot")
    ]


def _assert_sane(final: Any, caplog: pytest.LogCaptureFixture, what: str) -> str:
    text = final_text(final)
    assert text.strip(), f"{what}: empty answer"
    assert not final.message.pinged_anyone, f"{what}: pinged {final.message}"
    assert _inert(final.content or ""), f"{what}: content could ping: {final.content!r}"
    assert not ROLE_MENTION_RE.search(final.content or ""), f"{what}: {final.content!r}"
    assert "went wrong on LaunchWatch's side" not in text, f"{what}: internal error"
    errors = [
        r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot")
    ]
    assert not errors, f"{what}: {[r.getMessage() for r in errors]}"
    return text


async def _home_unchanged(arena: Arena) -> None:
    sub = await arena.core.storage.subscriptions.get("discord", arena.home.alerts.id)
    assert sub is not None and sub.guild_id == arena.home.guild.id
    assert sub.filters.crewed_only and sub.role_id == arena.home.role.id
    followed = await arena.core.storage.feeds.list_feeds(
        guild_id=arena.home.guild.id, everything=False
    )
    assert arena.home_feed in [f.url for f in followed]


@FUZZ
@given(data=st.data())
async def test_fuzzed_commands_always_get_a_safe_answer(arena, caplog, data):
    caplog.set_level(logging.WARNING)
    caplog.clear()
    name = data.draw(st.sampled_from(sorted(COMMANDS)), label="command")
    options = data.draw(COMMANDS[name], label="options")
    _, final = await invoke(arena.fake, arena.home, name, options)
    _assert_sane(final, caplog, f"/{name} {options!r}"[:300])
    # Whatever was typed, stored feeds stay public http(s) URLs, and the other server
    # follows none of them.
    for feed in await arena.core.storage.feeds.list_feeds():
        check_url(feed.url, allow_private=False)
    other = arena.other.guild.id
    assert await arena.core.storage.feeds.list_feeds(guild_id=other, everything=False) == []
    subs = await arena.core.storage.subscriptions.list_for_guild(arena.other.guild.id)
    assert subs == []


@FUZZ
@given(data=st.data())
async def test_fuzzed_autocomplete_always_offers_valid_choices(arena, caplog, data):
    caplog.set_level(logging.WARNING)
    caplog.clear()
    command, option = data.draw(st.sampled_from(AUTOCOMPLETE), label="box")
    typed = data.draw(hostile, label="typed")
    result = await arena.fake.autocomplete(
        arena.home.guild.id,
        arena.home.alerts.id,
        arena.home.owner.id,
        command,
        {option: typed},
        option,
    )
    assert result.choices is not None and len(result.choices) <= 25, result
    for choice in result.choices:
        assert 1 <= len(choice["name"]) <= 100 and len(str(choice["value"])) <= 100, choice
    errors = [
        r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot")
    ]
    assert not errors, [r.getMessage() for r in errors]


@FUZZ
@given(data=st.data())
async def test_another_server_never_sees_or_changes_this_ones_setup(arena, caplog, data):
    caplog.set_level(logging.WARNING)
    caplog.clear()
    home_channel = str(arena.home.alerts.id)
    private = str(arena.private_event.id)
    action = data.draw(
        st.one_of(
            st.tuples(
                st.just("unsubscribe"),
                st.fixed_dictionaries(
                    {"channel_id": st.sampled_from([home_channel, f" {home_channel} "])}
                ),
            ),
            st.tuples(
                st.sampled_from(["feeds remove", "feeds add"]),
                st.fixed_dictionaries(
                    {
                        "url": st.sampled_from(
                            [
                                arena.home_feed,
                                f"  {arena.home_feed} ",
                                arena.home_feed.replace("home-only", "HOME-ONLY"),
                            ]
                        )
                    }
                ),
            ),
            st.tuples(
                st.just("launch"),
                st.fixed_dictionaries(
                    {"name": st.sampled_from([private, "Soyuz MS-29", "soyuz", "%", "_"])}
                ),
            ),
            st.tuples(
                st.sampled_from(
                    ["subscriptions", "feeds list", "launches recent", "launches upcoming"]
                ),
                st.just({}),
            ),
        ),
        label="action",
    )
    name, options = action
    _, final = await invoke(arena.fake, arena.other, name, options)
    text = _assert_sane(final, caplog, f"/{name} {options!r}")
    typed = " ".join(str(v) for v in options.values())
    if home_channel not in typed:
        assert home_channel not in text, text
    if arena.home_feed.casefold() not in typed.casefold():
        assert "home-only.example" not in text.casefold(), text
    # Following the same URL is allowed, and nothing in the answer says who else does.
    assert "registered" not in text and "another server" not in text, text
    theirs = await arena.core.storage.feeds.list_feeds(
        guild_id=arena.other.guild.id, everything=False
    )
    if not any("home-only.example" in f.url.casefold() for f in theirs):
        # The home feed's launches reach only servers that follow that feed.
        assert "Soyuz MS-29" not in text or "Soyuz MS-29" in typed, text
        assert "No launch matches" in text or name != "launch", text
        for where in ("launch", "launches recent"):
            result = await arena.fake.autocomplete(
                arena.other.guild.id,
                arena.other.alerts.id,
                arena.other.owner.id,
                where,
                {"name" if where == "launch" else "vehicle": "Soyuz"},
                "name" if where == "launch" else "vehicle",
            )
            assert all("MS-29" not in c["name"] for c in result.choices), result.choices
    await _home_unchanged(arena)


# Commands that change this server's setup, each with options that would work for an admin.
ADMIN_ACTIONS: list[tuple[str, dict[str, Any]]] = [
    ("subscribe", {}),
    ("subscribe", {"statuses": "launched"}),
    ("unsubscribe", {}),
    ("feeds add", {"url": "https://new-feed.example/rss"}),
    ("feeds remove", {"url": "https://home-only.example/rss"}),
    ("feeds list", {}),
    ("feeds test", {"url": "http://127.0.0.1/x"}),
]


async def test_every_admin_command_refuses_members_without_the_permission(arena, caplog):
    """Even when a server admin lets everyone see the commands, the bot checks again."""
    caplog.set_level(logging.WARNING)
    fake, home = arena.fake, arena.home
    guarded = {
        c["name"]: c.get("default_member_permissions")
        for c in fake.commands()
        if c.get("default_member_permissions") not in (None, "0")
    }
    assert {"subscribe", "unsubscribe", "feeds"} <= set(guarded), guarded
    for command in fake.commands():
        command["default_member_permissions"] = None  # the server overrides Discord's gate
    before = (
        await arena.core.storage.subscriptions.list_for_guild(home.guild.id),
        await arena.core.storage.feeds.list_feeds(),
    )
    for name, options in ADMIN_ACTIONS:
        _, final = await invoke(fake, home, name, options, user=home.member)
        text = _assert_sane(final, caplog, f"member /{name}")
        assert "You need the **Manage" in text, (name, text)
        assert final.ephemeral
    after = (
        await arena.core.storage.subscriptions.list_for_guild(home.guild.id),
        await arena.core.storage.feeds.list_feeds(),
    )
    assert after == before
    # The owner (who has every permission) can do what the member could not.
    _, final = await invoke(fake, home, "feeds add", {"url": "https://new-feed.example/rss"})
    assert "Added" in final_text(final)


TEXT_OPTIONS = [
    ("subscribe", "statuses"),
    ("subscribe", "vehicle"),
    ("subscribe", "agency"),
    ("subscribe", "site"),
    ("unsubscribe", "channel_id"),
    ("launch", "name"),
    ("launches recent", "vehicle"),
    ("launches recent", "agency"),
    ("feeds add", "url"),
    ("feeds remove", "url"),
]


async def test_every_known_nasty_value_in_every_text_option(arena, caplog):
    """The hand-picked list, exhaustively (the fuzz tests sample it)."""
    caplog.set_level(logging.WARNING)
    for name, option in TEXT_OPTIONS:
        for value in HOSTILE:
            caplog.clear()
            _, final = await invoke(arena.fake, arena.home, name, {option: value})
            _assert_sane(final, caplog, f"/{name} {option}={value!r}")
