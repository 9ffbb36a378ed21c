"""Build small RSS documents for tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Item:
    """One RSS item."""

    guid: str
    title: str
    summary: str = ""
    published: datetime | None = None
    link: str | None = None


def rss(items: list[Item], *, title: str = "Test Space News") -> bytes:
    """An RSS 2.0 document with ``items`` in the given order."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>https://news.example/</link>",
        "<description>test</description>",
    ]
    for item in items:
        link = item.link or f"https://news.example/{item.guid}"
        date = f"<pubDate>{format_datetime(item.published)}</pubDate>" if item.published else ""
        parts.append(
            f"<item><title>{escape(item.title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{escape(item.guid)}</guid>{date}'
            f"<description>{escape(item.summary)}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")
