"""The README's emulator walkthrough: `eval "$(keyops emulator env)"` leaves a shell where every
command works as written, and a second `serve` on a state directory in use says who has it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from keyops.cli.main import cli
from tests.support.emulator import EmulatorHandle

ROOT = Path(__file__).resolve().parents[2]


def _shell(emulator: EmulatorHandle, cwd: Path, command: str) -> subprocess.CompletedProcess[str]:
    """bash: eval the env lines, then ``command`` (``keyops`` = this repository's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "KEYOPS_"))}
    env["PYTHONPATH"] = str(ROOT)
    state = emulator.connection_path.parent
    keyops = f'"{sys.executable}" -m keyops'
    script = f'eval "$({keyops} emulator env --state-dir "{state}")" && {keyops} {command}'
    return subprocess.run(
        ["bash", "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=180
    )


def test_env_exports_the_first_vault_as_keyops_vault_url(emulator: EmulatorHandle) -> None:
    state = emulator.connection_path.parent
    result = CliRunner().invoke(cli, ["emulator", "env", "--state-dir", str(state)])
    assert result.exit_code == 0
    first = emulator.conn["vaults"][0]["url"]
    assert f"export KEYOPS_VAULT_URL={first}" in result.output.splitlines()


def test_rotate_dry_run_works_right_after_eval_without_a_config(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    done = _shell(emulator, tmp_path, "rotate --dry-run -o json")
    assert done.returncode == 0, done.stderr
    assert "no vault_url" not in done.stderr
    records = json.loads(done.stdout)
    records = records["accounts"]
    assert records and {r["secret"]["vault_url"] for r in records} == {
        emulator.conn["vaults"][0]["url"]
    }
    writes = [e for e in emulator.log_since(0) if e["write"] and e["surface"] != "admin"]
    assert not writes


def test_keyops_vault_url_is_a_default_never_an_override(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """A target with its own vault_url keeps it; one without gets the exported vault."""
    configured = emulator.conn["vaults"][0]["path_url"]  # the same vault, another URL
    (tmp_path / "keyops.toml").write_text(
        f'[[targets]]\nname = "eus"\nresource_group = "rg-ai-prod"\n'
        f'account = "contoso-openai-eus"\nvault_url = "{configured}"\n\n'
        f'[[targets]]\nname = "legacy"\nresource_group = "rg-ai-prod"\n'
        f'account = "contoso-openai-legacy"\n'
    )
    done = _shell(emulator, tmp_path, "rotate --dry-run -o json")
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    records = records["accounts"]
    by_account = {r["account"]: r["secret"]["vault_url"] for r in records}
    assert by_account == {
        "contoso-openai-eus": configured,
        "contoso-openai-legacy": emulator.conn["vaults"][0]["url"],
    }


def test_a_bad_keyops_vault_url_is_a_configuration_error(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    bad = subprocess.run(
        [
            "bash",
            "-c",
            f'KEYOPS_VAULT_URL=http://vault.example "{sys.executable}" -m keyops '
            f'--emulator "{emulator.connection_path}" rotate --dry-run',
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 3, bad.stderr
    assert bad.stderr.count("\n") == 1 and "KEYOPS_VAULT_URL" in bad.stderr


def test_serve_on_a_state_dir_in_use_names_the_running_emulator(
    emulator: EmulatorHandle,
) -> None:
    state = emulator.connection_path.parent
    before = sorted(p.name for p in state.iterdir())
    result = CliRunner().invoke(cli, ["emulator", "serve", "--state-dir", str(state)])
    assert result.exit_code == 3
    [line] = result.stderr.splitlines()
    assert f"already running on {state} (pid {os.getpid()}, url {emulator.url})" in line
    assert "Address already in use" not in line
    assert sorted(p.name for p in state.iterdir()) == before


def test_a_connection_file_left_by_a_dead_emulator_is_not_running(tmp_path: Path) -> None:
    from keyops.cli.emulator import _running

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(gone.stdout)
    (tmp_path / "connection.json").write_text(json.dumps({"pid": pid, "url": "https://x"}))
    assert _running(tmp_path) is None
    (tmp_path / "connection.json").write_text(json.dumps({"pid": os.getpid(), "url": "https://x"}))
    assert _running(tmp_path) == (os.getpid(), "https://x")
    (tmp_path / "connection.json").write_text('{"pid": "nope"}')
    assert _running(tmp_path) is None


def test_env_refuses_a_connection_file_of_the_wrong_shape(tmp_path: Path) -> None:
    (tmp_path / "connection.json").write_text(json.dumps({"url": 5, "vaults": "x"}))
    result = CliRunner().invoke(cli, ["emulator", "env", "--state-dir", str(tmp_path)])
    assert result.exit_code == 3
    [line] = result.stderr.splitlines()
    assert "not an emulator's connection file" in line
    assert result.stdout == ""
