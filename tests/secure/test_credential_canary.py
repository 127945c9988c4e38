"""The canary for the secrets that are not keys: the principal's client secret, a workload
identity's client assertion and the access tokens Entra issues.

Each command runs as ``python -m keyops --debug`` in its own process while the emulator answers
one operation with an error whose message quotes those secrets back (as a misconfigured proxy or
a server echoing its input does), raw and in the forms libraries print (``Bearer …``,
``client_secret=…``). No 12-character piece of any of them, and nothing shaped like a JSON Web
Token, may reach stdout or stderr.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.secure.support import base_env
from tests.support.emulator import EmulatorHandle

EUS = "contoso-openai-eus"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
PIECE = 12


def pieces(value: str) -> set[str]:
    return {value[i : i + PIECE] for i in range(0, max(1, len(value) - PIECE + 1), 4)}


def echo(*secrets: str) -> str:
    parts = []
    for s in secrets:
        parts += [s, f"Authorization: Bearer {s}", f"client_secret={s}", f"assertion '{s}'"]
    return "upstream said: " + " | ".join(parts)


def run(
    emu: EmulatorHandle, tmp: Path, *args: str, unset: tuple[str, ...] = (), **env: str
) -> subprocess.CompletedProcess[str]:
    full = base_env(emu, HOME=str(tmp), **env)
    for name in unset:
        full.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "keyops", "--debug", *args],
        env=full,
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_clean(done: subprocess.CompletedProcess[str], *secrets: str) -> None:
    text = done.stdout + done.stderr
    assert "upstream said" in text, "the echoing fault never reached output"
    for secret in secrets:
        leaked = sorted(p for p in pieces(secret) if p in text)
        assert not leaked, f"pieces of a credential printed: {leaked[:3]}"
    assert not JWT.search(text), "a JSON Web Token was printed"


# (operation the fault hits, command line)
CASES = [
    ("Token_Acquire", ("audit", "--account", EUS)),
    ("Accounts_ListKeys", ("audit", "--account", EUS)),
    (
        "Accounts_ListKeys",
        ("-o", "json", "smoke", "--account", EUS, "--key-from", "arm", "--slot", "Key1"),
    ),
    ("GetSecret", ("rotate", "--dry-run", "--account", EUS)),
    ("Accounts_List", ("-o", "json", "usage", "--account", EUS)),
]


@pytest.mark.parametrize(("operation", "args"), CASES, ids=[f"{o}-{a[0]}" for o, a in CASES])
def test_client_secret_and_tokens_never_print(
    emulator: EmulatorHandle, tmp_path: Path, operation: str, args: tuple[str, ...]
) -> None:
    secret = emulator.principal("keyops-rotator")["client_secret"]
    credential = emulator.credential("keyops-rotator")
    token = credential.get_token("https://management.azure.com/.default").token
    credential.close()
    emulator.fault(
        {
            "operation": operation,
            "kind": "status",
            "status": 400,
            "times": 50,  # every retry meets it too
            "message": echo(secret, token),
        },
    )
    done = run(emulator, tmp_path, *args, KEYOPS_VAULT_URL=emulator.vault_url())
    fired = [e for e in emulator.log_since(0) if e.get("fault") == "status"]
    assert fired, f"the fault on {operation} did not fire: {done.stderr[-400:]}"
    assert_clean(done, secret, token)


def test_a_workload_identity_assertion_never_prints(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """A federated token file's assertion, quoted back by the token endpoint, is masked."""
    assertion = (
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJyZXBvOmNvbnRvc28vYXBwIiwiYXVkIjoi"
        "YXBpOi8vQXp1cmVBRFRva2VuRXhjaGFuZ2UifQ.c2lnbmF0dXJlLW9mLXRoZS1hc3NlcnRpb24tZm9yLXRlc3Q"
    )
    token_file = tmp_path / "federated-token"
    token_file.write_text(assertion)
    emulator.fault(
        {
            "operation": "Token_Acquire",
            "kind": "status",
            "status": 400,
            "times": 50,
            "message": echo(assertion),
        },
    )
    done = run(
        emulator,
        tmp_path,
        "audit",
        "--account",
        EUS,
        unset=("AZURE_CLIENT_SECRET",),
        AZURE_FEDERATED_TOKEN_FILE=str(token_file),
    )
    assert_clean(done, assertion)
