"""A farm of N realistic feeds on 127.0.0.1, served from its own process.

Feed ``i`` is a WordPress-style RSS 2.0 document of 30 items (title, link, author, two
categories, a permalink-less guid, and an HTML description of a few hundred characters)
with an ``ETag`` and a ``Last-Modified``; a conditional request that matches either gets
304. "Changing" a feed bumps its version: two new items appear at the top and the two
oldest fall off, exactly like a news site publishing two stories. A change can make one of
the new items a launch story with a unique mission, so every such change is one new
launch event.

Everything about a feed's content is a pure function of ``(i, version, launches)``, so the
bench can compute article keys and validators without asking the farm. Feeds live on many
host names (``site<k>.farm.test``, five feeds per host) that the bench resolves to
127.0.0.1, so connection limits per host behave as they do with real publishers.

Control endpoints (JSON): ``POST /_ctl/change`` ``{"ids": [...], "launch": [...]}`` bumps
versions; ``GET /_ctl/stats`` returns request counts and the farm's CPU time;
``POST /_ctl/arrivals`` ``{"ids": [...]}`` returns when each feed's last 200 was requested.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import random
import resource
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

ITEMS = 30
NEW_PER_CHANGE = 2
FEEDS_PER_HOST = 5
RSS_TYPE = "application/rss+xml; charset=UTF-8"

_COMPANIES = (
    "Orbital Forge", "Astra Dynamics", "Kestrel Space", "Lumen Orbital", "Polaris Works",
    "Helix Aerospace", "Nimbus Systems", "Vega Labs", "Solstice Space", "Arcadia Orbital",
)  # fmt: skip
_THINGS = (
    "satellite buses", "a radar constellation", "lunar landers", "in-space refuelling",
    "optical terminals", "weather satellites", "a space tug", "orbital data centres",
)  # fmt: skip
_HEADLINES = (
    "{c} raises ${n} million to build {t}",
    "NASA selects {c} for a study of {t}",
    "ESA signs contract with {c} for {t}",
    "Space Force awards {c} ${n} million contract for {t}",
    "{c} reports quarterly revenue growth on demand for {t}",
    "Engineers at {c} complete thermal vacuum testing of {t}",
    "{c} opens new factory for {t} in Texas",
    "Startup {c} tests electric propulsion for {t}",
    "Congress debates funding for {t}",
    "Analysts expect consolidation among makers of {t}",
)
_SENTENCES = (
    "Company officials said the work would continue through next year with more partners.",
    "The agreement covers design, integration and testing at the company's facilities.",
    "Executives said customers in government and industry had asked for more capacity.",
    "The firm has raised money from venture investors and a sovereign wealth fund.",
    "A preliminary design review is scheduled for the second half of the year.",
    "Industry analysts said the market for such services is growing quickly.",
    "The program office declined to comment on the schedule or the cost.",
    "Engineers will use the results to refine the design before production starts.",
)
_CATEGORIES = ("Business", "Civil", "Commercial", "Defense", "Policy", "Science", "Launch")


def host(i: int) -> str:
    """Host name of feed ``i`` (resolved to 127.0.0.1 by the bench)."""
    return f"site{i // FEEDS_PER_HOST}.farm.test"


def hosts(n: int) -> list[str]:
    """Every host name a farm of ``n`` feeds uses."""
    return [host(i) for i in range(0, n, FEEDS_PER_HOST)]


def feed_url(i: int, port: int) -> str:
    """URL of feed ``i`` on a farm listening on ``port``."""
    return f"http://{host(i)}:{port}/feeds/{i}.xml"


def feed_id_of(path: str) -> int:
    """Feed number from a request path (``/feeds/17.xml`` → 17)."""
    return int(path.rsplit("/", 1)[1].split(".", 1)[0])


def guid(i: int, seq: int) -> str:
    """The guid of item ``seq`` of feed ``i``."""
    return f"https://{host(i)}/?p={i * 100_000 + seq}"


def item_link(i: int, seq: int) -> str:
    """The article URL of item ``seq`` of feed ``i``."""
    return f"https://{host(i)}/news/{i}/{seq}/"


def seqs(version: int) -> range:
    """Item numbers a feed shows at ``version``, newest first."""
    first = NEW_PER_CHANGE * version
    return range(first + ITEMS - 1, first - 1, -1)


def new_seqs(version: int) -> range:
    """Item numbers that appeared when the feed went to ``version``."""
    return seqs(version)[:NEW_PER_CHANGE]


def launch_title(number: int) -> str:
    """A launch story the matcher reads as a new launch (one event per ``number``)."""
    return (
        f"Falcon 9 launches Starlink Group {20 + number // 1000}-{number % 1000 + 1}"
        " from Cape Canaveral"
    )


def etag(i: int, version: int) -> str:
    """The ETag of feed ``i`` at ``version``."""
    return f'"{i}-{version}"'


def last_modified(base: datetime, version: int) -> str:
    """The Last-Modified of any feed at ``version`` (an HTTP date)."""
    return format_datetime(base + timedelta(minutes=version), usegmt=True)


def published(base: datetime, seq: int) -> datetime:
    """Publication time of item ``seq`` (one minute apart, oldest first)."""
    return base + timedelta(minutes=seq)


def _item_xml(i: int, seq: int, base: datetime, launch: int | None) -> str:
    rng = random.Random(i * 7919 + seq)
    company, thing = rng.choice(_COMPANIES), rng.choice(_THINGS)
    if launch is None:
        title = rng.choice(_HEADLINES).format(c=company, t=thing, n=rng.randint(5, 400))
    else:
        title = launch_title(launch)
    body = " ".join(rng.sample(_SENTENCES, 3))
    link = item_link(i, seq)
    site = f"Site {i // FEEDS_PER_HOST} News"
    description = (
        f"<p><strong>{escape(company)}</strong> — {escape(body)}</p>"
        f'<p>The post <a rel="nofollow" href="{link}">{escape(title)}</a>'
        f' appeared first on <a rel="nofollow" href="https://{host(i)}">{site}</a>.</p>'
    )
    cats = rng.sample(_CATEGORIES, 2)
    return (
        f"<item><title>{escape(title)}</title><link>{link}</link>"
        f"<dc:creator><![CDATA[{rng.choice(('Jeff Foust', 'Sandra Erwin', 'Staff'))}]]>"
        f"</dc:creator><pubDate>{format_datetime(published(base, seq))}</pubDate>"
        f"<category><![CDATA[{cats[0]}]]></category><category><![CDATA[{cats[1]}]]></category>"
        f'<guid isPermaLink="false">{guid(i, seq)}</guid>'
        f"<description><![CDATA[{description}]]></description>"
        f"<content:encoded><![CDATA[{_article_html(rng, link, title)}]]></content:encoded>"
        "</item>\n"
    )


def _article_html(rng: random.Random, link: str, title: str) -> str:
    """The full article, as WordPress feeds carry it (about 5 KB of HTML)."""
    figure = (
        f'<figure class="wp-block-image"><img src="{link}hero.jpg" alt="{escape(title)}"'
        ' width="1200" height="675" loading="lazy" />'
        f"<figcaption>{escape(rng.choice(_SENTENCES))}</figcaption></figure>"
    )
    paragraphs = [figure]
    for k in range(9):
        words = " ".join(rng.sample(_SENTENCES, 5))
        paragraphs.append(
            f'<p>{escape(words)} <a href="{link}#ref{k}">Read more</a> about'
            f" <em>{escape(rng.choice(_THINGS))}</em>.</p>"
        )
    return "\n".join(paragraphs)


def feed_body(
    i: int, version: int, base: datetime, launches: dict[int, int] | None = None
) -> bytes:
    """The RSS document feed ``i`` serves at ``version``; ``launches`` maps seq → launch no."""
    launches = launches or {}
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
        f"<title>Site {i // FEEDS_PER_HOST} News — feed {i}</title>"
        f"<link>https://{host(i)}/</link>"
        f"<description>Spaceflight business news</description>"
        f"<lastBuildDate>{last_modified(base, version)}</lastBuildDate>"
        "<language>en-US</language>\n"
    )
    items = "".join(_item_xml(i, s, base, launches.get(s)) for s in seqs(version))
    return (head + items + "</channel>\n</rss>\n").encode("utf-8")


def body_hash(body: bytes) -> str:
    """The hash the fetcher stores for a body."""
    return hashlib.sha256(body).hexdigest()


# ---------------------------------------------------------------------------- server


@dataclass
class _Feed:
    version: int = 0
    body: bytes | None = None
    launches: dict[int, int] | None = None
    arrival: float = 0.0


class _Farm:
    def __init__(self, n: int, base: datetime) -> None:
        self.base = base
        self.feeds = [_Feed() for _ in range(n)]
        self.ok = 0
        self.not_modified = 0
        self.launch_count = 0

    async def feed(self, request: object) -> object:
        from aiohttp import web

        assert isinstance(request, web.Request)
        arrived = time.time()
        i = feed_id_of(request.path)
        if not 0 <= i < len(self.feeds):
            return web.Response(status=404)
        feed = self.feeds[i]
        tag = etag(i, feed.version)
        modified = last_modified(self.base, feed.version)
        headers = {"ETag": tag, "Last-Modified": modified, "Cache-Control": "max-age=60"}
        if request.headers.get("If-None-Match") == tag or (
            "If-None-Match" not in request.headers
            and request.headers.get("If-Modified-Since") == modified
        ):
            self.not_modified += 1
            return web.Response(status=304, headers=headers)
        if feed.body is None:
            feed.body = feed_body(i, feed.version, self.base, feed.launches)
        self.ok += 1
        feed.arrival = arrived
        headers["Content-Type"] = RSS_TYPE
        return web.Response(body=feed.body, headers=headers)

    async def change(self, request: object) -> object:
        from aiohttp import web

        assert isinstance(request, web.Request)
        spec = await request.json()
        launch = set(spec.get("launch", ()))
        for i in spec["ids"]:
            feed = self.feeds[i]
            feed.version += 1
            if i in launch:
                feed.launches = dict(feed.launches or {})
                feed.launches[new_seqs(feed.version)[0]] = self.launch_count
                self.launch_count += 1
            # Rendered now, as a site publishes a file, so serving it costs what serving
            # a static file does and the farm takes little CPU from the bench.
            feed.body = feed_body(i, feed.version, self.base, feed.launches)
        return web.json_response({"versions": {i: self.feeds[i].version for i in spec["ids"]}})

    async def arrivals(self, request: object) -> object:
        from aiohttp import web

        assert isinstance(request, web.Request)
        ids = (await request.json())["ids"]
        return web.json_response({str(i): self.feeds[i].arrival for i in ids})

    async def stats(self, request: object) -> object:
        from aiohttp import web

        usage = resource.getrusage(resource.RUSAGE_SELF)
        return web.json_response(
            {
                "ok": self.ok,
                "not_modified": self.not_modified,
                "cpu": usage.ru_utime + usage.ru_stime,
            }
        )


def _serve(sock: socket.socket, n: int, base_ts: float) -> None:
    from aiohttp import web

    farm = _Farm(n, datetime.fromtimestamp(base_ts, UTC))
    app = web.Application()
    app.router.add_get("/feeds/{name}", farm.feed)  # type: ignore[arg-type]
    app.router.add_post("/_ctl/change", farm.change)  # type: ignore[arg-type]
    app.router.add_post("/_ctl/arrivals", farm.arrivals)  # type: ignore[arg-type]
    app.router.add_get("/_ctl/stats", farm.stats)  # type: ignore[arg-type]
    web.run_app(app, sock=sock, access_log=None, print=None, handle_signals=True, backlog=1024)


@dataclass(frozen=True)
class FarmInfo:
    """Where a running farm listens and the time its items count from."""

    port: int
    n: int
    base: datetime
    pid: int

    @property
    def ctl(self) -> str:
        """Base URL of the control endpoints."""
        return f"http://127.0.0.1:{self.port}/_ctl"


@contextlib.contextmanager
def running_farm(n: int) -> Iterator[FarmInfo]:
    """Start a farm of ``n`` feeds in a child process; stop it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # Items count from an hour ago, so every item is "recent" for the whole run.
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(
        target=_serve, args=(sock, n, base.timestamp()), name="bench-feedfarm", daemon=True
    )
    proc.start()
    sock.close()
    try:
        _wait_listening(port)
        assert proc.pid is not None
        yield FarmInfo(port=port, n=n, base=base, pid=proc.pid)
    finally:
        proc.terminate()
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()


def _wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
