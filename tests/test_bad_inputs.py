"""Every bad input in tests/data/bad-inputs.toml: its documented status, one line on stderr
naming what is wrong, never "internal error", and no state-changing request in the emulator's
request log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from keyops.cli.main import cli
from keyops.exitcodes import ExitStatus
from tests.secure.support import base_env, cli_env
from tests.support.emulator import EmulatorHandle

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CASES: list[dict[str, Any]] = tomllib.loads(
    (ROOT / "tests" / "data" / "bad-inputs.toml").read_text(encoding="utf-8")
)["case"]
UNSET = "__unset__"


def _case_id(case: dict[str, Any]) -> str:
    return " ".join(case["args"])[:60]


def _placeholders(emulator: EmulatorHandle, tmp: Path) -> dict[str, str]:
    conn = emulator.conn
    missing_ca = {**conn, "ca_bundle": str(tmp / "gone" / "ca.pem")}
    bad_types = {**conn, "accounts": 5}
    return {
        "{vault}": emulator.vault_url(),
        "{url}": emulator.url,
        "{endpoint}": str(emulator.account("contoso-openai-eus")["endpoint"]),
        "{tmp}": str(tmp),
        "{state}": str(emulator.connection_path.parent),
        "{deep_json}": "[" * 100_000 + "]" * 100_000,
        "{conn_missing_ca}": json.dumps(missing_ca),
        "{conn_bad_types}": json.dumps(bad_types),
    }


def _fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace(name, value)
    return text


def _run(case: dict[str, Any], emulator: EmulatorHandle, tmp: Path) -> tuple[int, str]:
    values = _placeholders(emulator, tmp)
    if case.get("git"):
        subprocess.run(["git", "init", "-q", str(tmp)], check=True)
    for name, content in case.get("files", {}).items():
        (tmp / name).write_text(_fill(content, values), encoding="utf-8")
    args = [_fill(a, values) for a in case["args"]]
    extra = {k: (None if v == UNSET else _fill(v, values)) for k, v in case.get("env", {}).items()}
    stdin: bytes | None = None
    if "stdin" in case:
        stdin = _fill(case["stdin"], values).encode()
    elif "stdin_hex" in case:
        stdin = bytes.fromhex(case["stdin_hex"])
    if case.get("stdin_closed") or args[:2] == ["emulator", "serve"]:
        env = base_env(emulator, PYTHONPATH=str(ROOT))
        env = {k: v for k, v in {**env, **extra}.items() if v is not None}
        done = subprocess.run(
            [sys.executable, "-m", "keyops", *args],
            env=env,
            cwd=tmp,
            stdin=subprocess.DEVNULL if not case.get("stdin_closed") else None,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **({"preexec_fn": lambda: os.close(0)} if case.get("stdin_closed") else {}),
        )
        return done.returncode, done.stderr
    result = CliRunner().invoke(cli, args, input=stdin, env=cli_env(emulator, **extra))
    return result.exit_code, result.stderr


def test_the_table_covers_every_command_with_enough_cases() -> None:
    assert len(CASES) >= 80
    commands = {c["args"][0] for c in CASES if not c["args"][0].startswith("-")}
    commands |= {c["args"][2] for c in CASES if c["args"][0].startswith("-")}
    expected = {"rotate", "smoke", "audit", "usage", "scan", "run", "env", "export", "emulator"}
    assert expected <= commands


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_bad_input(
    case: dict[str, Any],
    shared_emulator: EmulatorHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    seq = shared_emulator.last_seq
    status, stderr = _run(case, shared_emulator, tmp_path)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert status == case["status"], stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("keyops: error: "), lines[0]
    assert "internal error" not in lines[0]
    assert case["stderr"] in lines[0], lines[0]
    writes = [e for e in shared_emulator.log_since(seq) if e["write"] and e["surface"] != "admin"]
    assert not writes, writes


def test_a_subscription_the_identity_may_not_read_is_an_authorization_error(
    emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 403 on the subscription (Azure's answer where the caller has no access) is 4, while a
    subscription Azure does not know (404 SubscriptionNotFound, in the table) is 3."""
    monkeypatch.chdir(tmp_path)
    sub = emulator.conn["subscription_id"]
    emulator.fault(
        {
            "operation": "Accounts_List",
            "kind": "status",
            "status": 403,
            "code": "AuthorizationFailed",
            "message": f"The client does not have authorization over scope '/subscriptions/{sub}'.",
            "times": None,
        }
    )
    seq = emulator.last_seq
    result = CliRunner().invoke(cli, ["audit"], env=cli_env(emulator))
    assert result.exit_code == ExitStatus.AUTH, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("keyops: error: ") and "AuthorizationFailed" in line
    assert not [e for e in emulator.log_since(seq) if e["write"] and e["surface"] != "admin"]
