"""Discord rendering of launch events: alert embeds, follow-up lines, list and detail views.

Everything shown comes from news feeds, so every string is treated as hostile: control and
invisible characters are removed (they can reorder or hide text), markdown is escaped,
masked links are broken up, and mentions are neutralised with a zero-width space so that
nothing renders as a ping or a clickable name. Every Discord size limit is enforced on
the result whatever the input; :func:`embed_problems` states those limits as a check.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime

import discord
import yarl

from handlers.domain import LaunchEvent, LaunchStatus, Source, StatusChange
from handlers.events import SCHEDULE_SITE
from handlers.schedule.launches import NetPrecision, ScheduledLaunch
from handlers.summary import format_lead

# Discord's documented limits.
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
CONTENT_MAX = 2000
URL_MAX = 2048

SUMMARY_MAX = 350
FACT_MAX = 256
HISTORY_MAX = 400
MAX_SOURCE_FIELDS = 3
_FIELD_NAME_ROOM = 24  # "Sources (cont.)" and the like
ELLIPSIS = "…"
ZWSP = "\u200b"

STATUS_EMOJI = {
    LaunchStatus.UPCOMING: "🗓️",
    LaunchStatus.SCRUBBED: "⏸️",
    LaunchStatus.LAUNCHED: "🚀",
    LaunchStatus.FAILED: "💥",
}
STATUS_LABEL = {
    LaunchStatus.UPCOMING: "Upcoming",
    LaunchStatus.SCRUBBED: "Scrubbed",
    LaunchStatus.LAUNCHED: "Launched",
    LaunchStatus.FAILED: "Failed",
}
STATUS_COLOUR = {
    LaunchStatus.UPCOMING: discord.Colour(0x3B82F6),  # blue
    LaunchStatus.SCRUBBED: discord.Colour(0xF59E0B),  # amber
    LaunchStatus.LAUNCHED: discord.Colour(0x22C55E),  # green
    LaunchStatus.FAILED: discord.Colour(0xEF4444),  # red
}

_WHITESPACE = re.compile(r"\s+")
_MASKED_LINK = "]("
# @everyone and @here, and every syntax Discord renders between angle brackets: mentions
# <@id> <@!id> <@&id>, channels <#id>, commands </name:id>, custom emoji <:name:id> and
# <a:name:id>, timestamps <t:0:R>, server navigation <id:customize>, and whatever comes
# next (they all open with "<" and a letter or one of @ # / :). A zero-width space after
# the "<" or "@" leaves the text readable and unparsed.
_ANGLE_SYNTAX = re.compile(r"<(?=[@#/:A-Za-z])")


# --------------------------------------------------------------------------- text safety


def strip_invisible(text: str) -> str:
    """Drop control, format (zero-width, bidi override …) and lone surrogate characters."""
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(" " if ch == "\t" else ch)
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
            continue
        out.append(ch)
    return "".join(out)


def neutralise_mentions(text: str) -> str:
    """Make mentions, @everyone/@here, emoji, timestamps and every other ``<…>`` syntax of
    Discord render as the plain text it is."""
    text = text.replace("@", "@" + ZWSP)
    return _ANGLE_SYNTAX.sub("<" + ZWSP, text)


def safe_text(text: str | None, *, single_line: bool = True) -> str:
    """Hostile text made inert: invisible characters gone, markdown escaped, no mentions."""
    if not text:
        return ""
    text = strip_invisible(text)
    if single_line:
        text = _WHITESPACE.sub(" ", text)
    text = text.strip()
    # Double existing backslashes first so a hostile "\*" cannot cancel our escapes.
    text = discord.utils.escape_markdown(text.replace("\\", "\\\\"))
    # escape_markdown only defuses the first of several masked links; split them all.
    text = text.replace(_MASKED_LINK, "]" + ZWSP + "(")
    return neutralise_mentions(text)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)].rstrip()
    # A dangling backslash would escape the ellipsis or the next line's markup.
    cut = cut.rstrip("\\")
    return (cut + ELLIPSIS)[:limit]


def safe_url(link: str | None) -> str | None:
    """An http(s) URL Discord will accept and that cannot break markdown, else None."""
    if not link:
        return None
    link = link.strip()
    if len(link) > URL_MAX or any(
        ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in link
    ):
        return None
    try:
        url = yarl.URL(link)
    except (ValueError, TypeError):
        return None
    # Credentials in a URL ("https://discord.com@evil.example") only serve to mislead.
    if url.scheme not in ("http", "https") or not url.host or url.user or url.password:
        return None
    try:
        text = str(url)
    except (ValueError, UnicodeError):
        return None
    # Parentheses and angle brackets would end a markdown link early.
    for raw, encoded in (("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E")):
        text = text.replace(raw, encoded)
    return text if len(text) <= URL_MAX and "://" in text else None


# --------------------------------------------------------------------------- limits


def embed_problems(embed: discord.Embed) -> list[str]:
    """Every Discord embed limit ``embed`` breaks (empty when it is fine to send)."""
    problems = []
    data = embed.to_dict()
    checks = [
        ("title", len(data.get("title", "")), TITLE_MAX),
        ("description", len(data.get("description", "")), DESCRIPTION_MAX),
        ("fields", len(data.get("fields", [])), FIELDS_MAX),
        ("footer", len(data.get("footer", {}).get("text", "")), FOOTER_MAX),
        ("author", len(data.get("author", {}).get("name", "")), AUTHOR_MAX),
        ("total", len(embed), EMBED_TOTAL_MAX),
    ]
    for i, fld in enumerate(data.get("fields", [])):
        checks.append((f"field {i} name", len(fld["name"]), FIELD_NAME_MAX))
        checks.append((f"field {i} value", len(fld["value"]), FIELD_VALUE_MAX))
        if not fld["name"].strip() or not fld["value"].strip():
            problems.append(f"field {i} is blank")
    problems.extend(f"{what}: {n} > {limit}" for what, n, limit in checks if n > limit)
    url = data.get("url")
    if url is not None and safe_url(url) != url:
        problems.append(f"url is not a safe http(s) URL: {url!r}")
    return problems


def embed_length_ok(embed: discord.Embed) -> bool:
    """True when ``embed`` respects every Discord limit."""
    return not embed_problems(embed)


def _add_field(embed: discord.Embed, name: str, value: str, *, inline: bool = True) -> None:
    name = truncate(name, FIELD_NAME_MAX)
    value = truncate(value, FIELD_VALUE_MAX)
    if name.strip() and value.strip() and len(embed.fields) < FIELDS_MAX:
        embed.add_field(name=name, value=value, inline=inline)


def _fit_total(embed: discord.Embed) -> discord.Embed:
    """Shrink an oversized embed: drop trailing fields, then shorten the description."""
    while len(embed) > EMBED_TOTAL_MAX and len(embed.fields) > 1:
        embed.remove_field(len(embed.fields) - 1)
    excess = len(embed) - EMBED_TOTAL_MAX
    if excess > 0 and embed.description:
        embed.description = truncate(embed.description, max(len(embed.description) - excess, 1))
    return embed


# --------------------------------------------------------------------------- pieces


def discord_time(when: datetime, style: str = "F") -> str:
    """A ``<t:unix:style>`` timestamp every reader sees in their own time zone."""
    return f"<t:{int(when.timestamp())}:{style}>"


def launch_day(when: datetime) -> str:
    """A launch date without a clock time. Plain text, not a Discord timestamp: midnight
    UTC would show as the day before to every reader west of Greenwich."""
    return f"{when:%a %d %b %Y} (time not announced)"


def safe_name(event: LaunchEvent, limit: int = TITLE_MAX) -> str:
    """``Vehicle | Mission`` with each part made safe (the separator itself stays plain)."""
    parts = [p for p in (safe_text(event.vehicle), safe_text(event.mission)) if p]
    return truncate(" | ".join(parts), limit) if parts else "Unknown launch"


def launch_title(event: LaunchEvent) -> str:
    """``<emoji> <Status>: <launch name>``, at most 256 characters."""
    name = safe_name(event)
    return truncate(f"{STATUS_EMOJI[event.status]} {STATUS_LABEL[event.status]}: {name}", TITLE_MAX)


def _fact_fields(event: LaunchEvent) -> list[tuple[str, str]]:
    # Facts are short in practice; the caps keep the sources' share of the 6000 total.
    facts = [
        ("Vehicle", truncate(safe_text(event.vehicle), FACT_MAX)),
        ("Mission", truncate(safe_text(event.mission), FACT_MAX)),
        ("Site", truncate(safe_text(event.site), FACT_MAX)),
    ]
    if event.launch_time is not None and event.launch_day_only:
        facts.append(("Launch date", launch_day(event.launch_time)))
    elif event.launch_time is not None:
        when = event.launch_time
        facts.append(("Launch time", f"{discord_time(when)}\n{discord_time(when, 'R')}"))
    if event.crewed is not None:
        facts.append(("Crewed", "Yes" if event.crewed else "No"))
    agencies = ", ".join(a for a in (safe_text(x) for x in event.agencies) if a)
    facts.append(("Agencies", truncate(agencies, 2 * FACT_MAX)))
    return [(name, value) for name, value in facts if value]


def source_line(source: Source) -> str:
    """``• [title](url) — site``; titles without a usable link are plain text."""
    title = safe_text(source.title) or "untitled"
    # Link text must stay on one line and may not contain brackets that close the link.
    title = truncate(title.replace("[", "(").replace("]", ")"), 200)
    url = safe_url(source.link)
    text = f"[{title}]({url})" if url else title
    site = truncate(safe_text(source.site), 60)
    return f"• {text}" + (f" — {site}" if site else "")


def pack_lines(
    lines: Sequence[str], *, limit: int = FIELD_VALUE_MAX, max_chunks: int = MAX_SOURCE_FIELDS
) -> list[str]:
    """Whole lines packed into at most ``max_chunks`` chunks of ``limit`` characters.

    Lines that do not fit are summarised as "… and N more" at the end of the last chunk.
    """
    chunks: list[list[str]] = [[]]
    sizes = [0]
    placed = 0
    for line in lines:
        line = truncate(line, limit)
        extra = len(line) + (1 if chunks[-1] else 0)
        if sizes[-1] + extra > limit:
            if len(chunks) == max_chunks:
                break
            chunks.append([])
            sizes.append(0)
            extra = len(line)
        chunks[-1].append(line)
        sizes[-1] += extra
        placed += 1
    left = len(lines) - placed
    if left:
        more = f"… and {left} more"
        last = chunks[-1]
        while last and sizes[-1] + len(more) + 1 > limit:
            sizes[-1] -= len(last.pop()) + 1
            left += 1
            more = f"… and {left} more"
        last.append(more)
    return ["\n".join(c) for c in chunks if c]


def _source_fields(
    sources: Sequence[Source], *, room: int, max_fields: int
) -> list[tuple[str, str]]:
    """Source links in as many fields as fit in ``room`` characters (and ``max_fields``)."""
    if not sources or max_fields < 1:
        return []
    per_field = FIELD_VALUE_MAX + _FIELD_NAME_ROOM
    count = min(max_fields, room // per_field)
    limit = FIELD_VALUE_MAX
    if count < 1:
        count, limit = 1, room - _FIELD_NAME_ROOM
        if limit < 60:
            return []
    chunks = pack_lines([source_line(s) for s in sources], limit=limit, max_chunks=count)
    first = f"Sources ({len(sources)})"
    return [(first if i == 0 else "Sources (cont.)", chunk) for i, chunk in enumerate(chunks)]


def history_text(history: Sequence[StatusChange], limit: int = FOOTER_MAX) -> str:
    """``Upcoming 12 Mar 10:00 → Launched 14 Mar 09:12 UTC``, oldest dropped first if long."""
    steps = [f"{STATUS_LABEL[h.status]} {h.at:%d %b %H:%M}" for h in history]
    text = " → ".join(steps) + " UTC" if steps else ""
    while len(text) > limit and len(steps) > 1:
        steps.pop(0)
        text = "… → " + " → ".join(steps) + " UTC"
    return truncate(text, limit)


def summary_text(event: LaunchEvent, limit: int = SUMMARY_MAX) -> str:
    """The first article's summary, made safe and short."""
    return truncate(safe_text(event.summary), limit)


def first_link(event: LaunchEvent) -> str | None:
    """The first source with a usable link (the embed title links to it)."""
    for source in event.sources:
        url = safe_url(source.link)
        if url:
            return url
    return None


# --------------------------------------------------------------------------- embeds


def _base_embed(event: LaunchEvent) -> discord.Embed:
    return discord.Embed(
        title=launch_title(event),
        url=first_link(event),
        colour=STATUS_COLOUR[event.status],
        timestamp=event.updated,
    )


def render_event_embed(event: LaunchEvent, *, role_id: int | None = None) -> discord.Embed:
    """The alert embed a subscribed channel sees (and that later edits keep current).

    ``role_id`` is accepted for symmetry with the message content; the embed never
    mentions anyone (mentions in embeds do not ping, they only look like pings).
    """
    embed = _base_embed(event)
    summary = summary_text(event)
    if summary:
        embed.description = summary
    for name, value in _fact_fields(event):
        _add_field(embed, name, value)
    history = history_text(event.history, HISTORY_MAX)
    if history:
        embed.set_footer(text=history)
    room = EMBED_TOTAL_MAX - len(embed)
    for name, value in _source_fields(event.sources, room=room, max_fields=MAX_SOURCE_FIELDS):
        _add_field(embed, name, value, inline=False)
    return _fit_total(embed)


def render_detail_embed(
    event: LaunchEvent, scheduled: ScheduledLaunch | None = None
) -> discord.Embed:
    """Everything known about one launch: facts, what the schedule says (NET window,
    probability, pad, webcast), full status history, every source."""
    embed = _base_embed(event)
    summary = truncate(safe_text(event.summary), 1500)
    if summary:
        embed.description = summary
    for name, value in _fact_fields(event):
        _add_field(embed, name, value)
    if scheduled is not None:
        for name, value in _schedule_fields(scheduled):
            _add_field(embed, name, value)
    steps = [
        f"{STATUS_EMOJI[h.status]} {STATUS_LABEL[h.status]} — {discord_time(h.at, 'f')}"
        for h in event.history
    ]
    for i, chunk in enumerate(pack_lines(steps, max_chunks=1)):
        _add_field(embed, "Status history" if i == 0 else "\u200b", chunk, inline=False)
    embed.set_footer(text=f"Event #{event.id} · first seen {event.first_seen:%d %b %Y %H:%M} UTC")
    room = EMBED_TOTAL_MAX - len(embed)
    fields_left = FIELDS_MAX - len(embed.fields)
    for name, value in _source_fields(event.sources, room=room, max_fields=fields_left):
        _add_field(embed, name, value, inline=False)
    return _fit_total(embed)


def _schedule_fields(launch: ScheduledLaunch) -> list[tuple[str, str]]:
    fields = [("Schedule", safe_text(launch.status.value))]
    if launch.window_start and launch.window_end and launch.window_end > launch.window_start:
        opens, closes = discord_time(launch.window_start, "t"), discord_time(launch.window_end, "t")
        fields.append(("Window", f"{opens} – {closes}"))
    if launch.probability is not None:
        fields.append(("Probability", f"{launch.probability}%"))
    if launch.pad:
        fields.append(("Pad", truncate(safe_text(launch.pad), 200)))
    if launch.webcasts:
        fields.append(("Webcast", truncate(f"<{launch.webcasts[0]}>", 1000)))
    return fields


def schedule_net(launch: ScheduledLaunch, *, long: bool = False) -> str:
    """The schedule's NET as precise as it is known: a Discord timestamp (each reader's
    time zone) for a time, a date for a day, a month for anything coarser."""
    if launch.net_precision.has_time:
        if long:
            return f"{discord_time(launch.net, 'F')} ({discord_time(launch.net, 'R')})"
        return f"{discord_time(launch.net, 'R')} ({discord_time(launch.net, 'f')})"
    if launch.net_precision is NetPrecision.DAY:
        return f"{launch.net:%d %b %Y} (day only)" if long else f"on {launch.net:%d %b %Y}"
    return f"not before {launch.net:%B %Y}" if long else f"NET {launch.net:%b %Y}"


def render_schedule_embed(launch: ScheduledLaunch) -> discord.Embed:
    """A launch only the schedule knows so far (no news yet): its NET as precise as the
    schedule says, provider, vehicle, mission, site and the schedule's own fields."""
    embed = discord.Embed(
        title=truncate(safe_text(launch.name), TITLE_MAX),
        colour=discord.Colour(0x3B82F6),
        timestamp=launch.last_updated,
    )
    facts = [
        ("NET", schedule_net(launch, long=True)),
        ("Provider", launch.provider),
        ("Vehicle", launch.vehicle),
        ("Mission", launch.mission),
        ("Site", launch.location),
    ]
    for name, value in facts:
        if value:
            _add_field(embed, name, truncate(safe_text(value), 300) if name != "NET" else value)
    for name, value in _schedule_fields(launch):
        _add_field(embed, name, value)
    embed.set_footer(text="From the launch schedule; no news about it yet.")
    return _fit_total(embed)


def event_time(event: LaunchEvent) -> datetime:
    """The time a list shows for an event: launch time if known, else its last change."""
    if event.launch_time is not None:
        return event.launch_time
    return event.history[-1].at if event.history else event.updated


def list_line(event: LaunchEvent) -> str:
    """One compact line of a launch list."""
    name = safe_name(event, 120)
    when = event_time(event)
    label = STATUS_LABEL[event.status].lower()
    shown = (
        f"on {when:%d %b %Y}"
        if event.launch_day_only and when == event.launch_time
        else discord_time(when, "R")
    )
    parts = [f"{STATUS_EMOJI[event.status]} **{name}**", f"{label} {shown}"]
    site = truncate(safe_text(event.site), 60)
    if site:
        parts.append(site)
    return " · ".join(parts)


def render_list_embed(
    title: str, events: Iterable[LaunchEvent], *, empty: str = "No launches found."
) -> discord.Embed:
    """A compact list of launches (newest first, as given), one line each."""
    return render_lines_embed(title, [list_line(e) for e in events], empty=empty)


def schedule_line(launch: ScheduledLaunch, linked: LaunchEvent | None) -> str:
    """One line of the schedule: name, the schedule's status, NET as precise as it is known
    (a Discord timestamp: each reader's time zone), site, and the news linked to it."""
    name = truncate(safe_text(launch.name), 120)
    when = schedule_net(launch)
    parts = [f"🗓️ **{name}**", f"{safe_text(launch.status.value)} · {when}"]
    if launch.location or launch.pad:
        parts.append(truncate(safe_text(launch.location or launch.pad or ""), 60))
    if linked is not None:
        news = sum(1 for s in linked.sources if s.site != SCHEDULE_SITE)
        if news:
            parts.append(f"📰 {news} news {'story' if news == 1 else 'stories'}")
    return " · ".join(parts)


def render_lines_embed(
    title: str, lines: list[str], *, empty: str = "No launches found."
) -> discord.Embed:
    """A compact list embed of ready-made lines."""
    embed = discord.Embed(title=truncate(title, TITLE_MAX), colour=discord.Colour(0x3B82F6))
    if not lines:
        embed.description = empty
        return embed
    embed.description = pack_lines(lines, limit=DESCRIPTION_MAX, max_chunks=1)[0]
    embed.set_footer(text="Times are shown in your time zone. /launch <name> for details.")
    return _fit_total(embed)


# --------------------------------------------------------------------------- message content


def role_mention(role_id: int | None) -> str:
    """``<@&id>`` or empty."""
    return f"<@&{role_id}>" if role_id else ""


def post_content(event: LaunchEvent, *, role_id: int | None) -> str | None:
    """Content of a new alert: only when a role is to be pinged (the embed says the rest)."""
    if not role_id:
        return None
    name = safe_name(event, 300)
    status = f"{STATUS_EMOJI[event.status]} {STATUS_LABEL[event.status]}"
    return truncate(f"{role_mention(role_id)} {status}: {name}", CONTENT_MAX)


def followup_content(
    event: LaunchEvent,
    status: LaunchStatus,
    *,
    role_id: int | None,
    jump_url: str | None,
) -> str:
    """A short follow-up line: ``🚀 **Launched**: Falcon 9 | Crew-12`` plus a link back."""
    name = safe_name(event, 300)
    head = f"{STATUS_EMOJI[status]} **{STATUS_LABEL[status]}**: {name}"
    if role_id:
        head = f"{role_mention(role_id)} {head}"
    link = f"\n↪ {jump_url}" if jump_url else ""
    return truncate(head, CONTENT_MAX - len(link)) + link


def reminder_content(
    event: LaunchEvent,
    lead: int,
    *,
    role_id: int | None,
    jump_url: str | None,
    webcast: str | None = None,
) -> str:
    """``⏰ **T-1h**: Falcon 9 | Crew-12 lifts off <t:…:R> (<t:…:f>)`` plus webcast and link
    (lead 0: ``🕒 **New time**: …``, the launch a channel was reminded of moved).

    The time is a Discord timestamp, so each reader sees it in their own time zone."""
    name = safe_name(event, 300)
    head = f"⏰ **T-{format_lead(lead)}**: {name}" if lead else f"🕒 **New time**: {name}"
    if event.launch_time is not None:
        head += (
            f" lifts off {discord_time(event.launch_time, 'R')}"
            f" ({discord_time(event.launch_time, 'f')})"
        )
    if role_id:
        head = f"{role_mention(role_id)} {head}"
    tail = ""
    if webcast:
        tail += f"\n📺 <{webcast}>"
    if jump_url:
        tail += f"\n↪ {jump_url}"
    return truncate(head, CONTENT_MAX - len(tail)) + tail


def notice_content(
    event: LaunchEvent,
    tag: str,
    *,
    role_id: int | None,
    jump_url: str | None,
    webcast: str | None = None,
) -> str:
    """The reply a status notice posts: a status (``launched`` ...), ``go``, ``success``,
    ``webcast`` or ``time@<launch time>`` (see :class:`handlers.domain.Notice`)."""
    if tag in LaunchStatus.__members__.values():
        return followup_content(event, LaunchStatus(tag), role_id=role_id, jump_url=jump_url)
    if tag.startswith("time@"):
        return reminder_content(event, 0, role_id=role_id, jump_url=jump_url)
    name = safe_name(event, 300)
    if tag == "go":
        head = f"🟢 **Go for launch**: {name}"
        if event.launch_time is not None and not event.launch_day_only:
            head += f" lifts off {discord_time(event.launch_time, 'R')}"
    elif tag == "webcast":
        head = f"📺 **Webcast live**: {name}"
        if event.launch_time is not None and not event.launch_day_only:
            head += f", liftoff {discord_time(event.launch_time, 'R')}"
        if webcast:
            head += f"\n{webcast}"
    else:
        head = f"✅ **Success**: {name}"
    if role_id:
        head = f"{role_mention(role_id)} {head}"
    link = f"\n↪ {jump_url}" if jump_url else ""
    return truncate(head, CONTENT_MAX - len(link)) + link
