"""``launchwatch`` command line and composition root.

Each sub-command builds just what it needs from the settings and owns it with
``async with``; nothing is created at import time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot import __version__
from bot.health import health_problem, record_start, record_stop
from bot.logsetup import configure_logging
from bot.metrics import Metrics, serve_http
from bot.progress import Progress
from bot.runtime import Service, open_core, open_reader, run_until
from bot.settings import Settings, load_settings, unknown_settings
from handlers.console import ConsolePublisher
from handlers.domain import Article, LaunchEvent, LaunchMention, utc_now
from handlers.errors import ConfigError, FeedError, LaunchWatchError, error_text
from handlers.grouping import group_mentions
from handlers.matching.matcher import default_matcher
from handlers.netguard import canonical_feed_url, check_url
from handlers.reader import FeedReader
from handlers.schedule.launches import NetPrecision, ScheduledLaunch
from handlers.summary import render_event_text, scan_summary, terminal_safe
from storage import Storage
from storage.copy import copy_database
from storage.feeds import OperatorRemoval
from storage.instance import instance_lock
from storage.postgres import is_postgres_url, safe_url

log = logging.getLogger("launchwatch")

DEFAULT_ENV_FILE = ".env"


def build_parser() -> argparse.ArgumentParser:
    """The ``launchwatch`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="launchwatch",
        description="Rocket launch alerts from spaceflight news feeds, on Discord.",
    )
    parser.add_argument("--version", action="version", version=f"launchwatch {__version__}")
    parser.add_argument(
        "--env-file", default=DEFAULT_ENV_FILE, help="settings file (default: .env)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the bot (polls feeds, posts alerts)")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print alerts to the terminal instead of posting; no Discord token needed",
    )

    poll = sub.add_parser("poll", help="poll the feeds that are due once, print what was found")
    poll.add_argument("--once", action="store_true", help="the default and only mode")

    scan = sub.add_parser("scan", help="show what feeds would produce (no database writes)")
    scan.add_argument("sources", nargs="+", metavar="URL_OR_FILE")
    scan.add_argument("--json", action="store_true", help="machine-readable output")

    match = sub.add_parser("match", help="JSON Lines of articles in, the same with `match` out")
    match.add_argument("--input", type=Path, help="read this file instead of standard input")

    feeds = sub.add_parser("feeds", help="list, add or remove feeds")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    feeds_sub.add_parser("list", help="every feed with its health")
    add = feeds_sub.add_parser("add", help="add a feed")
    add.add_argument("url")
    add.add_argument("--no-check", action="store_true", help="add without fetching it first")
    remove = feeds_sub.add_parser("remove", help="remove a feed")
    remove.add_argument("url")

    launches = sub.add_parser("launches", help="the launch schedule as last read")
    launches_sub = launches.add_subparsers(dest="launches_command", required=True, metavar="ACTION")
    upcoming = launches_sub.add_parser("upcoming", help="launches to come, soonest first (UTC)")
    upcoming.add_argument("--days", type=int, default=14, help="how far ahead (default 14)")
    upcoming.add_argument("--json", action="store_true", help="machine-readable output")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("migrate", help="bring the database schema up to date")
    copy = db_sub.add_parser(
        "copy", help="copy every row to a new database (SQLite <-> PostgreSQL)"
    )
    copy.add_argument(
        "--from", dest="source", required=True, help="sqlite:///path.db or postgresql://..."
    )
    copy.add_argument(
        "--to", dest="target", required=True, help="sqlite:///path.db or postgresql://..."
    )

    sub.add_parser("healthcheck", help="exit 0 if the running bot is healthy")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``launchwatch`` console script."""
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    try:
        env_file = _env_file(args.env_file, explicit=args.env_file != DEFAULT_ENV_FILE)
        settings = load_settings(env_file)
        configure_logging(settings.log_level, settings.log_format, settings.secrets())
        for warning in unknown_settings(env_file):
            log.warning("%s", warning)
        return asyncio.run(_dispatch(args, settings))
    except LaunchWatchError as exc:
        # Error text can quote what a server answered; it passes the same mask as the logs.
        print(f"launchwatch: {error_text(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`launchwatch feeds list | head`): nothing left to say.
        # Point stdout at /dev/null so the interpreter's final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports it


def _env_file(path: str, *, explicit: bool) -> str | None:
    """The settings file to read: a missing default ``.env`` is fine, a named one is not."""
    if Path(path).exists():
        return path
    if explicit:
        raise ConfigError(f"settings file {path} does not exist")
    return None


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    command = args.command
    if command == "run":
        return await cmd_run(settings, dry_run=args.dry_run)
    if command == "poll":
        return await cmd_poll_once(settings)
    if command == "scan":
        return await cmd_scan(settings, args.sources, as_json=args.json)
    if command == "match":
        return cmd_match(args.input)
    if command == "feeds":
        return await cmd_feeds(settings, args)
    if command == "launches":
        return await cmd_launches_upcoming(settings, days=args.days, as_json=args.json)
    if command == "db":
        if args.db_command == "copy":
            return await cmd_db_copy(args.source, args.target)
        return await cmd_db_migrate(settings)
    return await cmd_healthcheck(settings)


def _install_stop_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


async def cmd_run(settings: Settings, *, dry_run: bool) -> int:
    """The long-running service."""
    if not dry_run and settings.discord_token is None:
        raise LaunchWatchError(
            "DISCORD_TOKEN is not set: put it in the environment or .env, or use --dry-run"
        )
    if not settings.uses_sqlite:
        # On PostgreSQL the database server is shared; one instance at a time is then the
        # operator's to ensure (several processes sharing the work is the next step).
        return await _serve(settings, dry_run=dry_run)
    with instance_lock(settings.db, "launchwatch run"):
        return await _serve(settings, dry_run=dry_run)


async def _serve(settings: Settings, *, dry_run: bool) -> int:
    """Run the service until a stop signal; the caller holds the database's instance lock."""
    stop = asyncio.Event()
    _install_stop_handlers(stop)
    service_ref: list[Service] = []
    metrics = Metrics()
    async with (
        open_core(
            settings, on_deliveries=lambda: service_ref[0].wake_workers(), metrics=metrics
        ) as core,
        contextlib.AsyncExitStack() as stack,
    ):
        if settings.http_port is not None:
            await stack.enter_async_context(serve_http(metrics, core.storage, settings.http_port))
        await core.storage.set_meta("mode", "dry-run" if dry_run else "discord")
        await record_start(core.storage)
        if dry_run:
            await core.storage.subscriptions.ensure_console(
                utc_now(), reminders=settings.dry_run_reminder_leads()
            )
            service = Service(core, [ConsolePublisher(ledger=core.storage)])
            service_ref.append(service)
            await run_until(stop, service)
        else:
            from bot.discord_app import run_discord  # the Discord edge loads only when needed

            await run_discord(core, stop, service_ref)
        await record_stop(core.storage, utc_now())
    log.info("LaunchWatch stopped")
    return 0


async def cmd_poll_once(settings: Settings) -> int:
    """One poll cycle over the due feeds; print a line per feed."""
    # The table below says what each feed did; the log keeps only what went wrong.
    logging.getLogger("handlers.pipeline").setLevel(logging.WARNING)
    async with open_core(settings) as core:
        reports = await core.pipeline.run_due(utc_now())
    for r in reports:
        extra = f" error={r.error}" if r.error else ""
        print(
            f"{r.status:12} new={r.new:<4} matched={r.matched:<3} events=+{r.events_created}"
            f"/~{r.events_updated} {r.url}{extra}"
        )
    if not reports:
        print("no feed is due")
    return 0


async def cmd_scan(settings: Settings, sources: Sequence[str], *, as_json: bool) -> int:
    """Fetch or read feeds, match and group their articles, print the launch events."""
    now = utc_now()
    pairs: list[tuple[Article, LaunchMention]] = []
    failures = 0
    total = 0
    with Progress(len(sources), "scan") as progress:
        async with open_reader(settings) as reader:
            for source in sources:
                progress.begin(source)
                try:
                    articles = await _read_articles(reader, source)
                except FeedError as exc:
                    failures += 1
                    progress.echo(f"launchwatch: {exc}")
                    continue
                finally:
                    progress.advance(source)
                total += len(articles)
                pairs.extend(reader.launch_stories(articles))
    events = group_mentions(pairs, now)
    if as_json:
        json.dump(
            {
                "articles": total,
                "launch_stories": len(pairs),
                "events": [event_to_json(e) for e in events],
            },
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
    else:
        for event in events:
            print(render_event_text(event, max_sources=50), end="\n\n")
        print(scan_summary(total, len(pairs), len(events)))
    return 1 if failures == len(sources) else 0


async def _read_articles(reader: FeedReader, source: str) -> list[Article]:
    """A feed's articles, from a URL (as the poller reads it) or from a file."""
    if "://" in source:
        return list((await reader.read(source)).articles)
    path = Path(source)
    try:
        body = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise FeedError(f"cannot read {source}: {exc.strerror}", url=source) from exc
    uri = await asyncio.to_thread(lambda: path.resolve().as_uri())
    parsed, _ = await reader.parse_body(body, {}, uri)
    return list(parsed.articles)


def event_to_json(event: LaunchEvent) -> dict[str, Any]:
    """A launch event as plain JSON values."""
    return {
        "name": event.name,
        "key": event.key,
        "status": event.status.value,
        "vehicle": event.vehicle,
        "mission": event.mission,
        "site": event.site,
        "crewed": event.crewed,
        "agencies": list(event.agencies),
        "launch_time": _iso(event.launch_time),
        "launch_day_only": event.launch_day_only,
        "history": [{"status": h.status.value, "at": _iso(h.at)} for h in event.history],
        "sources": [
            {"title": s.title, "link": s.link, "site": s.site, "published": _iso(s.published)}
            for s in event.sources
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def cmd_match(path: Path | None, out: TextIO | None = None) -> int:
    """JSON Lines in, the same objects plus ``match`` out, one per line, in order."""
    out = out or sys.stdout
    matcher = default_matcher()
    errors = 0
    try:
        stream = path.open(encoding="utf-8") if path else sys.stdin
    except OSError as exc:
        raise LaunchWatchError(f"cannot read {path}: {exc.strerror}") from None
    with stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict) or not isinstance(item.get("title"), str):
                    raise ValueError("each line must be an object with a string `title`")
                published = _parse_time(item.get("published") or item.get("published_at"))
                mention = matcher.match(item["title"], str(item.get("summary") or ""), published)
                item["match"] = mention_to_json(mention) if mention else None
            except ValueError as exc:
                errors += 1
                item = {"line": number, "error": str(exc), "match": None}
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    out.flush()
    return 1 if errors else 0


def mention_to_json(mention: LaunchMention) -> dict[str, Any]:
    """The ``match`` object of ``launchwatch match``."""
    return {
        "status": mention.status.value,
        "vehicle": mention.vehicle,
        "mission": mention.mission,
        "site": mention.site,
        "crewed": mention.crewed,
        "agencies": list(mention.agencies),
        "launch_time": _iso(mention.launch_time),
        "launch_day_only": mention.launch_day_only,
        "event_key": mention.event_key,
        "confidence": round(mention.confidence, 3),
    }


def _parse_time(value: object) -> datetime | None:
    if not value:
        return None
    if not isinstance(value, str):
        raise ValueError("`published` must be an ISO 8601 string")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def cmd_feeds(settings: Settings, args: argparse.Namespace) -> int:
    """``feeds list|add|remove``."""
    async with Storage.open(settings.database) as storage:
        if args.feeds_command == "list":
            await storage.feeds.sync_defaults(settings.feed_urls(), utc_now())
            followers = await storage.feeds.follower_counts()
            for feed in await storage.feeds.list_feeds():
                print(_feed_line(feed, followers.get(feed.id, 0)))
            return 0
        url = canonical_feed_url(args.url)
        if args.feeds_command == "remove":
            outcome = await storage.feeds.remove_by_operator(url, utc_now())
            print(_REMOVAL_TEXT[outcome].format(url=url))
            return 1 if outcome is OperatorRemoval.NOT_FOUND else 0
        url = check_url(url, allow_private=settings.allow_private_networks)
        if not args.no_check:
            with Progress(1, "checking") as progress:
                progress.begin(url)
                async with open_reader(settings) as reader:
                    articles = await _read_articles(reader, url)
            print(f"{url}: a feed with {len(articles)} items")
        feed, created = await storage.feeds.add(url, utc_now())
        print(f"added {url}" if created else f"{url} is already watched (enabled: {feed.enabled})")
        return 0


async def cmd_launches_upcoming(settings: Settings, *, days: int, as_json: bool) -> int:
    """``launches upcoming``: the stored schedule (what the bot last read; no request)."""
    if not 1 <= days <= 366:
        raise LaunchWatchError("--days must be between 1 and 366")
    now = utc_now()
    async with Storage.open(settings.database) as storage:
        launches = await storage.schedule.between(
            now - timedelta(hours=1), now + timedelta(days=days)
        )
        last = await storage.schedule.last_success()
    if as_json:
        for launch in launches:
            print(json.dumps(_launch_json(launch), ensure_ascii=False))
        return 0
    if last is None:
        print("the launch schedule has not been read yet (launchwatch run reads it)")
        return 0
    print(f"launch schedule as read {last:%Y-%m-%d %H:%M} UTC; times in UTC")
    for launch in launches:
        print(_launch_line(launch))
    return 0


def _launch_line(launch: ScheduledLaunch) -> str:
    when = launch.net.astimezone(UTC)
    shown = {
        NetPrecision.SECOND: f"{when:%Y-%m-%d %H:%M:%S}",
        NetPrecision.MINUTE: f"{when:%Y-%m-%d %H:%M}",
        NetPrecision.HOUR: f"{when:%Y-%m-%d %H}:xx",
        NetPrecision.DAY: f"{when:%Y-%m-%d} --:--",
    }.get(launch.net_precision, f"{when:%Y-%m} (NET)")
    place = f"  ({launch.location or launch.pad})" if launch.location or launch.pad else ""
    return terminal_safe(f"{shown:<19}  {launch.status.value:<16} {launch.name}{place}")


def _launch_json(launch: ScheduledLaunch) -> dict[str, object]:
    return {
        "id": launch.id,
        "name": launch.name,
        "status": launch.status.value,
        "net": launch.net.astimezone(UTC).isoformat(),
        "net_precision": launch.net_precision.value,
        "window_start": launch.window_start.isoformat() if launch.window_start else None,
        "window_end": launch.window_end.isoformat() if launch.window_end else None,
        "vehicle": launch.vehicle,
        "mission": launch.mission,
        "provider": launch.provider,
        "pad": launch.pad,
        "location": launch.location,
        "crewed": launch.crewed,
        "probability": launch.probability,
        "webcasts": list(launch.webcasts),
    }


_REMOVAL_TEXT = {
    OperatorRemoval.DELETED: "removed {url}",
    OperatorRemoval.DISABLED: (
        "disabled {url}: it is one of the configured default feeds, so it is kept but no"
        " longer polled (remove it from LAUNCHWATCH_FEEDS to drop it; `feeds add` enables it)"
    ),
    OperatorRemoval.HANDED_OVER: (
        "{url} is no longer one of your feeds; servers that follow it keep it"
    ),
    OperatorRemoval.NOT_FOUND: "no built-in feed {url} (servers' own feeds are theirs to remove)",
}


def _feed_line(feed: Any, followers: int) -> str:
    last_ok = feed.last_success_at.strftime("%Y-%m-%d %H:%M") if feed.last_success_at else "never"
    problem = feed.disabled_reason or feed.last_error or ""
    owner = "built-in" if feed.builtin else f"{followers} server{'s' * (followers != 1)}"
    return f"{feed.id:>4} {feed.state.value:9} {owner:11} last ok {last_ok:16} {feed.url}" + (
        f"\n       {problem}" if problem else ""
    )


async def cmd_db_migrate(settings: Settings) -> int:
    """Apply pending schema migrations."""
    async with Storage.open(settings.database, migrate=False) as storage:
        applied = await storage.db.migrate()
        version = await storage.db.user_version()
    print(
        f"{settings.database_label}: schema version {version}"
        + (f" (applied {', '.join(map(str, applied))})" if applied else " (up to date)")
    )
    return 0


def database_target(text: str, *, must_exist: bool = False) -> str:
    """``sqlite:///path`` -> the path; a ``postgresql://`` URL as it is; else an error."""
    if is_postgres_url(text):
        return text
    if not text.startswith("sqlite:///"):
        raise ConfigError(f"{safe_url(text)!r}: give sqlite:///path.db or postgresql://...")
    path = text.removeprefix("sqlite:///")
    if not path or (must_exist and not Path(path).exists()):
        raise ConfigError(f"no database at {path or text}")
    return path


async def cmd_db_copy(source: str, target: str) -> int:
    """Copy an installation between databases (the target must be new)."""
    src, dst = database_target(source, must_exist=True), database_target(target)
    async with Storage.open(src) as old, Storage.open(dst) as new:
        report = await copy_database(old, new)
    shown = ", ".join(f"{table} {n}" for table, n in report.rows.items() if n)
    print(f"copied {report.total} rows to {safe_url(dst)}: {shown or 'nothing to copy'}")
    return 0


async def cmd_healthcheck(settings: Settings) -> int:
    """Exit 0 when the running bot polled (and, with Discord, heard the gateway) recently."""
    if settings.uses_sqlite and not settings.db.exists():
        print(f"unhealthy: no database at {settings.db}")
        return 1
    async with Storage.open(settings.database, migrate=False) as storage:
        problem = await health_problem(storage, utc_now())
    print("healthy" if problem is None else f"unhealthy: {problem}")
    return 0 if problem is None else 1


if __name__ == "__main__":
    sys.exit(main())
