"""One running LaunchWatch per database file.

Two ``launchwatch run`` on one database would both poll every feed (twice the traffic to
the publishers) and both deliver. The first to start takes an exclusive lock on
``<database>.lock`` (``flock``), held for as long as it runs; a second one refuses to start
with a message naming the first. The operating system releases the lock when a process
ends, however it ends, so a stale lock from a killed process never blocks a restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from handlers.errors import StorageError

__all__ = ["instance_lock", "lock_path"]


def lock_path(db: str | Path) -> Path:
    """The lock file that stands for the database at ``db``."""
    return Path(f"{db}.lock")


@contextlib.contextmanager
def instance_lock(db: str | Path, what: str = "launchwatch run") -> Iterator[None]:
    """Hold the database's instance lock while the block runs, or raise StorageError."""
    if str(db) == ":memory:":
        yield
        return
    path = lock_path(db)
    try:
        handle = path.open("a+", encoding="utf-8")
    except OSError as exc:
        raise StorageError(
            f"database {db}: cannot create the lock file {path} ({exc.strerror})", path=str(db)
        ) from None
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StorageError(
                f"database {db} is in use by another LaunchWatch ({holder});"
                " stop it first, or give this one its own LAUNCHWATCH_DB",
                path=str(db),
            ) from None
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        handle.seek(0)
        handle.truncate()
        handle.write(f"{what}, pid {os.getpid()} on {socket.gethostname()}, since {started}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
