"""Progress for commands a person waits on (``scan``, ``feeds add``).

On a terminal one status line is redrawn in place (``scan [##----] 2/6  https://…``); into
a pipe or a file each finished item is one plain line, so logs stay readable. Progress
goes to stderr: stdout keeps only the command's real output.

    with Progress(len(urls), "scan") as progress:
        for url in urls:
            progress.begin(url)
            ...
            progress.advance(url)
"""

from __future__ import annotations

import os
import shutil
import sys
from types import TracebackType
from typing import TextIO

BAR_WIDTH = 20
ELLIPSIS = "…"


def is_terminal(stream: TextIO) -> bool:
    """True when ``stream`` is an interactive terminal that understands ``\\r``."""
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or already closed
        return False


def _shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, keeping its end (the telling part of a URL)."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return ELLIPSIS + text[len(text) - limit + 1 :]


class Progress:
    """A one-line progress display; plain lines when the stream is not a terminal."""

    def __init__(
        self,
        total: int | None,
        label: str,
        stream: TextIO | None = None,
        *,
        live: bool | None = None,
        width: int | None = None,
    ) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._live = is_terminal(self._stream) if live is None else live
        self._width = width
        self._drawn = False
        self._closed = False
        self._item = ""

    @property
    def live(self) -> bool:
        """True when the line is redrawn in place (a terminal)."""
        return self._live

    def _columns(self) -> int:
        if self._width is not None:
            return self._width
        return shutil.get_terminal_size(fallback=(80, 24)).columns

    def _count(self) -> str:
        return f"{self.done}/{self.total}" if self.total is not None else str(self.done)

    def _line(self, item: str) -> str:
        head = self.label
        if self.total:
            filled = min(BAR_WIDTH, BAR_WIDTH * self.done // self.total)
            head += f" [{'#' * filled}{'-' * (BAR_WIDTH - filled)}]"
        head += f" {self._count()}"
        room = self._columns() - 1 - len(head) - 2  # never the last column: no wrapping
        if item and room >= 8:
            return f"{head}  {_shorten(item, room)}"
        return head[: max(self._columns() - 1, 1)]

    def _draw(self, item: str) -> None:
        self._item = item
        self._stream.write("\r" + self._line(item) + "\x1b[K")
        self._stream.flush()
        self._drawn = True

    def _clear(self) -> None:
        if self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._drawn = False

    def begin(self, item: str) -> None:
        """Show what is being worked on now (only on a terminal)."""
        if self._live and not self._closed:
            self._draw(item)

    def advance(self, item: str | None = None) -> None:
        """One more item is finished."""
        if self._closed:
            return
        self.done += 1
        if self._live:
            self._draw(item or "")
        else:
            self._stream.write(
                f"{self.label} {self._count()}" + (f": {item}" if item else "") + "\n"
            )
            self._stream.flush()

    def echo(self, message: str) -> None:
        """Print a message line without garbling the progress line."""
        was_drawn = self._drawn
        self._clear()
        self._stream.write(message + "\n")
        self._stream.flush()
        if was_drawn:
            self._draw(self._item)

    def close(self) -> None:
        """Remove the progress line (a terminal); the command prints its own summary."""
        if self._closed:
            return
        self._closed = True
        self._clear()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
