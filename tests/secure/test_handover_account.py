"""``run``, ``env`` and ``export`` select an account as every other command does: ``-a NAME``
finds its secret by the configured secret_name, in the vault of the configuration or
KEYOPS_VAULT_URL."""

from __future__ import annotations

import sys
from pathlib import Path

from keyops.exitcodes import ExitStatus
from keyops.secret import fingerprint_of
from tests.secure.support import REPO, base_env, git_repo, run_keyops
from tests.support.emulator import EmulatorHandle

WEU = "contoso-aiservices-weu"  # has {account}-api-key in the default world's vault


def test_run_with_account_uses_the_configured_secret_name(
    shared_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    env = base_env(shared_emulator, KEYOPS_VAULT_URL=shared_emulator.vault_url())
    probe = "import os; print(os.environ['AZURE_OPENAI_ENDPOINT'])"
    done = run_keyops(["run", "-a", WEU, "--", sys.executable, "-c", probe], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == shared_emulator.account(WEU)["endpoint"]


def test_env_with_account_writes_that_accounts_key(
    shared_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    repo = git_repo(tmp_path / "repo")
    env = base_env(shared_emulator, KEYOPS_VAULT_URL=shared_emulator.vault_url())
    done = run_keyops(["env", "--account", WEU, "--write", ".env"], env, cwd=repo)
    assert done.returncode == 0, done.stderr
    stored = shared_emulator.secret_client().get_secret(f"{WEU}-api-key").value or ""
    assert fingerprint_of(stored) in done.stdout
    assert stored in (repo / ".env").read_text()


def test_account_and_secret_together_are_a_usage_error(shared_emulator: EmulatorHandle) -> None:
    env = base_env(shared_emulator, KEYOPS_VAULT_URL=shared_emulator.vault_url())
    done = run_keyops(["env", "-a", WEU, "--secret", "x", "--write", ".env"], env, cwd=REPO)
    assert done.returncode == ExitStatus.USAGE
    assert done.stderr.count("\n") == 1 and "--account" in done.stderr
