"""A rotation run in a child process that can be paused at a step boundary and resumed.

``KEYOPS_TEST_STOP_AT`` (read by the test-only ``tests/support/crashsite``) makes the child stop
itself with SIGSTOP at that boundary; the test then acts — moves Key Vault's clock, runs a rival,
regenerates a key as an operator would — and resumes it with SIGCONT. Nobody sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from tests.rotate.conftest import cli_env
from tests.support.emulator import EmulatorHandle

WEU = "contoso-aiservices-weu"


@dataclass
class Finished:
    """A finished child run: status, parsed JSON records and stderr."""

    code: int
    records: list[dict[str, Any]]
    stderr: str

    @property
    def record(self) -> dict[str, Any]:
        (one,) = self.records
        return one


def rotate_args(emu: EmulatorHandle, *extra: str, account: str = WEU) -> list[str]:
    """The usual ``rotate`` arguments for one account (JSON output, a 60 s lease)."""
    return [
        "rotate",
        "--account",
        account,
        "--vault-url",
        emu.vault_url(),
        "--lease-ttl",
        "60s",
        "--propagation-timeout",
        "5s",
        "-o",
        "json",
        *extra,
    ]


class PausedRun:
    """``python -m keyops <args>`` stopped at ``stop_at``; :meth:`resume` lets it finish."""

    def __init__(self, emu: EmulatorHandle, stop_at: str, args: list[str], **env: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "keyops", *args],
            env=cli_env(emu, KEYOPS_TEST_STOP_AT=stop_at, **env),
            cwd=emu.connection_path.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _, status = os.waitpid(self.proc.pid, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            # It exited before the boundary: report what it said.
            self.proc.returncode = os.waitstatus_to_exitcode(status)
            err = self.proc.stderr.read()  # type: ignore[union-attr]
            raise AssertionError(f"never reached {stop_at}: exit {self.proc.returncode}: {err}")

    def resume(self) -> Finished:
        """SIGCONT, then wait for the run to end."""
        os.kill(self.proc.pid, signal.SIGCONT)
        out, err = self.proc.communicate(timeout=120)
        records = json.loads(out)["accounts"] if out.strip() else []
        return Finished(self.proc.returncode, records, err)


def run_once(emu: EmulatorHandle, *args: str) -> Finished:
    """One child run to its end."""
    done = subprocess.run(
        [sys.executable, "-m", "keyops", *args],
        env=cli_env(emu),
        cwd=emu.connection_path.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    records = json.loads(done.stdout)["accounts"] if done.stdout.strip() else []
    return Finished(done.returncode, records, done.stderr)
