"""A week of the launch schedule on a fake clock: requests per hour and reminder lateness.

    python -m bench.schedule [--days 7] [--launches 30] [--budget 15]

A seeded week of launches (about four a day, at any minute; one in five goes on hold half
an hour before its NET and slips one to three hours) is served by an in-process fake of the
schedule that answers as the real one would at the simulated time (Go, then In Flight at
T-0, Success ten minutes later). The production parts run against a real SQLite file: the
:class:`ScheduleRefresher` with its budget and policy, the linking of launches to events, and
the reminder planner (``Service.remind``'s logic: a tick every 15 s, plus a run at the next
reminder's own time). The clock steps from one due moment to the next, as the scheduler would.

Prints requests per hour (max, mean) against the budget, and for every reminder how late
it was queued after its due time (p50, p99, max; target p99 <= 5 s) and how many were missed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.runtime import REMIND_TICK, SCHEDULE_TICK
from handlers.matching.matcher import default_matcher
from handlers.schedule.budget import RequestBudget
from handlers.schedule.client import Kind, SchedulePage
from handlers.schedule.launches import NetPrecision, ScheduledLaunch, ScheduleStatus
from handlers.schedule.linking import link_launches
from handlers.schedule.refresh import ScheduleRefresher
from handlers.schedule.reminders import grace, tag_offset, tag_time
from storage import Storage

START = datetime(2030, 6, 10, tzinfo=UTC)
LEADS = (86400, 3600, 900)  # the reminders the simulated channel asks for: 1d, 1h, 15m


@dataclasses.dataclass
class Plan:
    """One launch of the simulated week: its first NET and, when it slips, the new one."""

    ident: str
    vehicle: str
    mission: str
    net: datetime
    slip_to: datetime | None = None

    def at(self, now: datetime) -> ScheduledLaunch | None:
        """What the schedule says about this launch at ``now`` (None: not listed yet)."""
        if now < self.net - timedelta(days=14):
            return None
        net, status = self.net, ScheduleStatus.GO
        if self.slip_to is not None and now >= self.net - timedelta(minutes=30):
            net = self.slip_to
            status = ScheduleStatus.HOLD if now < self.net else ScheduleStatus.GO
        if now >= net + timedelta(minutes=10):
            status = ScheduleStatus.SUCCESS
        elif now >= net:
            status = ScheduleStatus.IN_FLIGHT
        return ScheduledLaunch(
            self.ident, f"{self.vehicle} | {self.mission}", status, net, NetPrecision.MINUTE,
            vehicle=self.vehicle, mission=self.mission, provider="Example Launch Co",
        )  # fmt: skip


class FakeSchedule:
    """The schedule as a function of the simulated clock; counts requests by hour."""

    def __init__(self, plans: list[Plan], clock: list[datetime]) -> None:
        self.plans = plans
        self.clock = clock
        self.requests: list[datetime] = []

    async def fetch(self, kind: Kind, *, limit: int = 50) -> SchedulePage:
        now = self.clock[0]
        self.requests.append(now)
        listed = [x for x in (p.at(now) for p in self.plans) if x is not None]
        if kind == "upcoming":
            chosen = sorted((x for x in listed if x.status.pending), key=lambda x: x.net)
        else:
            chosen = sorted(
                (x for x in listed if not x.status.pending), key=lambda x: -x.net.timestamp()
            )
        return SchedulePage(kind, chosen[:limit], [])


# Rockets and numbered missions as the schedule names them (each flight its own number).
FLIGHTS = [
    ("Falcon 9 Block 5", "Starlink Group 10-{n}"),
    ("Falcon 9 Block 5", "Transporter-{n}"),
    ("Soyuz 2.1a", "Progress MS-{n}"),
    ("Long March 2F/G", "Shenzhou-{n}"),
    ("Electron", "NROL-{n}"),
    ("Falcon 9 Block 5", "Crew-{n}"),
]


def week(days: int, launches: int, rng: random.Random) -> list[Plan]:
    plans = []
    for n in range(launches):
        net = START + timedelta(minutes=rng.randrange(days * 24 * 60))
        slip = net + timedelta(minutes=rng.randrange(60, 181)) if rng.random() < 0.2 else None
        vehicle, mission = rng.choice(FLIGHTS)
        plans.append(Plan(f"ll2-{n}", vehicle, mission.format(n=100 + n), net, slip))
    return plans


async def simulate(days: int, launches: int, budget: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    plans = week(days, launches, rng)
    clock = [START]
    source = FakeSchedule(plans, clock)
    matcher = default_matcher()
    lateness: list[float] = []
    # When the schedule first told us each NET: a reminder cannot go before its time is known.
    known_at: dict[datetime, datetime] = {}
    with tempfile.TemporaryDirectory() as tmp:
        async with Storage.open(Path(tmp) / "bench.db") as store:
            await store.subscriptions.ensure_console(START, reminders=LEADS)

            async def link(found: list[ScheduledLaunch], now: datetime) -> None:
                for launch in found:
                    known_at.setdefault(launch.net, now)
                await link_launches(store.events, matcher, found, now)

            refresher = ScheduleRefresher(
                store.schedule, source, RequestBudget(budget), on_launches=link,
                next_reminder=store.outbox.next_reminder,
            )  # fmt: skip
            end = START + timedelta(days=days)
            next_schedule = next_remind = START
            queued: set[tuple[int, str]] = set()  # reminders in the outbox so far
            while clock[0] < end:
                now = clock[0]
                if now >= next_schedule:
                    await refresher.run_due(now)
                    next_schedule = now + timedelta(seconds=SCHEDULE_TICK)
                if now >= next_remind:
                    await store.outbox.plan_reminders(now)
                    now_queued = await _queued(store)
                    for _, tag in now_queued - queued:
                        launch_time = tag_time(tag)
                        due = launch_time - timedelta(seconds=tag_offset(tag))
                        due = max(due, known_at.get(launch_time, due))
                        lateness.append((now - due).total_seconds())
                    queued = now_queued
                    next_remind = now + timedelta(seconds=REMIND_TICK)
                    upcoming = await store.outbox.next_reminder(now)
                    if upcoming is not None and upcoming < next_remind:
                        next_remind = upcoming
                clock[0] = min(next_schedule, next_remind)
            expected = _expected_reminders(plans, end, known_at)
    per_hour = Counter(t.replace(minute=0, second=0, microsecond=0) for t in source.requests)
    hours = days * 24
    lateness.sort()
    return {
        "requests": len(source.requests),
        "max_per_hour": max(per_hour.values(), default=0),
        "max_sliding_hour": _max_sliding(source.requests),
        "mean_per_hour": len(source.requests) / hours,
        "reminders": len(lateness),
        "expected": expected,
        "p50": _pct(lateness, 50),
        "p99": _pct(lateness, 99),
        "max": lateness[-1] if lateness else 0.0,
    }


async def _queued(store: Storage) -> set[tuple[int, str]]:
    rows = await store.db.fetchall("SELECT id, reminder FROM outbox WHERE kind = 'reminder'")
    return {(row[0], row[1]) for row in rows}


def _expected_reminders(
    plans: list[Plan], end: datetime, known_at: dict[datetime, datetime]
) -> int:
    """Reminders a perfect planner would queue: each lead time of each launch's final NET
    due in the simulated days, not before that NET was known, and not during a hold; and
    for a launch that slipped, those of its first NET due before the hold."""
    count = 0
    for plan in plans:
        if plan.slip_to is not None:  # reminders of the first NET before the hold was known
            hold = plan.net - timedelta(minutes=30)
            count += sum(
                START - grace(lead) < plan.net - timedelta(seconds=lead) < min(hold, end)
                for lead in LEADS
            )
        final = plan.slip_to or plan.net
        for lead in LEADS:
            due = final - timedelta(seconds=lead)
            if due >= end:
                continue
            if plan.slip_to is not None and plan.net - timedelta(minutes=30) <= due < plan.net:
                continue  # on hold then
            if known_at.get(final, end) >= due + grace(lead):
                continue  # learnt too late for this one (before the run, or a short slip)
            count += 1
    return count


def _max_sliding(times: list[datetime]) -> int:
    times = sorted(times)
    best = 0
    for i, start in enumerate(times):
        best = max(best, sum(1 for t in times[i:] if t - start < timedelta(hours=1)))
    return best


def _pct(values: list[float], pct: int) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, round(pct / 100 * (len(values) - 1)))]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--launches", type=int, default=30)
    parser.add_argument("--budget", type=int, default=15)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    r = asyncio.run(simulate(args.days, args.launches, args.budget, args.seed))
    print(f"schedule: {args.days} days, {args.launches} launches, budget {args.budget}/hour")
    print(
        f"requests:   {r['requests']} in all; per clock hour max {r['max_per_hour']},"
        f" any sliding hour max {r['max_sliding_hour']}, mean {r['mean_per_hour']:.1f}"
    )
    print(
        f"reminders:  {r['reminders']} queued of {r['expected']} due; queued after their due time"
        f" p50 {r['p50']:.1f} s, p99 {r['p99']:.1f} s, max {r['max']:.1f} s (target p99 <= 5 s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
