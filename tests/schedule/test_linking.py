"""A schedule launch and the news about it are one launch event (real store and matcher)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from handlers.domain import Article, DeliveryKind, LaunchStatus, SubscriptionFilter
from handlers.events import SCHEDULE_SITE, resolve
from handlers.matching.matcher import default_matcher
from handlers.ports import PublishOutcome, PublishResult
from handlers.schedule.launches import NetPrecision, ScheduledLaunch, ScheduleStatus
from handlers.schedule.linking import link_launches

NOW = datetime(2030, 6, 10, 9, 0, tzinfo=UTC)  # a Monday
NET = NOW + timedelta(hours=30)  # Tuesday 15:00 UTC


def crew(status=ScheduleStatus.GO, net=NET, precision=NetPrecision.MINUTE, **changes):
    launch = ScheduledLaunch(
        "ll2-crew", "Falcon 9 Block 5 | Crew-15", status, net, precision,
        vehicle="Falcon 9 Block 5", provider="SpaceX", mission="Crew-15",
        pad="Launch Complex 39A", location="Kennedy Space Center, FL, USA", crewed=True,
        webcasts=("https://video.example/crew-15",),
    )  # fmt: skip
    return dataclasses.replace(launch, **changes)


async def _subscribe(store):
    await store.subscriptions.upsert(
        target="discord", guild_id=1, channel_id=10, filters=SubscriptionFilter(),
        role_id=None, created_by=None, now=NOW,
    )  # fmt: skip


async def _news(store, key, title, at):
    """One news article through the matcher and the resolver, as the pipeline ingests it."""
    article = Article(key=key, title=title, published=at, source="Example News")
    mention = default_matcher().match_article(article)
    assert mention is not None, title
    async with store.events.ingest() as tx:
        candidates = await tx.event_candidates(
            mention.event_key, 0, crewed=bool(mention.crewed), agencies=mention.agencies
        )
        change = resolve(mention, article, candidates, at)
        event = await tx.save_event(change, 0, None, at)
        await tx.enqueue_deliveries(event, change, 0, at)
    return event


async def _events(store):
    return await store.events.recent(limit=10, scope=0)


async def test_a_schedule_launch_becomes_an_event_with_its_exact_time(store):
    await _subscribe(store)
    report = await link_launches(store.events, default_matcher(), [crew()], NOW)
    assert (report.created, report.deliveries) == (1, 1)
    [event] = await _events(store)
    assert event.key == "falcon-9|crew-15" and event.status is LaunchStatus.UPCOMING
    assert event.launch_time == NET and not event.launch_day_only
    assert event.site == "Kennedy Space Center" and event.crewed is True
    assert [s.site for s in event.sources] == [SCHEDULE_SITE]
    again = await link_launches(store.events, default_matcher(), [crew()], NOW + timedelta(hours=1))
    assert again == type(again)()  # nothing new to say: no edit, no second post


async def test_news_after_the_schedule_joins_its_event_and_the_outcome_follows_up(store):
    await _subscribe(store)
    await link_launches(store.events, default_matcher(), [crew()], NOW)
    await _news(store, "n1", "Crew-15 launches to the space station", NET + timedelta(minutes=20))
    [event] = await _events(store)
    assert event.status is LaunchStatus.LAUNCHED and len(event.sources) == 2
    jobs = await store.outbox.claim("discord", NET + timedelta(hours=1), 50)
    assert [j.kind for j in jobs].count(DeliveryKind.POST) == 1


async def test_the_schedule_makes_a_day_from_the_news_exact(store):
    await _news(store, "n1", "Crew-15 set for launch on Tuesday", NOW - timedelta(hours=2))
    [before] = await _events(store)
    assert before.launch_day_only
    report = await link_launches(store.events, default_matcher(), [crew()], NOW)
    assert report.created == 0 and report.updated == 1
    [after] = await _events(store)
    assert after.id == before.id and after.launch_time == NET and not after.launch_day_only


async def test_the_schedule_reports_the_outcome(store):
    await link_launches(store.events, default_matcher(), [crew()], NOW)
    done = crew(ScheduleStatus.SUCCESS)
    report = await link_launches(store.events, default_matcher(), [done], NET + timedelta(hours=1))
    assert report.updated == 1
    [event] = await _events(store)
    assert event.status is LaunchStatus.LAUNCHED


@pytest.mark.parametrize(
    "launch",
    [
        crew(ScheduleStatus.TBD),  # no firm date
        crew(precision=NetPrecision.COARSE),  # "June"
        crew(net=NOW + timedelta(days=9)),  # schedule, not news yet
        crew(ScheduleStatus.SUCCESS, net=NOW - timedelta(days=2)),  # long done
    ],
)
async def test_launches_far_off_or_vague_make_no_event(store, launch):
    assert (await link_launches(store.events, default_matcher(), [launch], NOW)).created == 0


async def test_two_starlink_launches_of_a_day_stay_two_events_and_vague_news_joins_neither(store):
    def starlink(ident, group, hours, pad, location):
        return ScheduledLaunch(
            ident, f"Falcon 9 Block 5 | Starlink Group {group}", ScheduleStatus.GO,
            NOW + timedelta(hours=hours), NetPrecision.MINUTE, vehicle="Falcon 9 Block 5",
            provider="SpaceX", mission=f"Starlink Group {group}", pad=pad, location=location,
        )  # fmt: skip

    launches = [
        starlink("a", "12-3", 5, "Space Launch Complex 40", "Cape Canaveral SFS, FL, USA"),
        starlink("b", "17-9", 9, "Space Launch Complex 4E", "Vandenberg SFB, CA, USA"),
    ]
    assert (await link_launches(store.events, default_matcher(), launches, NOW)).created == 2
    await _news(store, "n1", "SpaceX launches 24 Starlink satellites", NOW + timedelta(hours=6))
    events = await _events(store)
    assert len(events) == 3
    assert {
        e.key for e in events if len(e.sources) == 1 and e.sources[0].site == SCHEDULE_SITE
    } == {
        "falcon-9|starlink-12-3",
        "falcon-9|starlink-17-9",
    }


async def test_a_starlink_report_joins_the_one_scheduled_starlink_flight_of_its_day_and_coast(
    store,
):
    west = ScheduledLaunch(
        "w", "Falcon 9 Block 5 | Starlink Group 17-9", ScheduleStatus.GO,
        NOW + timedelta(hours=5), NetPrecision.MINUTE, vehicle="Falcon 9 Block 5",
        provider="SpaceX", mission="Starlink Group 17-9", pad="Space Launch Complex 4E",
        location="Vandenberg SFB, CA, USA",
    )  # fmt: skip
    await link_launches(store.events, default_matcher(), [west], NOW)
    after = NOW + timedelta(hours=6)
    await _news(store, "n1", "SpaceX launches 24 Starlink satellites from California", after)
    await _news(store, "n2", "Falcon 9 launches 28 Starlink satellites from Florida", after)
    events = await _events(store)
    assert len(events) == 2
    joined = next(e for e in events if e.key == "falcon-9|starlink-17-9")
    assert len(joined.sources) == 2 and joined.status is LaunchStatus.LAUNCHED


async def test_without_the_schedule_a_starlink_report_never_guesses_a_numbered_flight(store):
    await _news(store, "n0", "SpaceX to launch Starlink 17-9 mission from California", NOW)
    await _news(store, "n1", "SpaceX launches 24 Starlink satellites from California",
                NOW + timedelta(hours=6))  # fmt: skip
    assert len(await _events(store)) == 2


async def test_each_channel_gets_the_notices_it_chose_once(store):
    from handlers.domain import Notice

    await _subscribe(store)  # channel 10: the default hold, liftoff and outcome
    await store.subscriptions.upsert(
        target="discord", guild_id=1, channel_id=11, filters=SubscriptionFilter(),
        role_id=None, created_by=None, now=NOW, notices=frozenset({Notice.GO, Notice.TIME}),
    )  # fmt: skip
    await link_launches(store.events, default_matcher(), [crew(ScheduleStatus.TBC)], NOW)
    steps = [
        (crew(), NOW + timedelta(hours=1)),  # TBC -> Go
        (crew(), NOW + timedelta(hours=2)),  # nothing new
        (crew(net=NET + timedelta(hours=3)), NOW + timedelta(hours=3)),  # the time moves
        (crew(ScheduleStatus.IN_FLIGHT, net=NET + timedelta(hours=3)), NET + timedelta(hours=3)),
        (crew(ScheduleStatus.SUCCESS, net=NET + timedelta(hours=3)), NET + timedelta(hours=4)),
    ]
    for launch, at in steps:
        await link_launches(store.events, default_matcher(), [launch], at)
    jobs = await store.outbox.claim("discord", NET + timedelta(hours=5), 50)
    for job in jobs:  # posts first, so the replies can be handed out
        if job.kind is DeliveryKind.POST:
            await store.outbox.complete(job, PublishResult(PublishOutcome.SENT, message_id=1), NOW)
    jobs = await store.outbox.claim("discord", NET + timedelta(hours=5), 50)
    followups = {
        (j.subscription.channel_id, j.followup_status.split("@")[0])
        for j in jobs
        if j.kind is DeliveryKind.FOLLOWUP
    }
    assert followups == {(10, "launched"), (10, "success"), (11, "go"), (11, "time")}


async def test_the_dry_run_prints_go_and_success_as_what_they_are(store):
    import io

    from handlers.console import ConsolePublisher
    from handlers.domain import Notice

    await store.subscriptions.ensure_console(NOW)
    await store.subscriptions.upsert(
        target="console", guild_id=0, channel_id=0, filters=SubscriptionFilter(), role_id=None,
        created_by=None, now=NOW, notices=frozenset(Notice),
    )  # fmt: skip
    out = io.StringIO()
    console = ConsolePublisher(out)
    steps = [
        (crew(ScheduleStatus.TBC), NOW),
        (crew(), NOW + timedelta(hours=1)),
        (crew(ScheduleStatus.IN_FLIGHT), NET),
        (crew(ScheduleStatus.SUCCESS), NET + timedelta(minutes=20)),
    ]
    for launch, at in steps:
        await link_launches(store.events, default_matcher(), [launch], at)
        for job in await store.outbox.claim("console", at, 10):
            await store.outbox.complete(job, await console.publish(job), at)
    heads = [block.splitlines()[0] for block in out.getvalue().strip().split("\n\n")]
    assert heads == [
        "[UPCOMING] Falcon 9 | Crew-15",
        "[UPDATE → GO FOR LAUNCH] Falcon 9 | Crew-15",
        "[UPDATE → LAUNCHED] Falcon 9 | Crew-15",
        "[UPDATE → SUCCESS] Falcon 9 | Crew-15",
    ]


async def test_the_webcast_going_live_is_one_notice_with_its_link_for_those_who_asked(store):
    from handlers.domain import Notice

    await _subscribe(store)  # channel 10: default notices, no webcast
    await store.subscriptions.upsert(
        target="discord", guild_id=1, channel_id=11, filters=SubscriptionFilter(),
        role_id=None, created_by=None, now=NOW, notices=frozenset({Notice.WEBCAST}),
    )  # fmt: skip
    await link_launches(store.events, default_matcher(), [crew(webcasts=())], NOW)
    for job in await store.outbox.claim("discord", NOW, 50):
        await store.outbox.complete(job, PublishResult(PublishOutcome.SENT, message_id=1), NOW)
    live = crew(webcast_live=True, webcasts=("https://video.example/crew-15-live",))
    first = await link_launches(store.events, default_matcher(), [live], NET - timedelta(hours=1))
    again = await link_launches(
        store.events, default_matcher(), [live], NET - timedelta(minutes=50)
    )
    assert (first.deliveries, again.deliveries) == (1, 0)
    [job] = await store.outbox.claim("discord", NET, 50)
    assert (job.subscription.channel_id, job.followup_status) == (11, "webcast")
    [source] = job.event.sources
    assert source.link == "https://video.example/crew-15-live"
