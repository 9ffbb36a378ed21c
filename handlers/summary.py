"""Plain-text rendering of launch events, for the console publisher and ``scan``."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from handlers.domain import DeliveryKind, LaunchEvent, LaunchStatus

STATUS_LABEL = {
    LaunchStatus.UPCOMING: "UPCOMING",
    LaunchStatus.SCRUBBED: "SCRUBBED",
    LaunchStatus.LAUNCHED: "LAUNCHED",
    LaunchStatus.FAILED: "FAILED",
}


def counted(count: int, one: str, many: str | None = None) -> str:
    """``1 article``, ``3 articles``, ``2 launch stories``."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def scan_summary(articles: int, stories: int, events: int) -> str:
    """What reading a feed found, in words: ``3 articles, 1 launch story, 1 launch event``."""
    return ", ".join(
        (
            counted(articles, "article"),
            counted(stories, "launch story", "launch stories"),
            counted(events, "launch event"),
        )
    )


def render_event_text(
    event: LaunchEvent,
    *,
    kind: DeliveryKind = DeliveryKind.POST,
    max_sources: int = 10,
    lead: int | None = None,
    notice: str | None = None,
) -> str:
    """A readable block: status, launch name, facts, time and sources with links (a
    reminder ``lead`` seconds before liftoff, or a follow-up's ``notice``, says so first)."""
    head = f"[{STATUS_LABEL[event.status]}] {event.name}"
    if kind is DeliveryKind.FOLLOWUP:
        what = _NOTICE_LABEL.get((notice or "").split("@")[0], STATUS_LABEL[event.status])
        head = f"[UPDATE → {what}] {event.name}"
    if kind is DeliveryKind.REMINDER:
        head = f"[REMINDER] {event.name} lifts off in {format_lead(lead or 0)}"
        if not lead:
            head = f"[REMINDER] {event.name}: new launch time"
    lines = [head]
    facts = [
        ("Vehicle", event.vehicle),
        ("Mission", event.mission),
        ("Site", event.site),
        (
            "Launch time",
            _launch_time(event),
        ),
        ("Crewed", {True: "yes", False: "no", None: None}[event.crewed]),
        ("Agencies", ", ".join(event.agencies) or None),
    ]
    lines.extend(f"  {name}: {value}" for name, value in facts if value)
    lines.extend(_source_lines(event, max_sources))
    return terminal_safe("\n".join(lines))


# Follow-ups that are not a status of their own (see handlers.domain.Notice).
_NOTICE_LABEL = {
    "go": "GO FOR LAUNCH",
    "success": "SUCCESS",
    "time": "NEW TIME",
    "webcast": "WEBCAST LIVE",
}


def terminal_safe(text: str) -> str:
    """Drop control and format characters (bar newlines and the emoji joiner).

    Feed text is printed to terminals: an escape sequence in a title could clear the
    screen or rewrite earlier lines, and bidi overrides could make text read differently.
    """
    return "".join(
        ch
        for ch in text.replace("\t", " ")
        if ch in "\n\u200d" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
    )


def _source_lines(event: LaunchEvent, max_sources: int) -> Sequence[str]:
    lines = [f"  Sources ({len(event.sources)}):"]
    for source in event.sources[:max_sources]:
        site = f"{source.site}: " if source.site else ""
        link = f" <{source.link}>" if source.link else ""
        lines.append(f"    - {site}{source.title}{link}")
    if len(event.sources) > max_sources:
        lines.append(f"    … and {len(event.sources) - max_sources} more")
    return lines


def _launch_time(event: LaunchEvent) -> str | None:
    """The launch time as precise as the news gave it: a day, or a UTC clock time."""
    if event.launch_time is None:
        return None
    if event.launch_day_only:
        return event.launch_time.strftime("%Y-%m-%d (time not announced)")
    return event.launch_time.strftime("%Y-%m-%d %H:%M UTC")


def format_lead(seconds: int) -> str:
    """A reminder's lead time: ``5400`` -> ``"1h30m"``, ``86400`` -> ``"1d"``."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = (
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    )
    return "".join(parts) or "0m"
