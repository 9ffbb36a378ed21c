"""The ``launchwatch`` command line, run as a user would run it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.budget import PATIENCE
from tests.feedgen import Item, rss
from tests.feedserver import FeedServer

NOW = datetime.now(UTC).replace(microsecond=0)
BACKGROUND = [Item("funding", "Satellite startup raises $40 million", "", NOW - timedelta(days=1))]
SOYUZ = Item(
    "soyuz-ms-29",
    "Soyuz MS-29 blasts off from Baikonur with three crew members bound for the ISS",
    "Two Roscosmos cosmonauts and a NASA astronaut are aboard.",
    NOW - timedelta(minutes=30),
)
SOYUZ_AGAIN = Item(
    "other-soyuz",
    "Russian Soyuz rocket launches Soyuz MS-29 crew toward the space station",
    "Liftoff from the Baikonur Cosmodrome.",
    NOW - timedelta(minutes=20),
)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAUNCHWATCH_", "DISCORD_"))}
    env.update({"LAUNCHWATCH_DB": str(tmp_path / "cli.db"), "PYTHONUNBUFFERED": "1"})
    env["LAUNCHWATCH_SCHEDULE"] = "off"  # the suite never reaches the internet
    env.update(extra)
    return env


def _launchwatch(tmp_path: Path, *args: str, stdin: str | None = None, **env: str):
    return subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", os.devnull, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(tmp_path, **env),
        timeout=60,
        cwd=tmp_path,
    )


def test_version_and_help(tmp_path):
    result = _launchwatch(tmp_path, "--version")
    assert result.returncode == 0 and result.stdout.startswith("launchwatch ")


def test_bad_setting_is_one_line_naming_it(tmp_path):
    result = _launchwatch(tmp_path, "feeds", "list", LAUNCHWATCH_POLL_INTERVAL="0")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "LAUNCHWATCH_POLL_INTERVAL" in result.stderr and "Traceback" not in result.stderr


def test_run_without_token_explains_dry_run(tmp_path):
    result = _launchwatch(tmp_path, "run")
    assert (
        result.returncode == 2 and "DISCORD_TOKEN" in result.stderr and "--dry-run" in result.stderr
    )


def test_match_keeps_keys_order_and_reports_bad_lines(tmp_path):
    lines = [
        {
            "title": "Falcon 9 launches Starlink 10-20 from Cape Canaveral",
            "id": 1,
            "published": "2026-03-01T10:00:00Z",
        },
        {"title": "Company buys 10 more Falcon 9 launches", "id": 2},
    ]
    text = "\n".join(json.dumps(x) for x in lines) + "\nnot json\n"
    result = _launchwatch(tmp_path, "match", stdin=text)
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [o.get("id") for o in out] == [1, 2, None]
    assert out[0]["match"]["status"] == "launched" and out[0]["match"]["vehicle"] == "Falcon 9"
    assert out[1]["match"] is None
    assert out[2]["line"] == 3 and "error" in out[2]
    assert result.returncode == 1


def test_scan_a_file_prints_events_and_writes_nothing(tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_bytes(rss([SOYUZ, SOYUZ_AGAIN, *BACKGROUND]))
    result = _launchwatch(tmp_path, "scan", str(feed), "--json")
    data = json.loads(result.stdout)
    assert data["articles"] == 3 and data["launch_stories"] == 2
    [event] = data["events"]
    assert event["mission"] == "Soyuz MS-29" and len(event["sources"]) == 2
    assert not (tmp_path / "cli.db").exists()


def test_feeds_add_list_remove_and_migrate(tmp_path):
    env = {"LAUNCHWATCH_FEEDS": "https://news.example/feed"}
    result = _launchwatch(
        tmp_path, "feeds", "add", "http://127.0.0.1:8080/feed", "--no-check", **env
    )
    assert result.returncode == 2 and "private" in result.stderr.lower()
    assert (
        _launchwatch(
            tmp_path, "feeds", "add", "https://other.example/rss", "--no-check", **env
        ).returncode
        == 0
    )
    listing = _launchwatch(tmp_path, "feeds", "list", **env).stdout
    assert "https://news.example/feed" in listing and "https://other.example/rss" in listing
    assert (
        _launchwatch(tmp_path, "feeds", "remove", "https://other.example/rss", **env).returncode
        == 0
    )
    assert "other.example" not in _launchwatch(tmp_path, "feeds", "list", **env).stdout
    # A configured default is disabled, not deleted, and stays so across restarts.
    removed = _launchwatch(tmp_path, "feeds", "remove", " https://NEWS.example/feed#x", **env)
    assert removed.returncode == 0
    assert removed.stdout.startswith("disabled https://news.example/feed: it is one of the")
    listing = _launchwatch(tmp_path, "feeds", "list", **env).stdout
    assert "disabled" in listing and "disabled by the operator" in listing
    unknown = _launchwatch(tmp_path, "feeds", "remove", "https://nowhere.example/rss", **env)
    assert unknown.returncode == 1 and "no built-in feed" in unknown.stdout
    assert "up to date" in _launchwatch(tmp_path, "db", "migrate").stdout


async def _wait_seeded(db: Path, feeds: int, timeout: float = PATIENCE) -> None:
    """Wait until the running bot has committed the silent first poll of every feed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            with (
                contextlib.suppress(sqlite3.Error),
                contextlib.closing(sqlite3.connect(db, timeout=1)) as conn,
            ):
                (seeded,) = conn.execute("SELECT COUNT(*) FROM feeds WHERE seeded = 1").fetchone()
                if seeded >= feeds:
                    return
        await asyncio.sleep(0.1)
    raise AssertionError("the feeds were never seeded")


async def _read_until(stream, needle: str, timeout: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            line = await asyncio.wait_for(stream.readline(), remaining)
        except TimeoutError:
            break
        if not line:
            break
        seen += line.decode()
    return seen


async def test_dry_run_prints_exactly_one_alert_per_new_launch(tmp_path):
    async with FeedServer() as server:
        server.route("/a", body=rss(BACKGROUND))
        server.route("/b", body=rss(BACKGROUND))
        env = _env(
            tmp_path,
            LAUNCHWATCH_FEEDS=f"{server.url('/a')},{server.url('/b')}",
            LAUNCHWATCH_POLL_INTERVAL="1",
            LAUNCHWATCH_ALLOW_PRIVATE_NETWORKS="true",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--env-file",
            os.devnull,
            "run",
            "--dry-run",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        try:
            await _wait_seeded(tmp_path / "cli.db", 2)
            server.route("/a", body=rss([SOYUZ, *BACKGROUND]))
            out = await _read_until(proc.stdout, "Sources", PATIENCE)
            assert "[LAUNCHED] Soyuz-2.1a | Soyuz MS-29" in out
            server.route("/b", body=rss([SOYUZ_AGAIN, *BACKGROUND]))
            polled = server.count("/b")
            while server.count("/b") < polled + 2:
                await asyncio.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            rest, err = await asyncio.wait_for(proc.communicate(), PATIENCE)
            assert proc.returncode == 0, err.decode()[-2000:]
            assert (out + rest.decode()).count("[LAUNCHED]") == 1
            assert b"Traceback" not in err
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


# ------------------------------------------------------- what a newcomer sees (step 5)


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr


async def test_launches_upcoming_lists_the_stored_schedule(tmp_path):
    from handlers.schedule.launches import NetPrecision, ScheduledLaunch, ScheduleStatus
    from storage import Storage

    net = NOW + timedelta(days=2)
    async with Storage.open(tmp_path / "cli.db") as store:
        assert "not been read yet" in (await asyncio.to_thread(
            _launchwatch, tmp_path, "launches", "upcoming")).stdout  # fmt: skip
        await store.schedule.save(
            [
                ScheduledLaunch("a", "Electron | Far Out", ScheduleStatus.GO, net,
                                NetPrecision.MINUTE, location="Mahia Peninsula, New Zealand"),
                ScheduledLaunch("b", "H3 | Later", ScheduleStatus.TBD, NOW + timedelta(days=30),
                                NetPrecision.COARSE),
            ],
            NOW,
        )  # fmt: skip
        request = await store.schedule.start_request(NOW, "upcoming")
        await store.schedule.finish_request(request, "ok")
    text = _launchwatch(tmp_path, "launches", "upcoming").stdout
    assert f"{net:%Y-%m-%d %H:%M}" in text and "Go" in text and "Electron | Far Out" in text
    assert "H3 | Later" not in text  # 30 days out
    lines = _launchwatch(tmp_path, "launches", "upcoming", "--days", "40", "--json").stdout
    assert [json.loads(line)["id"] for line in lines.splitlines()] == ["a", "b"]
    bad = _launchwatch(tmp_path, "launches", "upcoming", "--days", "0")
    assert bad.returncode == 2 and "--days" in bad.stderr


def test_bare_command_prints_the_help(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0 and "COMMAND" in result.stdout and "run" in result.stdout


def test_input_and_database_problems_are_one_line(tmp_path):
    missing = _launchwatch(tmp_path, "match", "--input", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2
    assert (
        missing.stderr.strip()
        == f"launchwatch: cannot read {tmp_path / 'nope.jsonl'}: No such file or directory"
    )
    unopenable = _launchwatch(tmp_path, "feeds", "list", LAUNCHWATCH_DB="/nonexistent/x/lw.db")
    assert unopenable.returncode == 2 and unopenable.stderr.count("\n") == 1, unopenable.stderr
    assert "/nonexistent/x/lw.db" in unopenable.stderr


def test_a_closed_pipe_is_not_an_error(tmp_path):
    result = subprocess.run(
        f"{sys.executable} -m bot --env-file {os.devnull} feeds list | head -1",
        shell=True,
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=60,
        cwd=tmp_path,
    )
    assert result.stdout.count("\n") == 1
    _no_traceback(result)


def test_settings_are_checked_and_misspellings_named(tmp_path):
    absent = subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", str(tmp_path / "nope.env"), "feeds", "list"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=60,
        cwd=tmp_path,
    )
    assert absent.returncode == 2 and "nope.env does not exist" in absent.stderr
    (tmp_path / ".env").write_text("LAUNCHWATCH_POLL_INTERVALL=30\nLAUNCHWATCH_LOG_LEVEL=warning\n")
    misspelt = subprocess.run(
        [sys.executable, "-m", "bot", "feeds", "list"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=60,
        cwd=tmp_path,
    )
    assert misspelt.returncode == 0, misspelt.stderr  # "warning" in lower case is fine
    assert "LAUNCHWATCH_POLL_INTERVALL in .env is not a LaunchWatch setting" in misspelt.stderr
    assert "did you mean LAUNCHWATCH_POLL_INTERVAL?" in misspelt.stderr
    for name, value in [
        ("LAUNCHWATCH_FEEDS", "notaurl"),
        ("DISCORD_GATEWAY_URL", "http://x"),
        ("LAUNCHWATCH_LOG_LEVEL", "loud"),
    ]:
        bad = _launchwatch(tmp_path, "feeds", "list", **{name: value})
        assert bad.returncode == 2 and name in bad.stderr and bad.stderr.count("\n") == 1
        _no_traceback(bad)


async def test_poll_says_each_thing_once_and_failures_show_at_warning(tmp_path):
    async with FeedServer() as server:
        server.route("/good", body=rss([SOYUZ, *BACKGROUND]))
        server.route("/bad", status=500)
        feeds = f"{server.url('/good')},{server.url('/bad')}"
        env = {
            "LAUNCHWATCH_FEEDS": feeds,
            "LAUNCHWATCH_ALLOW_PRIVATE_NETWORKS": "true",
            "LAUNCHWATCH_LOG_LEVEL": "WARNING",
        }
        result = await asyncio.to_thread(_launchwatch, tmp_path, "poll", **env)
    assert result.returncode == 0, result.stderr
    _no_traceback(result)
    both = result.stdout + result.stderr
    assert both.count(server.url("/good")) == 1  # the table only: no log line beside it
    assert "WARNING" in result.stderr and server.url("/bad") in result.stderr
    scan = _launchwatch(tmp_path, "scan", str(_one_article_feed(tmp_path)))
    assert "1 article, 1 launch story, 1 launch event" in scan.stdout


def _one_article_feed(tmp_path: Path) -> Path:
    path = tmp_path / "one.xml"
    path.write_bytes(rss([SOYUZ]))
    return path


async def test_ctrl_c_stops_run_quietly_and_one_database_has_one_instance(tmp_path):
    async with FeedServer() as server:
        server.route("/a", body=rss([SOYUZ, *BACKGROUND]))
        env = _env(
            tmp_path,
            LAUNCHWATCH_FEEDS=server.url("/a"),
            LAUNCHWATCH_POLL_INTERVAL="1",
            LAUNCHWATCH_ALLOW_PRIVATE_NETWORKS="true",
        )
        command = [sys.executable, "-m", "bot", "--env-file", os.devnull, "run", "--dry-run"]
        first = await asyncio.create_subprocess_exec(
            *command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp_path,
            start_new_session=True,  # its own process group, as a terminal gives it
        )
        try:
            await _wait_seeded(tmp_path / "cli.db", 1)  # a feed was fetched and parsed
            second = await asyncio.to_thread(
                subprocess.run, command, capture_output=True, text=True, env=env, timeout=60
            )
            assert second.returncode == 2
            assert "is in use by another LaunchWatch (launchwatch run, pid" in second.stderr
            assert str(first.pid) in second.stderr
            os.killpg(first.pid, signal.SIGINT)  # Ctrl-C reaches the parser workers too
            out, err = await asyncio.wait_for(first.communicate(), PATIENCE)
        finally:
            if first.returncode is None:
                first.kill()
                await first.wait()
    assert first.returncode == 0, err.decode()[-2000:]
    assert b"Traceback" not in out + err and b"KeyboardInterrupt" not in out + err
    # Killed, not stopped: the lock goes with the process, and a new run starts.
    killed = await asyncio.create_subprocess_exec(*command, env=env, cwd=tmp_path)
    await _wait_running(tmp_path / "cli.db")
    killed.kill()
    await killed.wait()
    again = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path
    )
    await _wait_running(tmp_path / "cli.db", after=killed.pid)
    again.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(again.communicate(), PATIENCE)
    assert again.returncode == 0, err.decode()[-2000:]


async def _wait_running(db: Path, *, after: int | None = None) -> None:
    """Wait until a run holds the database's instance lock (a pid other than ``after``)."""
    lock = Path(f"{db}.lock")
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        text = lock.read_text() if lock.exists() else ""
        if "pid" in text and (after is None or f"pid {after} " not in text):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no run took the lock of {db}")


def test_the_readme_lists_every_command_and_only_real_ones():
    from bot.__main__ import build_parser

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    section = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    listed = set()
    for row in section.splitlines():
        if row.startswith("| `launchwatch"):
            words = row.split("`")[1].split()[1:]
            command = []
            for word in words:
                if not (word.isalpha() and word.islower()):
                    break
                command.append(word)
            listed.add(" ".join(command))
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    real = set()
    for name, sub in commands.items():
        nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        real |= {f"{name} {n}" for n in nested[0].choices} if nested else {name}
    assert real == listed - {""}, (sorted(real - listed), sorted(listed - real - {""}))
