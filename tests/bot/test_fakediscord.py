"""The fake Discord behaves like Discord for the real discord.py client.

If these fail, every bot test built on the fake is suspect: they check the limits, error
codes, rate-limit behaviour and interaction deadlines that the bot layer relies on.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.http import MultipartParameters, Route

from tests.budget import PATIENCE
from tests.fakediscord import (
    ChannelType,
    FakeDiscord,
    FakeGuild,
    MessageFlag,
    Permission,
    running,
)

READY_FAST = 0.05  # guild_ready_timeout: READY and GUILD_CREATEs arrive back to back


def make_client(**options: Any) -> discord.Client:
    options.setdefault("intents", discord.Intents.default())
    return discord.Client(guild_ready_timeout=READY_FAST, **options)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
def guild(fake: FakeDiscord) -> FakeGuild:
    return fake.add_guild(
        "Launch Fans",
        channels=[
            "general",
            "alerts",
            ("launch-news", ChannelType.ANNOUNCEMENT),
            ("Mission Control", ChannelType.VOICE),
            ("Archive", ChannelType.CATEGORY),
            ("starship-flight-12", ChannelType.PUBLIC_THREAD, "general"),
        ],
        roles=[{"name": "Launch Pings", "mentionable": True}],
    )


async def raw(
    fake: FakeDiscord,
    method: str,
    path: str,
    *,
    body: Any = None,
    auth: bool = True,
) -> tuple[int, Any, dict[str, str]]:
    """One request straight to the fake, bypassing discord.py's own checks and retries."""
    headers = {"Authorization": f"Bot {fake.token}"} if auth else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, fake.api_base + path, json=body, headers=headers) as resp,
    ):
        data = await resp.json(content_type=None) if resp.status != 204 else None
        return resp.status, data, dict(resp.headers)


# --------------------------------------------------------------------------- connecting


async def test_client_logs_in_and_sees_guilds(fake: FakeDiscord, guild: FakeGuild) -> None:
    async with running(fake, make_client()) as client:
        assert client.user is not None and client.user.id == fake.bot.id
        assert client.application_id == fake.application_id
        [seen] = client.guilds
        assert seen.id == guild.id and seen.name == "Launch Fans"
        assert seen.me is not None
        kinds = {c.name: c.type for c in seen.channels}
        assert kinds == {
            "general": discord.ChannelType.text,
            "alerts": discord.ChannelType.text,
            "launch-news": discord.ChannelType.news,
            "Mission Control": discord.ChannelType.voice,
            "Archive": discord.ChannelType.category,
        }
        [thread] = seen.threads
        assert (
            thread.name == "starship-flight-12" and thread.parent_id == guild.channel("general").id
        )
        assert seen.get_role(guild.role("Launch Pings").id) is not None
        alerts = seen.get_channel(guild.channel("alerts").id)
        assert isinstance(alerts, discord.TextChannel)
        assert alerts.permissions_for(seen.me).send_messages

    assert fake.intents == discord.Intents.default().value
    assert fake.intents is not None and not fake.intents & (1 << 1 | 1 << 8 | 1 << 15)
    # discord.py asks for transport compression; the fake speaks whichever it asked for.
    assert fake.gateway.connect_queries[0]["compress"] in ("zlib-stream", "zstd-stream")
    assert fake.gateway.heartbeats >= 1
    routes = [r.route for r in fake.requests]
    assert routes[:2] == ["GET /users/@me", "GET /oauth2/applications/@me"]
    assert fake.unknown_routes == []
    assert fake.invalid_request_count == 0


async def test_wrong_token_is_rejected_with_401(fake: FakeDiscord) -> None:
    client = make_client()
    with fake.patch_discord(), pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()
    assert fake.requests[-1].status == 401
    assert fake.requests[-1].response == {"message": "401: Unauthorized", "code": 0}
    assert fake.invalid_request_count == 1


async def test_privileged_intents_are_refused_with_4014(
    fake: FakeDiscord, guild: FakeGuild
) -> None:
    intents = discord.Intents.default()
    intents.message_content = True
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with running(fake, make_client(intents=intents)):
            pass
    assert fake.gateway.close_codes == [4014]
    assert fake.intents is not None and fake.intents & (1 << 15)


async def test_privileged_intents_allowed_when_enabled_in_the_portal() -> None:
    async with FakeDiscord(allow_privileged=True) as fake:
        fake.add_guild("Members Guild")
        intents = discord.Intents.default()
        intents.members = True
        async with running(fake, make_client(intents=intents, chunk_guilds_at_startup=False)):
            assert fake.gateway.close_codes == []


async def test_bad_gateway_token_closes_4004_without_compression(fake: FakeDiscord) -> None:
    url = f"{fake.gateway_url}?v=10&encoding=json"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        hello = await ws.receive_json(timeout=PATIENCE)
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
        await ws.send_json({"op": 1, "d": None})
        assert (await ws.receive_json(timeout=PATIENCE))["op"] == 11
        identify = {"token": "nope", "intents": 513, "properties": {"os": "linux"}}
        await ws.send_json({"op": 2, "d": identify})
        msg = await ws.receive(timeout=PATIENCE)
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4004


async def test_reconnect_request_is_resumed(fake: FakeDiscord, guild: FakeGuild) -> None:
    async with running(fake, make_client()) as client:
        resumed = asyncio.get_running_loop().create_future()
        client.event(_set_future("on_resumed", resumed))
        fake.request_reconnect()
        await asyncio.wait_for(resumed, timeout=PATIENCE)
        assert len(fake.gateway.resumes) == 1
        assert len(fake.identifies) == 1
        # The session still works: a dispatch after the resume reaches the client.
        fake.add_channel(guild.id, "after-resume")
        await asyncio.wait_for(client.wait_for("guild_channel_create"), timeout=PATIENCE)


class QuickShards(discord.AutoShardedClient):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py waits 5 s between IDENTIFYs; the fake has no identify limit."""


async def test_sharded_client_gets_each_guild_on_its_shard() -> None:
    async with FakeDiscord(shard_count=2) as fake:
        guilds = [fake.add_guild(f"Guild {i}") for i in range(6)]
        client = QuickShards(intents=discord.Intents.default(), guild_ready_timeout=READY_FAST)
        async with running(fake, client):
            assert sorted(g.id for g in client.guilds) == sorted(g.id for g in guilds)
            for seen in client.guilds:
                assert seen.shard_id == (seen.id >> 22) % 2
        assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
        assert [r.route for r in fake.requests].count("GET /gateway/bot") >= 1


async def test_interactions_need_a_connected_bot(fake: FakeDiscord, guild: FakeGuild) -> None:
    fan = fake.add_member(guild.id, "rocketfan")
    async with running(fake, CommandBot(guild.id)):
        pass
    assert fake.gateway.live_sessions() == []
    with pytest.raises(RuntimeError, match="is the bot connected"):
        await fake.invoke_command(
            guild.id, guild.channel("general").id, fan.id, "next", {"vehicle": "Electron"}
        )


def _set_future(name: str, future: asyncio.Future[None]) -> Any:
    async def handler(*_: Any) -> None:
        if not future.done():
            future.set_result(None)

    handler.__name__ = name
    return handler


# --------------------------------------------------------------------------- message limits


async def test_message_of_2001_chars_is_rejected(fake: FakeDiscord, guild: FakeGuild) -> None:
    async with running(fake, make_client()) as client:
        alerts = client.get_channel(guild.channel("alerts").id)
        assert isinstance(alerts, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as caught:
            await alerts.send("x" * 2001)
        assert caught.value.status == 400
        assert caught.value.code == 50035
        assert "Must be 2000 or fewer in length" in caught.value.text
        await alerts.send("x" * 2000)
    [stored] = fake.messages(guild.channel("alerts").id)
    assert len(stored.content) == 2000


async def test_embeds_over_6000_chars_in_total_are_rejected(
    fake: FakeDiscord, guild: FakeGuild
) -> None:
    embed = discord.Embed(title="Starship Flight 12", description="d" * 4000)
    for i in range(3):
        embed.add_field(name=f"Stage {i}", value="v" * 1000)  # each field is within limits
    async with running(fake, make_client()) as client:
        alerts = client.get_channel(guild.channel("alerts").id)
        assert isinstance(alerts, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as caught:
            await alerts.send(embed=embed)
        assert (caught.value.status, caught.value.code) == (400, 50035)
        assert "Embed size exceeds maximum size of 6000" in caught.value.text
    assert fake.messages(guild.channel("alerts").id) == []


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"embeds": [{"title": "t" * 257}]}, "embeds.0.title"),
        ({"embeds": [{"description": "d" * 4097}]}, "embeds.0.description"),
        ({"embeds": [{"fields": [{"name": "", "value": "v"}]}]}, "embeds.0.fields.0.name"),
        ({"embeds": [{"fields": [{"name": "n", "value": " "}]}]}, "embeds.0.fields.0.value"),
        ({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}, "fields.0.value"),
        ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, "embeds.0.fields"),
        ({"embeds": [{"footer": {"text": "f" * 2049}}]}, "embeds.0.footer.text"),
        ({"embeds": [{"author": {"name": "a" * 257}}]}, "embeds.0.author.name"),
        ({"embeds": [{"title": "t", "url": "ftp://example.com"}]}, "embeds.0.url"),
        ({"embeds": [{"title": "t", "color": 0x1000000}]}, "embeds.0.color"),
        ({"embeds": [{"title": "t"}] * 11}, "embeds"),
        ({"content": "c", "nonce": "n" * 26}, "nonce"),
        (
            {"content": "c", "allowed_mentions": {"parse": ["roles"], "roles": ["1"]}},
            "allowed_mentions",
        ),
        ({"content": "c", "allowed_mentions": {"parse": ["channels"]}}, "allowed_mentions.parse"),
    ],
)
async def test_invalid_message_bodies_are_rejected(
    fake: FakeDiscord, guild: FakeGuild, payload: dict[str, Any], needle: str
) -> None:
    async with running(fake, make_client()) as client:
        params = MultipartParameters(payload=payload, multipart=None, files=None)
        with pytest.raises(discord.HTTPException) as caught:
            await client.http.send_message(guild.channel("alerts").id, params=params)
        assert (caught.value.status, caught.value.code) == (400, 50035)
        assert needle in caught.value.text
    assert fake.messages(guild.channel("alerts").id) == []


async def test_empty_message_is_rejected(fake: FakeDiscord, guild: FakeGuild) -> None:
    status, body, _ = await raw(
        fake, "POST", f"/channels/{guild.channel('alerts').id}/messages", body={"content": ""}
    )
    assert status == 400
    assert body == {"message": "Cannot send an empty message", "code": 50006}


async def test_same_nonce_twice_creates_one_message(fake: FakeDiscord, guild: FakeGuild) -> None:
    async with running(fake, make_client()) as client:
        alerts = client.get_channel(guild.channel("alerts").id)
        assert isinstance(alerts, discord.TextChannel)
        first = await alerts.send("Falcon 9 | Starlink 10-5 launched", nonce="delivery-42")
        again = await alerts.send("Falcon 9 | Starlink 10-5 launched", nonce="delivery-42")
        other = await alerts.send("Electron launched", nonce="delivery-43")
    assert again.id == first.id
    assert other.id != first.id
    stored = fake.messages(guild.channel("alerts").id)
    assert [m.content for m in stored] == ["Falcon 9 | Starlink 10-5 launched", "Electron launched"]
    assert stored[0].nonce_replays == 1
    assert stored[0].enforce_nonce


async def test_edits_are_kept_with_history(fake: FakeDiscord, guild: FakeGuild) -> None:
    async with running(fake, make_client()) as client:
        alerts = client.get_channel(guild.channel("alerts").id)
        assert isinstance(alerts, discord.TextChannel)
        msg = await alerts.send(embed=discord.Embed(title="Soyuz MS-28", description="upcoming"))
        await msg.edit(embed=discord.Embed(title="Soyuz MS-28", description="launched"))
        fetched = await alerts.fetch_message(msg.id)
    assert fetched.embeds[0].description == "launched"
    [stored] = fake.messages(guild.channel("alerts").id)
    assert [e.embeds[0]["description"] for e in stored.edits] == ["launched"]
    assert stored.embed_text() == "Soyuz MS-28\nlaunched"


async def test_files_arrive_as_multipart_with_payload_json(
    fake: FakeDiscord, guild: FakeGuild
) -> None:
    async with running(fake, make_client()) as client:
        alerts = client.get_channel(guild.channel("alerts").id)
        assert isinstance(alerts, discord.TextChannel)
        data = discord.File(io.BytesIO(b"T-0"), filename="countdown.txt")
        msg = await alerts.send("Countdown attached", file=data)
    assert msg.attachments[0].filename == "countdown.txt"
    [stored] = fake.messages(guild.channel("alerts").id)
    assert stored.content == "Countdown attached"
    assert stored.attachments[0]["size"] == 3


async def test_allowed_mentions_decide_who_is_pinged(fake: FakeDiscord, guild: FakeGuild) -> None:
    role = guild.role("Launch Pings")
    text = f"@everyone <@&{role.id}> liftoff!"
    async with running(fake, make_client()) as client:
        alerts = client.get_channel(guild.channel("alerts").id)
        assert isinstance(alerts, discord.TextChannel)
        await alerts.send(text, allowed_mentions=discord.AllowedMentions.none())
        only_role = discord.AllowedMentions(
            everyone=False, users=False, roles=[discord.Object(role.id)]
        )
        await alerts.send(text, allowed_mentions=only_role)
        await alerts.send(text)  # no allowed_mentions at all: Discord parses everything
    quiet, role_only, loud = fake.messages(guild.channel("alerts").id)
    assert not quiet.pinged_anyone
    assert role_only.pinged_roles == {role.id} and not role_only.pinged_everyone
    assert loud.pinged_everyone and loud.pinged_roles == {role.id}


async def test_replies_ping_the_author_only_when_allowed(
    fake: FakeDiscord, guild: FakeGuild
) -> None:
    fan = fake.add_member(guild.id, "rocketfan").user
    general_id = guild.channel("general").id
    async with running(fake, make_client()) as client:
        fake.add_user_message(general_id, fan, "when is the next Electron?")
        question = await asyncio.wait_for(client.wait_for("message"), timeout=PATIENCE)
        assert question.content == ""  # no MESSAGE_CONTENT intent, no mention of the bot
        fake.add_user_message(general_id, fan, f"<@{fake.bot.id}> and the next Soyuz?")
        mention = await asyncio.wait_for(client.wait_for("message"), timeout=PATIENCE)
        assert mention.content.endswith("and the next Soyuz?")
        await question.reply("Tomorrow", mention_author=False)
        await question.reply("Tomorrow!")
    _, _, quiet, loud = fake.messages(general_id)
    assert quiet.message_reference is not None and not quiet.pinged_anyone
    assert loud.pinged_users == {fan.id}


async def test_announcements_are_crossposted_once(fake: FakeDiscord, guild: FakeGuild) -> None:
    async with running(fake, make_client()) as client:
        news = client.get_channel(guild.channel("launch-news").id)
        alerts = client.get_channel(guild.channel("alerts").id)
        assert isinstance(news, discord.TextChannel) and isinstance(alerts, discord.TextChannel)
        msg = await news.send("Soyuz MS-28 launched")
        await msg.publish()
        with pytest.raises(discord.HTTPException) as caught:
            await msg.publish()
        assert caught.value.code == 40033
        plain = await alerts.send("not an announcement channel")
        with pytest.raises(discord.HTTPException) as caught:
            await plain.publish()
        assert caught.value.code == 50024
    [stored] = fake.messages(guild.channel("launch-news").id)
    assert stored.flags & MessageFlag.CROSSPOSTED


# --------------------------------------------------------------------------- permissions, gone


async def test_deleted_channel_gives_unknown_channel(fake: FakeDiscord, guild: FakeGuild) -> None:
    channel_id = guild.channel("alerts").id
    async with running(fake, make_client()) as client:
        alerts = client.get_channel(channel_id)
        assert isinstance(alerts, discord.TextChannel)
        fake.delete_channel(channel_id)
        deleted = await asyncio.wait_for(client.wait_for("guild_channel_delete"), timeout=PATIENCE)
        assert deleted.id == channel_id
        assert client.get_channel(channel_id) is None
        with pytest.raises(discord.NotFound) as caught:
            await alerts.send("Vega-C launched")
        assert caught.value.code == 10003
        assert caught.value.text == "Unknown Channel"


async def test_missing_permissions_are_forbidden(fake: FakeDiscord, guild: FakeGuild) -> None:
    alerts_id = guild.channel("alerts").id
    async with running(fake, make_client()) as client:
        alerts = client.get_channel(alerts_id)
        assert isinstance(alerts, discord.TextChannel)

        fake.set_bot_permissions(alerts_id, send=False)
        await asyncio.wait_for(client.wait_for("guild_channel_update"), timeout=PATIENCE)
        assert not alerts.permissions_for(alerts.guild.me).send_messages  # discord.py sees it too
        with pytest.raises(discord.Forbidden) as caught:
            await alerts.send("Ariane 6 launched")
        assert caught.value.code == 50013

        fake.set_bot_permissions(alerts_id, send=True, embed=False)
        await alerts.send("plain text still works")
        with pytest.raises(discord.Forbidden) as caught:
            await alerts.send(embed=discord.Embed(title="but not embeds"))
        assert caught.value.code == 50013

        fake.set_bot_permissions(alerts_id, view=False)
        with pytest.raises(discord.Forbidden) as caught:
            await alerts.send("cannot even see it")
        assert (caught.value.code, caught.value.text) == (50001, "Missing Access")
    assert [m.content for m in fake.messages(alerts_id)] == ["plain text still works"]
    assert fake.invalid_request_count == 3


async def test_guilds_joined_and_removed_while_connected(
    fake: FakeDiscord, guild: FakeGuild
) -> None:
    async with running(fake, make_client()) as client:
        joined = fake.add_guild("New Guild", channels=["launches"])
        new = await asyncio.wait_for(client.wait_for("guild_join"), timeout=PATIENCE)
        assert new.id == joined.id
        assert [c.name for c in new.channels] == ["launches"]
        fake.remove_guild(guild.id)
        gone = await asyncio.wait_for(client.wait_for("guild_remove"), timeout=PATIENCE)
        assert gone.id == guild.id
        assert [g.id for g in client.guilds] == [joined.id]
        with pytest.raises(discord.Forbidden) as caught:
            await client.fetch_guild(guild.id)
        assert caught.value.code == 50001

        fake.rejoin_guild(guild.id)
        back = await asyncio.wait_for(client.wait_for("guild_join"), timeout=PATIENCE)
        assert back.id == guild.id
        assert (await client.fetch_guild(guild.id)).name == "Launch Fans"


async def test_unknown_routes_are_recorded(fake: FakeDiscord, guild: FakeGuild) -> None:
    async with running(fake, make_client()) as client:
        with pytest.raises(discord.NotFound) as caught:
            await client.http.request(Route("GET", "/launches/next"))
        assert caught.value.code == 0
    [unknown] = fake.unknown_routes
    assert unknown.path.endswith("/launches/next") and unknown.status == 404


async def test_injected_server_error(fake: FakeDiscord, guild: FakeGuild) -> None:
    fake.fail_next("POST", r"/channels/\d+/messages", status=503)
    async with running(fake, make_client()) as client:
        alerts = client.get_channel(guild.channel("alerts").id)
        assert isinstance(alerts, discord.TextChannel)
        with pytest.raises(discord.DiscordServerError):
            await alerts.send("first try fails")
        await alerts.send("second try works")
    assert [m.content for m in fake.messages(guild.channel("alerts").id)] == ["second try works"]


# --------------------------------------------------------------------------- rate limits


async def test_global_limit_gives_429_that_discord_py_retries() -> None:
    async with FakeDiscord(global_limit=5) as fake:
        g = fake.add_guild("Busy", channels=[f"c{i}" for i in range(12)])
        async with running(fake, make_client()) as client:
            started = time.monotonic()
            channels = await asyncio.gather(
                *(client.fetch_channel(c.id) for c in g.live_channels())
            )
            took = time.monotonic() - started
        assert sorted(c.id for c in channels) == sorted(c.id for c in g.live_channels())
        limited = fake.rate_limited(scope="global")
        assert limited, "twelve requests at 5/s must hit the global limit"
        first = limited[0]
        assert first.response["message"] == "You are being rate limited."
        assert first.response["global"] is True
        assert 0 < first.response["retry_after"] <= 1.0
        assert first.headers is not None
        assert first.headers["X-RateLimit-Global"] == "true"
        assert first.headers["X-RateLimit-Scope"] == "global"
        assert int(first.headers["Retry-After"]) >= 1
        assert fake.invalid_request_count == len(limited)
        # Every fetch eventually succeeded, at no more than 5 per second.
        ok = [r for r in fake.requests_to("GET /channels/{channel_id}") if r.status == 200]
        assert len(ok) == 12
        assert took >= 1.0


async def test_route_bucket_headers_and_429(fake: FakeDiscord, guild: FakeGuild) -> None:
    fake.set_route_limit("POST /channels/{channel_id}/messages", 2, 5.0)
    path = f"/channels/{guild.channel('alerts').id}/messages"
    statuses = []
    for i in range(3):
        status, body, headers = await raw(fake, "POST", path, body={"content": f"#{i}"})
        statuses.append(status)
    assert statuses == [200, 200, 429]
    assert body["global"] is False and 0 < body["retry_after"] <= 5.0
    assert headers["X-RateLimit-Limit"] == "2"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Scope"] == "user"
    assert float(headers["X-RateLimit-Reset-After"]) > 0
    assert float(headers["X-RateLimit-Reset"]) > time.time()
    assert headers["Via"]  # without it discord.py treats a 429 as a Cloudflare ban
    # A different channel is a different bucket.
    other = f"/channels/{guild.channel('general').id}/messages"
    assert (await raw(fake, "POST", other, body={"content": "ok"}))[0] == 200


async def test_discord_py_waits_on_exhausted_buckets(fake: FakeDiscord, guild: FakeGuild) -> None:
    fake.set_route_limit("POST /channels/{channel_id}/messages", 2, 0.5)
    async with running(fake, make_client()) as client:
        alerts = client.get_channel(guild.channel("alerts").id)
        assert isinstance(alerts, discord.TextChannel)
        for i in range(5):
            await alerts.send(f"update {i}")
    assert len(fake.messages(guild.channel("alerts").id)) == 5
    assert fake.rate_limited() == []  # the headers were enough for discord.py to pace itself


# --------------------------------------------------------------------------- slash commands


class CommandBot(discord.Client):
    """A small bot with the interaction patterns the real one uses."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=READY_FAST)
        self.guild_id = guild_id
        self.tree = app_commands.CommandTree(self)
        self.errors: list[Exception] = []
        self.failed = asyncio.Event()
        tree = self.tree

        @tree.command(name="next", description="Show the next launch of a vehicle")
        @app_commands.describe(vehicle="Rocket name", count="How many launches")
        async def next_launch(
            interaction: discord.Interaction, vehicle: str, count: int = 1
        ) -> None:
            await interaction.response.send_message(f"Next {count} launch(es) of {vehicle}")

        @next_launch.autocomplete("vehicle")
        async def vehicle_names(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            names = ["Falcon 9", "Falcon Heavy", "Electron", "Soyuz-2.1a"]
            return [
                app_commands.Choice(name=n, value=n) for n in names if current.lower() in n.lower()
            ]

        @tree.command(name="slow", description="Answers after the deadline")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(3.5)
            await interaction.response.send_message("too late")

        @tree.command(name="report", description="Deferred, answered by a follow-up")
        async def report(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.followup.send("Report ready", ephemeral=True)

        @tree.command(name="status", description="Deferred, answered by an edit")
        async def status(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await interaction.edit_original_response(content="All systems go")

        subscribe = app_commands.Group(name="subscribe", description="Manage subscriptions")

        @subscribe.command(name="add", description="Subscribe a channel")
        async def subscribe_add(
            interaction: discord.Interaction,
            channel: discord.TextChannel,
            role: discord.Role | None = None,
        ) -> None:
            mention = f" and ping {role.mention}" if role else ""
            await interaction.response.send_message(
                f"Subscribed {channel.mention}{mention}",
                ephemeral=True,
                allowed_mentions=discord.AllowedMentions.none(),
            )

        tree.add_command(subscribe)

        @tree.error
        async def on_app_command_error(
            interaction: discord.Interaction, error: app_commands.AppCommandError
        ) -> None:
            self.errors.append(error)
            self.failed.set()

    async def setup_hook(self) -> None:
        guild = discord.Object(self.guild_id)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)


async def test_slash_command_is_synced_invoked_and_answered(
    fake: FakeDiscord, guild: FakeGuild
) -> None:
    fan = fake.add_member(guild.id, "rocketfan")
    async with running(fake, CommandBot(guild.id)):
        names = sorted(c["name"] for c in fake.commands(guild.id))
        assert names == ["next", "report", "slow", "status", "subscribe"]
        assert fake.commands() == []  # synced to the guild only
        [sync] = fake.command_syncs
        assert sync.guild_id == guild.id

        result = await fake.invoke_command(
            guild.id, guild.channel("general").id, fan.id, "next", {"vehicle": "Electron"}
        )
        assert result.callback_type == 4
        assert result.content == "Next 1 launch(es) of Electron"
        assert not result.deadline_missed
        assert result.elapsed is not None and result.elapsed < 3.0
        final = await result.wait_final()
        assert final.via == "response" and not final.ephemeral
    [posted] = fake.messages(guild.channel("general").id)
    assert posted.content == "Next 1 launch(es) of Electron"
    assert posted.interaction_id == result.interaction.id


async def test_late_answer_misses_the_deadline(fake: FakeDiscord, guild: FakeGuild) -> None:
    fan = fake.add_member(guild.id, "rocketfan")
    async with running(fake, CommandBot(guild.id)) as bot:
        result = await fake.invoke_command(
            guild.id, guild.channel("general").id, fan.id, "slow", timeout=PATIENCE
        )
        assert result.deadline_missed
        assert result.callback_status == 404
        assert result.elapsed is not None and result.elapsed > 3.0
        await asyncio.wait_for(bot.failed.wait(), timeout=PATIENCE)
        [error] = bot.errors
        assert isinstance(error.__cause__, discord.NotFound)
        assert error.__cause__.code == 10062
    assert fake.messages(guild.channel("general").id) == []


async def test_deferred_answers_complete_by_followup_or_edit(
    fake: FakeDiscord, guild: FakeGuild
) -> None:
    fan = fake.add_member(guild.id, "rocketfan")
    channel_id = guild.channel("general").id
    async with running(fake, CommandBot(guild.id)):
        report = await fake.invoke_command(guild.id, channel_id, fan.id, "report")
        assert report.callback_type == 5 and report.ephemeral
        final = await report.wait_final(timeout=PATIENCE)
        assert (final.content, final.via, final.ephemeral) == ("Report ready", "followup", True)

        status = await fake.invoke_command(guild.id, channel_id, fan.id, "status")
        assert status.callback_type == 5 and not status.deadline_missed
        final = await status.wait_final(timeout=PATIENCE)
        assert (final.content, final.via, final.ephemeral) == ("All systems go", "edit", False)
    visible = fake.messages(channel_id, include_ephemeral=False)
    assert [m.content for m in visible] == ["All systems go"]


async def test_subcommand_with_resolved_channel_and_role(
    fake: FakeDiscord, guild: FakeGuild
) -> None:
    admin = fake.add_member(guild.id, "mod")
    alerts, role = guild.channel("alerts"), guild.role("Launch Pings")
    async with running(fake, CommandBot(guild.id)):
        result = await fake.invoke_command(
            guild.id,
            guild.channel("general").id,
            admin.id,
            "subscribe add",
            {"channel": alerts, "role": role},
        )
    assert result.ephemeral
    assert result.content == f"Subscribed <#{alerts.id}> and ping <@&{role.id}>"
    assert result.original is not None and not result.original.pinged_anyone
    resolved = result.interaction.payload["data"]["resolved"]
    assert set(resolved) == {"channels", "roles"}


async def test_second_callback_is_rejected(fake: FakeDiscord, guild: FakeGuild) -> None:
    fan = fake.add_member(guild.id, "rocketfan")
    async with running(fake, CommandBot(guild.id)):
        result = await fake.invoke_command(
            guild.id, guild.channel("general").id, fan.id, "next", {"vehicle": "Falcon 9"}
        )
    it = result.interaction
    status, body, _ = await raw(
        fake,
        "POST",
        f"/interactions/{it.id}/{it.token}/callback",
        body={"type": 4, "data": {"content": "again"}},
        auth=False,
    )
    assert (status, body["code"]) == (400, 40060)


async def test_autocomplete_returns_choices(fake: FakeDiscord, guild: FakeGuild) -> None:
    fan = fake.add_member(guild.id, "rocketfan")
    async with running(fake, CommandBot(guild.id)):
        result = await fake.autocomplete(
            guild.id,
            guild.channel("general").id,
            fan.id,
            "next",
            {"vehicle": "falc"},
            focused="vehicle",
        )
    assert result.callback_type == 8
    assert [c["name"] for c in result.choices] == ["Falcon 9", "Falcon Heavy"]


async def test_unsynced_command_cannot_be_invoked(fake: FakeDiscord, guild: FakeGuild) -> None:
    fan = fake.add_member(guild.id, "rocketfan")
    async with running(fake, make_client()):
        with pytest.raises(LookupError, match="did the bot sync"):
            await fake.invoke_command(guild.id, guild.channel("general").id, fan.id, "next")


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        ({"name": "Next", "description": "upper case"}, "0.name"),
        ({"name": "next launch", "description": "space"}, "0.name"),
        ({"name": "x" * 33, "description": "too long"}, "0.name"),
        ({"name": "next", "description": ""}, "0.description"),
        ({"name": "next", "description": "d" * 101}, "0.description"),
        (
            {
                "name": "next",
                "description": "too many choices",
                "options": [
                    {
                        "type": 3,
                        "name": "vehicle",
                        "description": "rocket",
                        "choices": [{"name": f"r{i}", "value": f"r{i}"} for i in range(26)],
                    }
                ],
            },
            "0.options.0.choices",
        ),
        (
            {
                "name": "next",
                "description": "optional before required",
                "options": [
                    {"type": 3, "name": "a", "description": "a"},
                    {"type": 3, "name": "b", "description": "b", "required": True},
                ],
            },
            "0.options.1.required",
        ),
    ],
)
async def test_invalid_commands_are_rejected(
    fake: FakeDiscord, guild: FakeGuild, command: dict[str, Any], needle: str
) -> None:
    async with running(fake, make_client()) as client:
        with pytest.raises(discord.HTTPException) as caught:
            await client.http.bulk_upsert_global_commands(fake.application_id, [command])
        assert (caught.value.status, caught.value.code) == (400, 50035)
        assert needle in caught.value.text
    assert fake.commands() == []


async def test_bot_permissions_reach_interactions(fake: FakeDiscord, guild: FakeGuild) -> None:
    fan = fake.add_member(guild.id, "rocketfan")
    fake.set_bot_permissions(guild.channel("general").id, embed=False)
    async with running(fake, CommandBot(guild.id)):
        result = await fake.invoke_command(
            guild.id, guild.channel("general").id, fan.id, "next", {"vehicle": "Electron"}
        )
    app_permissions = int(result.interaction.payload["app_permissions"])
    assert app_permissions & Permission.SEND_MESSAGES
    assert not app_permissions & Permission.EMBED_LINKS
    assert not result.flags & MessageFlag.EPHEMERAL


async def test_request_bodies_are_json_serialisable(fake: FakeDiscord, guild: FakeGuild) -> None:
    # Payload builders must produce plain JSON (what the wire carries).
    json.dumps(guild.gateway_payload(fake.bot.id))
