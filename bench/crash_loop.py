"""Crash loop: ``kill -9`` the real ``launchwatch run`` at random moments, again and again.

Launch stories keep arriving on feeds served from 127.0.0.1 while the bot is started,
killed at a random moment (uniform in 0.3-2.5 s, so kills land during start-up,
migrations-in-waiting, polls, ingest transactions, sends and idle time alike) and
restarted. After every kill the database must pass ``PRAGMA integrity_check``; at the
end a clean run delivers what is left, and every launch must have been alerted exactly
once: printed once (``--dry-run``) or posted once to the fake Discord (``--discord``)::

    python -m bench.crash_loop                    # 200 kills, dry-run
    python -m bench.crash_loop --discord --rounds 100

``tests/reliability/test_crash_safety.py`` runs 50 kills of each mode under ``pytest -m slow``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from handlers.domain import SubscriptionFilter
from storage import Storage
from tests.fakediscord import FakeDiscord
from tests.feedserver import FeedServer
from tests.reliability.proc import (
    KILLED,
    LaunchWatch,
    NewsFeeds,
    eventually,
    integrity,
    launch_header,
    pending_jobs,
    seeded_feeds,
)

STOP_WARNING = re.compile(r"alert lw-\d+ \((.+?)\) was being printed when the last process")


@dataclass
class CrashLoopReport:
    """What a crash loop did and found."""

    mode: str
    kills: int
    launches: int
    seconds: float
    delivered: Counter[int]
    damaged_after: list[int] = field(default_factory=list)
    # Dry-run only: alerts not printed because the kill landed between the "printing"
    # marker and the write (each one named by a warning on restart).
    unprinted_but_reported: list[int] = field(default_factory=list)

    @property
    def duplicates(self) -> dict[int, int]:
        """Launches alerted more than once."""
        return {n: c for n, c in self.delivered.items() if c > 1}

    def missing(self, launches: list[int]) -> list[int]:
        """Launches never alerted and not explained by the dry-run warning."""
        explained = set(self.unprinted_but_reported)
        return [n for n in launches if self.delivered[n] == 0 and n not in explained]

    def summary(self, launches: list[int]) -> str:
        """One line for humans."""
        return (
            f"{self.mode}: {self.kills} kills, {self.launches} launches in {self.seconds:.0f} s;"
            f" duplicates {len(self.duplicates)}, lost {len(self.missing(launches))},"
            f" lost-and-reported {len(self.unprinted_but_reported)},"
            f" damaged databases {len(self.damaged_after)}"
        )


def posted_per_launch(fake: FakeDiscord, channel_id: int) -> Counter[int]:
    """Alert messages per launch number, as the channel shows them."""
    found: Counter[int] = Counter()
    for message in fake.messages(channel_id, include_ephemeral=False):
        title = message.embeds[0]["title"] if message.embeds else ""
        match = re.search(r"Starlink 10-(\d+)$", title)
        if match:
            found[int(match.group(1))] += 1
    return found


def _printed(lw: LaunchWatch, launches: list[int]) -> Counter[int]:
    alerts = lw.alerts()
    return Counter({n: alerts[launch_header(n)] for n in launches})


async def crash_loop(
    workdir: Path, *, rounds: int = 50, discord: bool = False, seed: int = 20260310
) -> tuple[CrashLoopReport, NewsFeeds]:
    """Run the loop (see the module docstring); return the report and the published news."""
    rng = random.Random(seed)
    async with FeedServer() as server, FakeDiscord() as fake:
        news = NewsFeeds(server, 3)
        env = (
            {
                "DISCORD_TOKEN": fake.token,
                "DISCORD_API_BASE": fake.api_base,
                "DISCORD_GATEWAY_URL": fake.gateway_url,
            }
            if discord
            else {}
        )
        lw = LaunchWatch(workdir, news.urls, env=env)
        channel = 0
        if discord:
            guild = fake.add_guild("Launch Fans", channels=["alerts"])
            channel = guild.channel("alerts").id
            async with Storage.open(lw.db) as store:
                await store.subscriptions.upsert(
                    target="discord",
                    guild_id=guild.id,
                    channel_id=channel,
                    filters=SubscriptionFilter(),
                    role_id=None,
                    created_by=None,
                    now=datetime.now(UTC),
                )
        dry_run = not discord
        started = time.monotonic()
        report = CrashLoopReport("discord" if discord else "dry-run", 0, 0, 0.0, Counter())
        try:
            run = await lw.start(dry_run=dry_run)
            await eventually(lambda: seeded_feeds(lw.db) == len(news.paths), 30, "first polls")
            await run.kill()
            n = 0
            for round_ in range(rounds):
                run = await lw.start(dry_run=dry_run)
                deadline = time.monotonic() + rng.uniform(0.3, 2.5)
                while time.monotonic() < deadline:
                    n += 1
                    news.publish(n, feed=rng.randrange(3), also_on=rng.choice([None, 0, 1, 2]))
                    await asyncio.sleep(rng.uniform(0.05, 0.4))
                await run.kill()
                report.kills += run.returncode == KILLED
                if integrity(lw.db) != "ok":
                    report.damaged_after.append(round_)
            final = await lw.start(dry_run=dry_run)
            await eventually(lambda: "running: poll interval" in final.stderr(), 30, "start-up")

            def delivered() -> Counter[int]:
                if discord:
                    return posted_per_launch(fake, channel)
                return _printed(lw, news.launches)

            reported = set(STOP_WARNING.findall(lw.stderr()))
            await eventually(
                lambda: (
                    pending_jobs(lw.db) == 0
                    and all(
                        delivered()[k] or f"Falcon 9 | Starlink 10-{k}" in reported
                        for k in news.launches
                    )
                ),
                # Discord takes 5 messages per 5 s into one channel: the backlog of alerts
                # that the kills left undelivered drains at about one a second.
                60 + 2 * len(news.launches),
                "every alert",
            )
            if await final.terminate() != 0:
                raise AssertionError(f"final run did not stop cleanly:\n{final.stderr()[-2000:]}")
        finally:
            await lw.stop_all()
        report.seconds = time.monotonic() - started
        report.launches = len(news.launches)
        report.delivered = delivered()
        names = set(STOP_WARNING.findall(lw.stderr()))
        report.unprinted_but_reported = [
            k
            for k in news.launches
            if report.delivered[k] == 0 and f"Falcon 9 | Starlink 10-{k}" in names
        ]
    return report, news


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--discord", action="store_true", help="post to a fake Discord")
    parser.add_argument("--seed", type=int, default=20260310)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        report, news = asyncio.run(
            crash_loop(Path(tmp), rounds=args.rounds, discord=args.discord, seed=args.seed)
        )
    print(report.summary(news.launches))
    bad = report.duplicates or report.missing(news.launches) or report.damaged_after
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
