"""A thread per launch: the alert opens it, notices and reminders go into it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.publisher import DiscordPublisher
from handlers.delivery import DeliveryWorker
from handlers.domain import DeliveryKind, LaunchStatus, utc_now
from handlers.events import EventChange
from handlers.ports import PublishOutcome
from tests.bot.conftest import final_text, invoke
from tests.bot.test_guild_events import launch_event, subscribe
from tests.bot.test_publisher import job
from tests.fakediscord import ChannelType
from tests.fakediscord.models import Overwrite, Permission

pytestmark = pytest.mark.asyncio


@pytest.fixture
def publisher(bot) -> DiscordPublisher:
    return DiscordPublisher(bot, bot.pacer)


def threaded(j):
    return replace(j, subscription=replace(j.subscription, threads=True))


async def test_the_alert_opens_a_thread_and_notices_go_into_it(fake, world, publisher):
    posted = await publisher.publish(threaded(job(world.alerts, role_id=world.role.id)))
    assert posted.outcome is PublishOutcome.SENT and posted.thread_id == posted.message_id
    thread = fake.channels[posted.thread_id]
    assert thread.type == ChannelType.PUBLIC_THREAD and thread.parent_id == world.alerts.id
    assert thread.name == "Soyuz-2.1a | Soyuz MS-29"

    follow = job(
        world.alerts,
        DeliveryKind.FOLLOWUP,
        job_id=3,
        role_id=world.role.id,
        message_id=posted.message_id,
        status=LaunchStatus.LAUNCHED,
    )
    follow = replace(threaded(follow), thread_id=posted.thread_id)
    assert (await publisher.publish(follow)).outcome is PublishOutcome.SENT
    remind = replace(follow, id=4, kind=DeliveryKind.REMINDER, reminder=900, nonce="lw-4")
    assert (await publisher.publish(remind)).outcome is PublishOutcome.SENT
    assert len(fake.messages(world.alerts.id)) == 1  # the alert alone
    notice, reminder = fake.messages(thread.id)
    assert "🚀 **Launched**" in notice.content and notice.pinged_roles == {world.role.id}
    assert "⏰ **T-15m**" in reminder.content


async def test_a_repeated_post_finds_its_thread_instead_of_a_second(fake, world, publisher):
    first = await publisher.publish(threaded(job(world.alerts)))
    again = await publisher.publish(threaded(job(world.alerts)))  # same job: a retry
    assert again.message_id == first.message_id and again.thread_id == first.thread_id
    assert [r.error_code for r in fake.requests if r.path.endswith("/threads")] == [None, 160004]


async def test_an_archived_thread_is_reopened_and_a_locked_one_falls_back(fake, world, publisher):
    posted = await publisher.publish(threaded(job(world.alerts)))
    follow = replace(
        threaded(
            job(
                world.alerts,
                DeliveryKind.FOLLOWUP,
                job_id=3,
                message_id=posted.message_id,
                status=LaunchStatus.SCRUBBED,
            )
        ),
        thread_id=posted.thread_id,
    )
    fake.archive_thread(posted.thread_id)
    assert (await publisher.publish(follow)).outcome is PublishOutcome.SENT
    assert not fake.channels[posted.thread_id].archived
    assert len(fake.messages(posted.thread_id)) == 1

    fake.archive_thread(posted.thread_id, locked=True)
    later = replace(follow, id=5, nonce="lw-5", followup_status=LaunchStatus.LAUNCHED)
    assert (await publisher.publish(later)).outcome is PublishOutcome.SENT
    alert, reply = fake.messages(world.alerts.id)
    assert int(reply.message_reference["message_id"]) == alert.id
    assert len(fake.messages(posted.thread_id)) == 1


async def test_without_create_public_threads_the_alert_still_goes_out(fake, world, publisher):
    world.alerts.overwrites[world.guild.id] = Overwrite(
        world.guild.id, 0, deny=Permission.CREATE_PUBLIC_THREADS
    )
    posted = await publisher.publish(threaded(job(world.alerts)))
    assert posted.outcome is PublishOutcome.SENT and posted.thread_id is None
    assert len(fake.messages(world.alerts.id)) == 1


async def test_reminders_land_in_the_launchs_thread_through_the_outbox(
    fake, bot, core, world, publisher
):
    await subscribe(core, world, reminders=(3600,), threads=True)
    now = utc_now()
    start = (now + timedelta(minutes=59, seconds=30)).replace(microsecond=0)
    event = launch_event(start)
    change = EventChange(event=event, is_new=True, changed=True, status_changed=False)
    async with core.storage.events.ingest() as tx:
        saved = await tx.save_event(change, 0, None, now)
        await tx.enqueue_deliveries(saved, change, 0, now)
    worker = DeliveryWorker(core.storage.outbox, publisher)
    assert await worker.drain_once() == 1
    [alert] = fake.messages(world.alerts.id)
    assert fake.channels[alert.id].parent_id == world.alerts.id

    assert await core.storage.outbox.plan_reminders(utc_now()) == 1
    assert await worker.drain_once() == 1
    [reminder] = fake.messages(alert.id)
    assert "⏰ **T-1h**" in reminder.content
    assert fake.messages(world.alerts.id) == [alert]


async def test_subscribe_with_a_thread_per_launch(fake, bot, core, world):
    _, final = await invoke(fake, world, "subscribe", {"thread": True}, channel=world.thread)
    assert final.ephemeral and "threads cannot hold threads" in final_text(final)
    _, final = await invoke(fake, world, "subscribe", {"thread": True})
    assert "Each alert opens a thread" in final_text(final)
    assert (await core.storage.subscriptions.get("discord", world.alerts.id)).threads
    _, final = await invoke(fake, world, "subscriptions")
    assert "a thread per launch" in final_text(final)


async def test_a_webcast_notice_carries_the_stream_link(fake, world, publisher):
    from handlers.domain import Source
    from handlers.events import SCHEDULE_SITE

    posted = await publisher.publish(job(world.alerts))
    notice = replace(
        job(world.alerts, DeliveryKind.FOLLOWUP, job_id=3, message_id=posted.message_id),
        followup_status="webcast",
    )
    stream = Source("schedule:x", "Soyuz", "https://video.example/live", SCHEDULE_SITE, None)
    notice = replace(notice, event=replace(notice.event, sources=(stream,)))
    assert (await publisher.publish(notice)).outcome is PublishOutcome.SENT
    reply = fake.messages(world.alerts.id)[-1]
    assert reply.content.startswith("📺 **Webcast live**: Soyuz-2.1a | Soyuz MS-29")
    assert "\nhttps://video.example/live" in reply.content
