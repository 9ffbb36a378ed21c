"""T-minus reminders: what a subscription asks for, and when each one is due.

A subscription lists durations before liftoff ("1d,1h,15m": 1 minute to 31 days, at most
:data:`MAX_REMINDERS`). For a launch event with an exact launch time (never a day alone) each
duration gives one reminder, due at launch time minus the duration. A reminder is tagged
with its duration and the launch time it counts down to, so a slipped launch gets its
reminders again at the new time, and a repeated plan never sends one twice. A reminder
found more than :func:`grace` late (the bot was down) is dropped: "T-15 min" half an hour
after liftoff would mislead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from handlers.summary import format_lead

__all__ = [
    "LONGEST",
    "MAX_REMINDERS",
    "NEW_TIME",
    "SHORTEST",
    "due_reminders",
    "format_reminders",
    "grace",
    "parse_reminders",
    "reminder_tag",
    "tag_offset",
    "tag_time",
]

SHORTEST = timedelta(minutes=1)
#: The lead time of a "new time" notice: the launch a channel was reminded of moved.
NEW_TIME = 0
LONGEST = timedelta(days=31)
MAX_REMINDERS = 16
_UNITS = {"m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d{1,5})(minutes?|mins|min|m|hours?|hrs|hr|h|days?|d)")


def parse_reminders(text: str) -> tuple[int, ...]:
    """``"1d, 1h, 15m"`` -> seconds before liftoff, longest first; ``"none"`` -> ().

    Raises ``ValueError`` with a message fit to show the user."""
    text = text.strip().casefold()
    if text in ("", "none", "off", "no"):
        return ()
    found: set[int] = set()
    for written in re.split(r"[,;]+", text):
        raw = re.sub(r"\s+", "", written)
        if not raw:
            continue
        parts = list(_PART.finditer(raw))
        if not parts or "".join(p.group(0) for p in parts) != raw:
            raise ValueError(
                f"{written.strip()!r} is not a duration: write e.g. 15m, 1h, 2h30m or 1d,"
                " separated by commas"
            )
        seconds = sum(int(p.group(1)) * _UNITS[p.group(2)[0]] for p in parts)
        offset = timedelta(seconds=seconds)
        if not SHORTEST <= offset <= LONGEST:
            raise ValueError(f"{raw} is outside 1 minute to 31 days before liftoff")
        found.add(seconds)
    if len(found) > MAX_REMINDERS:
        raise ValueError(f"at most {MAX_REMINDERS} reminders per channel")
    return tuple(sorted(found, reverse=True))


def format_reminders(offsets: Iterable[int]) -> str:
    """``(86400, 3600)`` -> ``"1d, 1h"``; none -> ``"none"``."""
    return ", ".join(format_lead(s) for s in offsets) or "none"


def grace(offset: int) -> timedelta:
    """How late a reminder may still go out: half its lead time, between 1 and 15 minutes."""
    return min(timedelta(minutes=15), max(timedelta(minutes=1), timedelta(seconds=offset / 2)))


def due_reminders(launch_time: datetime, offsets: Iterable[int], now: datetime) -> list[int]:
    """The offsets whose reminder is due at ``now`` (not early, not more than grace late)."""
    due = []
    for offset in offsets:
        at = launch_time - timedelta(seconds=offset)
        if at <= now < at + grace(offset):
            due.append(offset)
    return due


def reminder_tag(offset: int, launch_time: datetime) -> str:
    """What makes a reminder one of a kind: its lead time and the launch time it counts to."""
    return f"{offset}@{launch_time.isoformat()}"


def tag_offset(tag: str) -> int:
    """The lead time (seconds) of a reminder tag."""
    return int(tag.split("@", 1)[0])


def tag_time(tag: str) -> datetime:
    """The launch time a reminder tag counts down to."""
    return datetime.fromisoformat(tag.split("@", 1)[1])
