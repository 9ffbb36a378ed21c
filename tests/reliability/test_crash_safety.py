"""Guarantee 1 — crash safety: ``kill -9`` at any point loses no alert and repeats none.

The real ``launchwatch run --dry-run`` runs as a child process against feeds on
127.0.0.1. It is killed at named crash points (``LAUNCHWATCH_TEST_CRASH_AT``, see
:mod:`handlers.crashpoints`) and restarted; after every kill the database passes
``PRAGMA integrity_check``, and over all runs each launch is printed exactly once.

The long version (50 kills at random moments while news keeps arriving) is
``pytest -m slow tests/reliability/test_crash_safety.py``; ``bench/crash_loop.py``
runs as many rounds as you like.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.crash_loop import crash_loop, posted_per_launch
from handlers.domain import SubscriptionFilter
from storage import Storage
from tests.budget import PATIENCE
from tests.fakediscord import FakeDiscord
from tests.reliability.proc import (
    KILLED,
    LaunchWatch,
    NewsFeeds,
    eventually,
    integrity,
    launch_header,
    pending_jobs,
    scalar,
    seeded_feeds,
)

# Every step of a launch's way from a feed to the terminal, in order.
FLOW_POINTS = [
    "poll.fetched",
    "ingest.before_commit",
    "ingest.committed",
    "deliver.before_publish",
    "deliver.after_publish",
]


async def _crash(lw: LaunchWatch, point: str) -> None:
    run = await lw.start(crash_at=point)
    code = await run.wait(PATIENCE)
    assert code == KILLED, f"run armed at {point} exited {code}:\n{run.stderr()[-2000:]}"
    assert integrity(lw.db) == "ok", f"database damaged by a kill at {point}"


async def _seed(lw: LaunchWatch, news: NewsFeeds) -> None:
    """One run until every feed had its silent first poll; then kill it."""
    run = await lw.start()
    await eventually(lambda: seeded_feeds(lw.db) == len(news.paths), PATIENCE, "the first polls")
    await run.kill()
    assert integrity(lw.db) == "ok"


async def _finish(lw: LaunchWatch, news: NewsFeeds, timeout: float = PATIENCE) -> None:
    """A clean run until every launch is out and nothing is pending, then a normal stop."""
    run = await lw.start()
    expected = news.expected()
    await eventually(lambda: "running: poll interval" in run.stderr(), timeout, "the start-up")
    await eventually(
        lambda: all(lw.alerts()[h] >= 1 for h in expected) and pending_jobs(lw.db) == 0,
        timeout,
        "every alert to be printed",
    )
    assert await run.terminate() == 0, run.stderr()[-2000:]
    assert integrity(lw.db) == "ok"


def _assert_exactly_once(lw: LaunchWatch, news: NewsFeeds, labels: dict[int, str]) -> None:
    printed = lw.alerts()
    wrong = {
        f"{labels.get(n, 'random')}: {launch_header(n)}": printed[launch_header(n)]
        for n in news.launches
        if printed[launch_header(n)] != 1
    }
    assert not wrong, f"alerts printed a wrong number of times: {wrong}"
    assert sum(printed.values()) == len(news.launches), f"unexpected alerts: {printed}"
    assert "Traceback" not in lw.stderr()


async def test_kill_at_every_step_loses_and_repeats_nothing(launchwatch, news):
    """A kill during the migration, the poll, the ingest, and before and after the print."""
    lw = launchwatch
    # A brand-new file, killed inside its first migration: nothing half-built is left.
    await _crash(lw, "migrate.before_commit")
    assert scalar(lw.db, "PRAGMA user_version") == 0
    assert scalar(lw.db, "SELECT COUNT(*) FROM sqlite_master") == 0

    await _seed(lw, news)
    labels: dict[int, str] = {}
    for n, point in enumerate(FLOW_POINTS, start=1):
        labels[n] = point
        news.publish(n, feed=0, also_on=1)  # a second site reports it: one alert still
        await _crash(lw, point)
    await _finish(lw, news)
    _assert_exactly_once(lw, news, labels)
    runs = [r.crash_at or "clean" for r in lw.runs]
    assert [r.returncode for r in lw.runs].count(KILLED) == len(FLOW_POINTS) + 2, runs


async def test_kill_between_marker_and_print_is_reported_not_repeated(launchwatch, news):
    """The one window left in dry-run: the alert is not printed and the restart says so."""
    lw = launchwatch
    await _seed(lw, news)
    news.publish(1, feed=0)
    await _crash(lw, "console.marked")
    news.publish(2, feed=2)
    run = await lw.start()
    await eventually(lambda: lw.alerts()[launch_header(2)] == 1, PATIENCE, "the next alert")
    await eventually(lambda: pending_jobs(lw.db) == 0, PATIENCE, "the outbox to drain")
    assert await run.terminate() == 0
    assert lw.alerts()[launch_header(1)] == 0
    warning = [line for line in run.stderr().splitlines() if "was being printed" in line]
    assert len(warning) == 1 and "Falcon 9 | Starlink 10-1" in warning[0], run.stderr()


async def test_sigterm_mid_work_finishes_or_leaves_work_for_the_next_start(launchwatch, news):
    """A normal stop (SIGTERM) while alerts flow: exit 0, and the next run completes them."""
    lw = launchwatch
    await _seed(lw, news)
    run = await lw.start()
    for n in range(1, 6):
        news.publish(n, feed=n % 3, also_on=(n + 1) % 3)
    await eventually(lambda: scalar(lw.db, "SELECT COUNT(*) FROM events") == 5, PATIENCE, "ingest")
    assert await run.terminate() == 0, run.stderr()[-2000:]
    await _finish(lw, news)
    _assert_exactly_once(lw, news, {})


@pytest.mark.slow
@pytest.mark.parametrize("discord", [False, True], ids=["dry-run", "discord"])
async def test_50_random_kills_while_news_arrives(tmp_path, discord):
    """50 ``kill -9`` at random moments while launches keep being published."""
    report, news = await crash_loop(tmp_path, rounds=50, discord=discord)
    print("\n" + report.summary(news.launches))
    assert report.kills == 50 and report.damaged_after == []
    assert report.duplicates == {}
    assert report.missing(news.launches) == []


# ------------------------------------------------------------------ Discord mode


async def _subscribe(db, guild_id: int, channel_id: int) -> None:
    async with Storage.open(db) as store:
        await store.subscriptions.upsert(
            target="discord",
            guild_id=guild_id,
            channel_id=channel_id,
            filters=SubscriptionFilter(),
            role_id=None,
            created_by=None,
            now=datetime.now(UTC),
        )


async def _discord_kills(tmp_path, news: NewsFeeds, points: list[str]) -> None:
    async with FakeDiscord() as fake:
        guild = fake.add_guild("Launch Fans", channels=["alerts"])
        alerts = guild.channel("alerts")
        lw = LaunchWatch(
            tmp_path,
            news.urls,
            env={
                "DISCORD_TOKEN": fake.token,
                "DISCORD_API_BASE": fake.api_base,
                "DISCORD_GATEWAY_URL": fake.gateway_url,
            },
        )
        try:
            await _subscribe(lw.db, guild.id, alerts.id)
            run = await lw.start(dry_run=False)
            await eventually(
                lambda: seeded_feeds(lw.db) == len(news.paths), PATIENCE, "first polls"
            )
            await run.kill()
            for n, point in enumerate(points, start=1):
                news.publish(n, feed=0, also_on=1)
                run = await lw.start(crash_at=point, dry_run=False)
                code = await run.wait(PATIENCE)
                assert code == KILLED, f"{point}: exit {code}\n{run.stderr()[-2000:]}"
                assert integrity(lw.db) == "ok", point
            run = await lw.start(dry_run=False)
            await eventually(
                lambda: (
                    set(posted_per_launch(fake, alerts.id)) >= set(news.launches)
                    and pending_jobs(lw.db) == 0
                ),
                30,
                "every alert on Discord",
            )
            assert await run.terminate() == 0, run.stderr()[-2000:]
        finally:
            await lw.stop_all()
        posted = posted_per_launch(fake, alerts.id)
        wrong = {points[n - 1]: posted[n] for n in news.launches if posted[n] != 1}
        assert not wrong, f"messages per launch, by kill point: {wrong}"
        assert "Traceback" not in lw.stderr()
        if "deliver.after_publish" in points:
            # The send after the restart reused the nonce and got the first message back.
            assert sum(m.nonce_replays for m in fake.messages(alerts.id)) >= 1


async def test_discord_kill_around_the_send_posts_each_alert_once(tmp_path, news):
    await _discord_kills(
        tmp_path, news, ["ingest.committed", "deliver.before_publish", "deliver.after_publish"]
    )


@pytest.mark.slow
async def test_discord_kill_at_every_step_posts_each_alert_once(tmp_path, news):
    await _discord_kills(tmp_path, news, FLOW_POINTS)
