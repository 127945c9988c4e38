"""``keyops audit`` as an identity with little or no Key Vault data access (default world): a
secret it cannot see is "unreadable" with the refused data action named (AUD018), never
"missing" (AUD002); AUD002 stays for a secret Key Vault says is absent."""

from __future__ import annotations

import json
from typing import Any

from keyops.azure.vault import GET_VALUE_ACTION, READ_METADATA_ACTION
from keyops.emulator.core.rbac import RoleDefinition
from keyops.exitcodes import ExitStatus
from tests.emulator.openai_support import add_assignment
from tests.smoke.clihelp import run
from tests.support.emulator import EmulatorHandle

WEU = "contoso-aiservices-weu"  # its secret exists: 12 days old, expires in 78 days
EUS = "contoso-openai-eus"  # no secret in the vault


def _audit(handle: EmulatorHandle, principal: str, *args: str) -> dict[str, Any]:
    r = run(
        handle,
        ["audit", "--vault-url", handle.vault_url(), "-o", "json", *args],
        principal=principal,
    )
    assert r.exit_code == ExitStatus.OK, r.stderr
    return dict(json.loads(r.stdout))


def _rules(report: dict[str, Any], account: str) -> dict[str, str]:
    return {f["rule_id"]: f["message"] for f in report["findings"] if f["account"] == account}


def test_a_reader_sees_unreadable_secrets_not_missing_ones(shared_emulator: EmulatorHandle) -> None:
    """ops-reader (Reader): Key Vault refuses both the value and the versions."""
    report = _audit(shared_emulator, "ops-reader")
    assert len(report["accounts"]) == 4
    assert not [f for f in report["findings"] if f["rule_id"] == "AUD002"]
    for row in report["accounts"]:
        secret = row["secret"]
        assert (secret["present"], secret["readable"]) == (None, False), row["account"]
        assert secret["denied_actions"] == [GET_VALUE_ACTION, READ_METADATA_ACTION]
        message = _rules(report, row["account"])["AUD018"]
        assert GET_VALUE_ACTION in message and "whether it exists is unknown" in message
    unreadable = [f for f in report["findings"] if f["rule_id"] == "AUD018"]
    assert {f["severity"] for f in unreadable} == {"low"}

    table = run(
        shared_emulator,
        ["audit", "--vault-url", shared_emulator.vault_url(), "-a", WEU],
        principal="ops-reader",
    )
    assert table.exit_code == ExitStatus.OK, table.stderr
    tsv = run(
        shared_emulator,
        ["audit", "--vault-url", shared_emulator.vault_url(), "-a", WEU, "-o", "tsv"],
        principal="ops-reader",
    )
    header, row = tsv.stdout.splitlines()[:2]
    cells = dict(zip(header.split("\t"), row.split("\t"), strict=True))
    assert cells["account"] == WEU
    assert cells["vault secret"] == "unreadable"  # (was: "missing")
    assert "AUD018" in table.stdout and "AUD002" not in table.stdout


def test_a_known_absence_is_still_aud002(shared_emulator: EmulatorHandle) -> None:
    report = _audit(shared_emulator, "keyops-rotator", "-a", EUS)
    assert report["accounts"][0]["secret"]["present"] is False
    assert "AUD002" in _rules(report, EUS) and "AUD018" not in _rules(report, EUS)


def test_metadata_without_the_value(emulator: EmulatorHandle) -> None:
    """A role with readMetadata but not getSecret (like Azure's Key Vault Reader, which the
    emulator does not ship): the secret's age and expiry are known, its value is not."""
    emu = emulator.server.emulator
    emu.rbac.roles["kv-metadata-reader"] = RoleDefinition(
        name="kv-metadata-reader",
        role_name="Test Key Vault Metadata Reader",
        description="readMetadata only",
        permissions=({"actions": [], "dataActions": [READ_METADATA_ACTION]},),
        raw={},
    )
    vault = next(v["id"] for v in emulator.conn["vaults"] if v["name"] == "kv-keyops-prod")
    add_assignment(emulator, "ops-reader", "Test Key Vault Metadata Reader", vault)

    report = _audit(emulator, "ops-reader", "-g", "rg-ai-prod")
    weu = _audit(emulator, "ops-reader", "-a", WEU)
    secret = weu["accounts"][0]["secret"]
    assert (secret["present"], secret["readable"], secret["age_days"]) == (True, False, 12)
    assert secret["expires_on"] and secret["denied_actions"] == [GET_VALUE_ACTION]
    found = _rules(weu, WEU)
    assert "AUD002" not in found and "AUD006" not in found
    assert READ_METADATA_ACTION not in found["AUD018"] and GET_VALUE_ACTION in found["AUD018"]
    # Listing the versions answers "absent" for eus: that is a known absence.
    assert "AUD002" in _rules(report, EUS) and "AUD018" not in _rules(report, EUS)
