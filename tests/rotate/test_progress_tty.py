"""On a terminal, ``keyops rotate`` shows a progress bar on stderr, and still never a key.

The CLI runs in a separate process whose stderr is a pseudo-terminal (the stdlib ``pty``
module), so ``isatty()`` is true exactly as in an operator's shell; stdout stays a pipe, so the
JSON records can be read back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from tests.rotate.conftest import Rig, cli_env

pty = pytest.importorskip("pty")  # POSIX only


def run_with_a_terminal_stderr(rig: Rig, *args: str) -> tuple[int, str, str]:
    """(exit status, stdout, everything written to the terminal) of ``python -m keyops``."""
    leader, follower = pty.openpty()
    env = cli_env(rig.emu, TERM="xterm-256color", COLUMNS="120", LANG="C.UTF-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "keyops", *args],
        env=env,
        cwd=rig.emu.connection_path.parent,  # see run_cli: not the repository's folder
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    terminal: list[bytes] = []

    def drain() -> None:  # a full pty buffer would block the child's writes
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed its end
                return
            if not chunk:
                return
            terminal.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    stdout, _ = proc.communicate(timeout=120)
    reader.join(timeout=30)
    os.close(leader)
    return proc.returncode, stdout.decode(), b"".join(terminal).decode(errors="replace")


def test_a_terminal_gets_a_progress_bar_and_no_key(rig: Rig) -> None:
    targets = rig.targets()
    before = [rig.keys(t) for t in targets if not t.account.disable_local_auth]
    status, stdout, terminal = run_with_a_terminal_stderr(
        rig, "rotate", "--vault-url", rig.vault_url, "-o", "json"
    )
    assert status == 0, terminal
    actions = {r["account"]: r["action"] for r in json.loads(stdout)["accounts"]}
    assert len(actions) == len(targets) > 1 and "rotated" in actions.values()
    # rich's bar: the task's description, the bar's glyphs, and the final refresh at 100%.
    assert "rotating" in terminal and "━" in terminal and "100%" in terminal, terminal
    after = [rig.keys(t) for t in targets if not t.account.disable_local_auth]
    for keys in before + after:
        for key in (keys.key1.reveal(), keys.key2.reveal()):
            assert key not in terminal and key not in stdout
