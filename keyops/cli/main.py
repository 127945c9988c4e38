"""The ``keyops`` command group, its global options and the single error handler.

Subcommands live in their own modules and are imported only when invoked, so that
``keyops --help`` imports no Azure SDK.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from typing import Any

import click

from keyops import __version__
from keyops.cli.context import ALL_FORMATS, AppContext
from keyops.cli.globalopts import (
    hoist_global_options,
    quiet_broken_pipe,
    show_envvars,
    unknown_command,
    usage_status,
)
from keyops.errors import KeyopsError
from keyops.exitcodes import ExitStatus

#: command name -> "module:attribute"; the module is imported only when the command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "rotate": (
        "keyops.cli.rotate:rotate",
        "Rotate account keys into Key Vault (staged, resumable).",
    ),
    "smoke": ("keyops.cli.smoke:smoke", "Prove keys work with one minimal data-plane call."),
    "audit": (
        "keyops.cli.audit:audit",
        "Show which auth method works per resource, and what to fix.",
    ),
    "usage": ("keyops.cli.usage:usage", "Report usage anomalies from Azure Monitor metrics."),
    "consumers": (
        "keyops.cli.consumers:consumers",
        "Show who uses each key, from Key Vault and Azure OpenAI logs.",
    ),
    "keyless": (
        "keyops.cli.keyless:keyless",
        "Plan and apply the move of accounts off keys to Entra ID.",
    ),
    "scan": ("keyops.cli.scan:scan", "Find leaked Azure OpenAI keys in files and git history."),
    "merge": (
        "keyops.cli.merge:merge",
        "Merge sharded rotation records into one report and exit status.",
    ),
    "run": ("keyops.cli.run:run", "Run a command with the key in its environment only."),
    "env": ("keyops.cli.envfile:env", "Write a git-ignored 0600 .env file holding the key."),
    "export": ("keyops.cli.export:export", "Hand a key to later pipeline steps, masked first."),
    "emulator": ("keyops.cli.emulator:emulator", "Run the local Azure emulator."),
    "demo": ("keyops.cli.demo:demo", "Walk through the main job on the local emulator."),
}


def _error_line(message: str) -> None:
    """``keyops: error: <message>`` on stderr, terminal control characters escaped (a message
    may quote Azure's text or the user's input)."""
    from keyops.render import escape_control

    # Line by line: a message may be several lines on purpose (one per credential tried).
    safe = "\n".join(escape_control(line) for line in message.split("\n"))
    click.echo(f"keyops: error: {safe}", err=True)


def _usage_exit(error: click.UsageError, status: int) -> click.exceptions.Exit:
    """Show a click usage error as one line, ``keyops: error: <click's message>`` (click would
    add its ``Usage:`` and ``Try ...`` lines); the exit to raise with ``status``."""
    text = " ".join(line.strip() for line in error.format_message().splitlines() if line.strip())
    _error_line(text)
    return click.exceptions.Exit(status)


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry[0].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None  # command not built yet
            raise
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        _logging_first(command)
        return show_envvars(command)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Global options are accepted after the subcommand too (moved before it here)."""
        return super().parse_args(ctx, hoist_global_options(self, ctx, args))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """An unknown command name gets the closest known ones as a suggestion."""
        if args and not args[0].startswith("-") and args[0] not in COMMANDS:
            raise click.UsageError(unknown_command(args[0], sorted(COMMANDS)))
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Parse the group's own options; a usage error in them is one line, status 2."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise  # bare `keyops`: the help text is the message
        except click.UsageError as exc:
            raise _usage_exit(exc, usage_status(exc, exc.exit_code)) from None

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; every exception ends as one line on stderr and a documented status
        (the traceback only with ``--debug``, redacted by :mod:`keyops.logs`)."""
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise  # a bare subgroup (`keyops emulator`): its help text
        except click.UsageError as exc:
            # Bad options or arguments of a subcommand: click would print Usage/Try/blank/Error.
            raise _usage_exit(exc, self._status(ctx, usage_status(exc, exc.exit_code))) from None
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # click's own: ctx.exit(), Ctrl-C at a prompt
        except KeyopsError as exc:
            if _debug(ctx):
                _log_exception("error")
            _error_line(exc.message)
            ctx.exit(self._status(ctx, exc.exit_status))
        except KeyboardInterrupt:
            click.echo("keyops: interrupted", err=True)
            ctx.exit(int(ExitStatus.INTERRUPTED))
        except BrokenPipeError:
            quiet_broken_pipe()
        except Exception as exc:
            # A bug, or a library error keyops does not translate. Its message may quote what
            # the library was given, so only the type is printed; --debug adds the (redacted)
            # traceback.
            debug = _debug(ctx)
            if debug:
                _log_exception("internal error")
            hint = "" if debug else "; rerun with --debug for details"
            click.echo(f"keyops: error: internal error ({type(exc).__name__}){hint}", err=True)
            ctx.exit(self._status(ctx, ExitStatus.FAILED))

    def _status(self, ctx: click.Context, status: int) -> int:
        """``status``, unless the subcommand has one status for all its own failures
        (``failure_status``: ``keyops run``'s 125, apart from its child's statuses)."""
        name = ctx.invoked_subcommand
        command = self.get_command(ctx, name) if name else None
        return int(getattr(command, "failure_status", status))


def _debug(ctx: click.Context) -> bool:
    return isinstance(ctx.obj, AppContext) and ctx.obj.debug


def _log_exception(message: str) -> None:
    import logging

    logging.getLogger("keyops").exception(message)


def _logging_first(command: click.Command) -> None:
    """Configure logging (redacted, one line per failure) and output (quiet, colour) just before
    ``command`` runs, not when it only parses: ``keyops <command> --help`` then imports neither
    ``logging`` nor the renderer."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _logging_first(sub)
        return
    callback = command.callback
    if callback is None or getattr(callback, "_keyops_logging", False):
        return

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        from keyops.logs import configure_logging
        from keyops.render import configure

        root = click.get_current_context().find_root()
        configure_logging(_debug(root))
        if isinstance(root.obj, AppContext):
            configure(quiet=root.obj.quiet, no_color=bool(root.params.get("no_color")))
        return callback(*args, **kwargs)

    run._keyops_logging = True  # type: ignore[attr-defined]
    command.callback = run


@click.group(cls=LazyGroup, context_settings={"auto_envvar_prefix": "KEYOPS", "show_default": True})
@click.version_option(__version__, prog_name="keyops")
@click.option(
    "--emulator",
    envvar="KEYOPS_EMULATOR",
    type=click.Path(dir_okay=False),
    help="Use the local emulator described by this connection.json.",
)
@click.option(
    "--cloud",
    envvar="KEYOPS_CLOUD",
    type=click.Choice(["AzureCloud", "AzureChinaCloud", "AzureUSGovernment"]),
    default="AzureCloud",
    show_default=True,
    help="Azure cloud whose endpoints to use (ignored with --emulator).",
)
@click.option(
    "--output",
    "-o",
    envvar="KEYOPS_OUTPUT",
    type=click.Choice(ALL_FORMATS),
    default="table",
    show_default=True,
    help="Output format for data on stdout: table (fitted to the terminal; plain when piped), "
    "wide (every column), tsv, json; sarif where the command has it.",
)
@click.option("--debug", envvar="KEYOPS_DEBUG", is_flag=True, help="Debug logs on stderr.")
@click.option(
    "--quiet",
    "-q",
    envvar="KEYOPS_QUIET",
    is_flag=True,
    help="No progress and no info lines on stderr (warnings and errors still print).",
)
@click.option(
    "--no-color",
    envvar="KEYOPS_NO_COLOR",
    is_flag=True,
    help="No colour (also when NO_COLOR is set, or stdout is not a terminal).",
)
@click.option(
    "--config",
    envvar="KEYOPS_CONFIG",
    type=click.Path(dir_okay=False),
    help="Configuration file (default: ./keyops.toml if present).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    emulator: str | None,
    cloud: str,
    output: str,
    debug: bool,
    quiet: bool,
    no_color: bool,
    config: str | None,
) -> None:
    """keyops: keep Azure OpenAI / Azure AI Services credentials safe.

    Exit statuses: 0 success; 1 some targets failed or findings at or above --fail-on, or an
    internal error; 2 usage error; 3 configuration error; 4 authentication or authorization error;
    5 Azure unreachable or service error; 6 refused by a safety guard, nothing done;
    130 interrupted; 141 stdout closed by its reader (quietly). `keyops run` passes the child's
    status through (125-127 for its own).
    """
    from keyops.redact import flush_streams, install_streams, register_environment_credentials

    # Before logging binds stderr (when the subcommand runs, see _logging_first): every printed
    # line passes through the one redactor, which knows the credentials the environment holds as
    # well as every key read.
    install_streams()
    register_environment_credentials(os.environ)
    ctx.call_on_close(flush_streams)
    ctx.obj = AppContext(
        emulator=emulator, cloud=cloud, output=output, debug=debug, config=config, quiet=quiet
    )


show_envvars(cli)


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="keyops")
    except BrokenPipeError:
        quiet_broken_pipe()
    except SystemExit as exc:
        # click's own output (--help, --version) met a closed pipe: click swapped stdout for
        # its PacifyFlushWrapper and exits 1; report it as every other broken pipe.
        if exc.code == 1 and type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):
            quiet_broken_pipe()
        raise
    except KeyboardInterrupt:
        click.echo("keyops: interrupted", err=True)
        sys.exit(int(ExitStatus.INTERRUPTED))
