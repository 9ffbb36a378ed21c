"""Logging: readable lines by default, JSON lines on request, secrets never printed.

Every record passes :class:`RedactingFilter` on its way out: the configured secrets and
whatever :func:`handlers.errors.redact` masks (credential headers, anything shaped like a
Discord token) are masked in the message, in the formatted exception (traceback *and*
exception message) and in stack information. Uncaught
exceptions and :mod:`warnings` are routed through the same handler, so they are masked
too. :class:`PollCycleLog` turns the pipeline's per-feed reports into one summary line per
poll cycle.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from handlers.errors import REDACTED, mask_secrets, redact

if TYPE_CHECKING:
    from handlers.pipeline import PollReport

__all__ = ["REDACTED", "JsonFormatter", "PollCycleLog", "RedactingFilter", "configure_logging"]

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class RedactingFilter(logging.Filter):
    """Masks the given secrets, and what :func:`handlers.errors.redact` masks, in every record."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """The text with every secret masked."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message now (arguments included) and mask it, its traceback and stack."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not crash the code that logged it
            message = f"{record.msg!r} (could not format arguments {record.args!r})"
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        """Serialise the record's essentials."""
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(
    level: str, fmt: str, secrets: Iterable[str], *, stream: TextIO | None = None
) -> logging.Handler:
    """Send logs to stderr (stdout is for alerts and command output); return the handler.

    Replaces the root logger's handlers, so calling it twice never duplicates lines.
    """
    secrets = list(secrets)
    mask_secrets(secrets)  # every other sink (stored errors, replies) masks them too
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(RedactingFilter(secrets))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, root.level))
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    return handler


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """``sys.excepthook``: an uncaught exception goes through the (redacting) log handler."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    logging.getLogger("launchwatch").critical("uncaught exception", exc_info=(kind, exc, tb))


class PollCycleLog:
    """Collects per-feed poll reports and logs one summary line per poll cycle.

    A cycle is ``window`` seconds (the poll interval: every feed is polled about once
    in it). Pass :meth:`observe` as (or call it from) the pipeline's ``on_report`` hook;
    call :meth:`flush` on shutdown to log the last, partial cycle.
    """

    def __init__(
        self,
        window: float,
        *,
        logger: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window = window
        self._log = logger or logging.getLogger("launchwatch.poll")
        self._clock = clock
        self._started = clock()
        self._statuses: Counter[str] = Counter()
        self._totals: Counter[str] = Counter()
        self._feeds: set[int] = set()

    def observe(self, report: PollReport) -> None:
        """Count one feed's poll; log the cycle's summary once its window has passed."""
        self._statuses[str(report.status)] += 1
        self._feeds.add(report.feed_id)
        self._totals["new"] += report.new
        self._totals["matched"] += report.matched
        self._totals["created"] += report.events_created
        self._totals["updated"] += report.events_updated
        self._totals["deliveries"] += report.deliveries
        if self._clock() - self._started >= self._window:
            self.flush()

    def summary(self) -> str | None:
        """The summary line of the reports seen since the last flush (None if none)."""
        polls = sum(self._statuses.values())
        if not polls:
            return None
        by_status = " ".join(f"{name}={n}" for name, n in sorted(self._statuses.items()))
        t = self._totals
        return (
            f"poll cycle: feeds={len(self._feeds)} polls={polls} {by_status}"
            f" new={t['new']} matched={t['matched']}"
            f" events=+{t['created']}/~{t['updated']} deliveries={t['deliveries']}"
        )

    def flush(self) -> None:
        """Log the summary of what was observed since the last flush, and start anew."""
        line = self.summary()
        if line is not None:
            self._log.info("%s", line)
        self._statuses.clear()
        self._totals.clear()
        self._feeds.clear()
        self._started = self._clock()
