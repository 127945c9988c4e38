"""`keyops audit | head -1` and friends on a real fleet: when the reader is gone, keyops ends
quietly with 141 (the shell's SIGPIPE status) after its work, and a rotation's writes are
complete: nothing half-done, no lease left behind (a rerun is not refused)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from keyops.exitcodes import ExitStatus
from tests.secure.support import base_env
from tests.support.emulator import EmulatorHandle


def _closed_stdout(
    emu: EmulatorHandle, tmp: Path, *args: str
) -> subprocess.CompletedProcess[bytes]:
    read, write = os.pipe()
    os.close(read)  # the reader went away before keyops wrote a byte
    try:
        return subprocess.run(
            [sys.executable, "-m", "keyops", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            env=base_env(emu, HOME=str(tmp), KEYOPS_VAULT_URL=emu.vault_url()),
            cwd=tmp,
            timeout=180,
            check=False,
        )
    finally:
        os.close(write)


@pytest.mark.parametrize(
    "args",
    [("audit",), ("-o", "json", "audit"), ("smoke",), ("usage",), ("rotate", "--dry-run")],
    ids=" ".join,
)
def test_fleet_commands_end_quietly_when_the_reader_is_gone(
    emulator: EmulatorHandle, tmp_path: Path, args: tuple[str, ...]
) -> None:
    done = _closed_stdout(emulator, tmp_path, *args)
    assert done.stderr.decode() == ""
    assert done.returncode == ExitStatus.BROKEN_PIPE, done.stderr.decode()


def test_a_rotation_whose_reader_is_gone_finishes_its_writes(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    args = ("rotate", "--if-older-than", "7d", "--propagation-timeout", "20s")
    done = _closed_stdout(emulator, tmp_path, *args)
    assert done.returncode == ExitStatus.BROKEN_PIPE, done.stderr.decode()
    assert any(e["operation"] == "SetSecret" for e in emulator.log_since(0))
    rerun = subprocess.run(
        [sys.executable, "-m", "keyops", *args],
        env=base_env(emulator, HOME=str(tmp_path), KEYOPS_VAULT_URL=emulator.vault_url()),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr
