"""Work bounds that hold on a busy machine: CPU time of the calling thread, not wall time.

A test that guards against a blow-up (quadratic parsing, entity expansion) asserts on the
CPU seconds its own thread spent, which other processes on the machine do not inflate.
The bounds are ten times or more what the work takes, so only a change of complexity,
not a slower or busier machine, can cross them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cpu_seconds_at_most(limit: float, what: str) -> Iterator[None]:
    """Fail if the block used more than ``limit`` CPU seconds of this thread."""
    started = time.thread_time()
    yield
    spent = time.thread_time() - started
    assert spent < limit, f"{what} used {spent:.2f} CPU seconds, over {limit:g}"


# How long a test waits for something that takes milliseconds to seconds on a quiet
# machine (a child process starting, a poll, a gateway event) before it fails. It only
# bounds a failure: a healthy run never waits for it, so it is generous for a busy
# 2-core machine. Per-test limits (pyproject.toml) stop whatever has no bound of its own.
PATIENCE = 60.0
