"""Logging: readable or JSON lines, and the bot token never in the output, whatever logs it."""

from __future__ import annotations

import io
import json
import logging
import sys
import warnings
from collections.abc import Iterator

import pytest

from bot.logsetup import REDACTED, PollCycleLog, configure_logging
from handlers.pipeline import PollReport

# Built at run time so no token-shaped literal sits in the repository.
CONFIGURED = "MTA" + "q" * 22 + ".Gabcde." + "Z" * 38
OTHER_SHAPED = "OTk" + "w" * 21 + ".Xyz12_." + "k-" * 15
PLAIN_SECRET = "plain-secret-without-token-shape-7"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level, hook = root.handlers[:], root.level, sys.excepthook
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.excepthook = hook
    logging.captureWarnings(False)


@pytest.fixture
def out(restore_logging) -> io.StringIO:
    """JSON logging at DEBUG into a buffer, with CONFIGURED and PLAIN_SECRET as secrets."""
    stream = io.StringIO()
    configure_logging("DEBUG", "json", [CONFIGURED, PLAIN_SECRET, ""], stream=stream)
    return stream


def _records(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _assert_clean(text: str) -> None:
    for secret in (CONFIGURED, OTHER_SHAPED, PLAIN_SECRET):
        assert secret not in text
    # Nor a recognisable piece of one (e.g. the HMAC part on its own).
    assert "Z" * 38 not in text and "q" * 22 not in text


def test_json_lines_parse_and_carry_level_logger_message_and_exception(out):
    log = logging.getLogger("launchwatch.test")
    log.info("feed=%s status=%s new=%d", "https://a.example/feed", "ok", 3)
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        log.exception("poll crashed")

    first, second = _records(out)
    assert first["level"] == "INFO" and first["logger"] == "launchwatch.test"
    assert first["message"] == "feed=https://a.example/feed status=ok new=3"
    assert first["time"].endswith("+00:00")
    assert second["level"] == "ERROR" and second["message"] == "poll crashed"
    assert second["exception"].startswith("Traceback (most recent call last)")
    assert "ZeroDivisionError" in second["exception"]


def test_text_format_is_one_readable_line(restore_logging):
    stream = io.StringIO()
    configure_logging("INFO", "text", [], stream=stream)
    logging.getLogger("launchwatch").info("LaunchWatch %s running", "0.1.0")
    logging.getLogger("launchwatch").debug("not shown at INFO")
    (line,) = stream.getvalue().splitlines()
    assert line.endswith(" INFO    launchwatch: LaunchWatch 0.1.0 running")


def test_configured_and_token_shaped_values_are_masked_in_messages_and_arguments(out):
    log = logging.getLogger("launchwatch.test")
    log.warning("login with %s failed", CONFIGURED)
    log.warning("header Authorization: Bot %s", OTHER_SHAPED)
    log.warning(f"inline {PLAIN_SECRET} in the message itself")
    log.warning("mapping %(token)s", {"token": CONFIGURED})
    text = out.getvalue()
    _assert_clean(text)
    assert [r["message"].count(REDACTED) for r in _records(out)] == [1, 1, 1, 1]


def test_secrets_in_exception_messages_and_tracebacks_are_masked(out):
    log = logging.getLogger("launchwatch.test")

    def login(token: str) -> None:
        raise RuntimeError(f"401 Unauthorized for token {token}")

    try:
        try:
            login(CONFIGURED)
        except RuntimeError as exc:
            raise ValueError(f"while using {OTHER_SHAPED} and {PLAIN_SECRET}") from exc
    except ValueError as exc:
        log.exception("could not connect: %s", exc)
        log.error("again, with the exception as the message", exc_info=exc)
        log.error("%r", exc)

    text = out.getvalue()
    _assert_clean(text)
    records = _records(out)
    assert "RuntimeError: 401 Unauthorized for token [redacted]" in records[0]["exception"]
    assert "The above exception was the direct cause" in records[0]["exception"]
    assert records[0]["message"] == f"could not connect: while using {REDACTED} and {REDACTED}"


def test_third_party_loggers_warnings_and_stack_info_are_masked_too(out):
    logging.getLogger("discord.http").warning("sending token %s", CONFIGURED)
    logging.getLogger("launchwatch.test").info("here %s", PLAIN_SECRET, stack_info=True)
    warnings.warn(f"deprecated call with {OTHER_SHAPED}", UserWarning, stacklevel=1)
    text = out.getvalue()
    _assert_clean(text)
    records = _records(out)
    assert records[0]["logger"] == "discord.http"
    assert "stack" in records[1]
    assert any(r["logger"] == "py.warnings" for r in records)


def test_uncaught_exceptions_are_logged_through_the_redacting_handler(out):
    try:
        raise KeyError(f"no such guild for {CONFIGURED}")
    except KeyError:
        sys.excepthook(*sys.exc_info())
    (record,) = _records(out)
    assert record["level"] == "CRITICAL" and record["message"] == "uncaught exception"
    assert "KeyError" in record["exception"]
    _assert_clean(out.getvalue())


def test_a_bad_format_string_is_logged_not_raised(out):
    logging.getLogger("launchwatch.test").info("two %s %s but one argument", CONFIGURED)
    (record,) = _records(out)
    assert "could not format arguments" in record["message"]
    _assert_clean(out.getvalue())


def test_configuring_twice_never_duplicates_lines(out):
    configure_logging("INFO", "json", [CONFIGURED], stream=out)
    logging.getLogger("launchwatch").info("once")
    assert [r["message"] for r in _records(out)] == ["once"]


# ------------------------------------------------------------------------ poll cycle summary


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_one_summary_line_per_poll_cycle(caplog):
    clock = Clock()
    cycle = PollCycleLog(300, logger=logging.getLogger("launchwatch.poll"), clock=clock)
    caplog.set_level(logging.INFO, logger="launchwatch.poll")
    cycle.observe(
        PollReport(
            1, "https://a.example/feed", "ok", new=3, matched=1, events_created=1, deliveries=2
        )
    )
    clock.now = 120
    cycle.observe(PollReport(2, "https://b.example/feed", "not_modified"))
    assert caplog.messages == []  # the cycle is not over yet

    cycle.observe(PollReport(1, "https://a.example/feed", "unchanged"))  # feed 1 again
    clock.now = 301
    cycle.observe(PollReport(3, "https://c.example/feed", "error", error="timed out"))
    assert caplog.messages == [
        "poll cycle: feeds=3 polls=4 error=1 not_modified=1 ok=1 unchanged=1 new=3 matched=1"
        " events=+1/~0 deliveries=2"
    ]

    cycle.flush()  # nothing observed since: no empty line
    assert len(caplog.messages) == 1
    cycle.observe(PollReport(4, "https://d.example/feed", "unchanged"))
    cycle.flush()  # shutdown logs the partial cycle
    assert caplog.messages[-1].startswith("poll cycle: feeds=1 polls=1 unchanged=1 new=0")
