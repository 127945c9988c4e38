"""One writer per account: duplicate targets, template collisions and other secrets holding the
key about to be regenerated are refused before anything is regenerated."""

from __future__ import annotations

import pytest
from click.testing import Result

from tests.policy.conftest import SUB_A, Fleet, account_id


def _stderr_line(result: Result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_two_targets_on_one_account_are_refused_naming_both(fleet: Fleet) -> None:
    """A DR target written as resource group/account next to a resource_id of another case:
    the same account, two writers; each would regenerate the key the other just stored."""
    config = fleet.config(
        f"""
[defaults]
vault_url = "{fleet.main}"

[[targets]]
name = "a1"
resource_id = "{account_id("pol-a1").replace("rg-a", "RG-A").replace("pol-a1", "POL-A1")}"

[[targets]]
name = "a1-dr"
subscription = "{SUB_A}"
resource_group = "rg-a"
account = "pol-a1"
vault_url = "{fleet.dr}"
"""
    )
    seq = fleet.emu.last_seq
    for extra in ((), ("--dry-run",), ("--force", "--confirm-breaking-consumers")):
        result = fleet.run("--config", config, "rotate", *extra)
        assert result.exit_code == 3, result.stderr
        line = _stderr_line(result)
        assert "'a1'" in line and "'a1-dr'" in line and "one writer per account" in line
    assert fleet.writes_since(seq) == []
    assert "Accounts_ListKeys" not in fleet.operations_since(seq)


def test_a_secret_name_template_mapping_two_accounts_to_one_secret_is_refused(
    fleet: Fleet,
) -> None:
    config = fleet.config(
        f'[defaults]\nvault_url = "{fleet.main}"\nsecret_name = "openai-key"\n\n'
        '[[targets]]\nname = "a1"\nresource_group = "rg-a"\naccount = "pol-a1"\n\n'
        '[[targets]]\nname = "a2"\nresource_group = "rg-a"\naccount = "pol-a2"\n'
    )
    seq = fleet.emu.last_seq
    result = fleet.run("--config", config, "rotate")
    assert result.exit_code == 3
    line = _stderr_line(result)
    assert "'a1'" in line and "'a2'" in line and "openai-key" in line and "{account}" in line
    # Whichever shard of a pipeline matrix each account falls in.
    for shard in ("1/2", "2/2"):
        sharded = fleet.run("--config", config, "rotate", "--shard", shard)
        assert sharded.exit_code == 3 and "openai-key" in sharded.stderr
    # Discovery with the same template: every account of the subscription into one secret.
    discovered = fleet.run(
        "rotate",
        "--vault-url",
        fleet.main,
        KEYOPS_CONFIG=fleet.config('[defaults]\nsecret_name = "openai-key"\n'),
    )
    assert discovered.exit_code == 3 and "openai-key" in discovered.stderr
    assert fleet.writes_since(seq) == []


def test_another_secret_holding_the_key_about_to_be_regenerated_is_refused(fleet: Fleet) -> None:
    """legacy-app-a2 holds pol-a2's Key2 (tags say nothing): rotating pol-a2 would kill it."""
    key1, key2 = fleet.keys("pol-a2")
    seq = fleet.emu.last_seq
    result = fleet.run("rotate", "--vault-url", fleet.main, "--account", "pol-a2")
    assert result.exit_code == 6, result.stderr
    assert "legacy-app-a2" in result.stderr and "Key2" in result.stderr
    assert key2 not in result.stderr + result.stdout
    assert fleet.keys("pol-a2") == (key1, key2)
    assert "Accounts_RegenerateKey" not in fleet.operations_since(seq)
    assert fleet.secret("kv-main", "pol-a2-api-key").value == key1


def test_each_vault_is_listed_once_per_run_not_per_account(fleet: Fleet) -> None:
    config = fleet.config(
        f'[defaults]\nvault_url = "{fleet.main}"\n\n'
        f'[[targets]]\nname = "a1"\nresource_id = "{account_id("pol-a1")}"\n\n'
        f'[[targets]]\nname = "b1"\nresource_id = "{account_id("pol-b1")}"\n'
    )
    seq = fleet.emu.last_seq
    result = fleet.run("--config", config, "rotate", "--concurrency", "2")
    assert result.exit_code == 0, result.stderr
    # Answered once (a client's first request to a vault is also sent unauthenticated, for the
    # 401 challenge that names the tenant: the run's first request there is now the listing).
    listed = [e for e in fleet.emu.log_since(seq) if e["operation"] == "GetSecrets"]
    assert [e["status"] for e in listed if e["status"] != 401] == [200]
    # The lease secrets the run wrote are not "other holders" on the next run either.
    rerun = fleet.run("--config", config, "rotate", "--force", "--confirm-breaking-consumers")
    assert rerun.exit_code == 0, rerun.stderr


@pytest.mark.parametrize(
    ("copy", "words"),
    [
        ("{main}/POL-A1-API-KEY", "also_store names its own secret"),
        ("{main}/pol-a2-api-key", "both write secret pol-a2-api-key"),
    ],
)
def test_a_copy_naming_its_own_or_another_targets_secret_is_refused(
    fleet: Fleet, copy: str, words: str
) -> None:
    config = fleet.config(
        f'[defaults]\nvault_url = "{fleet.main}"\n\n'
        f'[[targets]]\nname = "a1"\nresource_id = "{account_id("pol-a1")}"\n'
        f'also_store = ["{copy.format(main=fleet.main)}"]\n\n'
        f'[[targets]]\nname = "a2"\nresource_id = "{account_id("pol-a2")}"\n'
    )
    seq = fleet.emu.last_seq
    result = fleet.run("--config", config, "rotate")
    assert result.exit_code == 3 and words in _stderr_line(result)
    assert fleet.writes_since(seq) == []
