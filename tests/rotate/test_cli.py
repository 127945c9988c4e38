"""``keyops rotate`` end to end: output, exit statuses, one clear line on stderr, no writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from keyops.cli.main import cli
from tests.rotate.conftest import Rig, cli_env, run_cli
from tests.support.emulator import EmulatorHandle

WEU = "contoso-aiservices-weu"
SPECS = Path(__file__).resolve().parents[1] / "data" / "eventgrid"  # Key Vault event examples


def invoke(
    emu: EmulatorHandle, *args: str, principal: str = "keyops-rotator", **env: str
) -> Result:
    """Run the CLI in-process as ``principal`` (environment service principal)."""
    full_env: dict[str, Any] = {k: None for k in ("KEYOPS_CONFIG", "AZURE_SUBSCRIPTION_ID")}
    full_env.update(cli_env(emu, principal, **env))
    return CliRunner().invoke(cli, list(args), env=full_env, catch_exceptions=False)


def one_line(result: Result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_dry_run_json_and_zero_writes(rig: Rig) -> None:
    seq = rig.emu.last_seq
    result = invoke(rig.emu, "rotate", "--vault-url", rig.vault_url, "--dry-run", "-o", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "keyops.rotate/v1" and doc["summary"]["total"] == len(doc["accounts"])
    records = doc["accounts"]
    plans = {r["account"]: r["planned"] for r in records}
    assert plans[WEU] == "rotate Key2" and plans["contoso-openai-eus"] == "adopt Key1"
    assert all(r["schema"] == "keyops.rotation/v1" and r["dry_run"] for r in records)
    assert rig.writes_since(seq) == []


def test_rotate_prints_a_table_and_exits_0(rig: Rig) -> None:
    result = invoke(rig.emu, "rotate", "--vault-url", rig.vault_url, "--account", WEU)
    assert result.exit_code == 0, result.stderr
    assert "rotated" in result.stdout and "sha256:" in result.stdout
    key = rig.keys(rig.target(WEU)).key2.reveal()
    assert key not in result.stdout and key not in result.stderr


def test_the_new_version_id_is_shown_next_to_its_slot(rig: Rig) -> None:
    result = invoke(rig.emu, "rotate", "--vault-url", rig.vault_url, "--account", WEU, "-o", "tsv")
    assert result.exit_code == 0, result.stderr
    version = rig.latest(rig.target(WEU).secret_name).version
    assert f"Key2\t{version}\t" in result.stdout, result.stdout  # a 32-hex id, not a key


def test_within_grace_is_a_skip_and_force_without_confirmation_exits_6(rig: Rig) -> None:
    rig.backdate(f"{WEU}-api-key", "-1h")
    args = ("rotate", "--vault-url", rig.vault_url, "--account", WEU)
    rerun = invoke(rig.emu, *args)
    assert rerun.exit_code == 0, rerun.stderr
    assert "skipped" in rerun.stdout and "within grace" in rerun.stdout
    seq = rig.emu.last_seq
    forced = invoke(rig.emu, *args, "--force")
    assert forced.exit_code == 6
    assert "refused" in one_line(forced) and "--confirm-breaking-consumers" in forced.stderr
    assert rig.writes_since(seq) == []


def test_bad_configuration_names_the_line_and_exits_3(rig: Rig, tmp_path: Path) -> None:
    (tmp_path / "keyops.toml").write_text(
        '[defaults]\nvault_url = "https://kv.vault.azure.net"\n\n[[targets]]\nname = "a"\n'
        'resource_id = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web/sites/a"\n'
    )
    seq = rig.emu.last_seq
    result = invoke(rig.emu, "--config", str(tmp_path / "keyops.toml"), "rotate")
    assert result.exit_code == 3
    assert "keyops.toml line 6" in one_line(result) and "malformed" in result.stderr
    assert rig.writes_since(seq) == []


def test_bad_duration_in_keyops_toml_of_the_working_directory(
    rig: Rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "keyops.toml").write_text('[defaults]\ngrace = "one day"\n')
    monkeypatch.chdir(tmp_path)
    result = invoke(rig.emu, "rotate")
    assert result.exit_code == 3
    assert "line 2" in one_line(result) and "bad duration" in result.stderr


def test_missing_vault_url_is_one_configuration_error(rig: Rig) -> None:
    result = invoke(rig.emu, "rotate")
    assert result.exit_code == 3
    assert "vault_url" in one_line(result) and "--vault-url" in result.stderr


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--account", "nosuch"),
        ("--resource-group", "rg-nosuch"),  # ARM: ResourceGroupNotFound
        ("--resource-group", "rg-keyops"),  # exists, holds only the vault
        ("--tag", "owner=nobody"),
        ("--tag", "cost-center"),
    ],
)
def test_a_selection_that_matches_nothing_exits_2(rig: Rig, flag: str, value: str) -> None:
    seq = rig.emu.last_seq
    result = invoke(rig.emu, "rotate", "--vault-url", rig.vault_url, flag, value)
    assert result.exit_code == 2, result.stderr
    assert f"{flag} {value}" in one_line(result)
    assert result.stdout == ""
    assert rig.writes_since(seq) == []


def test_a_tag_filter_rotates_only_the_accounts_it_matches(rig: Rig) -> None:
    seq = rig.emu.last_seq
    result = invoke(
        rig.emu, "rotate", "--vault-url", rig.vault_url, "--tag", "owner=search-team", "-o", "json"
    )
    assert result.exit_code == 0, result.stderr
    (record,) = json.loads(result.stdout)["accounts"]
    assert (record["account"], record["action"], record["slot"]) == (WEU, "rotated", "Key2")
    (regenerated,) = rig.calls(seq, "Accounts_RegenerateKey")
    assert f"/accounts/{WEU}/" in regenerated["path"]


@pytest.mark.parametrize(
    ("principal", "account"),
    [
        ("ops-reader", WEU),  # Reader: sees accounts, no Key Vault data access, no listKeys
        ("app-consumer", "contoso-openai-eus"),  # reads secrets and calls inference, no listKeys
    ],
)
def test_missing_permissions_exit_4_without_writing(rig: Rig, principal: str, account: str) -> None:
    seq = rig.emu.last_seq
    result = invoke(
        rig.emu, "rotate", "--vault-url", rig.vault_url, "--account", account, principal=principal
    )
    assert result.exit_code == 4, result.stderr
    line = one_line(result)
    assert "access denied" in line or "could not get a token" in line
    attempted = rig.writes_since(seq)
    assert not any(e["changed"] for e in attempted), attempted
    # A due account's keys are listed under its lease (README, "Requests per account"): the
    # only write tried is the lease claim, which a principal without secret writes is denied.
    assert all(
        (e["operation"], e["status"]) == ("SetSecret", 403) and "keyops-lease-" in e["path"]
        for e in attempted
    ), attempted


def failed_alike(result: Result, status: int, cause: str) -> None:
    """One line for the whole fleet (3 accounts failed, the disableLocalAuth one skipped)."""
    assert result.exit_code == status, result.stderr
    line = one_line(result)
    assert f"every account to rotate failed: {cause} (3 accounts, 1 skipped)" in line, line
    actions = {r["account"]: r["action"] for r in json.loads(result.stdout)["accounts"]}
    assert actions.pop("contoso-openai-entra") == "skipped"
    assert set(actions.values()) == {"failed"} and len(actions) == 3


def test_a_fleet_denied_everywhere_is_one_line_and_exits_4(rig: Rig) -> None:
    seq = rig.emu.last_seq
    # Reader on the subscription: lists every account, has no Key Vault data access and no
    # listKeys.
    result = invoke(
        rig.emu, "rotate", "--vault-url", rig.vault_url, "-o", "json", principal="ops-reader"
    )
    failed_alike(result, 4, "access denied")
    assert {e["status"] for e in rig.calls(seq, "GetSecret")} >= {403}
    assert rig.writes_since(seq) == []


def test_a_fleet_whose_vault_is_unreachable_is_one_line_and_exits_5(rig: Rig) -> None:
    seq = rig.emu.last_seq
    dead_vault = "https://127.0.0.1:9/vaults/kv-keyops-prod"
    result = invoke(rig.emu, "rotate", "--vault-url", dead_vault, "-o", "json")
    failed_alike(result, 5, "Azure unreachable or failing")
    assert "unreachable" in result.stderr
    assert rig.calls(seq, "Accounts_List") != []  # ARM answered; only the vault is gone
    assert rig.writes_since(seq) == []


def test_unreachable_azure_exits_5(emulator: EmulatorHandle, tmp_path: Path) -> None:
    conn = emulator.conn
    dead = "https://127.0.0.1:9"
    text = json.dumps(conn).replace(conn["url"], dead)
    (tmp_path / "dead.json").write_text(text)
    result = invoke(
        emulator,
        "rotate",
        "--vault-url",
        f"{dead}/vaults/kv-keyops-prod",
        KEYOPS_EMULATOR=str(tmp_path / "dead.json"),
    )
    assert result.exit_code == 5
    assert "unreachable" in one_line(result)


def test_revoke_needs_its_confirmation_flag(rig: Rig) -> None:
    result = invoke(rig.emu, "rotate", "--vault-url", rig.vault_url, "--revoke-previous")
    assert result.exit_code == 2 and "--confirm-revoke" in one_line(result)


def test_bad_shard_is_a_usage_error(rig: Rig) -> None:
    result = invoke(rig.emu, "rotate", "--vault-url", rig.vault_url, "--shard", "3/2")
    assert result.exit_code == 2 and "--shard" in one_line(result)


def near_expiry_event(rig: Rig, schema: str) -> dict[str, Any]:
    """The spec's example event of ``schema``, as SecretNearExpiry for WEU's latest version."""
    event: dict[str, Any] = json.loads(
        (SPECS / schema / "secret_new_version_created.json").read_text()
    )
    type_key = "eventType" if "eventType" in event else "type"
    event[type_key] = "Microsoft.KeyVault.SecretNearExpiry"
    secret = f"{WEU}-api-key"
    latest = rig.latest(secret)
    event["data"].update(
        Id=f"{rig.vault_url}/secrets/{secret}/{latest.version}",
        VaultName="kv-keyops-prod",
        ObjectName=secret,
        Version=latest.version,
    )
    event["subject"] = secret
    return event


def rotated_weu_only(rig: Rig, stdout: str) -> None:
    (record,) = json.loads(stdout)["accounts"]
    assert (record["account"], record["action"]) == (WEU, "rotated")
    assert rig.latest(f"{WEU}-api-key").value == rig.keys(rig.target(WEU)).key2


@pytest.mark.parametrize("schema", ["event-grid-schema", "cloud-events-schema"])
def test_near_expiry_event_rotates_that_secrets_account(
    rig: Rig, schema: str, tmp_path: Path
) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps([near_expiry_event(rig, schema)]))
    result = invoke(rig.emu, "rotate", "--event", str(path), "-o", "json")
    assert result.exit_code == 0, result.stderr
    rotated_weu_only(rig, result.stdout)


def test_near_expiry_event_on_stdin(rig: Rig) -> None:
    # A real pipe into a separate process, as an Event Grid handler would feed it; a single
    # event object rather than an array.
    event = json.dumps(near_expiry_event(rig, "event-grid-schema"))
    seq = rig.emu.last_seq
    done = run_cli(rig.emu, "rotate", "--event", "-", "-o", "json", stdin=event)
    assert done.returncode == 0, done.stderr
    rotated_weu_only(rig, done.stdout)
    (regenerated,) = rig.calls(seq, "Accounts_RegenerateKey")
    assert f"/accounts/{WEU}/" in regenerated["path"]


def test_event_of_another_type_is_rejected(rig: Rig, tmp_path: Path) -> None:
    event = json.loads((SPECS / "event-grid-schema/secret_new_version_created.json").read_text())
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    result = invoke(rig.emu, "rotate", "--event", str(path))
    assert result.exit_code == 2 and "SecretNearExpiry" in one_line(result)


def test_rotate_twice_in_a_row_exits_0_both_times(rig: Rig) -> None:
    """The rerun of a run that just succeeded is green: every account skipped, with its reason."""
    args = ("rotate", "--vault-url", rig.vault_url, "-o", "json")
    first = invoke(rig.emu, *args)
    assert first.exit_code == 0, first.stderr
    done = {r["account"]: r["action"] for r in json.loads(first.stdout)["accounts"]}
    assert done[WEU] == "rotated" and done["contoso-openai-eus"] == "adopted"
    seq = rig.emu.last_seq
    second = invoke(rig.emu, *args)
    assert second.exit_code == 0, second.stderr
    records = json.loads(second.stdout)["accounts"]
    assert {r["action"] for r in records} == {"skipped"}
    assert {r["account"]: r["reason_code"] for r in records} == {
        WEU: "within-grace",
        "contoso-openai-eus": "within-grace",
        "contoso-openai-legacy": "within-grace",
        "contoso-openai-entra": "local-auth-disabled",
    }
    assert all(r["reason"] for r in records)
    assert rig.writes_since(seq) == []


def test_a_fleet_rerun_after_some_accounts_were_rotated_exits_0(rig: Rig) -> None:
    first = invoke(rig.emu, "rotate", "--vault-url", rig.vault_url, "--account", WEU)
    assert first.exit_code == 0, first.stderr
    fleet = invoke(rig.emu, "rotate", "--vault-url", rig.vault_url, "-o", "json")
    assert fleet.exit_code == 0, fleet.stderr
    actions = {r["account"]: r["action"] for r in json.loads(fleet.stdout)["accounts"]}
    assert actions[WEU] == "skipped" and actions["contoso-openai-legacy"] == "rotated"


def test_repair_needs_its_confirmation_on_the_command_line_only(rig: Rig) -> None:
    seq = rig.emu.last_seq
    args = ("rotate", "--account", WEU, "--vault-url", rig.vault_url, "--repair")
    # No environment variable stands in for the confirmation.
    result = invoke(rig.emu, *args, KEYOPS_ROTATE_CONFIRM_REPAIR="1", KEYOPS_CONFIRM_REPAIR="1")
    assert result.exit_code == 2
    assert "--confirm-repair" in one_line(result)
    assert rig.writes_since(seq) == []
    # Nor for the repair itself.
    dry = ("--confirm-repair", "--dry-run", "-o", "json")
    result = invoke(rig.emu, *args[:-1], *dry, KEYOPS_ROTATE_REPAIR="1")
    planned = json.loads(result.stdout)["accounts"][0]["planned"]
    assert result.exit_code == 0 and planned == "rotate Key2"


def test_repair_of_a_healthy_account_writes_nothing(rig: Rig) -> None:
    seq = rig.emu.last_seq
    args = ("rotate", "--account", WEU, "--vault-url", rig.vault_url, "-o", "json")
    result = invoke(rig.emu, *args, "--repair", "--confirm-repair")
    assert result.exit_code == 0, result.stderr
    (record,) = json.loads(result.stdout)["accounts"]
    assert (record["action"], record["reason_code"]) == ("skipped", "healthy")
    secret_writes = [e for e in rig.writes_since(seq) if "keyops-lease" not in e["path"]]
    assert secret_writes == [] and rig.calls(seq, "Accounts_RegenerateKey") == []
