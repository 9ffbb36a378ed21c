"""The dry-run publisher: prints each alert to a stream instead of posting it."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from handlers.domain import DeliveryJob, DeliveryKind
from handlers.ports import PublishOutcome, PublishResult
from handlers.summary import render_event_text

log = logging.getLogger(__name__)

CONSOLE_TARGET = "console"


class ConsolePublisher:
    """Prints new alerts and status follow-ups; edits are logged, not printed again."""

    target = CONSOLE_TARGET

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout

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
        self._stream.write(render_event_text(job.event, kind=job.kind) + "\n\n")
        self._stream.flush()
        return PublishResult(PublishOutcome.SENT, message_id=job.event.id)
