"""Alert embeds: right facts, inert hostile text, and every Discord limit, whatever the input."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.embeds import (
    CONTENT_MAX,
    EMBED_TOTAL_MAX,
    STATUS_COLOUR,
    ZWSP,
    embed_length_ok,
    embed_problems,
    followup_content,
    pack_lines,
    post_content,
    render_detail_embed,
    render_event_embed,
    render_list_embed,
    safe_text,
    safe_url,
    truncate,
)
from handlers.domain import LaunchEvent, LaunchStatus, Source, StatusChange

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# What a ping looks like to Discord, and invisible characters that can spoof text.
PING = re.compile(r"@(everyone|here)|<@[!&]?\d+>|<#\d+>")
SPOOFERS = re.compile("[\u200c-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def soyuz(**changes: object) -> LaunchEvent:
    """Soyuz MS-29 as LaunchWatch would know it after two articles."""
    base = LaunchEvent(
        id=7,
        key="soyuz-2-1a|soyuz-ms-29",
        status=LaunchStatus.LAUNCHED,
        vehicle="Soyuz-2.1a",
        mission="Soyuz MS-29",
        site="Baikonur Cosmodrome",
        crewed=True,
        agencies=("Roscosmos", "NASA"),
        launch_time=T0,
        summary="Two Roscosmos cosmonauts and a NASA astronaut lifted off for the ISS.",
        first_seen=T0 - timedelta(days=2),
        updated=T0,
        revision=3,
        sources=(
            Source(
                "a1",
                "Soyuz MS-29 launches three crew to the ISS",
                "https://news.example/a1",
                "Space News",
                T0,
            ),
            Source(
                "a2",
                "Russian Soyuz rocket lifts off",
                "https://other.example/a2",
                "Orbit Daily",
                T0,
            ),
        ),
        history=(
            StatusChange(LaunchStatus.UPCOMING, T0 - timedelta(days=2)),
            StatusChange(LaunchStatus.LAUNCHED, T0),
        ),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def fields(embed) -> dict[str, str]:
    return {f.name: f.value for f in embed.fields}


def all_text(embed) -> str:
    data = embed.to_dict()
    parts = [
        data.get("title", ""),
        data.get("description", ""),
        data.get("footer", {}).get("text", ""),
    ]
    parts += [f"{f['name']} {f['value']}" for f in data.get("fields", [])]
    return "\n".join(parts)


# --------------------------------------------------------------------------- facts


def test_alert_embed_shows_the_launch_facts():
    embed = render_event_embed(soyuz())
    assert embed.title == "🚀 Launched: Soyuz-2.1a | Soyuz MS-29"
    assert embed.url == "https://news.example/a1"
    assert embed.colour == STATUS_COLOUR[LaunchStatus.LAUNCHED]
    facts = fields(embed)
    assert facts["Vehicle"] == "Soyuz-2.1a"
    assert facts["Mission"] == "Soyuz MS-29"
    assert facts["Site"] == "Baikonur Cosmodrome"
    unix = int(T0.timestamp())
    assert facts["Launch time"] == f"<t:{unix}:F>\n<t:{unix}:R>"
    assert facts["Crewed"].startswith("Yes")
    assert facts["Agencies"] == "Roscosmos, NASA"
    assert (
        "[Soyuz MS-29 launches three crew to the ISS](https://news.example/a1)"
        in (facts["Sources (2)"])
    )
    assert "Upcoming" in embed.footer.text and "Launched" in embed.footer.text
    assert "lifted off" in embed.description
    assert embed_length_ok(embed)


def test_each_status_has_its_colour_and_label():
    colours = {
        LaunchStatus.UPCOMING: 0x3B82F6,
        LaunchStatus.SCRUBBED: 0xF59E0B,
        LaunchStatus.LAUNCHED: 0x22C55E,
        LaunchStatus.FAILED: 0xEF4444,
    }
    for status, colour in colours.items():
        embed = render_event_embed(soyuz(status=status))
        assert embed.colour.value == colour
        assert status.value.capitalize() in embed.title


def test_unknown_facts_are_left_out_not_shown_empty():
    embed = render_event_embed(
        soyuz(vehicle=None, site=None, crewed=None, agencies=(), launch_time=None, sources=())
    )
    assert set(fields(embed)) == {"Mission"}
    assert embed.title.endswith("Soyuz MS-29")
    assert embed.url is None


def test_hostile_article_text_cannot_ping_spoof_or_link():
    hostile = (
        "@everyone @here <@123456789012345678> <@&987654321098765432> <#555555555555555555> "
        "**bold** [free nitro](https://evil.example) [again](https://evil.example) "
        "\u202egnp.exe\u200b </launch:1> `code` ||spoiler|| > quote"
    )
    event = soyuz(
        mission=hostile,
        summary=hostile,
        agencies=(hostile,),
        sources=(Source("x", hostile, "https://evil.example/(x)", hostile, None),),
    )
    for embed in (render_event_embed(event), render_detail_embed(event)):
        text = all_text(embed)
        assert not PING.search(text), text
        assert not SPOOFERS.search(text)
        # No masked link except the ones LaunchWatch built from source URLs.
        for match in re.finditer(r"\]\(", text):
            assert text[match.end() :].startswith("https://evil.example/%28x%29")
        assert "\\*\\*bold\\*\\*" in text
        assert embed_length_ok(embed)


def test_only_http_links_are_ever_linked():
    event = soyuz(
        sources=(
            Source("1", "js", "javascript:alert(1)", "x", None),
            Source("2", "data", "data:text/html,hi", "x", None),
            Source("3", "creds", "https://discord.com@evil.example/", "x", None),
            Source("4", "space", "https://a.example/has space", "x", None),
            Source("5", "ok", "https://ok.example/path?q=1", "x", None),
        )
    )
    value = fields(render_event_embed(event))["Sources (5)"]
    assert value.count("](") == 1
    assert "[ok](https://ok.example/path?q=1)" in value
    assert render_event_embed(event).url == "https://ok.example/path?q=1"


def test_many_sources_are_split_and_counted_never_dropped_silently():
    sources = tuple(
        Source(
            f"k{i}",
            f"Report number {i} on the Soyuz launch " + "x" * 60,
            f"https://news{i}.example/story/{i}",
            f"Site {i}",
            T0,
        )
        for i in range(300)
    )
    embed = render_event_embed(soyuz(sources=sources))
    source_values = [f.value for f in embed.fields if f.name.startswith("Sources")]
    assert 1 < len(source_values) <= 3
    shown = sum(v.count("• ") for v in source_values)
    more = re.search(r"… and (\d+) more", source_values[-1])
    assert more and shown + int(more.group(1)) == 300
    assert embed_length_ok(embed)


def test_detail_embed_lists_history_and_as_many_sources_as_fit():
    sources = tuple(
        Source(f"k{i}", f"Story {i}", f"https://n.example/{i}", "News", T0) for i in range(40)
    )
    embed = render_detail_embed(soyuz(sources=sources))
    facts = fields(embed)
    assert "Upcoming" in facts["Status history"] and "Launched" in facts["Status history"]
    assert sum(v.count("• ") for n, v in facts.items() if n.startswith("Sources")) == 40
    assert "#7" in embed.footer.text
    assert embed_length_ok(embed)


def test_list_embed_is_one_line_per_launch_with_discord_timestamps():
    events = [soyuz(), soyuz(id=8, mission="Crew-12", vehicle="Falcon 9")]
    embed = render_list_embed("Recent launches", events)
    lines = embed.description.splitlines()
    assert len(lines) == 2
    assert "Soyuz MS-29" in lines[0] and "Crew-12" in lines[1]
    assert all(re.search(r"<t:\d+:R>", line) for line in lines)
    assert "No launches" in render_list_embed("Recent", []).description


def test_a_launch_day_without_a_time_is_shown_as_a_date_not_midnight():
    day = soyuz(status=LaunchStatus.UPCOMING, launch_time=T0.replace(hour=0, minute=0),
                launch_day_only=True)  # fmt: skip
    facts = fields(render_event_embed(day))
    assert "Launch time" not in facts
    assert facts["Launch date"].startswith(f"{day.launch_time:%a %d %b %Y}")
    line = render_list_embed("Upcoming", [day]).description
    assert f"on {day.launch_time:%d %b %Y}" in line and "<t:" not in line


# --------------------------------------------------------------------------- message content


def test_post_content_mentions_only_the_role_and_only_when_set():
    assert post_content(soyuz(), role_id=None) is None
    content = post_content(soyuz(mission="@everyone"), role_id=42)
    assert content.startswith("<@&42> ")
    assert [m.group(0) for m in PING.finditer(content)] == ["<@&42>"]


def test_followup_names_the_new_status_and_links_the_alert():
    link = "https://discord.com/channels/1/2/3"
    text = followup_content(soyuz(), LaunchStatus.LAUNCHED, role_id=None, jump_url=link)
    assert text.startswith("🚀 **Launched**: Soyuz-2.1a | Soyuz MS-29")
    assert text.endswith(link)
    huge = followup_content(
        soyuz(mission="m" * 5000), LaunchStatus.FAILED, role_id=9, jump_url=link
    )
    assert len(huge) <= CONTENT_MAX and huge.endswith(link) and huge.startswith("<@&9> 💥")


# --------------------------------------------------------------------------- helpers


def test_truncate_never_exceeds_and_marks_the_cut():
    assert truncate("abc", 3) == "abc"
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("ab\\\\cd", 4).endswith("…") and not truncate("ab\\\\cd", 4)[:-1].endswith("\\")


def test_safe_text_neutralises_mentions_with_a_zero_width_space():
    assert safe_text("@everyone") == "@" + ZWSP + "everyone"
    assert safe_text("<@&1>") == "<" + ZWSP + "@" + ZWSP + "&1>"
    assert safe_text("<t:0:R> <:e:1>") == f"<{ZWSP}t:0:R> <{ZWSP}:e:1>"
    assert safe_text("3 < 4") == "3 < 4"  # a plain "<" stays as it is


def test_safe_url_rejects_what_discord_or_markdown_would_choke_on():
    assert safe_url("https://example.com/a_b") == "https://example.com/a_b"
    assert safe_url("https://example.com/ü") == "https://example.com/%C3%BC"
    for bad in ("ftp://x.example/", "https://", "//x.example", "https://x.example/a\nb", None, ""):
        assert safe_url(bad) is None


def test_pack_lines_respects_the_limit_and_counts_the_rest():
    chunks = pack_lines(["x" * 100] * 50, limit=1024, max_chunks=2)
    assert len(chunks) == 2 and all(len(c) <= 1024 for c in chunks)
    assert chunks[-1].endswith("more")


# --------------------------------------------------------------------------- properties

hostile_text = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.sampled_from(
            [
                "@everyone",
                "@here",
                "<@1>",
                "<@&2>",
                "<#3>",
                "*",
                "_",
                "`",
                "|",
                "\\",
                "[",
                "](",
                "\u202e",
                "\u200b",
                "\u2066",
                "<b>",
                "</p",
                "&amp;",
                "\n",
                "x",
                "🚀",
                ")",
                "<@!4>",
            ]
        ),
        max_size=200,
    ).map("".join),
    st.text(min_size=1, max_size=20).map(lambda s: s * 500),  # huge
)
urls = st.one_of(
    st.none(),
    st.text(max_size=50),
    st.builds(lambda s: f"https://x.example/{s}", st.text(max_size=80)),
    st.just("https://" + "a" * 3000 + ".example/"),
)
times = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
    ),
)
sources = st.builds(
    Source,
    article_key=st.text(max_size=10),
    title=hostile_text,
    link=urls,
    site=hostile_text,
    published=times,
)
events = st.builds(
    LaunchEvent,
    id=st.integers(min_value=1, max_value=2**62),
    key=st.text(max_size=20),
    status=st.sampled_from(LaunchStatus),
    vehicle=st.one_of(st.none(), hostile_text),
    mission=st.one_of(st.none(), hostile_text),
    site=st.one_of(st.none(), hostile_text),
    crewed=st.one_of(st.none(), st.booleans()),
    agencies=st.lists(hostile_text, max_size=30).map(tuple),
    launch_time=times,
    summary=hostile_text,
    first_seen=st.just(T0),
    updated=st.just(T0),
    revision=st.integers(min_value=1, max_value=10),
    sources=st.lists(sources, max_size=120).map(tuple),
    history=st.lists(
        st.builds(StatusChange, status=st.sampled_from(LaunchStatus), at=st.just(T0)), max_size=200
    ).map(tuple),
)


def _assert_inert(embed) -> None:
    problems = embed_problems(embed)
    assert not problems, problems
    assert len(embed) <= EMBED_TOTAL_MAX
    text = all_text(embed)
    assert not PING.search(text)
    assert not SPOOFERS.search(text)
    assert embed.title.strip()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events, role=st.one_of(st.none(), st.integers(min_value=1, max_value=2**63)))
def test_alert_embed_respects_every_limit_whatever_the_input(event, role):
    _assert_inert(render_event_embed(event, role_id=role))
    content = post_content(event, role_id=role)
    if content is not None:
        assert len(content) <= CONTENT_MAX
        assert [m.group(0) for m in PING.finditer(content)] == [f"<@&{role}>"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events)
def test_detail_and_list_embeds_respect_every_limit(event):
    _assert_inert(render_detail_embed(event))
    _assert_inert(render_list_embed("Recent launches", [event] * 25))


@settings(max_examples=100, deadline=None)
@given(
    event=events,
    status=st.sampled_from(LaunchStatus),
    role=st.one_of(st.none(), st.integers(min_value=1, max_value=2**63)),
)
def test_followup_content_fits_and_pings_only_the_role(event, status, role):
    link = "https://discord.com/channels/1/2/3"
    text = followup_content(event, status, role_id=role, jump_url=link)
    assert len(text) <= CONTENT_MAX and text.endswith(link)
    assert [m.group(0) for m in PING.finditer(text)] == ([f"<@&{role}>"] if role else [])


@given(text=hostile_text, limit=st.integers(min_value=1, max_value=5000))
def test_safe_then_truncated_text_fits_and_pings_nobody(text, limit):
    out = truncate(safe_text(text), limit)
    assert len(out) <= limit
    assert not PING.search(out)
