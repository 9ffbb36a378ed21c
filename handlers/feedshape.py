"""Refuse, before parsing, markup whose parsing cost grows faster than its size.

feedparser's work is quadratic in a few shapes of markup that no real feed has: one
element with thousands of attributes, thousands of distinct namespace declarations,
elements nested (or left unclosed) thousands deep. A few hundred kilobytes of such
markup keeps a parser busy for minutes, far below the download cap. :func:`check_shape`
measures those shapes in one linear pass over the bytes and refuses the feed with a
one-line :class:`~handlers.errors.ParseError` before the parser sees it. Whatever slips
past is stopped by the parse budget (:mod:`handlers.parserpool`).

Text that is not markup (CDATA sections, comments) is skipped: HTML quoted there is
data, and costs the parser nothing.
"""

from __future__ import annotations

import re

from handlers.errors import ParseError

__all__ = [
    "MAX_ATTRIBUTES",
    "MAX_DEPTH",
    "MAX_ELEMENTS",
    "MAX_NAMESPACES",
    "check_shape",
]

MAX_ATTRIBUTES = 1_000  # on one element (real feeds: under 20)
MAX_NAMESPACES = 500  # distinct prefixes declared in one document (real feeds: under 30)
MAX_DEPTH = 1_000  # elements open at once (real feeds: under 30)
MAX_ELEMENTS = 250_000  # in one document, after thinning to the items kept

# An element's attributes only matter when there can be more than MAX_ATTRIBUTES of
# them, which takes at least two bytes each.
_LONG_TAG = re.compile(rb"<[A-Za-z_][^<>]{%d,}" % (2 * MAX_ATTRIBUTES))
_TAG = re.compile(rb"<(/?)([A-Za-z_][\w.:-]*)([^<>]*)")
_NAMESPACE = re.compile(rb"xmlns(?::([\w.-]+))?\s*=")
# HTML elements that never have content: unclosed, they nest nothing.
_VOID = frozenset(b"area base br col embed hr img input link meta param source track wbr".split())
_BLOCKS = ((b"<![CDATA[", b"]]>"), (b"<!--", b"-->"))


def markup_only(body: bytes) -> bytes:
    """``body`` without its CDATA sections and comments, in linear time."""
    if b"<![CDATA[" not in body and b"<!--" not in body:
        return body
    parts: list[bytes] = []
    pos = 0
    # The next opening of each kind of block at or after ``pos`` (-1: none left), found
    # again only once passed, so every byte is searched a bounded number of times.
    nxt = [body.find(opening) for opening, _ in _BLOCKS]
    while True:
        for i, (opening, _) in enumerate(_BLOCKS):
            if 0 <= nxt[i] < pos:
                nxt[i] = body.find(opening, pos)
        open_at = [(at, i) for i, at in enumerate(nxt) if at >= 0]
        if not open_at:
            parts.append(body[pos:])
            break
        start, kind = min(open_at)
        parts.append(body[pos:start])
        opening, closing = _BLOCKS[kind]
        end = body.find(closing, start + len(opening))
        if end < 0:
            break  # the rest of the document is inside the block
        pos = end + len(closing)
    return b"".join(parts)


def _refuse(feed_url: str, what: str) -> ParseError:
    return ParseError(f"feed {feed_url} is not parsed: {what}", url=feed_url)


def check_shape(body: bytes, feed_url: str) -> None:
    """Raise ParseError if ``body`` has a shape that would make parsing blow up."""
    markup = markup_only(body)
    elements = markup.count(b"<") - markup.count(b"</")
    if elements > MAX_ELEMENTS:
        raise _refuse(feed_url, f"it has over {MAX_ELEMENTS:,} elements")
    if markup.count(b"xmlns") > MAX_NAMESPACES:
        prefixes = {m.group(1) for m in _NAMESPACE.finditer(markup)}
        if len(prefixes) > MAX_NAMESPACES:
            raise _refuse(
                feed_url, f"it declares {len(prefixes):,} XML namespaces (limit {MAX_NAMESPACES})"
            )
    for tag in _LONG_TAG.finditer(markup):
        attributes = len(tag.group().split()) - 1
        if attributes > MAX_ATTRIBUTES:
            raise _refuse(
                feed_url,
                f"an element has {attributes:,} attributes (limit {MAX_ATTRIBUTES:,})",
            )
    if elements > MAX_DEPTH:  # fewer elements than that cannot nest that deep
        _check_depth(markup, feed_url)


def _check_depth(markup: bytes, feed_url: str) -> None:
    depth = 0
    for closing, name, rest in _TAG.findall(markup):
        if closing:
            depth = max(0, depth - 1)
        elif not rest.endswith(b"/") and name.lower() not in _VOID:
            depth += 1
            if depth > MAX_DEPTH:
                raise _refuse(
                    feed_url, f"it nests elements over {MAX_DEPTH:,} deep (or leaves them open)"
                )
