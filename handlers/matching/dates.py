"""Dates in launch news: the day (and time) a story says a launch happens.

Anchored on the article's publication time, never the clock: "Thursday" in a story
published on a Monday is that week's Thursday. A day stays a day unless the text gives a
time with its zone.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from handlers.domain import LaunchStatus

__all__ = ["dated", "launch_time", "too_far"]

MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH_NAMES = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
DATE_MD = re.compile(
    rf"(?<![a-z0-9])(?<!long ){_MONTH_NAMES} (\d{{1,2}})(?:st|nd|rd|th)?(?![a-z0-9])"
    rf"(?:,? (\d{{4}}))?"
)
DATE_DM = re.compile(
    rf"(?<![a-z0-9:])(\d{{1,2}})(?:st|nd|rd|th)? {_MONTH_NAMES}(?![a-z0-9])(?:,? (\d{{4}}))?"
)
WEEKDAY = re.compile(
    r"(?<![a-z0-9])(monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tonight|"
    r"tomorrow|yesterday)(?![a-z0-9])"
)
TIME = re.compile(
    r"(?<![0-9:])(\d{1,2})(?::(\d{2}))? ?(a\.?m\.?|p\.?m\.?)? ?"
    r"(utc|gmt|edt|est|cdt|cst|mdt|mst|pdt|pst|bst|cet|cest|msk|jst|ist|nzst|nzdt|"
    r"eastern(?: daylight| standard)?(?: time)?|pacific(?: daylight| standard)?(?: time)?|"
    r"beijing time)(?![a-z])"
)
TZ_OFFSETS = {
    "utc": 0.0,
    "gmt": 0.0,
    "edt": -4.0,
    "est": -5.0,
    "cdt": -5.0,
    "cst": -6.0,
    "mdt": -6.0,
    "mst": -7.0,
    "pdt": -7.0,
    "pst": -8.0,
    "bst": 1.0,
    "cet": 1.0,
    "cest": 2.0,
    "msk": 3.0,
    "jst": 9.0,
    "ist": 5.5,
    "nzst": 12.0,
    "nzdt": 13.0,
    "beijing time": 8.0,
    "eastern daylight": -4.0,
    "eastern standard": -5.0,
    "pacific daylight": -7.0,
    "pacific standard": -8.0,
    "eastern": -4.0,
    "pacific": -7.0,
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def launch_time(
    head: str, lead: str, published: datetime | None, status: LaunchStatus
) -> tuple[datetime, bool] | None:
    """The launch date/time the text states, resolved against ``published``, and whether
    it is a day only.

    Explicit dates ("March 6", "6 March 2026") and relative words ("Tuesday", "tonight") are
    read from the headline first, then the summary lead. A time with a zone ("6:24 p.m. EDT")
    is added when present; a date alone is a day (00:00 UTC of it, marked day-only). Without
    a ``published`` reference, relative words are ignored and month-day dates need a year.
    """
    for text in (head, lead):
        day = _explicit_day(text, published, status) or _relative_day(text, published, status)
        if day is not None:
            when = _with_time(day, text)
            return (day, True) if when is None else (when, False)
    return None


def _explicit_day(text: str, ref: datetime | None, status: LaunchStatus) -> datetime | None:
    m = DATE_MD.search(text)
    month_s, day_s, year_s = (m.group(1), m.group(2), m.group(3)) if m else (None, None, None)
    if m is None:
        d = DATE_DM.search(text)
        if d is None:
            return None
        day_s, month_s, year_s = d.group(1), d.group(2), d.group(3)
    assert month_s is not None and day_s is not None
    month = MONTHS.get(month_s[:4].rstrip("."), MONTHS.get(month_s[:3], 0))
    year = int(year_s) if year_s else (ref.year if ref else None)
    if year is None or not month:
        return None
    try:
        when = datetime(year, month, int(day_s), tzinfo=UTC)
    except ValueError:
        return None
    if ref and not year_s and status is LaunchStatus.UPCOMING and when < ref - timedelta(days=180):
        when = when.replace(year=year + 1)
    return when


def _relative_day(text: str, ref: datetime | None, status: LaunchStatus) -> datetime | None:
    m = WEEKDAY.search(text)
    if m is None or ref is None:
        return None
    word = m.group(1)
    base = datetime(ref.year, ref.month, ref.day, tzinfo=UTC)
    if word in ("today", "tonight"):
        return base
    if word == "tomorrow":
        return base + timedelta(days=1)
    if word == "yesterday":
        return base - timedelta(days=1)
    delta = (WEEKDAYS.index(word) - base.weekday()) % 7
    if status.is_outcome and delta:
        delta -= 7
    return base + timedelta(days=delta)


# "Long March" is a rocket, not a month; "may" is a month only in date-like company.
MONTH_ONLY = re.compile(rf"(?<![a-z0-9])(?<!long ){_MONTH_NAMES}(?![a-z0-9])")
MAY_AS_MONTH = re.compile(r"(?:in|by|early|mid|late|until|next|this|since|of) $")
FAR_DAYS = 45


#: A year named as when something will happen ("slips to 2027", "in early 2027").
_LATER_YEAR = re.compile(
    r"(?<![a-z0-9])(?:to|towards?|in|until|into|for|before|by|net|early|mid|late|"
    r"no earlier than)"
    r" (20\d\d)(?![a-z0-9])"
)


def dated(text: str) -> bool:
    """The text names a day or month ("Thursday", "tonight", "in late June", "March 5")."""
    return bool(WEEKDAY.search(text) or _month_mention(text) or THIS_WEEK.search(text))


THIS_WEEK = re.compile(r"(?<![a-z0-9])(?:this|next) (?:week|weekend)(?![a-z0-9])")


def too_far(head: str, published: datetime | None) -> bool:
    """Rubric: a launch date more than ~6 weeks away makes a schedule story, not a launch story."""
    if published is None:
        return False
    later = _LATER_YEAR.search(head)
    if later is not None:
        ahead = int(later.group(1)) - published.year
        if ahead >= 2 or (ahead == 1 and published.month <= 10):
            return True
    m = _month_mention(head)
    if m is None:
        return False
    day = _explicit_day(head, published, LaunchStatus.UPCOMING)
    if day is None:
        month = _month_number(m.group(1))
        stated = re.match(r",? (20\d\d)(?![0-9])", head[m.end() :])
        year = published.year + (1 if month < published.month - 6 else 0)
        if stated is not None:
            year = int(stated.group(1))
        if month == published.month and year == published.year:
            return False
        day = datetime(year, month, 1, tzinfo=UTC)
    return (day - published).days > FAR_DAYS


def _month_mention(text: str) -> re.Match[str] | None:
    """The first month named in ``text`` ("may" only after "in", "by", "early", ...)."""
    for m in MONTH_ONLY.finditer(text):
        if m.group(1) != "may" or MAY_AS_MONTH.search(text[max(0, m.start() - 8) : m.start()]):
            return m
        if re.match(r" \d", text[m.end() :]):
            return m
    return None


def _month_number(name: str) -> int:
    return MONTHS.get(name[:4].rstrip("."), MONTHS.get(name[:3], 0))


def _with_time(day: datetime, text: str) -> datetime | None:
    """The day at the clock time the text gives, in UTC; None when it gives none."""
    m = TIME.search(text)
    if m is None:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    meridiem = (m.group(3) or "").replace(".", "")
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    zone = re.sub(r" time$", "", m.group(4))
    offset = TZ_OFFSETS.get(zone, 0.0)
    return day + timedelta(hours=hour - offset, minutes=minute)
