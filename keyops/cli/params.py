"""click parameter types shared by the commands, each backed by keyops' own parser so that every
command accepts, and refuses, the same text in the same words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import click

from keyops.severity import Severity

F = TypeVar("F", bound=Callable[..., Any])


class DurationType(click.ParamType[timedelta]):
    """``90m``, ``24h``, ``30d`` or ISO 8601 (``P30D``, ``PT24H``)."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        from keyops.durations import DurationError, parse_duration

        try:
            return parse_duration(str(value))
        except DurationError as exc:
            self.fail(str(exc), param, ctx)


class SeverityType(click.ParamType[Severity]):
    """A severity name: info, low, medium, high or critical (any case)."""

    name = "severity"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Severity:
        if isinstance(value, Severity):
            return value
        try:
            return Severity.parse(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DURATION = DurationType()
SEVERITY = SeverityType()


def confirmation_option(*decls: str, help: str) -> Callable[[F], F]:
    """A flag that confirms something destructive: typed on the command line, never read from
    the environment (no ``envvar``, and none from the group's ``auto_envvar_prefix``) — a
    variable left in a CI environment must not confirm every later run."""
    return click.option(*decls, is_flag=True, envvar=None, allow_from_autoenv=False, help=help)
