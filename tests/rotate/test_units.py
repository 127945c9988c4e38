"""Records and exit statuses, shards, events and the crash hook, without a server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keyops.cloud import CLOUDS
from keyops.errors import InputError
from keyops.exitcodes import ExitStatus
from keyops.rotate import Action, RotationRecord, exit_status, failure_summary, parse_shard
from keyops.rotate.events import parse_events, vault_url_for
from keyops.rotate.fleet import shard_of
from keyops.rotate.lease import lease_secret_name

SPECS = Path(__file__).resolve().parents[1] / "data" / "eventgrid"  # Key Vault event examples


def record(action: Action, status: int | None = None) -> RotationRecord:
    return RotationRecord(
        target="t", account="a", account_id="/x", action=action, error_status=status
    )


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ([Action.ROTATED, Action.SKIPPED, Action.ADOPTED, Action.PLANNED], ExitStatus.OK),
        ([Action.ROTATED, Action.REFUSED], ExitStatus.REFUSED),
        ([Action.REFUSED, (Action.FAILED, 4)], ExitStatus.FAILED),
        ([Action.ROTATED, (Action.FAILED, 5)], ExitStatus.FAILED),
        ([(Action.FAILED, 4), (Action.FAILED, 4)], ExitStatus.AUTH),
        ([(Action.FAILED, 5)], ExitStatus.SERVICE),
        ([(Action.FAILED, 4), (Action.FAILED, 5)], ExitStatus.FAILED),
        # Skipped accounts had nothing to do: the others' shared cause still decides.
        ([Action.SKIPPED, (Action.FAILED, 4), (Action.FAILED, 4)], ExitStatus.AUTH),
        ([(Action.FAILED, 5), Action.SKIPPED], ExitStatus.SERVICE),
        ([Action.SKIPPED, (Action.FAILED, 3)], ExitStatus.CONFIG),
        # A planned account (dry run) read what it needed: the failure is partial.
        ([Action.PLANNED, (Action.FAILED, 4)], ExitStatus.FAILED),
        ([Action.SKIPPED, Action.REFUSED, (Action.FAILED, 4)], ExitStatus.FAILED),
        ([Action.SKIPPED, Action.SKIPPED], ExitStatus.OK),
        ([], ExitStatus.OK),
    ],
)
def test_exit_status(actions: list[object], expected: ExitStatus) -> None:
    records = [record(*a) if isinstance(a, tuple) else record(a) for a in actions]  # type: ignore[arg-type]
    assert exit_status(records) is expected


def test_failure_summary_only_for_a_shared_cause() -> None:
    def fleet(*items: object) -> list[RotationRecord]:
        return [record(*a) if isinstance(a, tuple) else record(a) for a in items]  # type: ignore[arg-type]

    assert failure_summary(fleet((Action.FAILED, 4))) is None  # its own line says it all
    assert failure_summary(fleet((Action.FAILED, 4), (Action.FAILED, 5))) is None
    assert failure_summary(fleet((Action.FAILED, 1), (Action.FAILED, 1))) is None
    assert failure_summary(fleet(Action.ROTATED, (Action.FAILED, 5), (Action.FAILED, 5))) is None
    line = failure_summary(fleet((Action.FAILED, 5), Action.SKIPPED, (Action.FAILED, 5)))
    assert line is not None and "\n" not in line
    assert line.startswith("every account to rotate failed: Azure unreachable or failing")
    assert "(2 accounts, 1 skipped)" in line


def test_record_json_has_the_schema_and_every_field() -> None:
    data = record(Action.ROTATED).to_dict()
    assert data["schema"] == "keyops.rotation/v1"
    assert {"account_id", "action", "reason", "slot", "secret", "timings"} <= set(data)
    assert set(data["secret"]) == {"vault_url", "name", "version", "supersedes", "fingerprint"}
    json.dumps(data)


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", "-1/2", ""])
def test_bad_shards(text: str) -> None:
    with pytest.raises(InputError):
        parse_shard(text)


def test_shard_membership_is_stable_and_covers_every_shard() -> None:
    ids = [f"/subscriptions/s/resourceGroups/rg/providers/x/accounts/a{i}" for i in range(200)]
    assert parse_shard("2/4") == (2, 4)
    shards = [shard_of(i, 4) for i in ids]
    assert set(shards) == {1, 2, 3, 4}
    assert shards == [shard_of(i.upper(), 4) for i in ids]  # resource ids are case-insensitive


def test_lease_names_are_valid_key_vault_names() -> None:
    name = lease_secret_name("/subscriptions/s/x/accounts/" + "a" * 64, "a" * 64)
    assert len(name) <= 127 and name.replace("-", "").isalnum()
    assert lease_secret_name("/A", "n") == lease_secret_name("/a", "n")


@pytest.mark.parametrize("schema", ["event-grid-schema", "cloud-events-schema"])
def test_events_of_both_schemas_parse(schema: str) -> None:
    raw = json.loads((SPECS / schema / "secret_new_version_created.json").read_text())
    raw["eventType" if "eventType" in raw else "type"] = "Microsoft.KeyVault.SecretNearExpiry"
    (event,) = parse_events(json.dumps(raw))
    assert (event.vault_name, event.secret_name) == ("sample-kv", "newsecret")
    assert event.expires is not None and event.expires.year == 2019
    assert vault_url_for(event, CLOUDS["AzureCloud"]) == "https://sample-kv.vault.azure.net"


def test_an_event_cannot_steer_tokens_to_another_host() -> None:
    raw = json.loads((SPECS / "event-grid-schema/secret_new_version_created.json").read_text())
    raw["eventType"] = "Microsoft.KeyVault.SecretNearExpiry"
    raw["data"]["Id"] = "https://evil.example.com/secrets/newsecret/1"
    (event,) = parse_events(json.dumps(raw))
    with pytest.raises(InputError, match="not a vault"):
        vault_url_for(event, CLOUDS["AzureCloud"])
    china = vault_url_for(
        parse_events(json.dumps({**raw, "data": {**raw["data"], "Id": None}}))[0],
        CLOUDS["AzureChinaCloud"],
    )
    assert china == "https://sample-kv.vault.azure.cn"


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"eventType": "x"}',
        "[1]",
        '{"type": "Microsoft.KeyVault.SecretNearExpiry"}',
    ],
)
def test_bad_events_are_input_errors(text: str) -> None:
    with pytest.raises(InputError):
        parse_events(text)


def test_the_product_reads_no_crash_switch() -> None:
    """Without the test-only sitecustomize, the crash variable does nothing."""
    code = "from keyops.rotate.hooks import boundary; boundary('after-store'); print('reached')"
    env = {"KEYOPS_TEST_CRASH_AT": "after-store", "PYTHONPATH": str(Path(__file__).parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout == "reached\n"


def test_the_crash_hook_exits_137_at_its_boundary_only() -> None:
    code = (
        "from keyops.rotate.hooks import boundary; boundary('after-read'); "
        "boundary('after-store'); print('not reached')"
    )
    root = Path(__file__).parents[2]
    env = {
        "KEYOPS_TEST_CRASH_AT": "after-store",
        "PYTHONPATH": f"{root / 'tests' / 'support' / 'crashsite'}{os.pathsep}{root}",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 137 and done.stdout == ""


def test_an_outside_change_or_an_automatic_repair_exits_1() -> None:
    done = RotationRecord("t", "a", "/a", action=Action.ROTATED)
    assert exit_status([done]) is ExitStatus.OK
    done.outside_change = "Key1"
    assert exit_status([done]) is ExitStatus.FAILED
    repaired = RotationRecord("t", "a", "/a", action=Action.REPAIRED, reason_code="repaired")
    assert exit_status([repaired]) is ExitStatus.FAILED
    asked = RotationRecord("t", "a", "/a", action=Action.REPAIRED, reason_code="")
    assert exit_status([asked]) is ExitStatus.OK
