"""Commands that fail the way a bug or an untranslated library error does, for the CLI's
top-level handler tests. The message quotes a key, as requests' InvalidHeader does."""

from __future__ import annotations

import click

from keyops.cli.run import ChildCommand

#: An annotated-key-shaped value (never a real key).
KEY = "Kx7" * 17 + "q" + "JQQJ99BKAC" + "Zq9" * 5 + "AAABACOGzz12"


def _fail() -> None:
    try:
        raise ValueError(f"Invalid leading whitespace in header value: {KEY!r}")
    except ValueError as exc:
        raise RuntimeError("the request could not be built") from exc


@click.command("boom")
def boom() -> None:
    """Fail with an exception keyops does not expect."""
    _fail()


@click.command("boom-run", cls=ChildCommand)
def boom_run() -> None:
    """The same, in a command whose own failures exit 125 (like ``keyops run``)."""
    _fail()
