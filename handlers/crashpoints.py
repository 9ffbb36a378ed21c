"""Named places where a crash test may kill the process, as ``kill -9`` would.

Crash-safety tests start the real ``launchwatch run`` with
``LAUNCHWATCH_TEST_CRASH_AT=<point>`` (or ``<point>@<n>`` for the n-th time the
point is reached) and check that a restart loses and repeats nothing. Unless the
variable names a point, :func:`crash_point` does nothing but one comparison.

Points (the code that reaches them):

* ``poll.fetched`` — a feed was downloaded and parsed, nothing stored yet (pipeline)
* ``ingest.before_commit`` — articles, events and outbox rows written, not committed
* ``ingest.committed`` — the ingest transaction committed, delivery not started
* ``deliver.before_publish`` — an outbox job was claimed, not yet sent
* ``deliver.after_publish`` — the publisher sent or printed it, the outbox not updated
* ``console.marked`` — the dry-run publisher recorded "printing", not yet printed
* ``migrate.before_commit`` — a schema migration ran, not committed (storage)
"""

from __future__ import annotations

import os
import signal

__all__ = ["CRASH_ENV", "crash_point"]

CRASH_ENV = "LAUNCHWATCH_TEST_CRASH_AT"


def _armed(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    name, _, nth = value.partition("@")
    return name.strip(), int(nth) if nth.strip().isdigit() else 1


# Read once: the variable is set when a test starts the process, never later.
_ARMED = _armed(os.environ.get(CRASH_ENV))
_hits = 0


def crash_point(name: str) -> None:
    """Die at once with SIGKILL if ``LAUNCHWATCH_TEST_CRASH_AT`` names this point."""
    global _hits
    if _ARMED is None or _ARMED[0] != name:
        return
    _hits += 1
    if _hits >= _ARMED[1]:
        os.kill(os.getpid(), signal.SIGKILL)
