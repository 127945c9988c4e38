"""State shared by all commands: the global options and the Azure environment they select."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from keyops.cloud import AzureEnvironment


class AppContext:
    """Global options, resolved lazily so that ``--help`` touches nothing (a plain class, not a
    dataclass: ``keyops --help`` imports nothing it does not use)."""

    def __init__(
        self,
        *,
        emulator: str | None,
        cloud: str | None,
        output: str,
        debug: bool,
        config: str | None,
        quiet: bool = False,
    ) -> None:
        self.emulator = emulator
        self.cloud = cloud
        self.output = output
        self.debug = debug
        self.config = config
        self.quiet = quiet

    @cached_property
    def env(self) -> AzureEnvironment:
        """The Azure environment (cloud or emulator) the command talks to."""
        from keyops.cloud import resolve_environment

        return resolve_environment(self.emulator, self.cloud)


pass_app = click.make_pass_decorator(AppContext)


#: Every format some command writes; each command accepts its own subset.
ALL_FORMATS = ("table", "wide", "tsv", "json", "sarif")


def output_option(*formats: str) -> click.Option:
    """A per-command ``-o/--output``; without it, the global one (checked against this
    command's formats). A command with a table also takes ``wide`` and ``tsv``."""
    if "table" in formats:
        formats = (formats[0], "wide", "tsv", *formats[1:])

    def default_to_global(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
        if value is not None:
            return value
        app = ctx.find_object(AppContext)
        chosen = app.output if app is not None else formats[0]
        if chosen not in formats:
            raise click.BadParameter(
                f"{chosen!r} (from the global --output or KEYOPS_OUTPUT) is not a format of "
                f"this command; use one of {', '.join(formats)}",
                ctx,
                param,
            )
        return chosen

    return click.Option(
        ["--output", "-o"],
        type=click.Choice(formats),
        default=None,
        callback=default_to_global,
        help=f"Output format ({'|'.join(formats)}); default: the global --output.",
    )
