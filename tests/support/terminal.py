"""Run ``keyops`` with one of its output streams on a pseudo-terminal (a real TTY of a given
size), the other piped: what a person at a terminal sees, for the width and progress tests."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Sequence
from pathlib import Path


def on_terminal(
    args: Sequence[str],
    env: dict[str, str],
    cwd: Path,
    *,
    stream: str = "stdout",
    columns: int | None = None,
) -> tuple[str, str]:
    """(text written to the terminal, text of the other, piped stream) of ``keyops args``;
    ``stream`` names which of stdout/stderr is the terminal, ``columns`` its width."""
    master, slave = pty.openpty()
    if columns is not None:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
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
    tty_out = stream == "stdout"
    proc = subprocess.Popen(
        [sys.executable, "-m", "keyops", *args],
        stdout=slave if tty_out else subprocess.PIPE,
        stderr=subprocess.PIPE if tty_out else slave,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )
    os.close(slave)
    out, err = proc.communicate(timeout=240)
    reader.join(timeout=30)
    os.close(master)
    shown = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
    return shown, (err if tty_out else out).decode(errors="replace")
