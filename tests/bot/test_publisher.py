"""The Discord publisher and the request pacer, against the fake Discord."""

from __future__ import annotations

import asyncio
import bisect
import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.publisher import DiscordPublisher, jump_base
from bot.ratelimit import InvalidRequestTracker, Pressure, RequestPacer, TokenBucket
from handlers.domain import (
    DeliveryJob,
    DeliveryKind,
    LaunchEvent,
    LaunchStatus,
    Source,
    StatusChange,
    Subscription,
)
from handlers.events import SCHEDULE_SITE
from handlers.ports import PublishOutcome
from tests.bot.conftest import wait_for

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOSTILE = "@everyone look <@&1> <@2> @here"


def event(status: LaunchStatus = LaunchStatus.UPCOMING, revision: int = 1) -> LaunchEvent:
    return LaunchEvent(
        id=1,
        key="soyuz-2-1a|soyuz-ms-29",
        status=status,
        vehicle="Soyuz-2.1a",
        mission="Soyuz MS-29",
        site="Baikonur Cosmodrome",
        crewed=True,
        agencies=("Roscosmos", "NASA"),
        launch_time=T0 + timedelta(days=1),
        summary=f"Three crew members head to the ISS. {HOSTILE}",
        first_seen=T0,
        updated=T0,
        revision=revision,
        sources=(Source("a", f"Soyuz MS-29 {HOSTILE}", "https://news.example/a", "News", T0),),
        history=(StatusChange(status, T0),),
    )


def job(
    channel,
    kind: DeliveryKind = DeliveryKind.POST,
    *,
    job_id: int = 1,
    role_id: int | None = None,
    message_id: int | None = None,
    status: LaunchStatus = LaunchStatus.UPCOMING,
) -> DeliveryJob:
    sub = Subscription(
        id=1, target="discord", guild_id=channel.guild_id, channel_id=channel.id, role_id=role_id
    )
    return DeliveryJob(
        id=job_id,
        kind=kind,
        subscription=sub,
        event=event(status, revision=2 if kind is not DeliveryKind.POST else 1),
        attempts=0,
        nonce=f"lw-{job_id}",
        message_id=message_id,
        followup_status=status if kind is DeliveryKind.FOLLOWUP else None,
    )


@pytest.fixture
def publisher(bot) -> DiscordPublisher:
    return DiscordPublisher(bot, bot.pacer)


# --------------------------------------------------------------------------- sending


async def test_post_pings_only_the_subscription_role(fake, world, publisher):
    result = await publisher.publish(job(world.alerts, role_id=world.role.id))
    assert result.outcome is PublishOutcome.SENT
    [message] = fake.messages(world.alerts.id)
    assert message.id == result.message_id
    assert message.content.startswith(f"<@&{world.role.id}> 🗓️ Upcoming: Soyuz-2.1a")
    assert message.embeds[0]["title"] == "🗓️ Upcoming: Soyuz-2.1a | Soyuz MS-29"
    assert message.pinged_roles == {world.role.id}
    assert not message.pinged_everyone and not message.pinged_users
    assert message.allowed_mentions["parse"] == []
    assert {int(r) for r in message.allowed_mentions["roles"]} == {world.role.id}
    assert message.nonce == "lw-1" and message.enforce_nonce


async def test_post_without_role_pings_nobody(fake, world, publisher):
    await publisher.publish(job(world.alerts))
    [message] = fake.messages(world.alerts.id)
    assert message.content == "" and not message.pinged_anyone
    assert message.allowed_mentions["parse"] == []


DISCORD_SYNTAX = [
    "<t:0:R>",  # a timestamp, rendered in the reader's time zone
    "<:rocket:123456789012345678>",  # a custom emoji
    "<a:spin:123456789012345678>",  # an animated one
    "<id:customize>",  # server navigation
    "</subscribe:123456789012345678>",  # a command mention
    "<#123456789012345678>",  # a channel mention
    "<@&123456789012345678>",  # a role mention
]


async def test_discord_syntax_from_a_feed_arrives_escaped(fake, world, publisher):
    hostile = " ".join(DISCORD_SYNTAX)
    news = job(world.alerts)
    news = replace(
        news,
        event=replace(
            news.event,
            summary=f"Liftoff! {hostile}",
            sources=(Source("a", f"Soyuz MS-29 {hostile}", "https://news.example/a", "N", T0),),
        ),
    )
    assert (await publisher.publish(news)).outcome is PublishOutcome.SENT
    [message] = fake.messages(world.alerts.id)
    payload = json.dumps(message.payload, ensure_ascii=False)
    for syntax in DISCORD_SYNTAX:
        assert syntax not in payload, syntax  # not parsed by Discord...
        assert "<\u200b" + syntax[1:].replace("@", "@\u200b") in payload, syntax  # ...but shown


async def test_a_repeated_post_returns_the_first_message(fake, world, publisher):
    first = await publisher.publish(job(world.alerts, job_id=5))
    again = await publisher.publish(job(world.alerts, job_id=5))
    assert again.outcome is PublishOutcome.SENT and again.message_id == first.message_id
    [message] = fake.messages(world.alerts.id)
    assert message.nonce_replays == 1


async def test_edit_rewrites_the_embed_without_pinging(fake, world, publisher):
    posted = await publisher.publish(job(world.alerts, role_id=world.role.id))
    update = job(
        world.alerts,
        DeliveryKind.EDIT,
        job_id=2,
        role_id=world.role.id,
        message_id=posted.message_id,
        status=LaunchStatus.LAUNCHED,
    )
    result = await publisher.publish(update)
    assert result.outcome is PublishOutcome.SENT and result.message_id == posted.message_id
    [message] = fake.messages(world.alerts.id)
    assert len(message.edits) == 1
    assert message.embeds[0]["title"].startswith("🚀 Launched")
    assert "Launched" in message.content
    assert message.edits[0].payload["allowed_mentions"]["parse"] == []


async def test_followup_replies_to_the_alert_with_a_link(fake, world, publisher):
    posted = await publisher.publish(job(world.alerts, role_id=world.role.id))
    follow = job(
        world.alerts,
        DeliveryKind.FOLLOWUP,
        job_id=3,
        role_id=world.role.id,
        message_id=posted.message_id,
        status=LaunchStatus.LAUNCHED,
    )
    result = await publisher.publish(follow)
    assert result.outcome is PublishOutcome.SENT
    alert, reply = fake.messages(world.alerts.id)
    link = f"https://discord.com/channels/{world.guild.id}/{world.alerts.id}/{alert.id}"
    assert (
        reply.content == f"<@&{world.role.id}> 🚀 **Launched**: Soyuz-2.1a | Soyuz MS-29\n↪ {link}"
    )
    assert int(reply.message_reference["message_id"]) == alert.id
    assert reply.pinged_roles == {world.role.id} and not reply.pinged_users


async def test_followup_without_read_history_still_goes_out(fake, bot, world, publisher):
    posted = await publisher.publish(job(world.alerts))
    fake.set_bot_permissions(world.alerts.id, history=False)
    await fake.drain()
    await wait_for(
        lambda: (
            not bot.get_channel(world.alerts.id)
            .permissions_for(bot.get_guild(world.guild.id).me)
            .read_message_history
        ),
        what="CHANNEL_UPDATE",
    )
    follow = job(
        world.alerts,
        DeliveryKind.FOLLOWUP,
        job_id=3,
        message_id=posted.message_id,
        status=LaunchStatus.FAILED,
    )
    result = await publisher.publish(follow)
    assert result.outcome is PublishOutcome.SENT
    reply = fake.messages(world.alerts.id)[-1]
    assert reply.message_reference is None and "💥 **Failed**" in reply.content


async def test_a_reminder_replies_to_the_alert_with_the_time_and_the_webcast(
    fake, world, publisher
):
    posted = await publisher.publish(job(world.alerts, role_id=world.role.id))
    remind = replace(
        job(world.alerts, DeliveryKind.REMINDER, job_id=4, role_id=world.role.id,
            message_id=posted.message_id),
        reminder=3600,
    )  # fmt: skip
    webcast = Source("schedule:x", "Soyuz-2.1a | Soyuz MS-29", "https://video.example/live",
                     SCHEDULE_SITE, T0)  # fmt: skip
    remind = replace(remind, event=replace(remind.event, sources=(*remind.event.sources, webcast)))
    assert (await publisher.publish(remind)).outcome is PublishOutcome.SENT
    alert, reply = fake.messages(world.alerts.id)
    stamp = int((T0 + timedelta(days=1)).timestamp())
    assert reply.content.startswith(
        f"<@&{world.role.id}> ⏰ **T-1h**: Soyuz-2.1a | Soyuz MS-29 lifts off <t:{stamp}:R>"
    )
    assert "📺 <https://video.example/live>" in reply.content
    assert int(reply.message_reference["message_id"]) == alert.id
    assert reply.pinged_roles == {world.role.id} and not reply.pinged_users


# --------------------------------------------------------------------------- failures


async def test_deleted_channel_is_gone(fake, world, publisher):
    fake.delete_channel(world.news.id)
    result = await publisher.publish(job(world.news))
    assert result.outcome is PublishOutcome.GONE and "deleted" in result.error


async def test_missing_permission_is_gone_and_named(fake, bot, world, publisher):
    fake.set_bot_permissions(world.news.id, embed=False)
    await fake.drain()
    await wait_for(
        lambda: (
            not bot.get_channel(world.news.id)
            .permissions_for(bot.get_guild(world.guild.id).me)
            .embed_links
        ),
        what="CHANNEL_UPDATE",
    )
    result = await publisher.publish(job(world.news))
    assert result.outcome is PublishOutcome.GONE
    assert result.error == f"missing permission: Embed Links in <#{world.news.id}>"


async def test_no_access_is_gone(fake, world, publisher):
    fake.set_bot_permissions(world.news.id, view=False)
    result = await publisher.publish(job(world.news))
    assert result.outcome is PublishOutcome.GONE and "View Channel" in result.error


async def test_edit_of_a_deleted_message_is_rejected_not_retried(fake, world, publisher):
    update = job(world.alerts, DeliveryKind.EDIT, message_id=123456789)
    result = await publisher.publish(update)
    assert result.outcome is PublishOutcome.REJECTED and "deleted" in result.error


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(503, PublishOutcome.RETRY), (401, PublishOutcome.POSTPONED), (400, PublishOutcome.REJECTED)],
)
async def test_http_errors_map_to_outcomes(fake, world, publisher, status, outcome):
    fake.fail_next("POST", r"/channels/\d+/messages", status)
    result = await publisher.publish(job(world.alerts))
    assert result.outcome is outcome
    assert str(status) in result.error
    if status == 401:
        assert result.retry_after and result.retry_after >= 60


async def test_network_failure_is_retried(fake, world, publisher):
    await fake.stop()
    result = await publisher.publish(job(world.alerts))
    assert result.outcome is PublishOutcome.RETRY and "network" in result.error
    await fake.start()


async def test_hard_brake_stops_requests_before_the_ban(fake, world, bot):
    tracker = InvalidRequestTracker(soft=2, hard=3)
    pacer = RequestPacer(tracker=tracker)
    publisher = DiscordPublisher(bot, pacer)
    for _ in range(3):
        pacer.record(403)
    before = len(fake.requests)
    result = await publisher.publish(job(world.alerts))
    assert result.outcome is PublishOutcome.POSTPONED and result.retry_after >= 1
    assert len(fake.requests) == before


async def test_the_pacer_counts_what_discord_counts(fake, world, bot):
    fake.set_bot_permissions(world.news.id, view=False)
    before = bot.pacer.invalid.count()
    await DiscordPublisher(bot, bot.pacer).publish(job(world.news))
    assert bot.pacer.invalid.count() == before + 1 == fake.invalid_request_count


async def test_many_channels_at_once_stay_under_the_global_limit(fake, world, bot):
    channels = [fake.add_channel(world.guild.id, f"alerts-{i}") for i in range(120)]
    publisher = DiscordPublisher(bot, bot.pacer)
    paced = 0
    acquire = bot.pacer.acquire

    async def counted() -> None:
        nonlocal paced
        paced += 1
        await acquire()

    bot.pacer.acquire = counted
    results = await asyncio.gather(
        *(publisher.publish(job(ch, job_id=i)) for i, ch in enumerate(channels, 1))
    )
    assert paced >= len(channels), "every send waits for the pacer"
    assert all(r.outcome is PublishOutcome.SENT for r in results)
    assert all(len(fake.messages(ch.id)) == 1 for ch in channels)
    # Not "no 429 at all": a stalled event loop can bunch paced requests into one of the
    # fake's one-second windows; those are retried (one message each, above). The pacing
    # itself is proved on a clock the test controls (below); the bench measures the rate.


# --------------------------------------------------------------------------- pacing units


async def test_token_bucket_paces_to_the_rate_with_a_small_burst():
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    bucket = TokenBucket(10.0, burst=5, clock=lambda: now[0], sleep=sleep)
    for _ in range(15):
        await bucket.acquire()
    assert len(slept) == 10  # the first five go at once
    assert slept[-1] == pytest.approx(1.0)  # request 15 waits for its slot at t = 1.0 s


async def test_token_bucket_never_exceeds_the_limit_in_any_second():
    # Requests arrive in bursts and lulls on a clock the test moves; each goes out at the
    # moment its slot opens (now + the wait the bucket asks for).
    now = [0.0]
    sent: list[float] = []

    async def sleep(seconds: float) -> None:
        sent[-1] += seconds

    bucket = TokenBucket(45.0, burst=5, clock=lambda: now[0], sleep=sleep)
    rng = random.Random(7)
    for _ in range(80):
        for _ in range(rng.choice([1, 2, 5, 20, 120])):  # arriving together
            sent.append(now[0])
            await bucket.acquire()
        now[0] += rng.choice([0.0, 0.01, 0.05, 0.3, 1.5])
    sent.sort()
    busiest = max(bisect.bisect_left(sent, at + 1.0) - i for i, at in enumerate(sent))
    assert 45 <= busiest <= 50  # 45/s plus a burst of 5: reached, never exceeded


def test_invalid_requests_slow_then_stop_then_recover():
    now = [0.0]
    tracker = InvalidRequestTracker(soft=3, hard=5, window=600, clock=lambda: now[0])
    pacer = RequestPacer(rate=40, tracker=tracker, clock=lambda: now[0])
    for status in (200, 404, 500):
        pacer.record(status)
    assert tracker.count() == 0
    for _ in range(3):
        pacer.record(401)
    assert tracker.pressure is Pressure.SLOW and pacer.blocked_for() == 0
    assert pacer.bucket.rate == pytest.approx(10.0)
    pacer.record(429, {"X-RateLimit-Scope": "shared"})  # not the bot's fault: not counted
    pacer.record(429)
    pacer.record(403)
    assert tracker.pressure is Pressure.STOP and pacer.blocked_for() >= 1
    now[0] = 601
    assert pacer.blocked_for() == 0 and tracker.pressure is Pressure.OK
    assert pacer.bucket.rate == 40


def test_jump_links_point_at_discord_web():
    assert jump_base("https://discord.com/api/v10") == "https://discord.com"
    assert jump_base("https://canary.discord.com/api/v10") == "https://canary.discord.com"
    assert jump_base("http://127.0.0.1:5000/api/v10") == "https://discord.com"
    assert jump_base("https://proxy.internal/api/v10") == "https://discord.com"


async def test_a_new_time_notice_replies_with_the_new_time(fake, world, publisher):
    posted = await publisher.publish(job(world.alerts))
    notice = replace(
        job(world.alerts, DeliveryKind.REMINDER, job_id=5, message_id=posted.message_id),
        reminder=0,
    )
    assert (await publisher.publish(notice)).outcome is PublishOutcome.SENT
    reply = fake.messages(world.alerts.id)[-1]
    stamp = int((T0 + timedelta(days=1)).timestamp())
    assert reply.content.startswith(
        f"🕒 **New time**: Soyuz-2.1a | Soyuz MS-29 lifts off <t:{stamp}:R>"
    )


@pytest.mark.parametrize(
    ("tag", "start"),
    [
        ("go", "🟢 **Go for launch**: Soyuz-2.1a | Soyuz MS-29 lifts off <t:"),
        ("success", "✅ **Success**: Soyuz-2.1a | Soyuz MS-29"),
        (
            "time@2026-03-02T12:00:00+00:00",
            "🕒 **New time**: Soyuz-2.1a | Soyuz MS-29 lifts off <t:",
        ),
        ("scrubbed", "⏸️ **Scrubbed**: Soyuz-2.1a | Soyuz MS-29"),
    ],
)
async def test_status_notices_reply_to_the_alert(fake, world, publisher, tag, start):
    posted = await publisher.publish(job(world.alerts))
    notice = replace(
        job(world.alerts, DeliveryKind.FOLLOWUP, job_id=6, message_id=posted.message_id),
        followup_status=tag,
    )
    assert (await publisher.publish(notice)).outcome is PublishOutcome.SENT
    reply = fake.messages(world.alerts.id)[-1]
    assert reply.content.startswith(start)
    assert int(reply.message_reference["message_id"]) == posted.message_id
