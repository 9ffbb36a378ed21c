"""Measuring tools shared by the bench sections: CPU of a process tree, RSS, child runs.

CPU and memory come from ``/proc`` (Linux), so the pipeline process and its parser workers
are counted and the feed farm (a sibling process) is not.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import statistics
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


PROC = Path("/proc")


def _stat(pid: int) -> list[str]:
    # The command name may contain spaces; everything after its ")" is numeric.
    return (PROC / str(pid) / "stat").read_text("ascii").rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (all its threads)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` that do work (the pipeline's parser workers).

    multiprocessing's resource tracker, an idle helper, is left out.
    """
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int(_stat(int(entry.name))[1]) != pid:
                continue
            if b"resource_tracker" in (entry / "cmdline").read_bytes():
                continue
            found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue  # exited while we looked
    return found


def _status_kb(pid: int, field: str) -> int:
    for line in (PROC / str(pid) / "status").read_text("ascii").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident memory (VmHWM) of a process, in MB."""
    return _status_kb(pid or os.getpid(), "VmHWM") / 1024


def rss_mb(pid: int | None = None) -> float:
    """Current resident memory of a process, in MB."""
    return _status_kb(pid or os.getpid(), "VmRSS") / 1024


class CpuMeter:
    """CPU seconds used by this process and its children since :meth:`start`."""

    def __init__(self) -> None:
        self._start: dict[int, float] = {}

    def _sample(self) -> dict[int, float]:
        me = os.getpid()
        sample = {}
        for pid in [me, *child_pids(me)]:
            try:
                sample[pid] = cpu_seconds(pid)
            except OSError:
                continue
        return sample

    def start(self) -> CpuMeter:
        """Take the starting sample; returns self."""
        self._start = self._sample()
        return self

    def split(self) -> tuple[float, float]:
        """(this process, its children) CPU seconds since start."""
        me = os.getpid()
        now = self._sample()
        own = now.get(me, 0.0) - self._start.get(me, 0.0)
        children = sum(v - self._start.get(pid, 0.0) for pid, v in now.items() if pid != me)
        return own, children

    def total(self) -> float:
        """CPU seconds of the whole tree since start."""
        own, children = self.split()
        return own + children


def children_peak_rss_mb() -> float:
    """Sum of the peak RSS of this process's children (parser workers)."""
    total = 0.0
    for pid in child_pids(os.getpid()):
        try:
            total += peak_rss_mb(pid)
        except OSError:
            continue
    return total


def raise_open_files() -> None:
    """Lift the soft open-files limit to the hard one (thousands of sockets)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0–100) of ``values``, interpolated."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, round(q) - 1))]


def _child_main(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send(("ok", fn(*args)))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def run_in_child(fn: Callable[..., Any], *args: Any, timeout: float = 900.0) -> Any:
    """Run ``fn(*args)`` in a fresh (spawned) process and return its result.

    Each measured scenario gets a clean process, so its CPU and peak memory are its own.
    """
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(child, fn, args), name=f"bench-{fn.__name__}")
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise TimeoutError(f"{fn.__name__} did not finish within {timeout:.0f} s")
        status, payload = parent.recv()
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join()
    if status != "ok":
        raise RuntimeError(f"{fn.__name__} failed in its child process:\n{payload}")
    return payload
