"""Progress for every command that walks a fleet: a bar on stderr when stderr is a terminal,
none with -q; stdout carries only the data. (Piped stderr is checked line by line by the
bad-input and CLI-error tests.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.emulator import EmulatorHandle
from tests.support.terminal import on_terminal
from tests.test_widths import _env


@pytest.mark.parametrize(
    ("args", "label"),
    [(["audit"], "auditing"), (["smoke"], "smoke tests"), (["usage"], "reading metrics")],
)
def test_fleet_commands_show_progress_on_a_terminal_only(
    shared_emulator: EmulatorHandle, tmp_path: Path, args: list[str], label: str
) -> None:
    env = _env(shared_emulator, NO_COLOR="1")
    err, out = on_terminal(args, env, tmp_path, stream="stderr")
    assert label in err
    assert label not in out and "\x1b" not in out
    quiet, _ = on_terminal(["-q", *args], env, tmp_path, stream="stderr")
    assert label not in quiet
    assert "keyops: " not in quiet  # -q: no info lines either
