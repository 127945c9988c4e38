"""Text from Azure reaches the terminal escaped: an error message carrying terminal control
sequences or a right-to-left override (a hostile or broken proxy, a poisoned resource) is shown
as visible escapes, in tables and on stderr, in every output format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.secure.support import base_env
from tests.support.emulator import EmulatorHandle

EUS = "contoso-openai-eus"
HOSTILE = "denied\x1b[2J\x1b]0;pwned\x07 by \u202eexe.tnuocca\u202c policy"

CASES = [
    ("Accounts_List", ("audit",)),
    ("Accounts_List", ("-o", "json", "audit")),
    ("Accounts_ListKeys", ("smoke", "--account", EUS, "--key-from", "arm", "--slot", "Key1")),
    ("GetSecret", ("rotate", "--dry-run", "--account", EUS)),
    ("Accounts_List", ("usage", "--account", EUS)),
]


@pytest.mark.parametrize(("operation", "args"), CASES, ids=[" ".join(a) for _, a in CASES])
def test_control_characters_from_azure_are_escaped(
    emulator: EmulatorHandle, tmp_path: Path, operation: str, args: tuple[str, ...]
) -> None:
    emulator.fault(
        {"operation": operation, "kind": "status", "status": 400, "times": 50, "message": HOSTILE}
    )
    done = subprocess.run(
        [sys.executable, "-m", "keyops", *args],
        env=base_env(emulator, HOME=str(tmp_path), KEYOPS_VAULT_URL=emulator.vault_url()),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    text = done.stdout + done.stderr
    assert "denied" in text, f"the message never reached the output: {text[-300:]}"
    for raw in ("\x1b", "\x07", "\u202e", "\u202c"):
        assert raw not in text, f"{raw!r} reached the terminal: {text[-300:]!r}"
