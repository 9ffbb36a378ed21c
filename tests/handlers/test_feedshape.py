"""Markup whose parsing would blow up is refused before parsing; real feeds pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.errors import ParseError
from handlers.feedshape import MAX_DEPTH, check_shape, markup_only
from handlers.parser import parse_feed
from tests.budget import cpu_seconds_at_most

URL = "https://feeds.example/rss"
HEAD = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
TAIL = b"</channel></rss>"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "feeds"


def item(n: int, extra: bytes = b"") -> bytes:
    return (
        b"<item><title>Falcon 9 launches batch %d</title><link>https://e.example/%d</link>"
        b"<description><![CDATA[<p>Liftoff<br>at dawn<img src='x.jpg'>%s</p>]]></description>"
        b"</item>" % (n, n, extra)
    )


def test_an_ordinary_feed_passes_and_parses() -> None:
    body = HEAD + b"".join(item(n) for n in range(2000)) + TAIL
    check_shape(body, URL)
    assert len(parse_feed(body, {}, feed_url=URL).articles) == 500


def test_html_quoted_in_cdata_or_comments_is_not_markup() -> None:
    soup = b"<br><p><b>" * 5000  # unclosed HTML, but inside CDATA: data, not elements
    body = HEAD + item(1, soup) + b"<!-- " + b"<x>" * 5000 + b" -->" + TAIL
    check_shape(body, URL)
    assert b"<br>" not in markup_only(body)


def test_void_html_elements_do_not_count_as_nesting() -> None:
    body = HEAD + b"<item><title>t</title><description>" + b"x<br>" * 5000
    check_shape(body + b"</description></item>" + TAIL, URL)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            HEAD + b"<item " + b" ".join(b"a%d='1'" % i for i in range(1500)) + b">" + TAIL,
            "an element has 1,500 attributes (limit 1,000)",
        ),
        (
            HEAD + b"".join(b"<x xmlns:n%d='urn:%d'/>" % (i, i) for i in range(600)) + TAIL,
            "it declares 600 XML namespaces (limit 500)",
        ),
        (HEAD + b"<a>" * (MAX_DEPTH + 1) + TAIL, "it nests elements over 1,000 deep"),
        (HEAD + b"<a>" * 2000 + b"</a>" * 2000 + TAIL, "it nests elements over 1,000 deep"),
        (HEAD + b"<x>y</x>" * 260_000 + TAIL, "it has over 250,000 elements"),
    ],
    ids=["attributes", "namespaces", "unclosed", "deep", "elements"],
)
def test_blow_up_shapes_are_refused_with_one_line(body: bytes, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body, {}, feed_url=URL)
    assert str(caught.value).startswith(f"feed {URL} is not parsed: {message}")
    assert caught.value.url == URL


def test_the_same_namespace_on_every_item_is_fine() -> None:
    xhtml = b"<div xmlns='http://www.w3.org/1999/xhtml'>x</div>"
    body = HEAD + b"".join(item(n, b"") + xhtml for n in range(1000)) + TAIL
    check_shape(body, URL)


def test_checking_is_linear_even_on_unterminated_blocks() -> None:
    # 600,000 block openers and no closer: each must not rescan the rest of the body.
    body = HEAD + b"<!--" + b"<![CDATA[" * 300_000 + b"<!--" * 300_000
    with cpu_seconds_at_most(5, "checking 4 MB of block openers"):
        check_shape(body, URL)
        assert markup_only(b"a<!--b-->c<![CDATA[d]]>e<!--f") == b"ace"


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared feed corpus is not here")
def test_every_real_feed_in_the_shared_corpus_passes() -> None:
    for path in sorted(p for p in SHARED.rglob("*") if p.is_file()):
        check_shape(path.read_bytes(), path.as_uri())
