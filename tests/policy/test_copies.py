"""``also_store``: several copies, one writer. The one rotation stores every copy, each read
back; a copy a crash left behind is brought up to date instead of being regenerated under."""

from __future__ import annotations

import json

from keyops.azure.probe import NO_RETRY, KeyAuth, probe
from keyops.cloud import resolve_environment
from keyops.secret import SecretValue
from tests.policy.conftest import Fleet, account_id
from tests.rotate.boundaries import at_boundary


def _config(fleet: Fleet) -> str:
    return fleet.config(
        f'[defaults]\nvault_url = "{fleet.main}"\n\n'
        f'[[targets]]\nname = "a1"\nresource_id = "{account_id("pol-a1")}"\n'
        f'also_store = ["{fleet.dr}/pol-a1-dr", "{fleet.main}/pol-a1-batch"]\n'
    )


def stale_dr_copy(fleet: Fleet) -> tuple[str, str]:
    """pol-a1's (Key1, Key2), its DR copy left holding Key2, the slot a rotation would
    regenerate (a crash between the primary and the copies leaves it so)."""
    key1, key2 = fleet.keys("pol-a1")
    dr = fleet.emu.secret_client("kv-dr")
    dr.set_secret("pol-a1-dr", key2)
    dr.close()
    return key1, key2


def test_a_rotation_stores_every_copy_with_the_same_working_key(fleet: Fleet) -> None:
    config = _config(fleet)
    result = fleet.run("--config", config, "rotate", "-o", "json")
    assert result.exit_code == 0, result.stderr
    (record,) = json.loads(result.stdout)["accounts"]
    assert (record["action"], record["slot"]) == ("rotated", "Key2")
    primary = fleet.secret("kv-main", "pol-a1-api-key")
    dr = fleet.secret("kv-dr", "pol-a1-dr")
    batch = fleet.secret("kv-main", "pol-a1-batch")
    _, key2 = fleet.keys("pol-a1")
    assert primary.value == dr.value == batch.value == key2
    assert dr.properties.tags["CredentialId"] == "Key2"
    env = resolve_environment(str(fleet.emu.connection_path), None)
    endpoint = fleet.emu.account("pol-a1")["endpoint"]
    assert probe(
        endpoint, "chat", KeyAuth(SecretValue(dr.value)), retry=NO_RETRY, verify=env.verify
    ).ok
    # A rerun right after: green, every account skipped with its reason, nothing written.
    seq = fleet.emu.last_seq
    rerun = fleet.run("--config", config, "rotate", "-o", "json")
    assert rerun.exit_code == 0, rerun.stderr
    (again,) = json.loads(rerun.stdout)["accounts"]
    assert (again["action"], again["reason_code"]) == ("skipped", "within-grace")
    assert fleet.writes_since(seq) == []


def test_a_stale_copy_is_brought_up_to_date_instead_of_regenerated_under(fleet: Fleet) -> None:
    """A crash between the primary and the copies leaves a copy with the previous key: the next
    rotation stores the current key in it and regenerates nothing (its consumers get a grace)."""
    config = _config(fleet)
    key1, key2 = stale_dr_copy(fleet)
    seq = fleet.emu.last_seq
    result = fleet.run("--config", config, "rotate")
    assert result.exit_code == 6, result.stderr
    assert "pol-a1-dr" in result.stderr and "rotate again after the grace period" in result.stderr
    assert fleet.keys("pol-a1") == (key1, key2)
    assert "Accounts_RegenerateKey" not in fleet.operations_since(seq)
    assert fleet.secret("kv-dr", "pol-a1-dr").value == key1


def test_an_expiry_event_on_a_copy_rotates_its_target_and_every_copy(fleet: Fleet) -> None:
    """Copies carry the primary's exp and tags, so Event Grid raises SecretNearExpiry for them
    too: the event rotates the target that writes them, not the copy alone."""
    config = _config(fleet)
    assert fleet.run("--config", config, "rotate").exit_code == 0
    fleet.emu.admin("POST", "clock", {"advance": 3 * 86400})
    event = {
        "id": "e1",
        "topic": "/subscriptions/x/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv-dr",
        "subject": "pol-a1-dr",
        "eventType": "Microsoft.KeyVault.SecretNearExpiry",
        "eventTime": "2026-06-01T00:00:00Z",
        "data": {
            "Id": f"{fleet.dr}/secrets/pol-a1-dr/v",
            "VaultName": "kv-dr",
            "ObjectType": "Secret",
            "ObjectName": "pol-a1-dr",
            "Version": "v",
        },
        "dataVersion": "1",
        "metadataVersion": "1",
    }
    args = ("--config", config, "rotate", "--event", "-", "-o", "json")
    result = fleet.run(*args, stdin=json.dumps([event]))
    assert result.exit_code == 0, result.stderr
    (record,) = json.loads(result.stdout)["accounts"]
    assert (record["target"], record["action"]) == ("a1", "rotated")
    assert record["secret"]["name"] == "pol-a1-api-key"
    key1, _ = fleet.keys("pol-a1")
    assert fleet.secret("kv-main", "pol-a1-api-key").value == key1
    assert fleet.secret("kv-dr", "pol-a1-dr").value == key1


def test_a_primary_deleted_while_a_copy_holds_the_doomed_key_regenerates_nothing(
    fleet: Fleet,
) -> None:
    """Someone deletes the primary after the run read it: a copy still holding the key to be
    regenerated cannot be brought up to date from it, so the run refuses (nothing regenerated)."""
    config = _config(fleet)
    key1, key2 = stale_dr_copy(fleet)
    main = fleet.emu.secret_client("kv-main")
    seq = fleet.emu.last_seq
    with at_boundary("after-decide", lambda: main.begin_delete_secret("pol-a1-api-key").wait()):
        result = fleet.run("--config", config, "rotate")
    main.close()
    assert result.exit_code == 6, result.stderr
    assert "copy " in result.stderr and "pol-a1-dr still holds Key2" in result.stderr
    assert "restore the primary" in result.stderr
    assert fleet.keys("pol-a1") == (key1, key2)
    assert "Accounts_RegenerateKey" not in fleet.operations_since(seq)
    assert fleet.secret("kv-dr", "pol-a1-dr").value == key2


def test_a_copy_holding_the_doomed_key_with_a_newline_is_stale_all_the_same(fleet: Fleet) -> None:
    """Consumers strip what they read: a copy holding Key2 and a newline holds Key2."""
    config = _config(fleet)
    key1, key2 = fleet.keys("pol-a1")
    dr = fleet.emu.secret_client("kv-dr")
    dr.set_secret("pol-a1-dr", key2 + "\n")
    dr.close()
    seq = fleet.emu.last_seq
    result = fleet.run("--config", config, "rotate")
    assert result.exit_code == 6, result.stderr
    assert "pol-a1-dr" in result.stderr and "rotate again after the grace period" in result.stderr
    assert "Accounts_RegenerateKey" not in fleet.operations_since(seq)
    assert fleet.keys("pol-a1") == (key1, key2)


def test_another_secret_in_a_copys_vault_holding_the_doomed_key_stops_the_rotation(
    fleet: Fleet,
) -> None:
    """The DR vault holds a secret of its own with Key2 (not a copy keyops writes): its
    consumers would break, so Key2 is not regenerated."""
    config = _config(fleet)
    key1, key2 = fleet.keys("pol-a1")
    dr = fleet.emu.secret_client("kv-dr")
    dr.set_secret("reporting-job-key", key2)
    dr.close()
    seq = fleet.emu.last_seq
    result = fleet.run("--config", config, "rotate", "-o", "json")
    assert result.exit_code == 6, result.stderr
    (record,) = json.loads(result.stdout)["accounts"]
    assert record["reason_code"] == "other-holder" and "reporting-job-key" in record["reason"]
    assert "Accounts_RegenerateKey" not in fleet.operations_since(seq)
    assert fleet.keys("pol-a1") == (key1, key2)
