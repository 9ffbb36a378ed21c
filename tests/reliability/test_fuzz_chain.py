"""Fuzz target: feed bytes → articles → launch match → event → terminal text and Discord embed.

Hypothesis writes feeds whose titles, summaries and links are hostile (mentions, markdown
and masked-link breakouts, control and bidi characters, terminal escapes, entities, CDATA,
huge strings, broken XML) around real launch phrases, so the matcher fires and the whole
chain runs. Whatever comes in:

* the parser returns articles within their size caps or raises ParseError, nothing else;
* the terminal text carries no control or bidi characters;
* the embed is within every Discord limit (checked by the fake Discord's own validator);
* no text anywhere can ping anyone: even with no ``allowed_mentions`` at all, the alert
  pings exactly the subscribed role, and the embed holds no mention syntax;
* no source line can break out of its one markdown link.

CI runs a bounded, derandomised pass. The long run::

    pytest -m slow tests/reliability/test_fuzz_chain.py                  # 3,000 random feeds
    LAUNCHWATCH_FUZZ_EXAMPLES=100000 pytest -m slow tests/reliability/test_fuzz_chain.py
"""

from __future__ import annotations

import os
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.embeds import embed_problems, post_content, render_detail_embed, render_event_embed
from bot.publisher import alert_mentions
from handlers.domain import Article, LaunchEvent
from handlers.errors import ParseError
from handlers.events import resolve
from handlers.matching.matcher import LaunchMatcher, default_matcher
from handlers.parser import MAX_SUMMARY_CHARS, MAX_TITLE_CHARS, parse_feed
from handlers.summary import render_event_text
from tests.fakediscord.errors import FormErrors
from tests.fakediscord.validation import (
    EVERYONE_RE,
    MESSAGE_CREATE_FLAGS,
    ROLE_MENTION_RE,
    USER_MENTION_RE,
    compute_pings,
    validate_message,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ROLE = 4242
SHARED_FEEDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "feeds"
OWN_FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
MATCHER: LaunchMatcher = default_matcher()

LAUNCH_PHRASES = [
    "Falcon 9 launches Starlink 10-5 from Cape Canaveral",
    "Soyuz MS-29 blasts off from Baikonur with three crew members bound for the ISS",
    "Electron rocket launches NASA smallsat from Mahia",
    "Ariane 6 launch scrubbed due to weather at Kourou",
    "Starship test flight ends in explosion after launch from Starbase",
    "New Glenn to launch Blue Moon lander on Friday",
    "Long March 5 launches Chang'e 7 from Wenchang",
]
HOSTILE = [
    "@everyone",
    "@here",
    "<@123456789012345678>",
    "<@!1>",
    "<@&42>",
    "<#99>",
    "</launch:1>",
    "@\u200beveryone",
    "＠everyone",
    "**bold**",
    "__u__",
    "~~s~~",
    "`code`",
    "```block```",
    "||spoiler||",
    "> quote",
    "# Heading",
    "-# small",
    "[click](https://evil.example)",
    "](https://evil.example)",
    "[x](javascript:alert(1))",
    '[a](https://x.example "t")',
    "\\",
    "\\\\*",
    "\\](",
    "&amp;lt;b&amp;gt;",
    "<b>bold</b>",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<![CDATA[x]]>",
    "\u202e",
    "\u2066",
    "\u200b",
    "\ufeff",
    "\x1b[2J",
    "\x1b]0;pwned\x07",
    "\x00",
    "\x07",
    "\r\n",
    "\t",
    "&lol;",
    "&#0;",
    "&#x1b;",
    "&#55357;",
    "%00",
    "https://discord.gg/invite",
    "👨\u200d🚀",
    "ﷺ",
    "Z\u0351\u0352\u0353\u0354\u0355\u0356\u0357",
]
LINKS = [
    None,
    "https://news.example/story",
    "javascript:alert(1)",
    "https://discord.com@evil.example/",
    "http://x.example/a)[y](https://evil.example",
    "https://x.example/" + "a" * 3000,
    "//evil.example/x",
    "http://127.0.0.1/admin",
    "https://ok.example/a b",
    "https://ok.example/<script>",
    "data:text/html,hi",
    "https://ok.example/\u202e/x",
]
UNIQUE = "(unique)"  # a guid of its own, so items with the same link stay separate
ALLOWED_FORMAT = {"\u200b", "\u200d"}  # ZWSP (inserted to defuse mentions) and emoji joiner

fragment = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(LAUNCH_PHRASES),
    st.text(max_size=30),
    st.builds(lambda s, n: s * n, st.sampled_from([*HOSTILE, "A"]), st.integers(1, 2500)),
)
hostile_text = st.lists(fragment, max_size=6).map("".join)
launchy_text = st.builds(
    lambda before, phrase, after: before + phrase + after,
    hostile_text,
    st.sampled_from(LAUNCH_PHRASES),
    hostile_text,
)
item = st.fixed_dictionaries(
    {
        "title": st.one_of(launchy_text, hostile_text),
        "summary": hostile_text,
        "link": st.sampled_from(LINKS),
        "guid": st.one_of(st.just(UNIQUE), st.none(), hostile_text),
        "mode": st.sampled_from(["escaped", "cdata", "raw"]),
        "minutes_ago": st.integers(-3000, 6000),
    }
)
feed_doc = st.fixed_dictionaries(
    {
        "title": hostile_text,
        "items": st.lists(item, min_size=1, max_size=6),
        "kind": st.sampled_from(["rss", "atom"]),
        "charset": st.sampled_from(["utf-8", "iso-8859-1", "utf-16"]),
    }
)


def _field(value: str, mode: str) -> str:
    if mode == "cdata":
        return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"
    if mode == "raw":
        return value
    return escape(value)


def build_feed(doc: dict) -> bytes:  # type: ignore[type-arg]
    """Render a generated feed as RSS 2.0 or Atom, in the requested charset."""
    parts = []
    for i, it in enumerate(doc["items"]):
        when = NOW - timedelta(minutes=it["minutes_ago"])
        title = _field(it["title"], it["mode"])
        summary = _field(it["summary"], it["mode"])
        link = escape(it["link"] or "", {'"': "&quot;"})
        guid = f"item-{i}" if it["guid"] == UNIQUE else it["guid"]
        guid = escape(guid) if guid is not None else None
        if doc["kind"] == "rss":
            parts.append(
                f"<item><title>{title}</title><description>{summary}</description>"
                + (f"<link>{link}</link>" if it["link"] else "")
                + (f"<guid>{guid}</guid>" if guid is not None else "")
                + f"<pubDate>{when:%a, %d %b %Y %H:%M:%S} +0000</pubDate></item>"
            )
        else:
            parts.append(
                f'<entry><title type="html">{title}</title><summary>{summary}</summary>'
                + (f'<link href="{link}"/>' if it["link"] else "")
                + (f"<id>{guid}</id>" if guid is not None else "")
                + f"<updated>{when:%Y-%m-%dT%H:%M:%SZ}</updated></entry>"
            )
    head = f'<?xml version="1.0" encoding="{doc["charset"]}"?>'
    if doc["kind"] == "rss":
        text = (
            f'{head}<rss version="2.0"><channel><title>{escape(doc["title"])}</title>'
            f"<link>https://news.example/</link>{''.join(parts)}</channel></rss>"
        )
    else:
        text = (
            f'{head}<feed xmlns="http://www.w3.org/2005/Atom"><title>{escape(doc["title"])}'
            f"</title>{''.join(parts)}</feed>"
        )
    return text.encode(doc["charset"], errors="replace")


# ------------------------------------------------------------------------- the checks


def _bad_chars(text: str, allowed: set[str]) -> list[str]:
    return [
        f"U+{ord(ch):04X}"
        for ch in text
        if ch != "\n" and ch not in allowed and unicodedata.category(ch) in ("Cc", "Cf", "Cs")
    ]


def _embed_strings(embed: discord.Embed) -> list[str]:
    data = embed.to_dict()
    strings = [data.get("title", ""), data.get("description", "")]
    strings += [data.get("footer", {}).get("text", ""), data.get("author", {}).get("name", "")]
    for f in data.get("fields", []):
        strings += [f["name"], f["value"]]
    return [s for s in strings if s]


def check_event(event: LaunchEvent) -> None:
    """Every rendering of ``event`` is inert and within Discord's limits."""
    text = render_event_text(event, max_sources=50)
    assert not _bad_chars(text, {"\u200d"}), _bad_chars(text, {"\u200d"})

    for embed in (render_event_embed(event, role_id=ROLE), render_detail_embed(event)):
        assert embed_problems(embed) == [], embed_problems(embed)
        content = post_content(event, role_id=ROLE)
        payload = {
            "embeds": [embed.to_dict()],
            "content": content,
            "allowed_mentions": alert_mentions(ROLE).to_dict(),
            "nonce": "lw-1",
        }
        errors = FormErrors()
        validate_message(errors, payload, allowed_flags=MESSAGE_CREATE_FLAGS)
        assert not errors, errors.tree
        # Worst case: Discord parsing every mention in the content. Only the role pings.
        pings = compute_pings(content or "", None, None)
        assert not pings.users and pings.roles == {ROLE} and not pings.everyone, pings
        for s in _embed_strings(embed):
            assert not USER_MENTION_RE.search(s) and not ROLE_MENTION_RE.search(s), s
            assert not EVERYONE_RE.search(s), s
            assert not _bad_chars(s, ALLOWED_FORMAT), (_bad_chars(s, ALLOWED_FORMAT), s)
        assert "](" not in (embed.title or "")
        for f in embed.fields:
            if f.name.startswith("Sources"):
                for line in f.value.splitlines():
                    # One link per line, whose text cannot contain a bracket to close it.
                    assert line.count("](") <= 1, line
                    if "](" in line:
                        assert re.match(r"^• \[[^\[\]]*\]\(https?://[^\s()<>]+\)", line), line


def run_chain(body: bytes, headers: dict[str, str] | None = None) -> int:
    """Feed bytes through the whole chain; return how many launch events came out."""
    try:
        parsed = parse_feed(body, headers or {}, feed_url="https://feeds.example/rss", now=NOW)
    except ParseError:
        return 0
    events: dict[str, LaunchEvent] = {}
    for article in parsed.articles:
        assert isinstance(article, Article)
        assert article.title and len(article.title) <= MAX_TITLE_CHARS
        assert len(article.summary) <= MAX_SUMMARY_CHARS
        assert article.link is None or article.link.startswith(("http://", "https://"))
        mention = MATCHER.match_article(article)
        if mention is None:
            continue
        existing = events.get(mention.event_key)
        change = resolve(mention, article, [existing] if existing else [], NOW)
        events[mention.event_key] = change.event
    for event in events.values():
        check_event(event)
    return len(events)


# ------------------------------------------------------------------------------ tests

FAST = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
LONG = settings(
    max_examples=int(os.environ.get("LAUNCHWATCH_FUZZ_EXAMPLES", "3000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FAST
@given(feed_doc)
def test_fuzz_feed_to_alert_chain(doc):
    run_chain(build_feed(doc))


@pytest.mark.slow
@LONG
@given(feed_doc)
def test_fuzz_feed_to_alert_chain_long(doc):
    run_chain(build_feed(doc))


@FAST
@given(st.binary(max_size=4000))
def test_fuzz_arbitrary_bytes_never_crash_the_chain(body):
    run_chain(body)


def test_the_fuzzer_reaches_the_renderers():
    """A sanity check that generated feeds do make launch events (else the fuzz is moot)."""
    doc = {
        "title": "@everyone",
        "kind": "rss",
        "charset": "utf-8",
        "items": [
            {
                "title": "<@&1> **" + phrase + "** \x1b[2J [x](https://evil.example)",
                "summary": "@here \u202e",
                "link": "http://x.example/a)[y](https://evil.example",
                "guid": UNIQUE,
                "mode": mode,
                "minutes_ago": 5,
            }
            for phrase, mode in zip(LAUNCH_PHRASES, ["escaped", "cdata", "raw"] * 3, strict=False)
        ],
    }
    assert run_chain(build_feed(doc)) >= 5


def _corpus() -> list[Path]:
    files = [p for p in OWN_FEEDS.glob("*") if p.is_file()]
    if SHARED_FEEDS.is_dir():
        files += [p for p in SHARED_FEEDS.rglob("*") if p.is_file() and p.suffix != ".md"]
    return sorted(files)


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.name)
def test_every_corpus_feed_runs_the_whole_chain(path):
    """Real-world and hostile feed files, all the way to the embed."""
    run_chain(path.read_bytes())
