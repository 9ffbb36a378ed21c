"""A throwaway PostgreSQL cluster for the suite: ``initdb`` in a temporary folder, served on a
Unix socket only (no TCP port), stopped and deleted at the end.

The server's own binaries come from the machine (``initdb`` on ``PATH`` or the Debian
packages' ``/usr/lib/postgresql/<version>/bin``). PostgreSQL refuses to run as root, so
when the suite runs as root the cluster belongs to the ``postgres`` system user, which the
distribution's package creates. Each test gets a database of its own.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import random
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

USER = "launchwatch"
START_TIMEOUT = 60  # seconds for pg_ctl -w


def find_binary(name: str) -> str | None:
    """``name`` from PATH, else the newest Debian server package's."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[4]) if p.parts[4].isdigit() else 0,
    )
    return str(candidates[-1]) if candidates else None


class Unavailable(Exception):
    """No PostgreSQL server can be started here (the message says why)."""


@dataclass
class PgCluster:
    """A running cluster: its socket folder and port, and how to reach a database in it."""

    root: Path
    port: int
    owner: str | None
    pg_ctl: str
    _names: Iterator[int]

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL for asyncpg and LaunchWatch."""
        return f"postgresql://{USER}@/{database}?host={self.root}&port={self.port}"

    def new_database(self) -> str:
        """Create an empty database; its URL."""
        name = f"t{next(self._names)}"
        createdb = find_binary("createdb") or "createdb"
        subprocess.run(
            [createdb, "-h", str(self.root), "-p", str(self.port), "-U", USER, name],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            _run(
                self.owner, [self.pg_ctl, "-D", str(self.root / "data"), "-m", "immediate", "stop"]
            )
        shutil.rmtree(self.root, ignore_errors=True)


def _run(owner: str | None, argv: list[str]) -> subprocess.CompletedProcess[str]:
    if owner is not None:
        argv = ["runuser", "-u", owner, "--", *argv]
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=120)


def start_cluster() -> PgCluster:
    """Start a cluster or raise :class:`Unavailable` saying why not."""
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise Unavailable(
            "no PostgreSQL server binaries (initdb, pg_ctl); install the distribution's "
            "postgresql package to run the PostgreSQL storage tests"
        )
    owner = None
    root = Path(tempfile.mkdtemp(prefix="lw-pg-"))
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            raise Unavailable(
                "running as root and there is no 'postgres' user to run the server"
            ) from None
        owner = "postgres"
        os.chown(root, pw.pw_uid, pw.pw_gid)
    root.chmod(0o755)
    port = random.randint(20000, 60000)
    try:
        _run(
            owner,
            [
                initdb,
                "-D",
                str(root / "data"),
                "-U",
                USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )
        options = (
            f"-k {root} -p {port} -c listen_addresses= -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=200"
        )
        _run(
            owner,
            [pg_ctl, "-D", str(root / "data"), "-o", options, "-l", str(root / "server.log"),
             "-w", "-t", str(START_TIMEOUT), "start"],
        )  # fmt: skip
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        log = root / "server.log"
        if log.exists():
            detail += "\n" + log.read_text(errors="replace")[-2000:]
        shutil.rmtree(root, ignore_errors=True)
        raise Unavailable(f"the PostgreSQL server did not start: {detail.strip()[:2000]}") from exc
    return PgCluster(root, port, owner, pg_ctl, itertools.count(1))
