"""The dry-run publisher: prints each alert to a stream instead of posting it.

Delivery guarantee. The delivery worker marks a job done only after the publisher
returns, so a process killed between printing an alert and recording it would print
it again on restart. With a :class:`PrintLedger` (``launchwatch run --dry-run`` passes
the database) the publisher closes that window: it durably records "printing job N"
*before* writing, and a restarted process that is handed job N again knows it was
already printed and does not print it twice.

What is left is the gap between that record being committed and the ``write``
call: a few microseconds of CPU with no I/O wait in between. A kill landing exactly
there means the alert is not printed at all; the restarted process says so in a
warning naming the alert. Everywhere else an alert is printed exactly once, and the
crash-safety tests (``tests/reliability/test_crash_safety.py``) kill the process at
every step to prove it. Without a ledger the publisher is at-least-once.
"""

from __future__ import annotations

import logging
import sys
from typing import Protocol, TextIO

from handlers.crashpoints import crash_point
from handlers.domain import DeliveryJob, DeliveryKind
from handlers.ports import PublishOutcome, PublishResult
from handlers.summary import render_event_text

log = logging.getLogger(__name__)

CONSOLE_TARGET = "console"
PRINTING_KEY = "console.printing"


class PrintLedger(Protocol):
    """Durable key/value facts (the storage ``meta`` table); each set is committed."""

    async def get_meta(self, key: str) -> str | None:
        """The stored value, or None."""
        ...

    async def set_meta(self, key: str, value: str) -> None:
        """Store and commit a value."""
        ...


class ConsolePublisher:
    """Prints new alerts and status follow-ups; edits are logged, not printed again."""

    target = CONSOLE_TARGET

    def __init__(self, stream: TextIO | None = None, *, ledger: PrintLedger | None = None) -> None:
        self._stream = stream or sys.stdout
        self._ledger = ledger

    async def publish(self, job: DeliveryJob) -> PublishResult:
        """Print the alert block and flush at once, so a reader sees it immediately."""
        if job.kind is DeliveryKind.EDIT:
            log.info(
                "dry-run: alert %d for %s updated (%d sources)",
                job.event.id,
                job.event.name,
                len(job.event.sources),
            )
            return PublishResult(PublishOutcome.SENT, message_id=job.message_id)
        sent = PublishResult(PublishOutcome.SENT, message_id=job.event.id)
        marker = str(job.id)
        if self._ledger is not None and await self._ledger.get_meta(PRINTING_KEY) == marker:
            log.warning(
                "dry-run: alert %s (%s) was being printed when the last process stopped;"
                " not printing it twice",
                job.nonce,
                job.event.name,
            )
            return sent
        text = (
            render_event_text(
                job.event, kind=job.kind, lead=job.reminder, notice=job.followup_status
            )
            + "\n\n"
        )
        if self._ledger is not None:
            await self._ledger.set_meta(PRINTING_KEY, marker)
            crash_point("console.marked")
        try:
            self._stream.write(text)
            self._stream.flush()
        except Exception:
            if self._ledger is not None:  # not printed: let the retry print it
                await self._ledger.set_meta(PRINTING_KEY, "")
            raise
        return sent
