"""click parameter types shared by the commands, each backed by keyops' own parser so that every
command accepts, and refuses, the same text in the same words."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from keyops.errors import ConfigError
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


class JsonInputType(click.ParamType[io.StringIO]):
    """A JSON document read whole from FILE or ``-`` (stdin), as UTF-8 text.

    What is wrong with the file or the stream is a configuration error (status 3) naming it:
    a missing or unreadable file, a closed stdin, bytes that are not UTF-8, nesting too deep
    for Python's parser. Whether the text is the right JSON is for the command to say.
    """

    name = "file"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> io.StringIO:
        if isinstance(value, io.StringIO):
            return value
        where = "stdin" if value == "-" else str(value)
        data = self._read(str(value), where)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{where} is not UTF-8 text (byte {exc.start})") from None
        import json  # here: every command's ``--help`` imports this module, and needs no json

        try:
            json.loads(text)
        except RecursionError:
            raise ConfigError(f"{where}: JSON nested too deeply to be an event") from None
        except ValueError:
            pass  # reported by the command, which knows what it expected
        return io.StringIO(text)

    @staticmethod
    def _read(value: str, where: str) -> bytes:
        if value == "-":
            stream = sys.stdin
            if stream is None or stream.closed:
                raise ConfigError("stdin is closed: pipe the document in, or pass a FILE")
            return stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode()
        try:
            return Path(value).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {where}: {exc.strerror or exc}") from None


DURATION = DurationType()
JSON_INPUT = JsonInputType()
SEVERITY = SeverityType()


_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def check_subscription(value: str, source: str) -> str:
    """A subscription id is a GUID; anything else (``x/../../y``) never reaches an ARM URL.

    ConfigError: the id came from a file or the environment."""
    if not _GUID.match(value):
        raise ConfigError(
            f"{source} {value!r} is not a subscription id (a GUID such as "
            "00000000-0000-0000-0000-000000000000)"
        )
    return value


def check_subscription_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    """``--subscription``: a GUID; from the command line a usage error (2), from
    ``KEYOPS_SUBSCRIPTION``/``AZURE_SUBSCRIPTION_ID`` a configuration error (3)."""
    if value is None or _GUID.match(value):
        return value
    if ctx.get_parameter_source(str(param.name)) is click.core.ParameterSource.ENVIRONMENT:
        names = param.envvar if isinstance(param.envvar, list) else [param.envvar]
        return check_subscription(value, " or ".join(str(n) for n in names if n))
    raise click.BadParameter(
        f"{value!r} is not a subscription id (a GUID such as 00000000-0000-0000-0000-000000000000)",
        ctx,
        param,
    )


def check_vault_url_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    """``--vault-url``: an https:// URL; from the command line a usage error (2), from
    ``KEYOPS_VAULT_URL`` a configuration error (3) — before any Azure call."""
    from keyops.config import check_vault_url

    if value is None:
        return None
    try:
        return check_vault_url(value)
    except ValueError as exc:
        if ctx.get_parameter_source(str(param.name)) is click.core.ParameterSource.ENVIRONMENT:
            raise ConfigError(f"KEYOPS_VAULT_URL: {exc}") from None
        raise click.BadParameter(str(exc), ctx, param) from None


def confirmation_option(*decls: str, help: str) -> Callable[[F], F]:
    """A flag that confirms something destructive: typed on the command line, never read from
    the environment (no ``envvar``, and none from the group's ``auto_envvar_prefix``) — a
    variable left in a CI environment must not confirm every later run."""
    return click.option(*decls, is_flag=True, envvar=None, allow_from_autoenv=False, help=help)
