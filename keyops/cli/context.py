"""State shared by all commands: the global options and the Azure environment they select."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import click

from keyops.cloud import AzureEnvironment, resolve_environment


@dataclass
class AppContext:
    """Global options, resolved lazily so that ``--help`` touches nothing."""

    emulator: str | None
    cloud: str | None
    output: str
    debug: bool
    config: str | None

    @cached_property
    def env(self) -> AzureEnvironment:
        """The Azure environment (cloud or emulator) the command talks to."""
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
