"""Launch Library 2 launch records, read into :class:`ScheduledLaunch` values.

Pure: a decoded JSON page in, launches out. A record missing what a launch needs (an id, a
NET, a status) is skipped with a reason instead of failing the page; fields the API may leave
null stay None. Field names follow the API's 2.3.0 schema (``/launches/upcoming/``,
``/launches/previous/``, ``mode=detailed``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from handlers.domain import LaunchStatus

__all__ = ["NetPrecision", "ScheduleStatus", "ScheduledLaunch", "parse_page"]


class ScheduleStatus(Enum):
    """The schedule's launch statuses (their ``abbrev`` in the API)."""

    GO = "Go"
    TBD = "TBD"
    TBC = "TBC"
    HOLD = "Hold"
    IN_FLIGHT = "In Flight"
    SUCCESS = "Success"
    FAILURE = "Failure"
    PARTIAL_FAILURE = "Partial Failure"
    PAYLOAD_DEPLOYED = "Payload Deployed"

    @property
    def launch_status(self) -> LaunchStatus:
        """The status an event shows for it: a launch under way or done has launched."""
        if self in (ScheduleStatus.FAILURE, ScheduleStatus.PARTIAL_FAILURE):
            return LaunchStatus.FAILED
        if self in (
            ScheduleStatus.IN_FLIGHT,
            ScheduleStatus.SUCCESS,
            ScheduleStatus.PAYLOAD_DEPLOYED,
        ):
            return LaunchStatus.LAUNCHED
        if self is ScheduleStatus.HOLD:
            return LaunchStatus.SCRUBBED
        return LaunchStatus.UPCOMING

    @property
    def pending(self) -> bool:
        """Not launched yet (reminders and faster refreshes apply)."""
        return self.launch_status in (LaunchStatus.UPCOMING, LaunchStatus.SCRUBBED)


# The API's status ids, for records that carry an id but an unknown abbreviation.
_STATUS_IDS = {
    1: ScheduleStatus.GO,
    2: ScheduleStatus.TBD,
    3: ScheduleStatus.SUCCESS,
    4: ScheduleStatus.FAILURE,
    5: ScheduleStatus.HOLD,
    6: ScheduleStatus.IN_FLIGHT,
    7: ScheduleStatus.PARTIAL_FAILURE,
    8: ScheduleStatus.TBC,
    9: ScheduleStatus.PAYLOAD_DEPLOYED,
}
_STATUS_NAMES = {s.value.casefold(): s for s in ScheduleStatus} | {
    "go for launch": ScheduleStatus.GO,
    "to be determined": ScheduleStatus.TBD,
    "to be confirmed": ScheduleStatus.TBC,
    "on hold": ScheduleStatus.HOLD,
    "launch successful": ScheduleStatus.SUCCESS,
    "launch failure": ScheduleStatus.FAILURE,
}


class NetPrecision(Enum):
    """How exact the NET is (the API's ``net_precision.abbrev``, coarser ones grouped)."""

    SECOND = "SEC"
    MINUTE = "MIN"
    HOUR = "HR"
    DAY = "DAY"
    COARSE = "COARSE"  # a week, a month, a quarter, a year ...

    @property
    def has_time(self) -> bool:
        """The NET names a clock time worth showing and counting down to."""
        return self in (NetPrecision.SECOND, NetPrecision.MINUTE, NetPrecision.HOUR)


@dataclass(frozen=True, slots=True)
class ScheduledLaunch:
    """One launch as the schedule knows it."""

    id: str
    name: str
    status: ScheduleStatus
    net: datetime
    net_precision: NetPrecision
    window_start: datetime | None = None
    window_end: datetime | None = None
    vehicle: str | None = None
    provider: str | None = None
    mission: str | None = None
    pad: str | None = None
    location: str | None = None
    crewed: bool | None = None
    probability: int | None = None
    webcast_live: bool = False
    webcasts: tuple[str, ...] = ()
    last_updated: datetime | None = None


def parse_page(page: Any) -> tuple[list[ScheduledLaunch], list[str]]:
    """The launches of one API page (``{"results": [...]}``) and a reason per skipped record."""
    if not isinstance(page, Mapping) or not isinstance(page.get("results"), list):
        raise ValueError("not a page of launches (no 'results' list)")
    launches: list[ScheduledLaunch] = []
    skipped: list[str] = []
    for record in page["results"]:
        try:
            launches.append(parse_launch(record))
        except (KeyError, TypeError, ValueError) as exc:
            ident = record.get("id", "?") if isinstance(record, Mapping) else "?"
            skipped.append(f"launch {ident}: {exc}")
    return launches, skipped


def parse_launch(record: Any) -> ScheduledLaunch:
    """One launch record; raises ``KeyError``/``TypeError``/``ValueError`` when unusable."""
    if not isinstance(record, Mapping):
        raise TypeError("a launch record is not an object")
    ident = _text(record.get("id"))
    net = _time(record.get("net"))
    if ident is None or net is None:
        raise ValueError("no id or no NET")
    rocket = _obj(record.get("rocket"))
    config = _obj(rocket.get("configuration"))
    mission = _obj(record.get("mission"))
    pad = _obj(record.get("pad"))
    return ScheduledLaunch(
        id=ident,
        name=_text(record.get("name")) or ident,
        status=_status(_obj(record.get("status"))),
        net=net,
        net_precision=_precision(_obj(record.get("net_precision"))),
        window_start=_time(record.get("window_start")),
        window_end=_time(record.get("window_end")),
        vehicle=_text(config.get("full_name")) or _text(config.get("name")),
        provider=_text(_obj(record.get("launch_service_provider")).get("name")),
        mission=_text(mission.get("name")),
        pad=_text(pad.get("name")),
        location=_text(_obj(pad.get("location")).get("name")),
        crewed=_crewed(rocket, mission),
        probability=_probability(record.get("probability")),
        webcast_live=record.get("webcast_live") is True,
        webcasts=_webcasts(record.get("vid_urls")),
        last_updated=_time(record.get("last_updated")),
    )


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _time(value: Any) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return when


def _status(status: Mapping[str, Any]) -> ScheduleStatus:
    for field in ("abbrev", "name"):
        name = _text(status.get(field))
        if name is not None and name.casefold() in _STATUS_NAMES:
            return _STATUS_NAMES[name.casefold()]
    ident = status.get("id")
    if isinstance(ident, int) and ident in _STATUS_IDS:
        return _STATUS_IDS[ident]
    raise ValueError(f"unknown status {dict(status)!r}")


def _precision(precision: Mapping[str, Any]) -> NetPrecision:
    abbrev = (_text(precision.get("abbrev")) or "").upper()
    for known in NetPrecision:
        if abbrev == known.value:
            return known
    name = (_text(precision.get("name")) or "").casefold()
    if name in ("second", "minute", "hour", "day"):
        return {"second": NetPrecision.SECOND, "minute": NetPrecision.MINUTE,
                "hour": NetPrecision.HOUR, "day": NetPrecision.DAY}[name]  # fmt: skip
    # No precision given: the API's older records are minute-exact when they have a window.
    return NetPrecision.MINUTE if not precision else NetPrecision.COARSE


def _crewed(rocket: Mapping[str, Any], mission: Mapping[str, Any]) -> bool | None:
    for stage in _list(rocket.get("spacecraft_stage")):
        if _list(_obj(stage).get("launch_crew")):
            return True
    kind = (_text(mission.get("type")) or "").casefold()
    if "human" in kind or "crew" in kind:
        return True
    return None


def _list(value: Any) -> Sequence[Any]:
    if isinstance(value, Mapping):  # 2.2.0 gave one spacecraft stage, 2.3.0 gives a list
        return [value]
    return value if isinstance(value, list) else []


def _probability(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100:
        return value
    return None


def _webcasts(value: Any) -> tuple[str, ...]:
    urls: list[str] = []
    for video in _list(value):
        url = _text(_obj(video).get("url"))
        if url is not None and url.startswith("https://") and url not in urls:
            urls.append(url)
    return tuple(urls)
