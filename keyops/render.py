"""Rendering shared by all commands: JSON records and tables on stdout, never a key.

Tables use rich (imported lazily); on a non-TTY they are plain text without colour, so that
pipelines' logs stay readable.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any


def is_tty() -> bool:
    """Whether stdout is an interactive terminal."""
    return sys.stdout.isatty()


def print_json(data: Any) -> None:
    """Write a JSON document to stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def print_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
) -> None:
    """Write a table to stdout (rich on a TTY, plain aligned text otherwise)."""
    from rich.console import Console
    from rich.table import Table

    from keyops.redact import redact

    console = Console(
        file=sys.stdout, no_color=not is_tty(), soft_wrap=False, width=None if is_tty() else 200
    )
    table = Table(title=title, show_lines=False, header_style="bold")
    for col in columns:
        table.add_column(col, overflow="fold")
    # Cells are redacted before rich folds them: a key split over two lines is no longer whole
    # for the stream's redactor to find.
    for row in rows:
        table.add_row(*("" if v is None else redact(str(v)) for v in row))
    console.print(table)


def diag(message: str) -> None:
    """One diagnostic line on stderr."""
    sys.stderr.write(f"keyops: {message}\n")
    sys.stderr.flush()
