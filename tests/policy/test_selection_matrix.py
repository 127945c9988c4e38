"""One selection matrix through every command that selects accounts.

``AZURE_SUBSCRIPTION_ID`` (as ``keyops emulator env`` and the pipeline templates set it) and
``--vault-url`` are defaults for targets without their own, never filters: a configured target
in another subscription is included by rotate, smoke, audit, usage and run/env/export alike,
with a note on stderr; a filter the user typed that leaves configured targets out says how many
and which.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.policy.conftest import SUB_A, SUB_B, Fleet

#: Each command with arguments that make it act on the selected accounts and print their names.
COMMANDS = {
    "rotate": ["rotate", "--dry-run", "-o", "json"],
    "smoke": ["smoke", "-o", "json"],
    "audit": ["audit", "-o", "json"],
    "usage": ["usage", "--window", "1d", "--history", "1d", "-o", "json"],
}


def _config(fleet: Fleet) -> str:
    return fleet.config(
        f'[defaults]\nvault_url = "{fleet.main}"\n\n'
        '[[targets]]\nname = "a1"\nresource_group = "rg-a"\naccount = "pol-a1"\n\n'
        f'[[targets]]\nname = "b1"\nsubscription = "{SUB_B}"\nresource_group = "rg-b"\n'
        'account = "pol-b1"\n'
    )


@pytest.mark.parametrize("command", list(COMMANDS))
def test_selection_matrix(fleet: Fleet, command: str) -> None:
    config = _config(fleet)
    args = ["--config", config, *COMMANDS[command]]

    # AZURE_SUBSCRIPTION_ID names subscription A: b1 (subscription B) is still selected.
    both = fleet.run(*args)
    assert both.exit_code == 0, both.stderr
    assert "pol-a1" in both.stdout and "pol-b1" in both.stdout, (both.stdout, both.stderr)
    assert "not a filter" in both.stderr and "b1" in both.stderr

    # --subscription typed: still a default, not a filter.
    typed = fleet.run(*args, "--subscription", SUB_A, AZURE_SUBSCRIPTION_ID="")
    assert "pol-a1" in typed.stdout and "pol-b1" in typed.stdout, typed.stderr

    # A typed filter that leaves configured targets out says how many and which.
    one = fleet.run(*args, "--account", "pol-a1")
    assert "pol-a1" in one.stdout and "pol-b1" not in one.stdout
    assert "--account pol-a1 leaves out 1 of 2 configured targets: b1" in one.stderr

    # --vault-url is a default for targets without a vault: the configured one is kept.
    other_vault = fleet.run(*args, "--vault-url", fleet.dr)
    assert "pol-a1" in other_vault.stdout and "pol-b1" in other_vault.stdout
    assert f"--vault-url {fleet.dr} is a default" in other_vault.stderr


@pytest.mark.parametrize("command", list(COMMANDS))
def test_discovery_searches_the_subscription_azure_subscription_id_names(
    fleet: Fleet, command: str
) -> None:
    """Without [[targets]], AZURE_SUBSCRIPTION_ID (over the emulator's first subscription) is
    where accounts are discovered; --subscription typed wins over it."""
    home = fleet.config(f'[defaults]\nvault_url = "{fleet.main}"\n')
    in_b = fleet.run("--config", home, *COMMANDS[command], AZURE_SUBSCRIPTION_ID=SUB_B)
    assert "pol-b1" in in_b.stdout and "pol-a1" not in in_b.stdout, in_b.stderr
    typed = fleet.run(
        "--config", home, *COMMANDS[command], "--subscription", SUB_A, AZURE_SUBSCRIPTION_ID=SUB_B
    )
    assert "pol-a1" in typed.stdout and "pol-b1" not in typed.stdout, typed.stderr


def test_selection_matrix_for_run_env_and_export(fleet: Fleet, tmp_path: Path) -> None:
    """A configured target in another subscription than AZURE_SUBSCRIPTION_ID hands its key
    over; --vault-url does not redirect a target that has its own vault."""
    config = _config(fleet)
    key1, _ = fleet.keys("pol-b1")
    check = "import os,sys; sys.exit(0 if os.environ['AZURE_OPENAI_API_KEY'] == sys.argv[1] else 9)"
    ran = fleet.run(
        "--config", config, "run", "--target", "b1", "--", sys.executable, "-c", check, key1
    )
    assert ran.exit_code == 0, ran.stderr
    redirected = fleet.run(
        "--config",
        config,
        "run",
        "--target",
        "b1",
        "--vault-url",
        fleet.dr,
        "--",
        sys.executable,
        "-c",
        check,
        key1,
    )
    assert redirected.exit_code == 0, redirected.stderr
    assert f"--vault-url {fleet.dr} is a default" in redirected.stderr

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text(".env\n")
    wrote = fleet.run("--config", config, "env", "--target", "b1", "--write", str(repo / ".env"))
    assert wrote.exit_code == 0, wrote.stderr
    assert f"AZURE_OPENAI_API_KEY={key1}" in (repo / ".env").read_text().replace("'", "")

    github_env = tmp_path / "github-env"
    github_env.write_text("")
    exported = fleet.run(
        "--config",
        config,
        "export",
        "--target",
        "b1",
        GITHUB_ACTIONS="true",
        GITHUB_ENV=str(github_env),
        GITHUB_OUTPUT=str(tmp_path / "github-output"),
    )
    assert exported.exit_code == 0, exported.stderr
    assert key1 in github_env.read_text()
