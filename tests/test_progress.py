"""Progress for every command that walks a fleet: a bar on stderr when stderr is a terminal,
none with -q; stdout carries only the data. (Piped stderr is checked line by line by the
bad-input and CLI-error tests.)"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.emulator import EmulatorHandle
from tests.test_widths import _env


def _stderr_on_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[str, str]:
    """(stdout piped, stderr written to a pseudo-terminal) of ``keyops args``."""
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    proc = subprocess.Popen(
        [sys.executable, "-m", "keyops", *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )
    os.close(slave)
    out, _ = proc.communicate(timeout=240)
    reader.join(timeout=30)
    os.close(master)
    return out.decode(), b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize(
    ("args", "label"),
    [(["audit"], "auditing"), (["smoke"], "smoke tests"), (["usage"], "reading metrics")],
)
def test_fleet_commands_show_progress_on_a_terminal_only(
    shared_emulator: EmulatorHandle, tmp_path: Path, args: list[str], label: str
) -> None:
    env = _env(shared_emulator, NO_COLOR="1")
    out, err = _stderr_on_terminal(args, env, tmp_path)
    assert label in err
    assert label not in out and "\x1b" not in out
    _, quiet = _stderr_on_terminal(["-q", *args], env, tmp_path)
    assert label not in quiet
    assert "keyops: " not in quiet  # -q: no info lines either
