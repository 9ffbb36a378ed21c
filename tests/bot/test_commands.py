"""Slash commands, run by users of a fake Discord against the real client and database."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bot.client import COMMANDS_HASH, LaunchWatchBot
from bot.runtime import ORPHAN_KEEP, open_core
from handlers.domain import LaunchStatus, SubscriptionState, utc_now
from tests.bot.conftest import (
    READY_FAST,
    World,
    build_world,
    final_text,
    invoke,
    make_settings,
    store_event,
    wait_for,
)
from tests.fakediscord import ChannelType, Permission, running
from tests.fakeschedule import FakeSchedule, ll2_launch
from tests.feedgen import Item, rss
from tests.feedserver import FeedServer

SOYUZ_UPCOMING = "Soyuz MS-29 crew set for launch from Baikonur next week"
SOYUZ_LAUNCHED = "Soyuz MS-29 launches three crew members to the ISS from Baikonur"
CREW_12 = "Falcon 9 launches Crew-12 to the ISS from Cape Canaveral"
ALERT_CHANNEL_TYPES = [
    ChannelType.TEXT,
    ChannelType.ANNOUNCEMENT,
    ChannelType.ANNOUNCEMENT_THREAD,
    ChannelType.PUBLIC_THREAD,
    ChannelType.PRIVATE_THREAD,
]


def command(fake, name: str) -> dict[str, Any]:
    return next(c for c in fake.commands() if c["name"] == name)


def option(cmd: dict[str, Any], *path: str) -> dict[str, Any]:
    options = cmd["options"]
    for name in path:
        found = next(o for o in options if o["name"] == name)
        options = found.get("options", [])
    return found


# --------------------------------------------------------------------------- command tree


async def test_commands_are_synced_once_and_not_again_when_unchanged(fake, bot, core, world):
    assert len(fake.command_syncs) == 1
    assert set(fake.command_syncs[0].names) == {
        "subscribe",
        "unsubscribe",
        "subscriptions",
        "scheduled-events",
        "launches",
        "launch",
        "feeds",
        "status",
    }
    assert await core.storage.get_meta(COMMANDS_HASH)
    second = LaunchWatchBot(core, guild_ready_timeout=READY_FAST)
    async with running(fake, second):
        assert len(fake.command_syncs) == 1
        assert second.commands_synced is False


async def test_dev_guild_gets_the_commands_instead_of_global(fake, core, world):
    core.settings.dev_guild = world.guild.id
    client = LaunchWatchBot(core, guild_ready_timeout=READY_FAST)
    async with running(fake, client):
        assert fake.command_syncs[-1].guild_id == world.guild.id
        assert fake.commands() == []
        _, final = await invoke(fake, world, "status")
        assert "LaunchWatch status" in final_text(final)


async def test_command_definitions_carry_discord_side_guards(fake, bot):
    subscribe = command(fake, "subscribe")
    assert int(subscribe["default_member_permissions"]) == Permission.MANAGE_CHANNELS
    assert subscribe.get("contexts") == [0] or subscribe.get("dm_permission") is False
    assert option(subscribe, "channel")["channel_types"] == ALERT_CHANNEL_TYPES
    feeds = command(fake, "feeds")
    assert int(feeds["default_member_permissions"]) == Permission.MANAGE_GUILD
    recent = option(command(fake, "launches"), "recent")
    limit = next(o for o in recent["options"] if o["name"] == "limit")
    assert (limit["min_value"], limit["max_value"]) == (1, 25)


# --------------------------------------------------------------------------- /subscribe


async def test_subscribe_this_channel_with_filters_and_role(fake, bot, core, world):
    _, final = await invoke(
        fake,
        world,
        "subscribe",
        {
            "statuses": "launched, failed",
            "vehicle": "falcon-9",
            "agency": "nasa",
            "role": world.role.id,
        },
    )
    assert final.ephemeral
    text = final_text(final)
    assert f"Subscribed <#{world.alerts.id}>" in text and f"<@&{world.role.id}>" in text
    assert not final.message.pinged_anyone
    sub = await core.storage.subscriptions.get("discord", world.alerts.id)
    assert sub.guild_id == world.guild.id and sub.role_id == world.role.id
    assert sub.filters.statuses == {LaunchStatus.LAUNCHED, LaunchStatus.FAILED}
    assert sub.filters.vehicles == {"Falcon 9"} and sub.filters.agencies == {"NASA"}
    assert sub.created_by == world.owner.id


async def test_subscribing_again_updates_the_same_subscription(fake, bot, core, world):
    await invoke(fake, world, "subscribe", {"statuses": "launched"})
    _, final = await invoke(fake, world, "subscribe", {"crewed_only": True})
    assert "Updated" in final_text(final)
    subs = await core.storage.subscriptions.list_for_guild(world.guild.id)
    assert len(subs) == 1 and subs[0].filters.crewed_only
    assert subs[0].filters.statuses == set(LaunchStatus)


async def test_subscribe_with_reminders_and_change_them_later(fake, bot, core, world):
    _, final = await invoke(fake, world, "subscribe", {"reminders": "15m, 1d,1h"})
    assert "Reminders 1d, 1h, 15m before liftoff" in final_text(final)
    sub = await core.storage.subscriptions.get("discord", world.alerts.id)
    assert sub.reminders == (86400, 3600, 900)
    _, final = await invoke(fake, world, "subscriptions")
    assert "reminders 1d, 1h, 15m" in final_text(final)
    _, final = await invoke(fake, world, "subscribe", {"reminders": "in a while"})
    assert final.ephemeral and "Reminders: 'in a while' is not a duration" in final_text(final)
    _, final = await invoke(fake, world, "subscribe", {"reminders": "none"})
    assert (await core.storage.subscriptions.get("discord", world.alerts.id)).reminders == ()


async def test_subscribe_chooses_status_notices(fake, bot, core, world):
    _, final = await invoke(fake, world, "subscribe", {"notices": "go, time, liftoff"})
    assert "Notices: go, liftoff, time." in final_text(final)
    sub = await core.storage.subscriptions.get("discord", world.alerts.id)
    assert {n.value for n in sub.notices} == {"go", "liftoff", "time"}
    _, final = await invoke(fake, world, "subscriptions")
    assert "notices go, liftoff, time" in final_text(final)
    _, final = await invoke(fake, world, "subscribe", {"notices": "go, sometimes"})
    assert final.ephemeral and "Notices: sometimes unknown" in final_text(final)
    await invoke(fake, world, "subscribe", {"notices": "none"})
    assert (await core.storage.subscriptions.get("discord", world.alerts.id)).notices == set()


async def test_subscribe_another_channel_announcement_or_thread(fake, bot, core, world):
    _, final = await invoke(fake, world, "subscribe", {"channel": world.news.id})
    assert f"Subscribed <#{world.news.id}>" in final_text(final)
    _, final = await invoke(fake, world, "subscribe", channel=world.thread)
    assert f"Subscribed <#{world.thread.id}>" in final_text(final)
    assert await core.storage.subscriptions.count_for_guild(world.guild.id) == 2


async def test_wrong_channel_type_is_refused_clearly(fake, bot, core, world):
    # Discord's picker only offers text, announcement and thread channels; running the
    # command in a voice channel's chat is the one way to aim it elsewhere.
    _, final = await invoke(fake, world, "subscribe", channel=world.voice)
    assert final.ephemeral
    assert "is a voice channel" in final_text(final)
    assert await core.storage.subscriptions.count_for_guild(world.guild.id) == 0


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"statuses": "launched, exploded"}, "Unknown status `exploded`"),
        ({"vehicle": "Falcon 99"}, "Did you mean: Falcon 9"),
        ({"agency": "Nasaa"}, "Unknown agency `Nasaa`"),
        ({"site": "Mars Base Alpha"}, "Unknown launch site"),
    ],
)
async def test_bad_filters_get_a_clear_message(fake, bot, core, world, options, expected):
    _, final = await invoke(fake, world, "subscribe", options)
    assert final.ephemeral and expected in final_text(final)
    assert await core.storage.subscriptions.count_for_guild(world.guild.id) == 0


async def test_hostile_input_is_not_echoed_as_a_ping(fake, bot, world):
    _, final = await invoke(fake, world, "subscribe", {"vehicle": "@everyone <@&1>"})
    assert "Unknown vehicle" in final_text(final)
    assert not final.message.pinged_anyone and "@everyone" not in final.content


async def test_everyone_role_is_never_pinged(fake, bot, core, world):
    _, final = await invoke(fake, world, "subscribe", {"role": world.guild.id})
    assert "never pings @everyone" in final_text(final)
    assert await core.storage.subscriptions.count_for_guild(world.guild.id) == 0


async def test_member_without_manage_channels_cannot_subscribe(fake, bot, core, world):
    # Discord does not even offer the command to them...
    with pytest.raises(PermissionError):
        await fake.invoke_command(world.guild.id, world.alerts.id, world.member.id, "subscribe")
    # ...and if a server admin overrides that, the bot still checks at run time.
    command(fake, "subscribe")["default_member_permissions"] = None
    _, final = await invoke(fake, world, "subscribe", user=world.member)
    assert final.ephemeral and "Manage Channels" in final_text(final)
    assert await core.storage.subscriptions.count_for_guild(world.guild.id) == 0


async def test_bot_says_which_permissions_it_lacks_in_the_target(fake, bot, core, world):
    fake.set_bot_permissions(world.alerts.id, embed=False)
    _, final = await invoke(fake, world, "subscribe")  # run in #alerts itself
    assert "Embed Links" in final_text(final) and "Send Messages" not in final_text(final)
    fake.set_bot_permissions(world.news.id, send=False)
    await fake.drain()
    await wait_for(
        lambda: (
            not bot.get_channel(world.news.id)
            .permissions_for(bot.get_guild(world.guild.id).me)
            .send_messages
        ),
        what="CHANNEL_UPDATE",
    )
    _, final = await invoke(
        fake, world, "subscribe", {"channel": world.news.id}, channel=world.alerts
    )
    assert "missing **Send Messages" in final_text(final)
    assert await core.storage.subscriptions.count_for_guild(world.guild.id) == 0


@pytest.mark.parametrize("settings_env", [{"LAUNCHWATCH_MAX_SUBSCRIPTIONS": 2}], indirect=True)
async def test_too_many_subscriptions(fake, bot, core, world):
    await invoke(fake, world, "subscribe", {"channel": world.alerts.id})
    await invoke(fake, world, "subscribe", {"channel": world.news.id})
    _, final = await invoke(fake, world, "subscribe", channel=world.thread)
    assert "the most allowed (2)" in final_text(final)
    # Updating an existing one is still fine at the limit.
    _, final = await invoke(
        fake, world, "subscribe", {"channel": world.news.id, "statuses": "launched"}
    )
    assert "Updated" in final_text(final)


async def test_autocomplete_offers_known_vehicles_and_statuses(fake, bot, world):
    result = await fake.autocomplete(
        world.guild.id, world.alerts.id, world.owner.id, "subscribe", {"vehicle": "falc"}, "vehicle"
    )
    names = [c["value"] for c in result.choices]
    assert "Falcon 9" in names and "Falcon Heavy" in names
    result = await fake.autocomplete(
        world.guild.id,
        world.alerts.id,
        world.owner.id,
        "subscribe",
        {"statuses": "launched, fa"},
        "statuses",
    )
    assert [c["value"] for c in result.choices] == ["launched, failed"]


# ----------------------------------------------------------------- /unsubscribe /subscriptions


async def test_unsubscribe_and_list(fake, bot, core, world):
    await invoke(fake, world, "subscribe", {"channel": world.news.id, "statuses": "launched"})
    _, final = await invoke(fake, world, "subscriptions")
    assert f"<#{world.news.id}>" in final_text(final) and "statuses: launched" in final_text(final)
    _, final = await invoke(fake, world, "unsubscribe", {"channel": world.news.id})
    assert "no longer gets launch alerts" in final_text(final)
    _, final = await invoke(fake, world, "unsubscribe", {"channel": world.news.id})
    assert "has no LaunchWatch subscription" in final_text(final)
    _, final = await invoke(fake, world, "subscriptions")
    assert "No channel gets launch alerts yet" in final_text(final)


async def test_broken_subscription_shows_its_reason_and_can_be_removed_by_id(
    fake, bot, core, world
):
    await invoke(fake, world, "subscribe", {"channel": world.news.id})
    sub = await core.storage.subscriptions.get("discord", world.news.id)
    await core.storage.subscriptions.mark_broken(sub.id, "the channel was deleted", utc_now())
    fake.delete_channel(world.news.id)
    _, final = await invoke(fake, world, "subscriptions")
    assert "**broken**: the channel was deleted" in final_text(final)
    result = await fake.autocomplete(
        world.guild.id,
        world.alerts.id,
        world.owner.id,
        "unsubscribe",
        {"channel_id": ""},
        "channel_id",
    )
    assert [c["value"] for c in result.choices] == [str(world.news.id)]
    assert "deleted channel" in result.choices[0]["name"]
    _, final = await invoke(fake, world, "unsubscribe", {"channel_id": str(world.news.id)})
    assert "no longer gets launch alerts" in final_text(final)


async def test_one_server_never_sees_or_changes_another_servers_setup(fake, core, world):
    other = build_world(fake, "Rocket Club")
    client = LaunchWatchBot(core, guild_ready_timeout=READY_FAST)
    async with running(fake, client):
        await invoke(fake, world, "subscribe", {"channel": world.news.id})
        # The other server lists nothing and cannot remove it by id.
        _, final = await invoke(fake, other, "subscriptions")
        assert str(world.news.id) not in final_text(final)
        _, final = await invoke(fake, other, "unsubscribe", {"channel_id": str(world.news.id)})
        assert "has no LaunchWatch subscription" in final_text(final)
        assert await core.storage.subscriptions.get("discord", world.news.id) is not None
        result = await fake.autocomplete(
            other.guild.id,
            other.alerts.id,
            other.owner.id,
            "unsubscribe",
            {"channel_id": ""},
            "channel_id",
        )
        assert result.choices == []


# --------------------------------------------------------------------------- /launches, /launch


async def test_launches_recent_newest_first_with_filters(fake, bot, core, world):
    now = utc_now()
    await store_event(core, SOYUZ_LAUNCHED, at=now - timedelta(hours=2))
    await store_event(core, CREW_12, at=now - timedelta(hours=1), summary="NASA astronauts aboard.")
    _, final = await invoke(fake, world, "launches recent")
    assert not final.ephemeral
    lines = final.embeds[0]["description"].splitlines()
    assert "Crew-12" in lines[0] and "Soyuz MS-29" in lines[1]
    assert all("<t:" in line for line in lines)
    _, final = await invoke(fake, world, "launches recent", {"vehicle": "soyuz 2.1a"})
    assert "Crew-12" not in final_text(final) and "Soyuz MS-29" in final_text(final)
    _, final = await invoke(fake, world, "launches recent", {"status": "failed"})
    assert "No launches found" in final_text(final)
    _, final = await invoke(fake, world, "launches recent", {"agency": "Spaceship Co"})
    assert final.ephemeral and "Unknown agency" in final_text(final)


async def test_launches_upcoming(fake, bot, core, world):
    await store_event(core, SOYUZ_UPCOMING)
    await store_event(core, CREW_12)
    _, final = await invoke(fake, world, "launches upcoming", {"limit": 5})
    assert "Soyuz MS-29" in final_text(final) and "Crew-12" not in final_text(final)


async def test_launches_upcoming_lists_the_schedule_with_its_news(fake, bot, core, world):
    from handlers.schedule.launches import NetPrecision, ScheduledLaunch, ScheduleStatus

    now = utc_now()
    soyuz_net = now + timedelta(days=3)
    schedule = [
        ScheduledLaunch("s", "Soyuz 2.1a | Soyuz MS-29", ScheduleStatus.GO, soyuz_net,
                        NetPrecision.MINUTE, vehicle="Soyuz 2.1a", mission="Soyuz MS-29",
                        location="Baikonur Cosmodrome, Kazakhstan"),
        ScheduledLaunch("e", "Electron | Far Out", ScheduleStatus.TBD, now + timedelta(days=9),
                        NetPrecision.COARSE, vehicle="Electron", mission="Far Out"),
        ScheduledLaunch("d", "H3 | Done", ScheduleStatus.SUCCESS, now - timedelta(minutes=30),
                        NetPrecision.MINUTE, vehicle="H3"),
    ]  # fmt: skip
    await core.storage.schedule.save(schedule, now)
    await store_event(core, SOYUZ_UPCOMING)  # the news of the scheduled Soyuz
    await store_event(core, "Vulcan set to launch weather satellite next week")  # news only
    _, final = await invoke(fake, world, "launches upcoming")
    lines = final.embeds[0]["description"].splitlines()
    assert len(lines) == 3, lines
    [soyuz] = [line for line in lines if "Soyuz MS-29" in line]
    assert "Go ·" in soyuz and "Baikonur" in soyuz and "📰 1 news story" in soyuz
    assert f"<t:{int(soyuz_net.timestamp())}:R>" in soyuz
    assert any("Vulcan" in line for line in lines)
    assert any("Far Out" in line and "NET" in line for line in lines)
    assert "Done" not in final.embeds[0]["description"]  # launched: not upcoming


async def test_launch_detail_shows_what_the_schedule_says(fake, bot, core, world):
    from handlers.schedule.launches import NetPrecision, ScheduledLaunch, ScheduleStatus
    from handlers.schedule.linking import link_launches

    now = utc_now()
    net = now + timedelta(hours=20)
    launch = ScheduledLaunch(
        "ll2-soyuz", "Soyuz 2.1a | Soyuz MS-29", ScheduleStatus.GO, net, NetPrecision.MINUTE,
        window_start=net, window_end=net + timedelta(minutes=30), vehicle="Soyuz 2.1a",
        mission="Soyuz MS-29", pad="Site 31/6", location="Baikonur Cosmodrome, Kazakhstan",
        probability=85, webcasts=("https://video.example/soyuz",),
    )  # fmt: skip
    await core.storage.schedule.save([launch], now)
    await link_launches(core.storage.events, core.matcher, [launch], now)
    [event] = await core.storage.events.recent(limit=5, scope=0)
    _, final = await invoke(fake, world, "launch", {"name": str(event.id)})
    fields = {f["name"]: f["value"] for f in final.embeds[0]["fields"]}
    assert fields["Schedule"] == "Go" and fields["Probability"] == "85%"
    assert fields["Pad"] == "Site 31/6" and fields["Webcast"] == "<https://video.example/soyuz>"
    assert fields["Window"].count("<t:") == 2


async def test_launch_detail_by_autocomplete_id_and_by_name(fake, bot, core, world):
    event = await store_event(core, SOYUZ_UPCOMING)
    await store_event(core, SOYUZ_LAUNCHED)
    result = await fake.autocomplete(
        world.guild.id, world.alerts.id, world.owner.id, "launch", {"name": "ms-29"}, "name"
    )
    assert result.choices[0]["value"] == str(event.id)
    assert "Soyuz MS-29" in result.choices[0]["name"]
    _, final = await invoke(fake, world, "launch", {"name": str(event.id)})
    embed = final.embeds[0]
    assert embed["title"].startswith("🚀 Launched")
    history = next(f for f in embed["fields"] if f["name"] == "Status history")["value"]
    assert "Upcoming" in history and "Launched" in history
    assert "Sources (2)" in final_text(final)
    _, final = await invoke(fake, world, "launch", {"name": "soyuz ms-29"})
    assert final.embeds[0]["title"] == embed["title"]


async def test_launch_autocomplete_offers_the_schedules_launches_before_any_news(
    fake, bot, core, world
):
    from handlers.schedule.launches import NetPrecision, ScheduledLaunch, ScheduleStatus
    from handlers.schedule.linking import link_launches

    now = utc_now()
    far = ScheduledLaunch(
        "ll2-ariane", "Ariane 64 | Kuiper LE-02", ScheduleStatus.TBC, now + timedelta(days=12),
        NetPrecision.DAY, vehicle="Ariane 64", provider="Arianespace", mission="Kuiper LE-02",
        location="Guiana Space Centre, French Guiana", pad="ELA-4",
    )  # fmt: skip
    near = ScheduledLaunch(
        "ll2-soyuz", "Soyuz 2.1a | Soyuz MS-29", ScheduleStatus.GO, now + timedelta(hours=20),
        NetPrecision.MINUTE, vehicle="Soyuz 2.1a", mission="Soyuz MS-29",
    )  # fmt: skip
    await core.storage.schedule.save([far, near], now)
    await link_launches(core.storage.events, core.matcher, [near], now)  # near: an event

    async def choices(typed: str) -> list[dict]:
        result = await fake.autocomplete(
            world.guild.id, world.alerts.id, world.owner.id, "launch", {"name": typed}, "name"
        )
        return result.choices

    offered = await choices("")
    assert offered[0]["value"] == "s:ll2-ariane" and "Kuiper LE-02" in offered[0]["name"]
    soyuz = [c for c in offered if "Soyuz MS-29" in c["name"]]
    assert len(soyuz) == 1 and soyuz[0]["value"].isdigit()  # once, as its event
    assert [c["value"] for c in await choices("kuiper")] == ["s:ll2-ariane"]

    _, final = await invoke(fake, world, "launch", {"name": "s:ll2-ariane"})
    embed = final.embeds[0]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert "Ariane 64" in embed["title"] and "Kuiper LE-02" in embed["title"]
    assert fields["NET"].endswith("(day only)") and fields["Pad"] == "ELA-4"
    assert fields["Schedule"] == "TBC" and "no news" in embed["footer"]["text"]
    _, final = await invoke(fake, world, "launch", {"name": "s:ll2-soyuz"})
    assert "Soyuz MS-29" in final.embeds[0]["title"]
    assert any(f["name"] == "Status history" for f in final.embeds[0]["fields"])


async def test_unknown_launch_is_a_clear_message(fake, bot, world):
    _, final = await invoke(fake, world, "launch", {"name": "Apollo 18"})
    assert final.ephemeral and "No launch matches `Apollo 18`" in final_text(final)
    _, final = await invoke(fake, world, "launch", {"name": "999999"})
    assert "No launch matches" in final_text(final)


async def test_a_servers_own_events_stay_private(fake, core, world):
    other = build_world(fake, "Rocket Club")
    private = await store_event(core, CREW_12, scope=world.guild.id)
    client = LaunchWatchBot(core, guild_ready_timeout=READY_FAST)
    async with running(fake, client):
        _, final = await invoke(fake, world, "launch", {"name": str(private.id)})
        assert "Crew-12" in final_text(final)
        _, final = await invoke(fake, other, "launch", {"name": str(private.id)})
        assert "No launch matches" in final_text(final)
        _, final = await invoke(fake, other, "launches recent")
        assert "Crew-12" not in final_text(final)


# --------------------------------------------------------------------------- /feeds


async def test_feeds_add_list_remove(fake, bot, core, world):
    url = "https://feeds.example/space.xml"
    _, final = await invoke(fake, world, "feeds add", {"url": url})
    assert "Added" in final_text(final) and final.ephemeral
    followed = await core.storage.feeds.list_feeds(guild_id=world.guild.id, everything=False)
    assert [f.url for f in followed] == [url]
    _, final = await invoke(fake, world, "feeds add", {"url": url})
    assert "already follows" in final_text(final)
    _, final = await invoke(fake, world, "feeds add", {"url": "https://feeds.example/rss"})
    assert "built-in feeds" in final_text(final)
    _, final = await invoke(fake, world, "feeds list")
    assert url in final_text(final) and "feeds.example/rss" not in final_text(final)
    _, final = await invoke(fake, world, "feeds remove", {"url": url})
    assert "Removed" in final_text(final)
    assert await core.storage.feeds.list_feeds(guild_id=world.guild.id, everything=False) == []
    # Nobody follows it now: no longer polled, deleted once it has been orphaned a while.
    assert url not in [f.url for f in await core.storage.feeds.due(utc_now(), 10)]
    assert await core.storage.feeds.prune_orphans(utc_now() + timedelta(days=8), ORPHAN_KEEP)
    assert await core.storage.feeds.get_by_url(url) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "no scheme"),
        ("ftp://feeds.example/rss", "only http and https"),
        ("http://127.0.0.1:8080/feed", "loopback address"),
        ("http://192.168.1.10/rss", "private address"),
        ("http://localhost/rss", "loopback name"),
    ],
)
async def test_feeds_add_refuses_bad_and_private_urls(fake, bot, core, world, url, expected):
    _, final = await invoke(fake, world, "feeds add", {"url": url})
    assert final.ephemeral and "That URL can't be used" in final_text(final)
    assert expected in final_text(final)
    assert await core.storage.feeds.list_feeds(guild_id=world.guild.id, everything=False) == []


@pytest.mark.parametrize("settings_env", [{"LAUNCHWATCH_MAX_GUILD_FEEDS": 1}], indirect=True)
async def test_feeds_limit_counts_this_servers_feeds(fake, bot, core, world):
    await invoke(fake, world, "feeds add", {"url": "https://a.example/rss"})
    _, final = await invoke(fake, world, "feeds add", {"url": "https://b.example/rss"})
    assert "the most allowed (1)" in final_text(final)


@pytest.mark.parametrize(
    "settings_env", [{"LAUNCHWATCH_ALLOW_PRIVATE_NETWORKS": True}], indirect=True
)
async def test_two_servers_follow_one_feed_without_seeing_each_other(fake, core, world):
    other = build_world(fake, "Rocket Club")
    client = LaunchWatchBot(core, guild_ready_timeout=READY_FAST)
    builtin = core.settings.feed_urls()[0]
    # Off the network: the built-in feed is disabled by the operator, so only ours is polled.
    await core.storage.feeds.remove_by_operator(builtin, utc_now())
    async with FeedServer() as feeds, running(fake, client):
        feeds.route("/shared", body=rss([]))
        url = feeds.url("/shared")

        async def listing(w: World) -> str:
            return final_text((await invoke(fake, w, "feeds list"))[1])

        # Both follow the same URL, spelled differently; neither is told of the other.
        _, first = await invoke(fake, world, "feeds add", {"url": url})
        _, second = await invoke(fake, other, "feeds add", {"url": f" {url}#latest"})
        assert "Added" in final_text(first) and "Added" in final_text(second)
        assert len(await core.storage.feeds.list_feeds()) == 2  # the built-in one and this
        assert url in await listing(world) and url in await listing(other)

        # One fetch per interval, whoever follows it.
        now = utc_now()
        await core.pipeline.run_due(now)
        await core.pipeline.run_due(now)  # within the same interval: not due again
        assert feeds.count("/shared") == 1

        # Either removes its own link; the other's stays, and the feed is still polled.
        _, final = await invoke(fake, other, "feeds remove", {"url": url})
        assert "Removed" in final_text(final)
        assert url not in await listing(other) and url in await listing(world)
        _, final = await invoke(fake, other, "feeds remove", {"url": url})
        assert "does not follow" in final_text(final)
        later = utc_now() + timedelta(hours=1)
        assert [f.url for f in await core.storage.feeds.due(later, 10)].count(url) == 1

        # A built-in feed is the operator's: a server can mute it, not remove it.
        _, final = await invoke(fake, world, "feeds remove", {"url": builtin})
        assert "only its operator can remove" in final_text(final)
        _, final = await invoke(fake, world, "feeds add", {"url": builtin})
        assert "built-in feeds" in final_text(final)
        _, final = await invoke(fake, world, "feeds mute", {"url": builtin})
        assert "Muted" in final_text(final)
        assert builtin in await listing(world) and builtin not in await listing(other)
        assert await core.storage.feeds.get_by_url(builtin) is not None
        _, final = await invoke(fake, world, "feeds unmute", {"url": builtin})
        assert "heard again" in final_text(final)

        # The last follower gone, the feed is no longer polled.
        await invoke(fake, world, "feeds remove", {"url": url})
        assert url not in [f.url for f in await core.storage.feeds.due(later, 10)]


async def test_feeds_need_manage_server(fake, bot, world):
    with pytest.raises(PermissionError):
        await fake.invoke_command(world.guild.id, world.alerts.id, world.member.id, "feeds list")
    command(fake, "feeds")["default_member_permissions"] = None
    _, final = await invoke(fake, world, "feeds list", user=world.member)
    assert "Manage Server" in final_text(final)


@pytest.mark.parametrize(
    "settings_env", [{"LAUNCHWATCH_ALLOW_PRIVATE_NETWORKS": True}], indirect=True
)
async def test_feeds_test_defers_and_shows_what_it_would_post(fake, bot, core, world):
    now = utc_now()
    items = [
        Item("s1", SOYUZ_LAUNCHED, "Two Roscosmos cosmonauts and a NASA astronaut.", now),
        Item(
            "s2",
            "Russian Soyuz rocket launches Soyuz MS-29 crew toward the space station",
            "Liftoff from the Baikonur Cosmodrome.",
            now,
        ),
        Item("x", "Satellite startup raises $40 million", "", now),
    ]
    async with FeedServer() as server:
        server.route("/feed", body=rss(items, title="Orbit News"))
        server.route("/broken", status=500)
        parsed = core.parser.stats.parsed
        result, final = await invoke(fake, world, "feeds test", {"url": server.url("/feed")})
        assert result.callback_type == 5  # deferred: it fetches
        assert core.parser.stats.parsed == parsed + 1  # the poller's parser pool and budget
        text = final_text(final)
        assert "3 articles, 2 launch stories, 1 launch event." in text
        assert "Soyuz MS-29" in text
        _, final = await invoke(fake, world, "feeds test", {"url": server.url("/broken")})
        assert "Could not read" in final_text(final) and "500" in final_text(final)


# --------------------------------------------------------------------------- /status and errors


async def test_status_shows_health_and_never_the_token(fake, bot, core, world):
    await invoke(fake, world, "subscribe")
    _, final = await invoke(fake, world, "status")
    fields = {f["name"]: f["value"] for f in final.embeds[0]["fields"]}
    assert fields["Feeds"].startswith("1 OK")
    assert fields["Subscriptions"] == "1 active"
    assert fields["Pending deliveries"] == "0"
    assert fields["Feed parsing"].endswith("0 stopped at the 15 s budget")
    assert fields["Launch schedule"].startswith("off")
    assert "LaunchWatch" in final.embeds[0]["footer"]["text"]
    everything = json.dumps([r.response for r in fake.requests])
    assert fake.token not in everything and bot.http.token not in final_text(final)


async def test_status_tells_when_the_launch_schedule_was_read(fake, tmp_path):
    token = "schedule-key-0123456789abcdef"
    async with FakeSchedule(tokens=frozenset({token})) as ll2:
        ll2.upcoming = [ll2_launch("a", net=utc_now() + timedelta(days=2))]
        settings = make_settings(
            tmp_path,
            LAUNCHWATCH_SCHEDULE="on",
            LAUNCHWATCH_SCHEDULE_URL=ll2.base_url,
            LAUNCHWATCH_SCHEDULE_TOKEN=token,
        )
        async with open_core(settings) as core:
            assert core.schedule is not None
            await core.schedule.run_due(utc_now())
            world = build_world(fake)
            client = LaunchWatchBot(core, guild_ready_timeout=READY_FAST)
            async with running(fake, client):
                _, final = await invoke(fake, world, "status")
    line = {f["name"]: f["value"] for f in final.embeds[0]["fields"]}["Launch schedule"]
    assert line.startswith("refreshed <t:") and "1 launches in the next 7 days" in line
    assert "1/15 requests this hour" in line
    assert token not in json.dumps([r.response for r in fake.requests])


async def test_an_internal_error_is_an_ephemeral_apology_not_silence(
    fake, bot, core, world, monkeypatch, caplog
):
    async def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(core.storage.subscriptions, "list_for_guild", broken)
    _, final = await invoke(fake, world, "subscriptions")
    assert final.ephemeral and "Something went wrong" in final_text(final)
    assert "database on fire" in caplog.text  # the traceback went to the log


async def test_a_slow_command_is_deferred_in_time(fake, bot, core, world, monkeypatch):
    real = core.storage.subscriptions.list_for_guild

    async def slow(*args, **kwargs):
        # Held until the bot has deferred on its own, so the defer cannot come from the
        # command having finished: no sleep decides which happens first.
        await wait_for(
            lambda: any(i.acknowledged for i in fake.interactions.values()),
            what="the safety defer",
        )
        return await real(*args, **kwargs)

    monkeypatch.setattr(core.storage.subscriptions, "list_for_guild", slow)
    result, final = await invoke(fake, world, "subscriptions")  # within 3 s: it asserts so
    assert result.callback_type == 5
    assert "Launch alerts in this server" in final_text(final) and final.ephemeral


async def test_guild_removal_pauses_and_return_resumes_subscriptions(fake, bot, core, world):
    await invoke(fake, world, "subscribe")
    fake.remove_guild(world.guild.id)

    async def paused():
        sub = await core.storage.subscriptions.get("discord", world.alerts.id)
        return sub.state is SubscriptionState.PAUSED

    await wait_for(paused, what="subscription paused")
    world.guild.removed = False
    fake.set_guild_unavailable(world.guild.id, False)  # GUILD_CREATE: the bot is back

    async def active():
        sub = await core.storage.subscriptions.get("discord", world.alerts.id)
        return sub.state is SubscriptionState.ACTIVE

    await wait_for(active, what="subscription resumed")
