"""parse_feed, canonical_url, article_key and strip_html on hand-made and real-world feeds."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.domain import Article
from handlers.errors import FeedError, ParseError
from handlers.parser import (
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    ParsedFeed,
    article_key,
    canonical_url,
    is_tracking_param,
    parse_feed,
    strip_html,
)
from tests.budget import cpu_seconds_at_most
from tests.feedserver import FeedServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
SHARED_FEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "feeds"
FEED_URL = "https://fixture.example/feeds/main.xml"
NOW = datetime(2024, 6, 1, tzinfo=UTC)
KEY = re.compile(r"^(guid|url|title):[0-9a-f]{32}$")


def parse(name: str, **kwargs: object) -> ParsedFeed:
    body = (FIXTURES / name).read_bytes()
    return parse_feed(body, {}, feed_url=FEED_URL, now=NOW, **kwargs)  # type: ignore[arg-type]


def by_title(feed: ParsedFeed) -> dict[str, Article]:
    return {a.title: a for a in feed.articles}


# ---------------------------------------------------------------- formats


def test_rss20() -> None:
    feed = parse("rss20.xml", feed_id=7)
    assert feed.title == "Orbital & Suborbital News"
    assert feed.link == "https://news.example.com/"
    assert feed.version == "rss20"
    assert not feed.bozo
    assert [a.title for a in feed.articles] == [
        "Falcon 9 launches Starlink batch",
        "Electron scrubbed at T-2 minutes",
        "Vulcan rolls out",
    ]
    falcon, electron, vulcan = feed.articles
    assert falcon.summary == "A Falcon 9 lifted off from SLC-40. Second’s paragraph & more."
    assert "alert" not in falcon.summary
    assert "color" not in falcon.summary
    assert falcon.link == "https://news.example.com/2024/03/falcon-9-starlink"
    assert falcon.published == datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    assert falcon.source == "Orbital & Suborbital News"
    assert falcon.feed_id == 7
    assert falcon.key == article_key(guid="news-example-1001", link=None, title="", published=None)
    assert electron.summary == "Rocket Lab stood down because of weather."
    assert electron.published == datetime(2024, 3, 4, 14, 0, tzinfo=UTC)
    assert vulcan.published is None
    assert all(KEY.match(a.key) for a in feed.articles)


def test_atom() -> None:
    feed = parse("atom.xml")
    assert feed.title == "Launch Blog"
    assert feed.link == "https://blog.example.org/"
    assert feed.version == "atom10"
    starship, ariane = feed.articles
    assert starship.title == "Starship flight test"
    assert starship.summary == "Starship flew again."
    # Relative to the document's xml:base, not to the URL it was fetched from.
    assert starship.link == "https://blog.example.org/posts/starship-ift"
    assert starship.published == datetime(2024, 4, 1, 10, 0, tzinfo=UTC)
    assert starship.key.startswith("guid:")
    assert ariane.title == "Ariane 6 & friends"
    assert ariane.summary == "Europe's new launcher."
    # No <published>: fall back to <updated>.
    assert ariane.published == datetime(2024, 3, 30, 8, 15, tzinfo=UTC)


def test_rss10_rdf() -> None:
    feed = parse("rdf.xml")
    assert feed.version == "rss10"
    assert feed.title == "RDF Space Wire"
    h3, pslv = feed.articles
    assert h3.link == "https://rdf.example.net/a"
    assert h3.published == datetime(2024, 2, 17, 0, 22, tzinfo=UTC)
    assert pslv.published == datetime(2024, 2, 16, 4, 30, tzinfo=UTC)
    assert pslv.summary == "ISRO prepares the next PSLV."


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("page.html", "it is an HTML page"),
        ("feed.json", "it is a JSON document"),
        ("garbage.bin", "it is binary data"),
    ],
)
def test_not_a_feed(name: str, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(name)
    message = str(info.value)
    assert message.startswith(f"feed {FEED_URL} is not a feed: {reason}")
    assert "\n" not in message
    assert info.value.url == FEED_URL
    assert isinstance(info.value, FeedError)


@pytest.mark.parametrize(
    "body",
    [b"", b"   \n", b"<?xml version='1.0'?>", b"<notafeed><x/></notafeed>", b"\x00" * 100],
)
def test_degenerate_bodies_are_parse_errors(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(body, {}, feed_url=FEED_URL)


def test_empty_but_valid_feed_has_no_articles() -> None:
    body = b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    feed = parse_feed(body, {}, feed_url=FEED_URL)
    assert feed.title == "Quiet"
    assert feed.articles == ()


def test_invalid_utf8_is_read_with_a_fallback_encoding() -> None:
    feed = parse("invalid-utf8.xml")
    assert feed.bozo
    assert feed.articles[0].title == "Café launch € report"


def test_charset_from_headers_is_used() -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Noticias</title>'
        "<item><title>Lançamento</title><link>https://x.example/1</link></item>"
        "</channel></rss>"
    ).encode("iso-8859-1")
    feed = parse_feed(
        body, {"Content-Type": "application/rss+xml; charset=ISO-8859-1"}, feed_url=FEED_URL
    )
    assert feed.articles[0].title == "Lançamento"


def test_gzip_bytes_without_content_encoding_are_inflated() -> None:
    body = gzip.compress((FIXTURES / "rss20.xml").read_bytes())
    feed = parse_feed(body, {}, feed_url=FEED_URL)
    assert len(feed.articles) == 3


def test_corrupt_gzip_bytes_are_a_parse_error() -> None:
    with pytest.raises(ParseError, match="corrupt gzip"):
        parse_feed(b"\x1f\x8b" + b"\x00" * 50, {}, feed_url=FEED_URL)


def test_bozo_feed_with_usable_entries_is_accepted() -> None:
    body = (
        b'<rss version="2.0"><channel><title>Broken</title>'
        b"<item><title>Good</title><link>https://x.example/good</link></item>"
        b"<item><title>Bad & unescaped</title><link>https://x.example/bad?a=1&b=2</link></item>"
        b"</channel>"
    )
    feed = parse_feed(body, {}, feed_url=FEED_URL)
    assert feed.bozo
    assert [a.title for a in feed.articles] == ["Good", "Bad & unescaped"]


def test_rss091_doctype_without_entities_still_parses() -> None:
    body = (
        b'<?xml version="1.0"?>\n'
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
        b'<rss version="0.91"><channel><title>Old</title><link>https://old.example/</link>'
        b"<item><title>Mercury&#160;7</title><link>https://old.example/1</link></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body, {}, feed_url=FEED_URL)
    assert feed.version == "rss091n"
    assert [a.title for a in feed.articles] == ["Mercury 7"]


# ------------------------------------------------------------ XML hazards


def test_xxe_fixture_does_not_read_local_files() -> None:
    feed = parse("xxe.xml")
    text = " ".join(f"{a.title} {a.summary}" for a in feed.articles)
    assert "root:" not in text
    assert feed.articles[0].link == "https://xxe.example.com/1"


async def test_xxe_reads_no_file_and_makes_no_request(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER-42")
    async with FeedServer() as srv:
        srv.route("/evil.dtd", body=b'<!ENTITY leak "DTD-MARKER">')
        srv.route("/leak", body=b"HTTP-MARKER")
        body = f"""<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "{srv.url("/evil.dtd")}" [
  <!ENTITY file SYSTEM "{secret.as_uri()}">
  <!ENTITY http SYSTEM "{srv.url("/leak")}">
  <!ENTITY % dtd SYSTEM "{srv.url("/evil.dtd")}">
  %dtd;
]>
<rss version="2.0"><channel><title>X</title>
<item><title>a &file; b &http; c &leak;</title><link>https://x.example/1</link>
<description>&file;&http;</description></item></channel></rss>""".encode()
        feed = parse_feed(body, {}, feed_url=FEED_URL)
        assert srv.requests == []
    text = " ".join(f"{a.title} {a.summary}" for a in feed.articles)
    for marker in ("TOP-SECRET-MARKER", "DTD-MARKER", "HTTP-MARKER"):
        assert marker not in text


def test_billion_laughs_is_bounded() -> None:
    with cpu_seconds_at_most(5, "the billion laughs"):
        feed = parse("billion-laughs.xml")
    article = feed.articles[0]
    assert len(article.title) <= MAX_TITLE_CHARS
    assert len(article.summary) <= MAX_SUMMARY_CHARS
    assert "lollollol" not in article.title


def test_quadratic_blowup_is_bounded() -> None:
    # One big entity referenced many times: each reference is "safe" on its own.
    value = "x" * 50_000
    refs = "&a;" * 20_000
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{value}">]>'
        f'<rss version="2.0"><channel><title>Q</title><item><title>t</title>'
        f"<link>https://x.example/q</link><description>{refs}</description></item>"
        f"</channel></rss>"
    ).encode()
    with cpu_seconds_at_most(5, "20,000 references to a 50 KB entity"):
        feed = parse_feed(body, {}, feed_url=FEED_URL)
    assert "xxxxxxxxxx" not in feed.articles[0].summary


def test_body_naming_a_local_file_is_not_opened(tmp_path: Path) -> None:
    # feedparser.parse(bytes) opens the bytes as a path when such a file exists.
    local = tmp_path / "local-feed.xml"
    local.write_bytes((FIXTURES / "rss20.xml").read_bytes())
    with pytest.raises(ParseError):
        parse_feed(str(local).encode(), {}, feed_url=FEED_URL)


# ------------------------------------------------------------------ links


def test_relative_links_resolve_against_the_feed_url() -> None:
    feed = parse("relative-links.xml")
    links = {a.title: a.link for a in feed.articles}
    assert links == {
        "Root-relative": "https://fixture.example/news/one",
        "Path-relative": "https://fixture.example/feeds/two.html",
        "Protocol-relative": "https://cdn.example.com/three",
        "Script link": None,
    }
    assert feed.link == "https://fixture.example/"


def test_relative_content_location_header_is_resolved() -> None:
    body = (FIXTURES / "relative-links.xml").read_bytes()
    feed = parse_feed(body, {"Content-Location": "/elsewhere/feed.xml"}, feed_url=FEED_URL)
    assert by_title(feed)["Path-relative"].link == "https://fixture.example/elsewhere/two.html"


def test_tracking_params_do_not_change_the_key() -> None:
    feed = parse("tracking.xml")
    # The first two items are the same page; the second is dropped as a duplicate.
    assert [a.title for a in feed.articles] == ["Same story, tracked", "Different story"]
    assert feed.dropped == 1
    tracked = feed.articles[0]
    assert tracked.key == article_key(
        guid=None, link="https://track.example.com/story/42?a=1&b=2", title="", published=None
    )
    # The displayed link is left as the publisher wrote it.
    assert tracked.link is not None
    assert "utm_source" in tracked.link
    assert feed.articles[1].key == article_key(
        guid=None, link="https://track.example.com/story/43", title="x", published=None
    )


def test_missing_guids_fall_back_to_link_then_title() -> None:
    feed = parse("missing-guid.xml")
    articles = by_title(feed)
    assert articles["Has a link"].key.startswith("url:")
    only_title = articles["Only a title"]
    assert only_title.key.startswith("title:")
    assert only_title.key == article_key(
        guid=None,
        link=None,
        title="  only A   TITLE ",
        published=datetime(2024, 3, 6, 11, 0, tzinfo=UTC),
    )
    # A guid that is just the feed's own link identifies nothing.
    assert articles["Guid is the feed link"].key == article_key(
        guid=None, link="https://noguid.example.com/c", title="", published=None
    )
    summary_only = "No title, only a summary that becomes the title."
    assert articles[summary_only].summary == summary_only
    # The entry with nothing in it is dropped.
    assert len(feed.articles) == 4
    assert feed.dropped == 1


def test_duplicate_guids() -> None:
    feed = parse("duplicate-guid.xml")
    articles = by_title(feed)
    # One guid shared by two different pages is no identity: use the links.
    assert articles["First story"].key.startswith("url:")
    assert articles["Second story"].key.startswith("url:")
    assert articles["First story"].key != articles["Second story"].key
    # The same item twice is one article.
    assert [a.title for a in feed.articles].count("Repeated story") == 1
    assert articles["Repeated story"].key.startswith("guid:")
    assert len({a.key for a in feed.articles}) == len(feed.articles) == 3


# ------------------------------------------------------------- big inputs


def _many_items(n: int, *, oldest_first: bool = False) -> bytes:
    start = datetime(2000, 1, 1, tzinfo=UTC)
    order = range(n) if oldest_first else range(n - 1, -1, -1)
    items = "".join(
        f"<item><title>Item {i}</title><link>https://many.example/{i}</link>"
        f"<guid>g{i}</guid><pubDate>"
        f"{(start + timedelta(minutes=i)).strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate></item>"
        for i in order
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Many</title>{items}'
        f"</channel></rss>"
    ).encode()


@pytest.mark.parametrize("oldest_first", [False, True])
def test_100k_items_are_capped_in_bounded_time(oldest_first: bool) -> None:
    body = _many_items(100_000, oldest_first=oldest_first)
    with cpu_seconds_at_most(20, "100,000 items"):
        feed = parse_feed(body, {}, feed_url=FEED_URL)
    assert len(feed.articles) == 500
    titles = {a.title for a in feed.articles}
    # The newest 500 survive whichever end of the document they are at.
    assert titles == {f"Item {i}" for i in range(99_500, 100_000)}
    assert feed.dropped == 100_000 - 500


def test_max_entries_keeps_newest_and_document_order() -> None:
    body = _many_items(30)
    feed = parse_feed(body, {}, feed_url=FEED_URL, max_entries=10)
    assert [a.title for a in feed.articles] == [f"Item {i}" for i in range(29, 19, -1)]


def test_1mb_title_is_truncated_quickly() -> None:
    title = "Starship " * 120_000
    body = (
        f'<rss version="2.0"><channel><title>{title}</title><item><title>{title}</title>'
        f"<description>&lt;b&gt;{title}&lt;/b&gt;</description>"
        f"<link>https://big.example/1</link></item></channel></rss>"
    ).encode()
    assert len(body) > 2_000_000
    with cpu_seconds_at_most(10, "a 2 MB feed of long titles"):
        feed = parse_feed(body, {}, feed_url=FEED_URL)
    article = feed.articles[0]
    assert len(article.title) <= MAX_TITLE_CHARS
    assert article.title.startswith("Starship Starship")
    assert article.title.endswith("…")
    assert len(article.summary) <= MAX_SUMMARY_CHARS
    assert len(feed.title) <= MAX_TITLE_CHARS


# -------------------------------------------------------------------- dates


def test_future_dates_read_as_the_fetch_time_but_clock_skew_is_kept() -> None:
    soon = NOW + timedelta(minutes=10)
    late = NOW + timedelta(days=3)
    fmt = "%a, %d %b %Y %H:%M:%S GMT"
    body = (
        '<rss version="2.0"><channel><title>T</title>'
        f"<item><title>Soon</title><link>https://d.example/1</link>"
        f"<pubDate>{soon.strftime(fmt)}</pubDate></item>"
        f"<item><title>Far</title><link>https://d.example/2</link>"
        f"<pubDate>{late.strftime(fmt)}</pubDate></item>"
        "<item><title>Junk</title><link>https://d.example/3</link>"
        "<pubDate>not a date</pubDate></item>"
        "</channel></rss>"
    ).encode()
    articles = by_title(parse_feed(body, {}, feed_url=FEED_URL, now=NOW))
    assert articles["Soon"].published == soon
    assert articles["Far"].published == NOW  # and ages from there like any other article
    assert articles["Junk"].published is None


def test_source_falls_back_to_host() -> None:
    body = b'<rss version="2.0"><channel><item><title>A</title></item></channel></rss>'
    feed = parse_feed(body, {}, feed_url="https://www.spacenews.example/feed/")
    assert feed.articles[0].source == "spacenews.example"


# -------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTPS://Example.COM:443/a/b/?utm_source=x&b=2&a=1#frag",
            "https://example.com/a/b?a=1&b=2",
        ),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/", "http://example.com:8080/"),
        ("https://example.com/p?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&ref=5", "https://example.com/p"),
        ("https://example.com/p?UTM_Medium=x&id=7", "https://example.com/p?id=7"),
        ("https://example.com/a%2fb", "https://example.com/a%2Fb"),
        ("https://example.com/?q=a+b", "https://example.com/?q=a%20b"),
        ("https://user:pw@example.com/x", "https://example.com/x"),
        ("https://[2001:DB8::1]:8443/x/", "https://[2001:db8::1]:8443/x"),
        ("tag:blog.example.org,2024:post-1", "tag:blog.example.org,2024:post-1"),
        ("  https://example.com/x  ", "https://example.com/x"),
        ("http://example.com:badport/", "http://example.com:badport/"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("name", "tracking"),
    [
        ("utm_source", True),
        ("UTM_campaign", True),
        ("fbclid", True),
        ("ref", True),
        ("id", False),
        ("page", False),
        ("reference", False),
    ],
)
def test_is_tracking_param(name: str, tracking: bool) -> None:
    assert is_tracking_param(name) is tracking


def test_article_key_kinds_never_collide_and_have_fixed_length() -> None:
    same = "https://example.com/x"
    keys = {
        article_key(guid=same, link=None, title="", published=None),
        article_key(guid=None, link=same, title="", published=None),
        article_key(guid=None, link=None, title=same, published=None),
    }
    assert len(keys) == 3
    assert all(KEY.match(k) for k in keys)
    huge = article_key(guid="g" * 1_000_000, link=None, title="", published=None)
    assert len(huge) == len("guid:") + 32


def test_article_key_ignores_blank_guid_and_feed_link_guid() -> None:
    by_link = article_key(guid=None, link="https://e.example/1", title="t", published=None)
    assert article_key(guid="  ", link="https://e.example/1", title="t", published=None) == by_link
    assert (
        article_key(
            guid="https://E.example/",
            link="https://e.example/1",
            title="t",
            published=None,
            feed_link="https://e.example",
        )
        == by_link
    )


def test_title_key_depends_on_date() -> None:
    a = article_key(guid=None, link=None, title="Launch", published=NOW)
    b = article_key(guid=None, link=None, title="launch ", published=NOW)
    c = article_key(guid=None, link=None, title="Launch", published=NOW + timedelta(days=1))
    assert a == b != c


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>Hello <b>world</b></p>", "Hello world"),
        ("a<br>b<br/>c", "a b c"),
        ("<script>var x = '<p>no</p>';</script>shown", "shown"),
        ("<style>.a{}</style><p>x</p>", "x"),
        ("Tom &amp; Jerry &#8217; &lt;3", "Tom & Jerry ’ <3"),
        ("<p>unclosed <i>tags", "unclosed tags"),
        ("<!-- comment -->visible", "visible"),
        ("  lots \n\t of   space ", "lots of space"),
        ("plain 3 < 4 and 5 > 2", "plain 3 < 4 and 5 > 2"),
        ("<div>one</div><div>two</div>", "one two"),
    ],
)
def test_strip_html(markup: str, text: str) -> None:
    assert strip_html(markup) == text


def test_strip_html_is_fast_on_tag_soup() -> None:
    soup = "<b>x</b>" * 100_000
    with cpu_seconds_at_most(15, "stripping 100,000 tags"):
        assert strip_html(soup) == "x" * 100_000


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.text(alphabet=st.characters(exclude_characters="<>&", codec="utf-8")))
def test_strip_html_keeps_plain_text(text: str) -> None:
    assert strip_html(text) == " ".join(text.split())


_segment = st.text(alphabet="abcXYZ019-._~%", min_size=0, max_size=8)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "HTTP"]),
    host=st.sampled_from(["example.com", "EXAMPLE.org", "a.b.example", "[::1]"]),
    port=st.sampled_from(["", ":80", ":443", ":8080"]),
    path=st.lists(_segment, max_size=4),
    query=st.lists(
        st.tuples(st.sampled_from(["a", "b", "utm_source", "fbclid", "id"]), _segment), max_size=4
    ),
    fragment=st.sampled_from(["", "#top"]),
)
def test_canonical_url_is_idempotent(
    scheme: str,
    host: str,
    port: str,
    path: list[str],
    query: list[tuple[str, str]],
    fragment: str,
) -> None:
    qs = "&".join(f"{k}={v}" for k, v in query)
    url = f"{scheme}://{host}{port}/{'/'.join(path)}{'?' + qs if qs else ''}{fragment}"
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert "#" not in once
    assert "utm_source" not in once


# ------------------------------------------------------- real-world corpus


def _shared_feed_files() -> list[Path]:
    if not SHARED_FEEDS.is_dir():
        return []
    return sorted(p for p in SHARED_FEEDS.rglob("*") if p.is_file() and p.suffix != ".md")


@pytest.mark.parametrize("path", _shared_feed_files(), ids=lambda p: p.name)
def test_shared_real_world_feed(path: Path) -> None:
    body = path.read_bytes()
    try:
        feed = parse_feed(body, {}, feed_url="https://realworld.example/feed.xml")
    except ParseError:
        looks_like_feed = re.search(rb"<(rss|feed|rdf:RDF)[\s>]", body[:4096]) is not None
        assert not looks_like_feed or path.name == "unrecognized.rss", path
        return
    assert len(feed.articles) <= 500
    assert len({a.key for a in feed.articles}) == len(feed.articles)
    for article in feed.articles:
        assert KEY.match(article.key)
        assert article.title
        assert len(article.title) <= MAX_TITLE_CHARS
        assert len(article.summary) <= MAX_SUMMARY_CHARS
        assert article.link is None or article.link.startswith(("http://", "https://"))
        assert article.published is None or article.published.tzinfo is not None


def test_shared_real_world_corpus_yields_articles() -> None:
    files = _shared_feed_files()
    if not files:
        pytest.skip(f"shared feed corpus not found at {SHARED_FEEDS}")
    parsed: dict[str, ParsedFeed] = {}
    errors: list[str] = []
    for path in files:
        try:
            parsed[path.name] = parse_feed(path.read_bytes(), {}, feed_url="https://r.example/f")
        except ParseError:
            errors.append(path.name)
    assert "notafeed.html" in errors
    for name in ("rss2sample.xml", "guardian.rss", "heise.atom", "craigslist.rss", "tpm.atom"):
        if name in parsed:
            assert parsed[name].articles, name
    with_articles = sum(1 for feed in parsed.values() if feed.articles)
    assert with_articles >= len(files) * 0.8
