"""Progress for ``scan`` and ``feeds add``: a live line on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io

from bot.progress import Progress, is_terminal


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        super().isatty()  # raises on a closed stream, like a real terminal's
        return True


def _screen(raw: str) -> list[str]:
    """What a terminal shows: ``\\r`` returns to the line start, ``ESC[K`` clears the rest."""
    lines, line, col = [], "", 0
    i = 0
    while i < len(raw):
        if raw.startswith("\x1b[K", i):
            line, i = line[:col], i + 3
            continue
        ch = raw[i]
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append(line)
            line, col = "", 0
        else:
            line = line[:col] + ch + line[col + 1 :]
            col += 1
        i += 1
    return [*lines, line]


def test_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    with Progress(3, "scan", stream) as progress:
        assert not progress.live
        progress.begin("https://a.example/feed")  # nothing to redraw in a pipe
        progress.advance("https://a.example/feed")
        progress.advance("feed.xml")
        progress.echo("launchwatch: cannot read missing.xml")
        progress.advance()
    assert stream.getvalue().splitlines() == [
        "scan 1/3: https://a.example/feed",
        "scan 2/3: feed.xml",
        "launchwatch: cannot read missing.xml",
        "scan 3/3",
    ]


def test_one_line_redrawn_in_place_on_a_terminal_and_cleared_at_the_end():
    term = Terminal()
    progress = Progress(4, "scan", term, width=60)
    assert progress.live
    progress.begin("https://a.example/feed")
    assert "\n" not in term.getvalue()
    assert _screen(term.getvalue()) == ["scan [--------------------] 0/4  https://a.example/feed"]
    progress.advance("https://a.example/feed")
    progress.advance("b.xml")
    assert _screen(term.getvalue()) == ["scan [##########----------] 2/4  b.xml"]
    progress.close()
    assert term.getvalue().endswith("\r\x1b[K")  # nothing left behind for the summary
    progress.advance("after close")  # ignored
    assert _screen(term.getvalue()) == [""]


def test_messages_print_above_the_live_line():
    term = Terminal()
    progress = Progress(2, "scan", term, width=60)
    progress.begin("a.xml")
    progress.echo("launchwatch: cannot read a.xml")
    assert _screen(term.getvalue()) == [
        "launchwatch: cannot read a.xml",
        "scan [--------------------] 0/2  a.xml",
    ]


def test_the_line_never_wraps_and_keeps_the_end_of_long_items():
    term = Terminal()
    progress = Progress(None, "checking feed", term, width=40)
    url = "https://news.example/" + "x" * 80 + "/feed.xml"
    progress.begin(url)
    (line,) = _screen(term.getvalue())
    assert len(line) <= 39
    assert line.startswith("checking feed 0  …") and line.endswith("/feed.xml")


def test_dumb_terminals_and_closed_streams_get_plain_output(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    assert not is_terminal(Terminal())
    monkeypatch.setenv("TERM", "xterm")
    assert is_terminal(Terminal())
    closed = Terminal()
    closed.close()
    assert not is_terminal(closed)
