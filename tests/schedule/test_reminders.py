"""T-minus reminders: parsing what a channel asks for, when each is due, queued once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handlers.domain import DeliveryKind, SubscriptionFilter
from handlers.matching.matcher import default_matcher
from handlers.ports import PublishOutcome, PublishResult
from handlers.schedule.launches import NetPrecision, ScheduledLaunch, ScheduleStatus
from handlers.schedule.linking import link_launches
from handlers.schedule.reminders import (
    due_reminders,
    format_reminders,
    grace,
    parse_reminders,
    reminder_tag,
    tag_offset,
)

NOW = datetime(2030, 6, 10, 9, 0, tzinfo=UTC)
NET = NOW + timedelta(hours=30)
H, D, M = 3600, 86400, 60


@pytest.mark.parametrize(
    ("text", "leads"),
    [
        ("1d,1h,15m", (D, H, 15 * M)),
        ("15m, 1h ,1d", (D, H, 15 * M)),  # any order and spacing, longest first
        ("2h30m", (2 * H + 30 * M,)),
        ("90 min, 3 hours, 2 days", (2 * D, 3 * H, 90 * M)),
        ("1h,60m", (H,)),  # the same lead twice is one reminder
        ("1m, 31d", (31 * D, M)),  # the bounds
        ("none", ()),
        ("", ()),
    ],
)
def test_reminders_are_read_as_lead_times(text, leads):
    assert parse_reminders(text) == leads


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30s", "not a duration"),
        ("soon", "not a duration"),
        ("1h;tomorrow", "not a duration"),
        ("0m", "outside 1 minute to 31 days"),
        ("32d", "outside 1 minute to 31 days"),
        (",".join(f"{n}m" for n in range(1, 18)), "at most 16"),
    ],
)
def test_nonsense_reminders_get_a_clear_error(text, message):
    with pytest.raises(ValueError, match=message):
        parse_reminders(text)


def test_lead_times_are_shown_as_they_were_written():
    assert format_reminders((D, 2 * H + 30 * M, 15 * M)) == "1d, 2h30m, 15m"
    assert format_reminders(()) == "none"


def test_a_reminder_is_due_from_its_time_until_its_grace_runs_out():
    assert grace(M) == timedelta(minutes=1) and grace(D) == timedelta(minutes=15)
    assert grace(20 * M) == timedelta(minutes=10)
    at = NET - timedelta(hours=1)
    assert due_reminders(NET, (D, H), at - timedelta(seconds=1)) == []
    assert due_reminders(NET, (D, H), at) == [H]
    assert due_reminders(NET, (D, H), at + timedelta(minutes=14)) == [H]
    assert due_reminders(NET, (D, H), at + timedelta(minutes=15)) == []  # too late: dropped


def test_a_tag_is_one_lead_time_for_one_launch_time():
    tag = reminder_tag(H, NET)
    assert tag_offset(tag) == H and tag != reminder_tag(H, NET + timedelta(hours=1))


# ------------------------------------------------------------------ queued through the outbox
def crew(net=NET, precision=NetPrecision.MINUTE, status=ScheduleStatus.GO):
    return ScheduledLaunch(
        "ll2-crew", "Falcon 9 Block 5 | Crew-15", status, net, precision,
        vehicle="Falcon 9 Block 5", provider="SpaceX", mission="Crew-15", crewed=True,
        pad="Launch Complex 39A", webcasts=("https://video.example/crew-15",),
    )  # fmt: skip


async def _subscribed(store, leads):
    sub, _ = await store.subscriptions.upsert(
        target="discord", guild_id=1, channel_id=10, filters=SubscriptionFilter(),
        role_id=None, created_by=None, now=NOW, reminders=leads,
    )  # fmt: skip
    return sub


async def _post_delivered(store, at):
    [post] = await store.outbox.claim("discord", at, 10)
    assert post.kind is DeliveryKind.POST
    await store.outbox.complete(post, PublishResult(PublishOutcome.SENT, message_id=555), at)


async def test_a_due_reminder_is_queued_once_and_replies_to_the_alert(store):
    await _subscribed(store, (D, H))
    await link_launches(store.events, default_matcher(), [crew()], NOW)
    await _post_delivered(store, NOW)
    assert await store.outbox.plan_reminders(NOW) == 0  # nothing due yet
    one_day = NET - timedelta(days=1)
    assert await store.outbox.plan_reminders(one_day) == 1
    assert await store.outbox.plan_reminders(one_day + timedelta(seconds=30)) == 0  # once
    [job] = await store.outbox.claim("discord", one_day, 10)
    assert job.kind is DeliveryKind.REMINDER and job.reminder == D and job.message_id == 555


async def test_a_slip_after_a_reminder_posts_the_new_time_once_and_re_arms(store):
    await _subscribed(store, (H,))
    await link_launches(store.events, default_matcher(), [crew()], NOW)
    await _post_delivered(store, NOW)
    first = NET - timedelta(hours=1)
    assert await store.outbox.plan_reminders(first) == 1
    [reminder] = await store.outbox.claim("discord", first, 10)
    await store.outbox.complete(reminder, PublishResult(PublishOutcome.SENT, message_id=7), first)
    later = NET + timedelta(hours=2)
    moved_at = NET - timedelta(minutes=50)
    await link_launches(store.events, default_matcher(), [crew(net=later)], moved_at)
    assert await store.outbox.plan_reminders(moved_at) == 1  # the new time, at once
    assert await store.outbox.plan_reminders(moved_at + timedelta(minutes=1)) == 0  # once
    jobs = await store.outbox.claim("discord", moved_at, 10)
    notice = next(job for job in jobs if job.kind is DeliveryKind.REMINDER)
    assert notice.reminder == 0 and notice.event.launch_time == later
    assert await store.outbox.plan_reminders(later - timedelta(hours=1)) == 1  # re-armed


@pytest.mark.parametrize(
    ("launch", "leads"),
    [
        (crew(precision=NetPrecision.DAY), (H,)),  # a day only: no clock time to count to
        (crew(), ()),  # the channel asked for none
    ],
)
async def test_no_reminder_without_an_exact_time_or_a_wish(store, launch, leads):
    await _subscribed(store, leads)
    await link_launches(store.events, default_matcher(), [launch], NOW)
    await _post_delivered(store, NOW)
    for minutes in range(0, 31 * 60, 10):
        assert await store.outbox.plan_reminders(NOW + timedelta(minutes=minutes)) == 0


async def test_subscribing_again_without_reminders_keeps_them(store):
    await _subscribed(store, (H,))
    sub = await _subscribed(store, None)
    assert sub.reminders == (H,)
    assert (await _subscribed(store, ())).reminders == ()


async def test_the_next_reminder_time_is_known_ahead(store):
    await _subscribed(store, (D, H))
    await link_launches(store.events, default_matcher(), [crew()], NOW)
    await _post_delivered(store, NOW)
    assert await store.outbox.next_reminder(NOW) == NET - timedelta(days=1)
    assert await store.outbox.next_reminder(NET - timedelta(days=1)) == NET - timedelta(hours=1)
    assert await store.outbox.next_reminder(NET - timedelta(hours=1)) is None


async def test_a_hold_cancels_a_queued_reminder_and_plans_no_more(store):
    await _subscribed(store, (H, 15 * M))
    await link_launches(store.events, default_matcher(), [crew()], NOW)
    await _post_delivered(store, NOW)
    at = NET - timedelta(hours=1)
    assert await store.outbox.plan_reminders(at) == 1
    held = crew(status=ScheduleStatus.HOLD)
    await link_launches(store.events, default_matcher(), [held], at + timedelta(seconds=5))
    jobs = await store.outbox.claim("discord", at + timedelta(seconds=10), 10)
    assert DeliveryKind.REMINDER not in {job.kind for job in jobs}  # the hold's follow-up goes
    assert await store.outbox.plan_reminders(NET - timedelta(minutes=15)) == 0


async def test_the_dry_run_prints_each_reminder_as_a_block_naming_the_launch(store):
    import io

    from handlers.console import ConsolePublisher

    await store.subscriptions.ensure_console(NOW, reminders=(H,))
    await link_launches(store.events, default_matcher(), [crew()], NOW)
    out = io.StringIO()
    console = ConsolePublisher(out)
    for at in (NOW, NET - timedelta(hours=1)):
        await store.outbox.plan_reminders(at)
        for job in await store.outbox.claim("console", at, 10):
            await store.outbox.complete(job, await console.publish(job), at)
    blocks = out.getvalue().strip().split("\n\n")
    assert blocks[0].startswith("[UPCOMING] Falcon 9 | Crew-15")
    assert blocks[1].startswith("[REMINDER] Falcon 9 | Crew-15 lifts off in 1h")


async def test_after_a_day_down_stale_reminders_are_dropped_and_the_next_ones_go(store):
    """The bot was down from a day before liftoff until 40 minutes before: the 1-day and
    1-hour reminders are past their grace and dropped; the 15-minute one goes on time."""
    await _subscribed(store, (D, H, 15 * M))
    await link_launches(store.events, default_matcher(), [crew()], NOW)
    await _post_delivered(store, NOW)
    back = NET - timedelta(minutes=40)
    assert await store.outbox.plan_reminders(back) == 0
    assert await store.outbox.plan_reminders(NET - timedelta(minutes=15)) == 1


async def test_news_of_a_launch_the_schedule_lacks_still_gets_reminders(store):
    """An exact time read from the news is enough: no schedule record is needed."""
    from handlers.domain import Article
    from handlers.events import resolve

    await _subscribed(store, (H,))
    article = Article(key="n1", title="Electron to launch radar satellite at 14:30 UTC Tuesday",
                      published=NOW, source="Example News")  # fmt: skip
    mention = default_matcher().match_article(article)
    assert mention is not None and mention.launch_time is not None
    async with store.events.ingest() as tx:
        change = resolve(mention, article, await tx.event_candidates(mention.event_key, 0), NOW)
        event = await tx.save_event(change, 0, None, NOW)
        await tx.enqueue_deliveries(event, change, 0, NOW)
    await _post_delivered(store, NOW)
    due = mention.launch_time - timedelta(hours=1)
    assert await store.outbox.plan_reminders(due) == 1


async def test_a_reminder_printed_before_a_crash_is_not_printed_again(store):
    """The dry run marks a block before printing it; a process stopped between the print
    and the commit finds the mark on restart and does not print the reminder twice."""
    import io

    from handlers.console import ConsolePublisher

    await store.subscriptions.ensure_console(NOW, reminders=(H,))
    await link_launches(store.events, default_matcher(), [crew()], NOW)
    out = io.StringIO()
    console = ConsolePublisher(out, ledger=store)
    [post] = await store.outbox.claim("console", NOW, 10)
    await store.outbox.complete(post, await console.publish(post), NOW)
    due = NET - timedelta(hours=1)
    await store.outbox.plan_reminders(due)
    [reminder] = await store.outbox.claim("console", due, 10)
    await console.publish(reminder)  # printed; the process "dies" before complete()
    restarted = ConsolePublisher(out, ledger=store)
    [again] = await store.outbox.claim("console", due, 10)
    await store.outbox.complete(again, await restarted.publish(again), due)
    assert out.getvalue().count("[REMINDER]") == 1
    assert await store.outbox.claim("console", due, 10) == []
