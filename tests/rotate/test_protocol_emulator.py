"""The rotation protocol against the emulator, with the real SDKs over HTTPS."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from keyops.azure.probe import NO_RETRY, KeyAuth, Outcome, probe
from keyops.rotate import Action, rotate_account
from keyops.rotate.tags import CREDENTIAL_TAG, PROVIDER_TAG, SUPERSEDES_TAG
from keyops.secret import SecretValue
from tests.rotate.conftest import Rig, options

WEU = "contoso-aiservices-weu"  # seeded: secret holds Key1, created 12 days ago
EUS = "contoso-openai-eus"  # seeded: no secret


def works(rig: Rig, account: str, key: SecretValue, deployment: str) -> Outcome:
    """One data-plane call with ``key``, no retry."""
    target = rig.target(account)
    return probe(
        target.account.endpoint, deployment, KeyAuth(key), retry=NO_RETRY, verify=rig.env.verify
    ).outcome


def test_adopt_stores_key1_without_regenerating(rig: Rig) -> None:
    target = rig.target(EUS)
    before = rig.keys(target)
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.ADOPTED, record.reason
    assert record.slot == "Key1" and record.regenerated == []
    assert rig.calls(seq, "Accounts_RegenerateKey") == []
    latest = rig.latest(target.secret_name)
    assert latest.value == before.key1
    assert latest.tags[CREDENTIAL_TAG] == "Key1"
    assert latest.tags[PROVIDER_TAG] == target.resource_id
    assert record.fingerprint == before.key1.fingerprint
    assert latest.expires_on is not None and latest.created is not None
    assert latest.expires_on - latest.created > timedelta(days=89)


def test_rotate_regenerates_the_inactive_slot_and_stores_a_tested_key(rig: Rig) -> None:
    target = rig.target(WEU)
    before = rig.keys(target)
    old = rig.latest(target.secret_name)
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.ROTATED, record.reason
    assert (record.previous_slot, record.slot, record.regenerated) == ("Key1", "Key2", ["Key2"])
    after = rig.keys(target)
    assert after.key1 == before.key1 and after.key2 != before.key2
    latest = rig.latest(target.secret_name)
    assert latest.value == after.key2 and latest.version == record.secret_version
    assert latest.tags[SUPERSEDES_TAG] == old.version == record.supersedes
    assert record.deployment == "gpt-4o"
    # The test step called the data plane with the new key before the store.
    ops = [
        e["operation"]
        for e in rig.emu.log_since(seq)
        if e["operation"] in ("Accounts_RegenerateKey", "ChatCompletions_Create", "SetSecret")
    ]
    assert ops.index("Accounts_RegenerateKey") < ops.index("ChatCompletions_Create")
    assert ops.index("ChatCompletions_Create") < len(ops) - 1 - ops[::-1].index("SetSecret")
    assert works(rig, WEU, after.key2, "gpt-4o") is Outcome.OK
    assert works(rig, WEU, before.key1, "gpt-4o") is Outcome.OK  # the grace key still works
    assert set(record.timings) >= {"read", "lease", "regenerate", "test", "store", "confirm"}
    dumped = json.dumps(record.to_dict())
    assert after.key2.reveal() not in dumped and before.key1.reveal() not in dumped


def test_dry_run_makes_zero_write_calls(rig: Rig) -> None:
    seq = rig.emu.last_seq
    records = [rotate_account(t, rig.services, options(dry_run=True)) for t in rig.targets()]
    plans = {r.account: (r.action, r.planned) for r in records}
    assert plans[EUS] == (Action.PLANNED, "adopt Key1")
    assert plans[WEU] == (Action.PLANNED, "rotate Key2")
    assert plans["contoso-openai-entra"][0] is Action.SKIPPED
    assert rig.writes_since(seq) == []
    assert rig.latest(f"{EUS}-api-key") is None


def test_skip_when_fresh(rig: Rig) -> None:
    target = rig.target(WEU)
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options(if_older_than=timedelta(days=30)))
    assert (record.action, record.reason_code) == (Action.SKIPPED, "fresh")
    assert "12d" in record.reason
    assert rig.writes_since(seq) == []


def test_grace_period_skip_force_refusal_and_typed_confirmation(rig: Rig) -> None:
    target = rig.target(WEU)
    rig.backdate(target.secret_name, "-2h")
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert (record.action, record.reason_code) == (Action.SKIPPED, "within-grace")
    assert "Key2" in record.reason
    forced = rotate_account(target, rig.services, options(force=True))
    assert (forced.action, forced.reason_code) == (Action.REFUSED, "grace")
    assert "--confirm-breaking-consumers" in forced.reason
    assert rig.writes_since(seq) == []
    confirmed = rotate_account(
        target, rig.services, options(force=True, confirm_breaking_consumers=True)
    )
    assert (confirmed.action, confirmed.reason_code) == (Action.ROTATED, "forced")


@pytest.mark.parametrize("skew", [timedelta(hours=2), timedelta(hours=-2)])
def test_grace_is_measured_on_key_vaults_clock(rig: Rig, skew: timedelta) -> None:
    """A runner whose clock is 2 h off does not decide the age: Key Vault's Date header does."""
    target = rig.target(WEU, grace=timedelta(hours=24))
    runner = lambda: datetime.now(timezone.utc) + skew  # noqa: E731 - a skewed clock
    rig.backdate(target.secret_name, "-23h")
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options(clock=runner))
    assert (record.action, record.reason_code) == (Action.SKIPPED, "within-grace")
    assert rig.writes_since(seq) == []
    # Key Vault's clock moves past the grace: the same skewed runner now rotates.
    rig.emu.admin("POST", "clock", {"advance": 3600 + 5})
    record = rotate_account(target, rig.services, options(clock=runner))
    assert record.action is Action.ROTATED, record.reason


def test_secret_matching_neither_key_is_reported_and_nothing_changes(rig: Rig) -> None:
    target = rig.target(WEU)
    vault = rig.services.vault(rig.vault_url)
    vault.set_secret(target.secret_name, SecretValue("not-a-key-of-this-account"))
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options(force=True))
    assert (record.action, record.reason_code) == (Action.REFUSED, "mismatch")
    assert "already broken" in record.reason
    assert rig.writes_since(seq) == []


def test_a_stored_key_with_a_trailing_newline_is_rotated_clean(rig: Rig) -> None:
    """The secret holds Key1 plus a newline: Key1 is in use (consumers that strip it work), so
    Key2 is regenerated, and the new version is stored without the newline."""
    target = rig.target(WEU)
    keys = rig.keys(target)
    padded = SecretValue(keys.key1.reveal() + "\n")
    rig.services.vault(rig.vault_url).set_secret(target.secret_name, padded)
    rig.backdate(target.secret_name, "-40d")
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.ROTATED, record.reason
    assert (record.previous_slot, record.regenerated) == ("Key1", ["Key2"])
    assert rig.keys(target).key1 == keys.key1  # the consumers' key still works
    latest = rig.latest(target.secret_name)
    assert latest.value.text_problem is None and latest.value == rig.keys(target).key2
    [warning] = record.warnings
    assert padded.fingerprint in warning and "whitespace around it" in warning
    assert keys.key1.reveal() not in json.dumps(record.to_dict())


def test_tags_are_hints_values_decide(rig: Rig) -> None:
    target = rig.target(WEU)
    keys = rig.keys(target)
    rig.services.vault(rig.vault_url).set_secret(
        target.secret_name, keys.key2, tags={CREDENTIAL_TAG: "Key1"}
    )
    rig.backdate(target.secret_name, "-40d")
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.ROTATED
    assert (record.previous_slot, record.slot) == ("Key2", "Key1")
    assert "tag says Key1" in record.reason


def test_propagation_delay_is_survived(rig: Rig) -> None:
    rig.emu.admin("POST", "settings", {"propagation_delay": 1.5})
    target = rig.target(WEU)
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.ROTATED, record.reason
    chats = rig.calls(seq, "ChatCompletions_Create")
    assert [c["status"] for c in chats][-1] == 200
    assert any(c["status"] == 401 for c in chats)  # refused while propagating, then accepted


def test_failed_key_test_leaves_key_vault_untouched(rig: Rig) -> None:
    target = rig.target(WEU)
    before = rig.latest(target.secret_name)
    rig.emu.fault(
        {
            "operation": "ChatCompletions_Create",
            "kind": "status",
            "status": 400,
            "code": "BadRequest",
            "times": None,
        }
    )
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert (record.action, record.reason_code) == (Action.FAILED, "test-failed")
    assert "Key Vault untouched" in record.reason and "\n" not in record.reason
    assert record.error_status == 1
    assert rig.calls(seq, "SetSecret") == [] or all(
        "keyops-lease" in c["path"] for c in rig.calls(seq, "SetSecret")
    )
    assert rig.latest(target.secret_name).version == before.version


def test_missing_deployment_fails_before_regenerating(rig: Rig) -> None:
    target = rig.target(WEU, deployment="no-such-deployment")
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.FAILED
    assert "no-such-deployment" in record.reason and "gpt-4o" in record.reason
    assert rig.calls(seq, "Accounts_RegenerateKey") == []


def test_revoke_previous_regenerates_the_old_slot_and_warns(rig: Rig) -> None:
    target = rig.target(WEU)
    before = rig.keys(target)
    record = rotate_account(target, rig.services, options(revoke_previous=True))
    assert record.action is Action.ROTATED and record.regenerated == ["Key2", "Key1"]
    after = rig.keys(target)
    assert after.key1 != before.key1
    assert rig.latest(target.secret_name).value == after.key2
    assert record.warnings and record.warnings[0].startswith(
        f"account {WEU}: revoked Key1: every consumer still holding it breaks now (it was "
        "superseded "
    )  # no evidence was read: not "the logs show every consumer moved"


def test_data_plane_throttling_during_the_test_step_proves_the_key(rig: Rig) -> None:
    target = rig.target(WEU)
    rig.emu.fault(
        {"operation": "ChatCompletions_Create", "kind": "status", "status": 429, "times": 2}
    )
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.ROTATED, record.reason
    statuses = [c["status"] for c in rig.calls(seq, "ChatCompletions_Create")]
    # Azure throttles only callers it authenticated: a 429 is "key accepted, throttled".
    assert statuses == [429]


def test_a_soft_deleted_secret_is_refused_and_nothing_regenerated(rig: Rig) -> None:
    """Someone deleted the secret in the portal: keyops neither recovers nor purges it."""
    target = rig.target(WEU)
    keys = rig.keys(target)
    client = rig.emu.secret_client()
    client.begin_delete_secret(target.secret_name).wait()
    client.close()
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert (record.action, record.reason_code) == (Action.REFUSED, "soft-deleted"), record.reason
    assert "recover it" in record.reason
    assert rig.keys(target) == keys
    assert "Accounts_RegenerateKey" not in [e["operation"] for e in rig.emu.log_since(seq)]
    assert rig.latest(target.secret_name) is None  # still deleted, not recovered or purged
