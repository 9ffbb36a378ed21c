"""Turn feed bytes into :class:`~handlers.domain.Article` values.

feedparser does the format work (RSS 0.9x/1.0/2.0, Atom, encodings, broken
XML). This module adds what a bot needs on top: plain-text titles and summaries,
absolute links, UTC dates, a stable key per article, bounded work on huge or
hostile feeds, and a clear :class:`~handlers.errors.ParseError` when the body is
not a feed at all.

Choices worth knowing:

* A date later than the fetch (plus 15 minutes of clock skew) is read as the
  time of the fetch: it is a time zone or typo accident, or a trick to stay
  "recent" forever, and the article then ages like any other.
* Titles and summaries declared as plain text are still unescaped, and stripped
  if they contain tags, because many feeds double-escape HTML into plain fields.
* At most ``max_entries`` articles come back (the newest by date; undated
  entries count as newest, as feeds list newest first). Before parsing, a feed
  with more than four times that many items is cut down to its first and last
  items (the newest end, whichever order the feed uses), so a 100,000-item feed
  costs about what a 2,000-item one does.
* Entity declarations in the document's DOCTYPE are removed before parsing.
  Expat (≥ 2.4) already refuses external entities and caps entity expansion;
  removing the declarations makes XXE and "billion laughs" harmless whatever
  expat the interpreter was built with. Feeds relying on custom entities then
  show them as literal ``&name;`` text, a fair price.
* Markup whose parsing cost grows faster than its size (thousands of attributes on
  one element, of namespaces, of nesting levels) is refused before parsing, see
  :mod:`handlers.feedshape`.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import io
import logging
import re
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import feedparser

from handlers.domain import Article
from handlers.errors import ParseError
from handlers.feedshape import check_shape

__all__ = [
    "MAX_ENTRIES",
    "MAX_SUMMARY_CHARS",
    "MAX_TITLE_CHARS",
    "ParsedFeed",
    "article_key",
    "canonical_url",
    "is_tracking_param",
    "parse_feed",
    "strip_html",
]

log = logging.getLogger(__name__)

MAX_ENTRIES = 500
MAX_TITLE_CHARS = 1000
MAX_SUMMARY_CHARS = 4000
MAX_GUNZIPPED_BYTES = 5 * 1024 * 1024
# How far ahead of the fetch a feed's clock may run before its dates are not believed.
CLOCK_SKEW = timedelta(minutes=15)
# How much raw markup is worth stripping for a field of a given length: markup
# rarely outweighs text 16:1, and it bounds the work on a 1 MB "title".
_RAW_FACTOR = 16
_KEY_HEX = 32

_TRACKING_EXACT = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "cmpid",
        "ncid",
        "sr_share",
        "spm",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "rss",
        "__s",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "_ga")
_DEFAULT_PORTS = {"http": 80, "https": 443}

_TAG_LIKE = re.compile(r"</?[a-zA-Z][^<>]*>|<!--|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]{2,8});")
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")
_ITEM_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
_ITEM_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_ENTITY_DECL = re.compile(rb"""<!ENTITY(?:[^>"']|"[^"]*"|'[^']*')*>""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed: its title, site link and articles in document order."""

    title: str
    link: str | None
    articles: tuple[Article, ...]
    version: str = ""
    bozo: bool = False
    dropped: int = 0


# --------------------------------------------------------------------------- text


class _Stripper(HTMLParser):
    _SKIP = frozenset({"script", "style", "template", "noscript", "head"})
    _BLOCK = frozenset(
        {
            "br",
            "p",
            "div",
            "li",
            "ul",
            "ol",
            "tr",
            "td",
            "th",
            "table",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
            "hr",
            "section",
            "article",
            "figure",
            "figcaption",
            "dd",
            "dt",
        }
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def strip_html(markup: str) -> str:
    """Plain text of an HTML fragment: tags gone, entities decoded, whitespace collapsed.

    ``<script>``, ``<style>`` and similar contents are dropped; block elements
    become spaces so words on either side do not run together.
    """
    if "<" not in markup and "&" not in markup:
        return _collapse(markup)
    stripper = _Stripper()
    stripper.feed(markup)
    stripper.close()
    return _collapse(html.unescape("".join(stripper.parts)))


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _clean(value: Any, detail: Any, limit: int) -> str:
    """Plain text of a feedparser text construct, capped at ``limit`` characters."""
    if not isinstance(value, str) or not value:
        return ""
    raw = value[: limit * _RAW_FACTOR]
    kind = detail.get("type", "") if isinstance(detail, Mapping) else ""
    if "html" in kind or _TAG_LIKE.search(raw):
        return _truncate(strip_html(raw), limit)
    return _truncate(_collapse(raw), limit)


# ---------------------------------------------------------------------------- URLs


def is_tracking_param(name: str) -> bool:
    """True for query parameters that only track the reader (utm_*, fbclid, ...)."""
    lowered = name.lower()
    return lowered in _TRACKING_EXACT or lowered.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """One spelling per web page, for deduplication keys (not for display).

    Lower-cases scheme and host, drops user info, default ports, the fragment,
    tracking parameters and a trailing slash, sorts the remaining query
    parameters and upper-cases percent escapes. Non-http(s) URLs (``tag:``,
    ``urn:``) are only trimmed.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = _PERCENT.sub(lambda m: m.group(0).upper(), parts.path).rstrip("/") or "/"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = sorted((k, v) for k, v in pairs if not is_tracking_param(k))
    return urlunsplit((scheme, host, path, urlencode(query, quote_via=quote), ""))


def _absolute_link(link: Any, base: str) -> str | None:
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        absolute = urljoin(base, link.strip())
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.netloc:
        return None
    return absolute


# ---------------------------------------------------------------------------- keys


def _digest(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()[:_KEY_HEX]}"


def article_key(
    *,
    guid: str | None,
    link: str | None,
    title: str,
    published: datetime | None,
    feed_link: str | None = None,
) -> str:
    """Stable identity of an article within its feed.

    Uses the guid when it is present and not a bare placeholder (empty, or the
    feed's own link); else the canonical link; else the normalised title plus
    publication time. The result is ``"guid:"``, ``"url:"`` or ``"title:"``
    followed by 32 hex digits of a SHA-256, so kinds never collide and a huge
    guid costs no more storage than a small one.
    """
    guid = (guid or "").strip()
    if guid and not (feed_link and canonical_url(guid) == canonical_url(feed_link)):
        return _digest("guid", guid)
    if link and link.strip():
        return _digest("url", canonical_url(link))
    when = published.astimezone(UTC).isoformat() if published else ""
    return _digest("title", f"{_collapse(title).casefold()}\n{when}")


# --------------------------------------------------------------------------- dates


def _to_utc(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time | tuple) or len(value) < 6:
        return None
    try:
        # feedparser normalises to UTC; timegm avoids mktime's local-time guess.
        return datetime.fromtimestamp(calendar.timegm(tuple(value)[:6]), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _raw(entry: Mapping[str, Any], key: str) -> Any:
    # FeedParserDict.get aliases a missing updated_parsed to published_parsed,
    # with a DeprecationWarning; the plain dict lookup has neither.
    return dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)


def _published(entry: Mapping[str, Any], now: datetime) -> datetime | None:
    when = _to_utc(_raw(entry, "published_parsed")) or _to_utc(_raw(entry, "updated_parsed"))
    if when is not None and when > now + CLOCK_SKEW:
        log.debug("future date %s on %r read as %s", when, entry.get("title", "")[:80], now)
        return now
    return when


# -------------------------------------------------------------------------- bodies


def _gunzip(body: bytes, feed_url: str) -> bytes:
    """Inflate a body that is still gzip (a .xml.gz served without Content-Encoding)."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        out = inflater.decompress(body, MAX_GUNZIPPED_BYTES + 1)
    except zlib.error:
        reason = "it is corrupt gzip data"
        raise ParseError(f"feed {feed_url} is not a feed: {reason}", url=feed_url) from None
    if len(out) > MAX_GUNZIPPED_BYTES:
        raise ParseError(
            f"feed {feed_url} is gzip data that inflates past "
            f"{MAX_GUNZIPPED_BYTES // (1024 * 1024)} MB",
            url=feed_url,
        )
    return out


def _defuse_doctype(body: bytes) -> bytes:
    first = _FIRST_ELEMENT.search(body)
    prolog_end = first.start() if first else len(body)
    prolog = body[:prolog_end]
    if b"<!ENTITY" not in prolog.upper():
        return body
    return _ENTITY_DECL.sub(b"", prolog) + body[prolog_end:]


def _thin_items(body: bytes, max_entries: int) -> tuple[bytes, int]:
    """Cut a feed with very many items down to its first and last items.

    Returns the (maybe) shortened body and how many items were cut out.
    """
    keep = max_entries * 4
    starts = [m.start() for m in _ITEM_START.finditer(body)]
    if len(starts) <= keep:
        return body, 0
    head = keep // 2
    tail = keep - head
    cut_from = starts[head]
    resume_at = starts[len(starts) - tail]
    return body[:cut_from] + body[resume_at:], len(starts) - keep


def _describe_non_feed(body: bytes, result: Mapping[str, Any]) -> str:
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head:
        return "the response is empty"
    if head[:1] in (b"{", b"["):
        return "it is a JSON document (JSON Feed is not supported)"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "it is an HTML page (look for the site's RSS or Atom link)"
    sample = body[:512]
    if b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample) > len(sample) // 10:
        return "it is binary data"
    problem = result.get("bozo_exception")
    if problem is not None:
        return f"it is not valid RSS or Atom ({_collapse(str(problem))[:200]})"
    return "it is not RSS or Atom"


def _normalise_headers(headers: Mapping[str, str], feed_url: str) -> dict[str, str]:
    out = {k.lower(): v for k, v in headers.items()}
    # Without a Content-Type feedparser flags every document as suspect;
    # application/xml lets the XML declaration pick the encoding (RFC 7303).
    out.setdefault("content-type", "application/xml")
    # feedparser resolves relative links against Content-Location; make it an
    # absolute URL (relative values are legal) and default it to the feed URL.
    location = out.get("content-location")
    out["content-location"] = urljoin(feed_url, location) if location else feed_url
    return out


# -------------------------------------------------------------------------- parse


def parse_feed(
    body: bytes,
    headers: Mapping[str, str],
    *,
    feed_url: str,
    feed_id: int | None = None,
    max_entries: int = MAX_ENTRIES,
    now: datetime | None = None,
) -> ParsedFeed:
    """Parse one fetched feed body.

    ``headers`` are the response's content-type/-location/-language (any case);
    ``feed_url`` is the URL the body came from (after redirects) and anchors
    relative links. Raises ParseError when the body is not a feed. Never does
    network or file I/O. CPU-bound: run it in a thread for big feeds.
    """
    now = now or datetime.now(UTC)
    if body[:2] == b"\x1f\x8b":
        body = _gunzip(body, feed_url)
    if not body.strip():
        raise ParseError(f"feed {feed_url} is not a feed: the response is empty", url=feed_url)
    body = _defuse_doctype(body)
    body, thinned = _thin_items(body, max_entries)
    if thinned:
        log.info("feed %s has too many items; skipped %d in the middle", feed_url, thinned)
    check_shape(body, feed_url)  # refuses markup whose parsing would blow up
    try:
        # A BytesIO, not bytes: feedparser treats bytes that name an existing
        # file as a path and would read that file.
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers=_normalise_headers(headers, feed_url),
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:
        log.debug("feedparser crashed on %s", feed_url, exc_info=True)
        raise ParseError(
            f"feed {feed_url} could not be parsed ({type(exc).__name__})", url=feed_url
        ) from exc

    feed: Mapping[str, Any] = result.get("feed", {})
    entries: Sequence[Mapping[str, Any]] = result.get("entries", [])
    version = result.get("version") or ""
    bozo = bool(result.get("bozo"))
    title = _clean(feed.get("title"), feed.get("title_detail"), MAX_TITLE_CHARS)
    if not entries and (not version or (bozo and not title)):
        reason = _describe_non_feed(body, result)
        raise ParseError(f"feed {feed_url} is not a feed: {reason}", url=feed_url)
    if bozo:
        log.debug("feed %s parsed with problems: %s", feed_url, result.get("bozo_exception"))

    site_link = _absolute_link(feed.get("link"), feed_url)
    source = title or _host(feed_url)
    articles = _articles(entries, feed_url, site_link, source, feed_id, now)
    usable = len(articles)
    articles = _newest(articles, max_entries)
    return ParsedFeed(
        title=title,
        link=site_link,
        articles=tuple(articles),
        version=version,
        bozo=bozo,
        dropped=thinned + (len(entries) - usable) + (usable - len(articles)),
    )


def _host(url: str) -> str:
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def _articles(
    entries: Sequence[Mapping[str, Any]],
    feed_url: str,
    site_link: str | None,
    source: str,
    feed_id: int | None,
    now: datetime,
) -> list[Article]:
    guid_count: dict[str, int] = {}
    guid_links: dict[str, set[str | None]] = {}
    prepared = []
    for entry in entries:
        link = _absolute_link(entry.get("link"), feed_url)
        guid = entry.get("id")
        guid = guid.strip() if isinstance(guid, str) else None
        if guid:
            guid_count[guid] = guid_count.get(guid, 0) + 1
            guid_links.setdefault(guid, set()).add(canonical_url(link) if link else None)
        prepared.append((entry, link, guid))

    articles: list[Article] = []
    seen: set[str] = set()
    feed_canonical = canonical_url(feed_url)
    for entry, link, guid in prepared:
        title = _clean(entry.get("title"), entry.get("title_detail"), MAX_TITLE_CHARS)
        summary = _summary(entry)
        if not title:
            title = _truncate(summary, 120) if summary else _truncate(link or "", MAX_TITLE_CHARS)
        if not title:
            continue
        published = _published(entry, now)
        # A guid shared by entries pointing at different pages identifies none
        # of them, and one that is just the feed's URL identifies nothing.
        if guid and (
            (guid_count[guid] > 1 and len(guid_links[guid]) > 1)
            or canonical_url(guid) == feed_canonical
        ):
            guid = None
        key = article_key(
            guid=guid, link=link, title=title, published=published, feed_link=site_link
        )
        if key in seen:
            continue
        seen.add(key)
        articles.append(
            Article(
                key=key,
                title=title,
                summary=summary,
                link=link,
                published=published,
                source=source,
                feed_id=feed_id,
            )
        )
    return articles


def _summary(entry: Mapping[str, Any]) -> str:
    summary = entry.get("summary")
    detail = entry.get("summary_detail")
    if not summary:
        content = entry.get("content")
        if isinstance(content, list) and content and isinstance(content[0], Mapping):
            summary = content[0].get("value")
            detail = content[0]
    return _clean(summary, detail, MAX_SUMMARY_CHARS)


def _newest(articles: list[Article], limit: int) -> list[Article]:
    if len(articles) <= limit:
        return articles
    undated = datetime.max.replace(tzinfo=UTC)
    # Undated entries rank as newest: feeds list newest first, and an undated
    # entry is more likely a fresh one than an archive item. The sort is stable,
    # so ties keep document order.
    ranked = sorted(
        range(len(articles)),
        key=lambda i: articles[i].published or undated,
        reverse=True,
    )
    keep = set(ranked[:limit])
    return [a for i, a in enumerate(articles) if i in keep]
