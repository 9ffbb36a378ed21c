"""Discord scheduled events for opted-in servers: the real discord.py client against the
strict fake Discord, with the real database."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from bot.guild_events import NEEDS_MANAGE_EVENTS, DiscordScheduledEvents
from handlers.domain import LaunchEvent, LaunchStatus, Source, SubscriptionFilter, utc_now
from handlers.events import SCHEDULE_SITE, EventChange
from handlers.guild_events import GuildEventSync, ScheduledEventStatus
from handlers.schedule.launches import NetPrecision, ScheduledLaunch, ScheduleStatus
from handlers.schedule.linking import KEY_PREFIX
from tests.bot.conftest import final_text, invoke
from tests.fakediscord.scheduling import ACTIVE, CANCELED, COMPLETED, SCHEDULED

pytestmark = pytest.mark.asyncio


def minute(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


async def subscribe(core, world, **options) -> None:
    """Subscribe the alerts channel to every launch (``options``: reminders, threads ...)."""
    await core.storage.subscriptions.upsert(
        target="discord",
        guild_id=world.guild.id,
        channel_id=world.alerts.id,
        filters=SubscriptionFilter(),
        role_id=None,
        created_by=world.owner.id,
        now=utc_now(),
        **options,
    )


async def save(core, event: LaunchEvent, *, new: bool = False) -> LaunchEvent:
    """Store the event and queue its alert, as the pipeline does."""
    now = utc_now()
    change = EventChange(event=event, is_new=new, changed=True, status_changed=not new)
    async with core.storage.events.ingest() as tx:
        saved = await tx.save_event(change, 0, None, now)
        await tx.enqueue_deliveries(saved, change, 0, now)
    return saved


def launch_event(start: datetime, *, schedule_id: str | None = None) -> LaunchEvent:
    now = utc_now()
    sources = (Source("news-1", "Falcon 9 to launch SES-30", "https://news.example/1", "N", now),)
    if schedule_id:
        sources += (
            Source(f"{KEY_PREFIX}{schedule_id}", "Falcon 9 | SES-30", None, SCHEDULE_SITE, now),
        )
    return LaunchEvent(
        id=0,
        key="falcon-9|ses-30",
        status=LaunchStatus.UPCOMING,
        vehicle="Falcon 9",
        mission="SES-30",
        site="Cape Canaveral SFS",
        crewed=False,
        agencies=("SpaceX",),
        launch_time=start,
        summary="",
        first_seen=now,
        updated=now,
        sources=sources,
    )


@pytest.fixture
def sync(core, bot) -> GuildEventSync:
    return GuildEventSync(
        core.storage.guild_events,
        core.storage.events.get_many,
        core.storage.schedule.get,
        DiscordScheduledEvents(bot, bot.pacer),
    )


@pytest.fixture
async def opted_in(fake, core, world):
    fake.set_guild_permissions(world.guild.id, manage_events=True)
    await core.storage.guild_events.set_scheduled_events(world.guild.id, True, utc_now())
    await subscribe(core, world)


def event_requests(fake) -> list[str]:
    return [f"{r.method} {r.route}" for r in fake.requests if "scheduled-events" in r.path]


async def test_an_event_appears_moves_with_a_slip_and_ends_with_the_outcome(
    fake, core, world, sync, opted_in
):
    start = minute(utc_now() + timedelta(days=1))
    event = await save(core, launch_event(start), new=True)

    assert await sync.run_once() == 1
    [made] = fake.guild_events(world.guild.id)
    assert made.name == "Falcon 9 | SES-30"
    assert made.start == start and made.end == start + timedelta(hours=1)
    assert made.location == "Cape Canaveral SFS"
    assert made.description.endswith(f"LaunchWatch launch #{event.id}")
    assert made.status == SCHEDULED

    # Nothing changed: no request at all.
    before = len(event_requests(fake))
    assert await sync.run_once() == 0
    assert len(event_requests(fake)) == before

    slipped = dataclasses.replace(event, launch_time=start + timedelta(hours=2), revision=2)
    await save(core, slipped)
    assert await sync.run_once() == 1
    [moved] = fake.guild_events(world.guild.id)
    assert moved.id == made.id and moved.start == start + timedelta(hours=2)
    assert moved.end == start + timedelta(hours=3)

    launched = dataclasses.replace(slipped, status=LaunchStatus.LAUNCHED, revision=3)
    await save(core, launched)
    assert await sync.run_once() == 1
    [ended] = fake.guild_events(world.guild.id)
    assert ended.status == COMPLETED
    # Discord allows scheduled -> active -> completed only: two steps, in that order.
    assert [e.get("status") for e in ended.edits if "status" in e] == [ACTIVE, COMPLETED]
    assert await core.storage.guild_events.for_guild(world.guild.id) == [
        (event.id, made.id, "ended", None)
    ]
    assert await sync.run_once() == 0


async def test_the_webcast_going_live_starts_the_event(fake, core, world, sync, opted_in):
    start = minute(utc_now() + timedelta(hours=5))
    launch = ScheduledLaunch(
        id="ll2-1",
        name="Falcon 9 Block 5 | SES-30",
        status=ScheduleStatus.GO,
        net=start,
        net_precision=NetPrecision.MINUTE,
        window_end=start + timedelta(hours=2),
        pad="SLC-40",
        location="Cape Canaveral SFS, FL, USA",
        webcasts=("https://video.example/ses30",),
        probability=90,
    )
    await core.storage.schedule.save([launch], utc_now())
    await save(core, launch_event(start, schedule_id="ll2-1"), new=True)
    await sync.run_once()
    [made] = fake.guild_events(world.guild.id)
    assert made.location == "https://video.example/ses30"
    assert made.end == start + timedelta(hours=2)
    assert "Pad: SLC-40" in made.description and "probability: 90 %" in made.description

    await core.storage.schedule.save([dataclasses.replace(launch, webcast_live=True)], utc_now())
    assert await sync.run_once() == 1
    assert fake.guild_events(world.guild.id)[0].status == ACTIVE


async def test_a_crash_between_create_and_commit_never_makes_two(fake, core, world, bot, opted_in):
    class Crash(BaseException):
        """The process dies: nothing after the request runs."""

    class CrashAfterCreate(DiscordScheduledEvents):
        async def create(self, guild_id, plan):
            await super().create(guild_id, plan)
            raise Crash

    def sync_with(discord) -> GuildEventSync:
        return GuildEventSync(
            core.storage.guild_events,
            core.storage.events.get_many,
            core.storage.schedule.get,
            discord,
        )

    await save(core, launch_event(minute(utc_now() + timedelta(days=1))), new=True)
    with pytest.raises(Crash):
        await sync_with(CrashAfterCreate(bot, bot.pacer)).run_once()
    assert len(fake.guild_events(world.guild.id)) == 1

    # After the restart: the event made before the crash is found and adopted.
    restarted = sync_with(DiscordScheduledEvents(bot, bot.pacer))
    await restarted.run_once()
    [made] = fake.guild_events(world.guild.id)
    [(_, discord_id, state, _)] = await core.storage.guild_events.for_guild(world.guild.id)
    assert discord_id == made.id and state == "live"
    await restarted.run_once()  # what it shows is unknown after a crash: sent once more
    assert await restarted.run_once() == 0
    assert len(fake.guild_events(world.guild.id)) == 1


async def test_missing_manage_events_pauses_the_server_without_a_retry_storm(
    fake, core, world, sync, opted_in
):
    fake.set_guild_permissions(world.guild.id, manage_events=False)
    await save(core, launch_event(minute(utc_now() + timedelta(days=1))), new=True)
    await sync.run_once()
    options = await core.storage.guild_events.options(world.guild.id)
    assert options.events_problem == NEEDS_MANAGE_EVENTS
    assert [r.error_code for r in fake.requests if "scheduled-events" in r.path] == [50013]
    for _ in range(3):
        await sync.run_once()
    assert len(event_requests(fake)) == 1  # paused: asked once, not again

    # Permission back, and an admin turns events on again: the event is made.
    fake.set_guild_permissions(world.guild.id, manage_events=True)
    await core.storage.guild_events.set_scheduled_events(world.guild.id, True, utc_now())
    await sync.run_once()
    assert len(fake.guild_events(world.guild.id)) == 1


async def test_a_server_at_discords_limit_waits_instead_of_retrying(
    fake, core, world, sync, opted_in
):
    for n in range(100):
        fake.add_scheduled_event(world.guild.id, f"Watch party {n}")
    await save(core, launch_event(minute(utc_now() + timedelta(days=1))), new=True)
    await sync.run_once()
    await sync.run_once()
    assert [r.error_code for r in fake.requests if r.method == "POST"] == [30038]
    [(_, discord_id, state, error)] = await core.storage.guild_events.for_guild(world.guild.id)
    assert discord_id is None and state == "live" and "maximum of 100" in error


async def test_servers_that_did_not_opt_in_get_no_events(fake, core, world, sync):
    fake.set_guild_permissions(world.guild.id, manage_events=True)
    await subscribe(core, world)
    await save(core, launch_event(minute(utc_now() + timedelta(days=1))), new=True)
    assert await sync.run_once() == 0
    assert fake.guild_events(world.guild.id) == []


async def test_a_hold_past_its_time_cancels_the_event(fake, core, world, sync, opted_in):
    start = minute(utc_now() + timedelta(hours=2))
    event = await save(core, launch_event(start), new=True)
    await sync.run_once()
    held = dataclasses.replace(
        event, status=LaunchStatus.SCRUBBED, launch_time=start - timedelta(hours=14), revision=2
    )
    await save(core, held)
    await sync.run_once()
    [made] = fake.guild_events(world.guild.id)
    assert made.status == CANCELED
    assert int(ScheduledEventStatus.CANCELED) == CANCELED


async def test_the_command_needs_manage_events_and_says_so(fake, bot, core, world):
    _, final = await invoke(fake, world, "scheduled-events", {"enabled": True})
    assert final.ephemeral and "missing **Manage Events**" in final_text(final)
    assert not (await core.storage.guild_events.options(world.guild.id)).scheduled_events

    fake.set_guild_permissions(world.guild.id, manage_events=True)
    _, final = await invoke(fake, world, "scheduled-events", {"enabled": True})
    assert "Scheduled events on" in final_text(final)
    assert (await core.storage.guild_events.options(world.guild.id)).scheduled_events

    _, final = await invoke(fake, world, "scheduled-events", {"enabled": False})
    assert "Scheduled events off" in final_text(final)
    assert not (await core.storage.guild_events.options(world.guild.id)).scheduled_events


async def test_the_fake_refuses_what_discord_refuses(fake, bot, world):
    import discord

    fake.set_guild_permissions(world.guild.id, manage_events=True)
    http = bot.http
    start = utc_now() + timedelta(hours=3)
    base = {
        "name": "Falcon 9 | SES-30",
        "privacy_level": 2,
        "entity_type": 3,
        "entity_metadata": {"location": "SLC-40"},
        "scheduled_start_time": start.isoformat(),
        "scheduled_end_time": (start + timedelta(hours=1)).isoformat(),
    }
    bad = [
        {**base, "scheduled_start_time": (utc_now() - timedelta(minutes=5)).isoformat()},
        {**base, "scheduled_end_time": start.isoformat()},
        {**base, "entity_metadata": {"location": ""}},
        {**base, "name": "x" * 101},
    ]
    for payload in bad:
        with pytest.raises(discord.HTTPException) as refused:
            await http.create_guild_scheduled_event(world.guild.id, **payload)
        assert refused.value.status == 400 and refused.value.code == 50035
    made = await http.create_guild_scheduled_event(world.guild.id, **base)
    with pytest.raises(discord.HTTPException) as refused:
        await http.edit_scheduled_event(world.guild.id, made["id"], status=COMPLETED)
    assert refused.value.code == 50035  # scheduled -> completed is not a step Discord allows
    await http.edit_scheduled_event(world.guild.id, made["id"], status=CANCELED)
    with pytest.raises(discord.HTTPException):
        await http.edit_scheduled_event(world.guild.id, made["id"], name="again")
    with pytest.raises(discord.NotFound) as unknown:
        await http.edit_scheduled_event(world.guild.id, 1234, name="nobody")
    assert unknown.value.code == 10070
