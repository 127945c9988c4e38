"""Run a command with the key in its environment only (``keyops run``).

The key reaches the child through ``execve``'s environment and nowhere else: no file, no
argument (the process list shows arguments to every user), no output. The child's exit status is
passed through; 125, 126 and 127 say that keyops could not run it, as ``env``, ``nohup`` and
``docker run`` do: 125 keyops itself failed, 126 the command cannot be executed, 127 it was not
found. A child killed by signal N gives 128+N, as a shell reports it.

While the child runs, keyops ignores SIGINT (a terminal sends it to the child too, which decides
what Ctrl-C means) and forwards SIGTERM and SIGHUP to it, so that a supervisor stopping keyops
stops the child.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType

from keyops.exitcodes import ExitStatus
from keyops.handover.source import Variable

_FORWARDED = (signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class ChildFailure:
    """Why the child could not be started, with the status to exit with."""

    status: ExitStatus
    message: str


def child_environment(base: Mapping[str, str], variables: Sequence[Variable]) -> dict[str, str]:
    """``base`` plus the variables (the key revealed here, for ``execve`` only)."""
    env = dict(base)
    for variable in variables:
        env[variable.name] = variable.text()
    return env


def _resolve(command: str, env: Mapping[str, str]) -> str | ChildFailure:
    """The program to execute, searched on the child's PATH; or why it cannot be run."""
    if os.sep in command:
        path = command
    else:
        found = shutil.which(command, path=env.get("PATH", os.defpath))
        if found is None:
            # which() skips non-executable files; tell "not found" from "not executable".
            for directory in env.get("PATH", os.defpath).split(os.pathsep):
                if os.path.isfile(os.path.join(directory or ".", command)):
                    return ChildFailure(
                        ExitStatus.CHILD_NOT_EXECUTABLE, f"{command}: permission denied"
                    )
            return ChildFailure(ExitStatus.CHILD_NOT_FOUND, f"{command}: command not found")
        path = found
    if not os.path.exists(path):
        return ChildFailure(ExitStatus.CHILD_NOT_FOUND, f"{command}: no such file")
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        return ChildFailure(ExitStatus.CHILD_NOT_EXECUTABLE, f"{command}: permission denied")
    return path


@contextlib.contextmanager
def _signals_to(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """Ignore SIGINT and forward SIGTERM/SIGHUP to the child while it runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_child(argv: Sequence[str], env: Mapping[str, str]) -> int | ChildFailure:
    """Run ``argv`` with ``env``; its exit status (128+N if killed by signal N) or a failure."""
    resolved = _resolve(argv[0], env)
    if isinstance(resolved, ChildFailure):
        return resolved
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        proc = subprocess.Popen([argv[0], *argv[1:]], executable=resolved, env=dict(env))
    except FileNotFoundError:
        return ChildFailure(ExitStatus.CHILD_NOT_FOUND, f"{argv[0]}: command not found")
    except OSError as exc:
        # EACCES, ENOEXEC (not a program nor a script with #!), ETXTBSY...
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        status = ExitStatus.CHILD_NOT_EXECUTABLE
        if exc.errno == errno.ENOENT:  # a script whose #! interpreter does not exist
            status = ExitStatus.CHILD_NOT_FOUND
        return ChildFailure(status, f"{argv[0]}: {reason.lower()}")
    with _signals_to(proc):
        returncode = proc.wait()
    return 128 - returncode if returncode < 0 else returncode
