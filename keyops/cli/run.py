"""``keyops run``: run a command with the key in its environment only.

Thin shell over :mod:`keyops.handover.childenv`. Every failure of keyops itself — a usage error
included — exits 125, so that a caller can tell it from any status of the child.
"""

from __future__ import annotations

import os
from typing import Any

import click

from keyops.cli.context import AppContext, pass_app
from keyops.cli.handover import fetch, handover_options, key_request
from keyops.errors import KeyopsError
from keyops.exitcodes import ExitStatus


def _log() -> Any:
    # logging is imported when the command runs, not for ``keyops run --help``.
    import logging

    return logging.getLogger(__name__)


_EPILOG = """\b
Exit status: the command's own; 125 keyops failed (usage, configuration, vault
unreachable, authentication, no such secret, http:// endpoint); 126 the command
cannot be executed; 127 the command was not found; 128+N the command was killed
by signal N.
"""


class _RunUsageError(click.UsageError):
    exit_code = int(ExitStatus.CHILD_NOT_RUN)


class ChildCommand(click.Command):
    """A command whose usage errors exit 125, like every other failure of keyops itself."""

    #: What the CLI's handler exits with for an error this command did not handle itself.
    failure_status = ExitStatus.CHILD_NOT_RUN

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise _RunUsageError(exc.format_message(), exc.ctx) from None


def _fail(message: str, status: ExitStatus) -> None:
    from keyops.render import escape_control

    click.echo(f"keyops: error: {escape_control(message)}", err=True)
    click.get_current_context().exit(int(status))


@click.command(
    "run", cls=ChildCommand, epilog=_EPILOG, context_settings={"allow_interspersed_args": False}
)
@handover_options
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_app
def run(app: AppContext, /, command: tuple[str, ...], **opts: Any) -> None:
    """Run COMMAND with the key in its environment, never on disk.

    \b
    keyops run --target eus -- python app.py
    keyops run --vault https://kv.vault.azure.net --secret eus-api-key -- ./serve

    The key is read from Key Vault and put in AZURE_OPENAI_API_KEY (--key-var), the endpoint
    in AZURE_OPENAI_ENDPOINT (--endpoint-var); keyops prints nothing of its own on stdout.
    """
    from keyops.handover.childenv import ChildFailure, child_environment, run_child

    try:
        handover = fetch(app, key_request(opts))
    except KeyopsError as exc:
        if app.debug:
            _log().exception("keyops run failed before starting the command")
        _fail(exc.message, ExitStatus.CHILD_NOT_RUN)
        return
    _log().debug(
        "run: %s=%s, %s=%s",
        opts["key_var"],
        handover.describe(),
        opts["endpoint_var"],
        handover.endpoint,
    )
    env = child_environment(os.environ, handover.variables(opts["key_var"], opts["endpoint_var"]))
    outcome = run_child(command, env)
    del env
    if isinstance(outcome, ChildFailure):
        _fail(outcome.message, outcome.status)
        return
    click.get_current_context().exit(outcome)
