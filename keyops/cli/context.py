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
    ) -> None:
        self.emulator = emulator
        self.cloud = cloud
        self.output = output
        self.debug = debug
        self.config = config

    @cached_property
    def env(self) -> AzureEnvironment:
        """The Azure environment (cloud or emulator) the command talks to."""
        from keyops.cloud import resolve_environment

        return resolve_environment(self.emulator, self.cloud)


pass_app = click.make_pass_decorator(AppContext)


def output_option(*formats: str) -> click.Option:
    """A per-command ``--output`` choice, defaulting to the global one."""
    return click.Option(
        ["--output", "-o"],
        type=click.Choice(formats),
        default=None,
        help=f"Output format ({'|'.join(formats)}); defaults to the global --output.",
    )
