"""``keyops scan`` through click: exit statuses, outputs, baseline, live keys, the canary."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from keyops.azure.arm import AccountsClient
from keyops.cli.main import cli
from keyops.cloud import resolve_environment
from keyops.secret import SecretValue
from keyops_bench.scan.corpus import Corpus
from keyops_bench.scan.keys import make_legacy_key
from tests.scan.scan_canary import leaked_pieces
from tests.support.emulator import EmulatorHandle


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.mark.parametrize("output", ["table", "json", "sarif"])
def test_findings_exit_1_and_no_key_piece_reaches_any_output(
    planted_repo: Corpus, output: str
) -> None:
    result = _run("--debug", "scan", "--history", "-o", output, str(planted_repo.root))
    assert result.exit_code == 1, result.stderr
    assert "keyops: scan:" in result.stderr
    keys = planted_repo.all_keys()
    assert list(leaked_pieces(result.stdout + result.stderr, keys)) == []
    if output != "table":
        json.loads(result.stdout)


def test_clean_repository_exits_0(clean_repo: Corpus) -> None:
    result = _run("scan", "--history", str(clean_repo.root))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "0 findings" in result.stderr


def test_global_output_is_the_default(clean_repo: Corpus) -> None:
    result = _run("-o", "json", "scan", str(clean_repo.root))
    assert json.loads(result.stdout)["schema"] == "keyops.scan/v1"


def test_write_baseline_then_accept_everything(planted_repo: Corpus, tmp_path: Path) -> None:
    baseline = tmp_path / "keyops-baseline.json"
    root = str(planted_repo.root)
    written = _run("scan", "--history", "--write-baseline", str(baseline), root)
    assert written.exit_code == 0, written.stderr
    assert "wrote" in written.stderr
    assert list(leaked_pieces(baseline.read_text(), planted_repo.all_keys())) == []
    accepted = _run("scan", "--history", "--baseline", str(baseline), root)
    assert accepted.exit_code == 0, accepted.stderr
    assert "accepted by the baseline" in accepted.stderr
    # The baseline also works from the environment.
    from_env = _run("scan", root, env={"KEYOPS_SCAN_BASELINE": str(baseline)})
    assert from_env.exit_code == 0


def test_fail_on_threshold(planted_repo: Corpus) -> None:
    assert _run("scan", "--fail-on", "critical", str(planted_repo.root)).exit_code == 0
    assert _run("scan", "--fail-on", "medium", str(planted_repo.root)).exit_code == 1


def test_live_key_from_environment(tmp_path: Path) -> None:
    key = make_legacy_key(random.Random(42))
    (tmp_path / "notes.txt").write_text(f"the value was {key} yesterday\n")
    result = _run(
        "scan",
        "-o",
        "json",
        "--live-from-env",
        "MY_LIVE_KEY",
        str(tmp_path),
        env={"MY_LIVE_KEY": key},
    )
    assert result.exit_code == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["kind"], f["severity"], f["line"]) for f in findings] == [
        ("live-key", "critical", 1)
    ]
    assert list(leaked_pieces(result.stdout + result.stderr, [SecretValue(key)])) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "/nonexistent/keyops/path"], "does not exist"),
        (["scan", "--output", "xml", "."], "Invalid value"),
        (["scan", "--max-file-size", "lots", "."], "not a size"),
        (["scan", "--live-from-env", "KEYOPS_TEST_UNSET_VARIABLE", "."], "not set"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = _run(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_history_outside_git_is_a_usage_error(tmp_path: Path) -> None:
    result = _run("scan", "--history", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith("keyops: error: history scan needs a git repository")


def test_command_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, keyops.cli.scan; "
        "heavy = [m for m in sys.modules if m.startswith(('keyops.scan', 'azure', 'rich'))]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_live_keys_from_arm_on_the_emulator(
    shared_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    emu = shared_emulator
    rotator = emu.principal("keyops-rotator")
    env = {
        "KEYOPS_EMULATOR": str(emu.connection_path),
        "AZURE_TENANT_ID": emu.conn["tenant_id"],
        "AZURE_CLIENT_ID": rotator["client_id"],
        "AZURE_CLIENT_SECRET": rotator["client_secret"],
    }
    environment = resolve_environment(str(emu.connection_path), None)
    arm = AccountsClient(environment, emu.credential(), emu.conn["subscription_id"])
    keys = arm.list_keys(emu.account("contoso-openai-eus")["id"])
    arm.close()
    # On a line of its own, no key-like name: found as annotated, reported as live.
    (tmp_path / "notes.txt").write_text(f"pasted:\n{keys.key2.reveal()}\n")
    result = _run("scan", "--live", "-o", "json", str(tmp_path), env=env)
    assert result.exit_code == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["kind"], f["line"], f["key_fingerprint"]) for f in findings] == [
        ("live-key", 2, keys.key2.fingerprint)
    ]
    # Local auth is disabled on that account: ARM refuses listKeys, the scan goes on.
    assert "warning: live keys not read for contoso-openai-entra" in result.stderr
    assert list(leaked_pieces(result.stdout + result.stderr, [keys.key1, keys.key2])) == []
