"""LaunchWatch as it runs: feeds on a local server, the real client on a fake Discord.

Each test starts exactly what ``launchwatch run`` starts (``open_core`` + ``run_discord``,
or the command line itself in a subprocess) and watches what users would see.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.discord_app import run_discord
from bot.health import HEARTBEAT_GATEWAY
from bot.logsetup import configure_logging
from bot.metrics import Metrics
from bot.runtime import Core, Service, open_core
from handlers.domain import SubscriptionFilter, SubscriptionState, utc_now
from storage import Storage
from tests.bot.conftest import READY_FAST, build_world, final_text, invoke, make_settings, wait_for
from tests.budget import PATIENCE
from tests.fakediscord import FakeDiscord, FakeMessage
from tests.feedgen import Item, rss
from tests.feedserver import FeedServer

NOW = datetime.now(UTC).replace(microsecond=0)
BACKGROUND = Item("funding", "Satellite startup raises $40 million", "", NOW - timedelta(days=1))
UPCOMING = Item(
    "soyuz-ms-29-preview",
    "Soyuz MS-29 crew set for launch from Baikonur next week",
    "Two Roscosmos cosmonauts and a NASA astronaut will fly. @everyone <@&1> tune in!",
    NOW - timedelta(hours=3),
)
UPCOMING_AGAIN = Item(
    "soyuz-ms-29-rollout",
    "Soyuz MS-29 rocket rolled out to the Baikonur pad ahead of crew launch",
    "Roscosmos says the crew is ready.",
    NOW - timedelta(hours=2),
)
LAUNCHED = Item(
    "soyuz-ms-29-launch",
    "Soyuz MS-29 launches three crew members to the ISS from Baikonur",
    "Two Roscosmos cosmonauts and a NASA astronaut lifted off aboard a Soyuz-2.1a.",
    NOW - timedelta(hours=1),
)
CREW_12 = Item(
    "crew-12",
    "Falcon 9 launches Crew-12 to the ISS from Cape Canaveral",
    "NASA astronauts aboard.",
    NOW - timedelta(minutes=30),
)


@dataclass
class Running:
    """A LaunchWatch instance started by :func:`launchwatch`."""

    core: Core
    service: Service
    task: asyncio.Task[None]


@contextlib.asynccontextmanager
async def launchwatch(settings, *, previous_beat: str | None = None) -> AsyncIterator[Running]:
    """``launchwatch run`` in this process, until the block ends."""
    stop = asyncio.Event()
    service_ref: list[Service] = []
    async with open_core(settings, on_deliveries=lambda: service_ref[0].wake_workers()) as core:
        task = asyncio.create_task(
            run_discord(core, stop, service_ref, guild_ready_timeout=READY_FAST)
        )

        async def connected() -> bool:
            if task.done():
                task.result()  # surfaces a start-up failure
            beat = await core.storage.get_meta(HEARTBEAT_GATEWAY)
            return beat is not None and beat != previous_beat

        await wait_for(connected, what="the gateway heartbeat")
        try:
            yield Running(core, service_ref[0], task)
        finally:
            stop.set()
            await asyncio.wait_for(task, PATIENCE)


def lw_settings(tmp_path: Path, fake: FakeDiscord, feed_url: str, **extra):
    env = {
        "DISCORD_TOKEN": fake.token,
        "DISCORD_API_BASE": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "LAUNCHWATCH_FEEDS": feed_url,
        "LAUNCHWATCH_ALLOW_PRIVATE_NETWORKS": True,
        "LAUNCHWATCH_POLL_INTERVAL": 1,
    }
    return make_settings(tmp_path, **{**env, **extra})


async def seeded(core: Core, url: str) -> bool:
    feed = await core.storage.feeds.get_by_url(url)
    return feed is not None and feed.seeded


async def polled_twice_more(core: Core) -> None:
    """Bounded wait for two more poll cycles (nothing new may appear meanwhile)."""
    for _ in range(2):
        url = (await core.storage.feeds.list_feeds())[0].url
        before = (await core.storage.feeds.get_by_url(url)).last_polled_at

        async def polled(url: str = url, before: datetime | None = before) -> bool:
            feed = await core.storage.feeds.get_by_url(url)
            return feed.last_polled_at != before

        await wait_for(polled, what="another poll")
    await wait_for(lambda: _idle(core), what="the outbox to drain")


async def _idle(core: Core) -> bool:
    return await core.storage.outbox.pending_count() == 0


def assert_no_stray_pings(messages: list[FakeMessage], role_id: int | None) -> None:
    """Nothing ever pings @everyone, a user, or a role other than the subscription's own."""
    for message in messages:
        assert not message.pinged_everyone, message.content
        assert not message.pinged_users, message.content
        assert message.pinged_roles <= ({role_id} if role_id else set()), message.content


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        server.route("/feed", body=rss([BACKGROUND]))
        yield server


# --------------------------------------------------------------------------- the lifecycle


async def test_one_alert_per_launch_edited_as_news_comes_in(tmp_path, fake, feeds):
    world = build_world(fake)
    url = feeds.url("/feed")
    async with launchwatch(lw_settings(tmp_path, fake, url)) as lw:
        await wait_for(lambda: seeded(lw.core, url), what="the silent first poll")
        _, final = await invoke(fake, world, "subscribe", {"role": world.role.id})
        assert "Subscribed" in final_text(final)
        assert fake.messages(world.alerts.id, include_ephemeral=False) == []

        # A new launch story: exactly one alert with the facts.
        feeds.route("/feed", body=rss([BACKGROUND, UPCOMING]))
        alerts = lambda: fake.messages(world.alerts.id, include_ephemeral=False)  # noqa: E731
        await wait_for(alerts, what="the first alert")
        [alert] = alerts()
        embed = alert.embeds[0]
        assert embed["title"] == "🗓️ Upcoming: Soyuz-2.1a | Soyuz MS-29"
        facts = {f["name"]: f["value"] for f in embed["fields"]}
        assert facts["Site"] == "Baikonur Cosmodrome" and facts["Crewed"] == "Yes"
        assert "Roscosmos" in facts["Agencies"] and "NASA" in facts["Agencies"]
        assert "Sources (1)" in facts
        assert alert.content.startswith(f"<@&{world.role.id}>")
        assert alert.pinged_roles == {world.role.id}

        # Another site's story about the same launch: the alert is edited, not repeated.
        feeds.route("/feed", body=rss([BACKGROUND, UPCOMING, UPCOMING_AGAIN]))
        await wait_for(lambda: alert.edits, what="the edit")
        assert len(alerts()) == 1
        assert "Sources (2)" in {f["name"] for f in alert.embeds[0]["fields"]}

        # It launched: the alert is updated and one short follow-up says so.
        feeds.route("/feed", body=rss([BACKGROUND, UPCOMING, UPCOMING_AGAIN, LAUNCHED]))
        await wait_for(lambda: len(alerts()) == 2, what="the follow-up")
        await wait_for(
            lambda: alert.embeds[0]["title"].startswith("🚀 Launched"), what="the alert's update"
        )
        followup = alerts()[1]
        assert followup.content.startswith(f"<@&{world.role.id}> 🚀 **Launched**: Soyuz-2.1a")
        assert f"/channels/{world.guild.id}/{world.alerts.id}/{alert.id}" in followup.content
        assert int(followup.message_reference["message_id"]) == alert.id

        await polled_twice_more(lw.core)
        assert len(alerts()) == 2
        assert_no_stray_pings(alerts(), world.role.id)


async def test_deleted_channel_breaks_its_subscription_and_stops_there(tmp_path, fake, feeds):
    world = build_world(fake)
    url = feeds.url("/feed")
    # Without DISCORD_GATEWAY_URL, LaunchWatch asks the API base where the gateway is.
    settings = lw_settings(tmp_path, fake, url, DISCORD_GATEWAY_URL=None)
    async with launchwatch(settings) as lw:
        assert fake.requests_to("GET /gateway/bot")
        await wait_for(lambda: seeded(lw.core, url), what="the silent first poll")
        await invoke(fake, world, "subscribe", {"channel": world.news.id})
        fake.delete_channel(world.news.id)
        feeds.route("/feed", body=rss([BACKGROUND, UPCOMING]))

        async def broken() -> bool:
            sub = await lw.core.storage.subscriptions.get("discord", world.news.id)
            return sub.state is SubscriptionState.BROKEN

        await wait_for(broken, what="the subscription to break")
        _, final = await invoke(fake, world, "subscriptions")
        assert "**broken**: the channel was deleted" in final_text(final)

        posts_before = len(fake.requests_to("POST /channels/{channel_id}/messages"))
        feeds.route("/feed", body=rss([BACKGROUND, UPCOMING, LAUNCHED, CREW_12]))
        await polled_twice_more(lw.core)
        assert len(fake.requests_to("POST /channels/{channel_id}/messages")) == posts_before
        assert await lw.core.storage.outbox.pending_count() == 0


async def test_restart_between_send_and_commit_neither_duplicates_nor_loses(tmp_path, fake, feeds):
    world = build_world(fake)
    url = feeds.url("/feed")
    settings = lw_settings(tmp_path, fake, url)
    async with launchwatch(settings) as lw:
        await wait_for(lambda: seeded(lw.core, url), what="the silent first poll")
        await invoke(fake, world, "subscribe")
        crashed = asyncio.Event()

        async def crash_before_commit(*args, **kwargs):
            crashed.set()  # Discord has the message; the process dies before recording it
            raise RuntimeError("power cut")

        lw.core.storage.outbox.complete = crash_before_commit  # type: ignore[method-assign]
        feeds.route("/feed", body=rss([BACKGROUND, UPCOMING]))
        await asyncio.wait_for(crashed.wait(), PATIENCE)
        beat = await lw.core.storage.get_meta(HEARTBEAT_GATEWAY)
    assert len(fake.messages(world.alerts.id, include_ephemeral=False)) == 1

    async with launchwatch(settings, previous_beat=beat) as lw:
        await wait_for(lambda: _idle(lw.core), what="the retried delivery")
        [alert] = fake.messages(world.alerts.id, include_ephemeral=False)
        assert alert.nonce_replays == 1  # the retry got the first message back
        # The recorded message id is the real one, so later news edits it.
        feeds.route("/feed", body=rss([BACKGROUND, UPCOMING, UPCOMING_AGAIN]))
        await wait_for(lambda: alert.edits, what="the edit after restart")
        assert len(fake.messages(world.alerts.id, include_ephemeral=False)) == 1


async def test_fan_out_to_200_channels_in_20_servers_under_the_global_limit(tmp_path, feeds):
    async with FakeDiscord(global_limit=50) as fake:
        guilds = [
            fake.add_guild(f"Server {g}", channels=[f"launches-{c}" for c in range(10)])
            for g in range(20)
        ]
        channels = [ch for g in guilds for ch in g.live_channels()]
        assert len(channels) == 200
        url = feeds.url("/feed")
        async with launchwatch(lw_settings(tmp_path, fake, url)) as lw:
            await wait_for(lambda: seeded(lw.core, url), what="the silent first poll")
            for ch in channels:
                await lw.core.storage.subscriptions.upsert(
                    target="discord",
                    guild_id=ch.guild_id,
                    channel_id=ch.id,
                    filters=SubscriptionFilter(),
                    role_id=None,
                    created_by=None,
                    now=utc_now(),
                )
            feeds.route("/feed", body=rss([BACKGROUND, CREW_12]))
            await wait_for(
                lambda: all(fake.messages(ch.id) for ch in channels),
                timeout=PATIENCE,
                what="an alert in every channel",
            )
            await wait_for(lambda: _idle(lw.core), what="the outbox to drain")
        posts = fake.requests_to("POST /channels/{channel_id}/messages")
        # Exactly one message per channel, whatever the machine's load did to the pacing:
        # a stalled event loop can bunch paced requests into one of the fake's windows,
        # and a 429 then must be retried, not lost or doubled. The pacer's rate is proved
        # on a clock the tests control (tests/bot/test_publisher.py) and measured by the
        # bench (bench/fanout.py).
        assert all(len(fake.messages(ch.id)) == 1 for ch in channels)
        span = posts[-1].at - posts[0].at
        limited = len(fake.rate_limited(scope="global"))
        print(f"fan-out: {len(posts)} requests in {span:.2f}s, {limited} global 429s")
        assert_no_stray_pings([m for ch in channels for m in fake.messages(ch.id)], None)


# --------------------------------------------------------------------------- the command line


def _cli_env(tmp_path: Path, fake: FakeDiscord, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAUNCHWATCH_", "DISCORD_"))}
    env.update(
        DISCORD_TOKEN=fake.token,
        DISCORD_API_BASE=fake.api_base,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        LAUNCHWATCH_DB=str(tmp_path / "cli.db"),
        LAUNCHWATCH_FEEDS=url,
        LAUNCHWATCH_ALLOW_PRIVATE_NETWORKS="true",
        LAUNCHWATCH_POLL_INTERVAL="1",
        LAUNCHWATCH_SCHEDULE="off",  # the suite never reaches the internet
        PYTHONUNBUFFERED="1",
    )
    return env


async def test_launchwatch_run_posts_alerts_and_stops_cleanly(tmp_path, fake, feeds):
    world = build_world(fake)
    url = feeds.url("/feed")
    env = _cli_env(tmp_path, fake, url)
    repo = Path(__file__).resolve().parents[2]
    args = [sys.executable, "-m", "bot", "--env-file", os.devnull]
    log_path = tmp_path / "run.log"
    log_file = log_path.open("wb")  # a file, not a pipe: a full pipe would block the bot
    proc = await asyncio.create_subprocess_exec(
        *args, "run", env=env, cwd=repo, stdout=log_file, stderr=subprocess.STDOUT
    )
    try:
        await wait_for(lambda: fake.commands(), timeout=PATIENCE, what="the command sync")
        await wait_for(
            lambda: _cli_seeded(tmp_path / "cli.db", url),
            timeout=PATIENCE,
            what="the silent first poll",
        )
        _, final = await invoke(fake, world, "subscribe")
        assert "Subscribed" in final_text(final)
        feeds.route("/feed", body=rss([BACKGROUND, CREW_12]))
        await wait_for(
            lambda: fake.messages(world.alerts.id, include_ephemeral=False),
            timeout=PATIENCE,
            what="the alert",
        )
        await wait_for(
            lambda: _cli_meta(tmp_path / "cli.db", HEARTBEAT_GATEWAY), what="the heartbeat"
        )
        health = await asyncio.to_thread(
            subprocess.run,
            [*args, "healthcheck"],
            env=env,
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=PATIENCE,
        )
        assert health.returncode == 0, health.stdout + health.stderr
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), PATIENCE)
        log_file.close()
    output = log_path.read_text()
    assert proc.returncode == 0, output[-2000:]
    assert fake.token not in output
    # Nothing a newcomer has to wonder about: no traceback, no voice-library warnings.
    assert "Traceback" not in output and "PyNaCl" not in output and "davey" not in output
    stopped = await asyncio.to_thread(
        subprocess.run, [*args, "healthcheck"], env=env, cwd=repo, capture_output=True, text=True
    )
    assert stopped.returncode == 1 and "stopped at" in stopped.stdout  # a clean stop is no bot
    [alert] = fake.messages(world.alerts.id, include_ephemeral=False)
    assert alert.embeds[0]["title"] == "🚀 Launched: Falcon 9 | Crew-12"


async def _cli_seeded(db: Path, url: str) -> bool:
    if not db.exists():
        return False
    async with Storage.open(db, migrate=False) as storage:
        with contextlib.suppress(Exception):
            feed = await storage.feeds.get_by_url(url)
            return feed is not None and feed.seeded
    return False


async def _cli_meta(db: Path, key: str) -> str | None:
    async with Storage.open(db, migrate=False) as storage:
        return await storage.get_meta(key)


async def test_a_rejected_token_fails_fast_with_a_clear_message(tmp_path, fake, feeds):
    settings = lw_settings(tmp_path, fake, feeds.url("/feed"), DISCORD_TOKEN="bad.token.here")
    async with open_core(settings) as core:
        with pytest.raises(Exception, match="Discord rejected DISCORD_TOKEN"):
            await run_discord(core, asyncio.Event(), [])
    # Fast because it gives up at once: one login attempt, no retries, no gateway.
    assert len(fake.requests_to("GET /users/@me")) == 1
    assert fake.requests == fake.requests_to("GET /users/@me")


@pytest.fixture
def production_logging():
    """The bot's own logging set-up (redaction included) into a buffer; restored after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


async def test_a_token_echoed_back_by_a_proxy_reaches_no_sink(
    tmp_path, fake, feeds, production_logging
):
    """A proxy in front of Discord quotes the request's Authorization header in its
    error: the token must not reach the log, any table, any reply, /status or /metrics."""
    configure_logging("DEBUG", "text", [fake.token], stream=production_logging)
    world = build_world(fake)
    url = feeds.url("/feed")
    async with launchwatch(lw_settings(tmp_path, fake, url)) as lw:
        await wait_for(lambda: seeded(lw.core, url), what="the silent first poll")
        await invoke(fake, world, "subscribe")
        fake.fail_next("POST", r"/channels/\d+/messages", 403, times=5, echo_auth=True)
        feeds.route("/feed", body=rss([BACKGROUND, UPCOMING]))

        async def broken() -> bool:
            sub = await lw.core.storage.subscriptions.get("discord", world.alerts.id)
            return sub.state is SubscriptionState.BROKEN

        await wait_for(broken, what="the subscription to break")
        replies = [
            final_text((await invoke(fake, world, command))[1])
            for command in ("subscriptions", "status", "feeds list")
        ]
        metrics = Metrics()
        for report in await lw.core.pipeline.run_due(utc_now() + timedelta(hours=1)):
            metrics.observe_poll(report)
        exposition = metrics.exposition()[0].decode()
        tables = await _every_row(lw.core.storage)
    assert "Forbidden for Authorization" in tables, "the proxy's answer was stored"
    secret = fake.token
    for sink, text in {
        "log": production_logging.getvalue(),
        "database": tables,
        "replies": "\n".join(replies),
        "metrics": exposition,
    }.items():
        assert secret not in text and secret[:16] not in text, f"token in the {sink}"
    assert "[redacted]" in replies[0]


async def _every_row(storage: Storage) -> str:
    tables = [
        r[0]
        for r in await storage.db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    ]
    rows = [str(tuple(r)) for t in tables for r in await storage.db.fetchall(f"SELECT * FROM {t}")]
    return "\n".join(rows)
