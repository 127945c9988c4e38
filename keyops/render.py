"""Rendering shared by all commands: JSON documents, tables and diagnostics, never a key.

A table on a terminal fits its width: columns are dropped in the order the command states
(``-o wide`` shows them all) and only free-text columns wrap, between words, so a name, an id,
a fingerprint or a URL is never cut. Piped, a table is plain aligned text of unlimited width;
``-o tsv`` is one tab-separated line per row. Terminal control characters in any value are
escaped (``\\x1b``, ``\\u202e``), so text from Azure or the user cannot move the cursor, recolour
the terminal or reorder what is shown. rich is imported only for a progress bar on a terminal.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import textwrap
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

#: The formats a table-printing command accepts besides its own (``json``, ``sarif``).
TABLE_FORMATS = ("table", "wide", "tsv")
#: Severity labels and the ANSI colour each is shown in on a colour terminal.
SEVERITY_COLOURS = {
    "critical": "1;31",
    "high": "31",
    "medium": "33",
    "low": "36",
    "info": "2",
}
_GAP = "  "


@dataclass
class _Settings:
    quiet: bool = False
    no_color: bool = False


_settings = _Settings()


def configure(*, quiet: bool, no_color: bool) -> None:
    """Apply the global ``-q/--quiet`` and ``--no-color`` options."""
    _settings.quiet = quiet
    _settings.no_color = no_color


def is_tty() -> bool:
    """Whether stdout is an interactive terminal."""
    return sys.stdout.isatty()


def colour_enabled(stream: Any = None) -> bool:
    """Colour only on a terminal, and never with ``--no-color`` or ``NO_COLOR`` set."""
    target = stream if stream is not None else sys.stdout
    if _settings.no_color or os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(target, "isatty", lambda: False)())


def quiet() -> bool:
    """Whether ``-q`` asked for no progress and no info lines."""
    return _settings.quiet


def escape_control(text: str) -> str:
    """``text`` with terminal control and format characters (C0/C1 controls, ESC, bidi
    overrides, zero-width characters, line separators) shown as escapes."""
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def cell_width(text: str) -> int:
    """Terminal cells ``text`` takes (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def print_json(data: Any) -> None:
    """Write a JSON document to stdout (non-ASCII and control characters escaped)."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Layout:
    """How a table may shrink: ``drop`` lists columns in the order they go when the table is
    too wide (first goes first); ``wrap`` names free-text columns that may wrap between words.
    Every other column is shown whole, on one line."""

    drop: Sequence[str] = ()
    wrap: Sequence[str] = ()


def print_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
    layout: Layout | None = None,
    output: str = "table",
) -> None:
    """Write a table to stdout: fitted to a terminal, plain and unlimited when piped, or
    tab-separated (``output="tsv"``)."""
    from keyops.redact import redact

    # Cells are redacted before a cell can wrap: a secret-shaped value split over two lines
    # would no longer be whole for the stream's redactor to find.
    cells = [[escape_control("" if v is None else redact(str(v))) for v in row] for row in rows]
    if output == "tsv":
        lines = ["\t".join(columns)] + ["\t".join(c.replace("\t", "\\t") for c in r) for r in cells]
        _write(lines)
        return
    width = terminal_width() if output != "wide" else None
    table = _Table(list(columns), cells, layout or Layout())
    hidden = table.fit(width)
    lines = [escape_control(title)] if title else []
    lines += table.render(colour_enabled())
    _write(lines)
    if hidden:
        info(f"columns not shown at {width} columns: {', '.join(hidden)} (-o wide shows all)")


def terminal_width() -> int | None:
    """The terminal's width, or None (unlimited) when stdout is not a terminal."""
    if not is_tty():
        return None
    return shutil.get_terminal_size(fallback=(80, 24)).columns


def _write(lines: Sequence[str]) -> None:
    sys.stdout.write("".join(line.rstrip() + "\n" for line in lines))
    sys.stdout.flush()


class _Table:
    """A table's columns and cells, fitted to a width."""

    def __init__(self, columns: list[str], cells: list[list[str]], layout: Layout) -> None:
        self.columns = columns
        self.cells = cells
        self.layout = layout
        self.shown = list(range(len(columns)))
        self.widths = {i: self._natural(i) for i in self.shown}

    def _values(self, i: int) -> list[str]:
        return [self.columns[i]] + [row[i] for row in self.cells if i < len(row)]

    def _natural(self, i: int) -> int:
        return max(cell_width(v) for v in self._values(i))

    def _minimum(self, i: int) -> int:
        if self.columns[i] not in self.layout.wrap:
            return self._natural(i)
        return max(cell_width(w) for v in self._values(i) for w in (v.split() or [""]))

    def _total(self, widths: dict[int, int]) -> int:
        return sum(widths[i] for i in self.shown) + len(_GAP) * (len(self.shown) - 1)

    def fit(self, width: int | None) -> list[str]:
        """Drop and narrow columns to fit ``width`` (None: as they are); the dropped names."""
        if width is None:
            return []
        minimum = {i: self._minimum(i) for i in self.shown}
        hidden = []
        for name in self.layout.drop:
            if self._total(minimum) <= width or len(self.shown) == 1:
                break
            if name in self.columns and self.columns.index(name) in self.shown:
                self.shown.remove(self.columns.index(name))
                hidden.append(name)
        excess = self._total(self.widths) - width
        wrappable = sorted(
            (i for i in self.shown if self.columns[i] in self.layout.wrap),
            key=lambda i: -self.widths[i],
        )
        for i in wrappable:
            if excess <= 0:
                break
            cut = min(excess, self.widths[i] - minimum[i])
            self.widths[i] -= cut
            excess -= cut
        return hidden

    def render(self, colour: bool) -> list[str]:
        """The header and the rows as lines (a wrapped cell takes several)."""
        lines = self._lines([self.columns[i] for i in self.shown], colour, header=True)
        for row in self.cells:
            lines += self._lines([row[i] if i < len(row) else "" for i in self.shown], colour)
        return lines

    def _lines(self, values: list[str], colour: bool, header: bool = False) -> list[str]:
        wrapped = [
            self._wrap(value, self.widths[i], self.columns[i] in self.layout.wrap)
            for value, i in zip(values, self.shown, strict=True)
        ]
        height = max(len(w) for w in wrapped)
        out = []
        for n in range(height):
            parts = []
            for pieces, i in zip(wrapped, self.shown, strict=True):
                text = pieces[n] if n < len(pieces) else ""
                padding = " " * (self.widths[i] - cell_width(text))
                parts.append(_style(text, self.columns[i], colour, header) + padding)
            out.append(_GAP.join(parts))
        return out

    @staticmethod
    def _wrap(value: str, width: int, wraps: bool) -> list[str]:
        if not wraps or cell_width(value) <= width:
            return [value]
        return textwrap.wrap(value, width, break_long_words=False, break_on_hyphens=False) or [""]


def _style(text: str, column: str, colour: bool, header: bool) -> str:
    if not colour or not text:
        return text
    if header:
        return f"\x1b[1m{text}\x1b[0m"
    code = SEVERITY_COLOURS.get(text.lower()) if column == "severity" else None
    return f"\x1b[{code}m{text}\x1b[0m" if code else text


def severity_label(label: str, stream: Any = None) -> str:
    """A severity word, coloured on a colour terminal."""
    code = SEVERITY_COLOURS.get(label.lower())
    if code and colour_enabled(stream):
        return f"\x1b[{code}m{label}\x1b[0m"
    return label


@contextlib.contextmanager
def progress(label: str, total: int) -> Iterator[Callable[[], None]]:
    """A transient progress bar on stderr for a command walking a fleet: on a terminal, for
    more than one account, and not with ``-q``; otherwise the step does nothing. The step is
    safe to call from worker threads (rich locks its tasks)."""
    if _settings.quiet or total < 2 or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress

    colour = not (_settings.no_color or os.environ.get("NO_COLOR"))
    bar = Progress(console=Console(stderr=True, no_color=not colour), transient=True)
    task = bar.add_task(label, total=total)
    with bar:
        yield lambda: bar.advance(task)


def diag(message: str) -> None:
    """One diagnostic line on stderr (warnings and errors: printed even with ``-q``)."""
    sys.stderr.write(f"keyops: {escape_control(message)}\n")
    sys.stderr.flush()


def info(message: str) -> None:
    """One informational line on stderr (a summary, a file written), silenced by ``-q``."""
    if not _settings.quiet:
        diag(message)


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1 finding``, ``2 findings``."""
    return f"{count} {noun if count == 1 else (plural_form or noun + 's')}"
