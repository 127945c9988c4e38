"""The global options' plumbing: accepted before or after the subcommand, an unknown command
answered with the closest names, and a reader that closed stdout ending keyops quietly."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from keyops.exitcodes import ExitStatus

#: Global options: name -> whether it takes a value.
GLOBAL_OPTIONS = {
    "--emulator": True,
    "--cloud": True,
    "--output": True,
    "-o": True,
    "--config": True,
    "--debug": False,
    "--quiet": False,
    "-q": False,
    "--no-color": False,
}


def hoist_global_options(group: click.Group, ctx: click.Context, args: list[str]) -> list[str]:
    """``args`` with the global options written after the subcommand moved before it.

    An option the subcommand (or one of its own subcommands) also declares stays where it is
    (``audit -o sarif`` is audit's own ``-o``); nothing after ``--``, nor after the first
    argument of a command that stops there (``keyops run CMD -q``), is touched.
    """
    index = _subcommand_index(args)
    if index is None:
        return args
    command = group.get_command(ctx, args[index])
    if command is None:
        return args
    own = _option_names(command)
    stop_at_argument = not command.context_settings.get(
        "allow_interspersed_args", command.allow_interspersed_args
    )
    before, after, moved = args[: index + 1], [], []
    rest = iter(args[index + 1 :])
    for word in rest:
        name = word.split("=", 1)[0]
        if word == "--" or (stop_at_argument and not word.startswith("-")):
            after += [word, *rest]
            break
        if name in GLOBAL_OPTIONS and name not in own:
            moved.append(word)
            if GLOBAL_OPTIONS[name] and "=" not in word:
                moved.append(next(rest, ""))
        else:
            after.append(word)
    return [*before[:index], *moved, *before[index:], *after]


def _subcommand_index(args: list[str]) -> int | None:
    skip = False
    for i, word in enumerate(args):
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = GLOBAL_OPTIONS.get(word, False)
        else:
            return i
    return None


def _option_names(command: click.Command) -> set[str]:
    names = {n for p in command.params for n in (*p.opts, *p.secondary_opts)}
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            names |= _option_names(sub)
    return names


def quiet_broken_pipe() -> None:
    """Whoever read stdout went away (``keyops audit | head -1``): exit quietly, status 141 as
    a shell reports a process killed by SIGPIPE; what was in flight has finished (output is
    written after each account's writes). stdout goes to /dev/null so that the interpreter's
    final flush does not complain on stderr."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # not a real file (a test runner's buffer): nothing will be flushed to a pipe
    finally:
        os.close(devnull)
    sys.exit(int(ExitStatus.BROKEN_PIPE))


def unknown_command(name: str, known: Sequence[str]) -> str:
    """The one-line message for an unknown command, with the closest known names."""
    import difflib  # only when a name is mistyped: --help stays click-only

    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"no such command {name!r}{hint} (keyops --help lists them)"


def show_envvars(command: click.Command) -> click.Command:
    """Every option's environment variable in ``--help`` (``show_envvar``), except a
    confirmation's: ``--confirm-*`` takes none, so a variable left in a shell or a pipeline can
    never confirm a destructive step for someone who did not type it."""
    for param in command.params:
        if not isinstance(param, click.Option) or param.is_eager:
            continue
        if param.name and param.name.startswith("confirm"):
            param.envvar = None
            param.allow_from_autoenv = False
        else:
            param.show_envvar = True
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            show_envvars(sub)
    return command


def usage_status(error: click.UsageError, default: int) -> int:
    """A bad value that came from a ``KEYOPS_*``/``AZURE_*`` variable is an environment
    (configuration) error, 3; typed on the command line it stays a usage error."""
    ctx, param = error.ctx, getattr(error, "param", None)
    source = ctx.get_parameter_source(param.name) if ctx and param and param.name else None
    return int(ExitStatus.CONFIG) if source is click.core.ParameterSource.ENVIRONMENT else default
