"""``--repair`` figure by figure (keyops.rotate.repair) on the emulator: Key1 first when both
keys work, a secret with no version at all, the record's reason, and a store that fails."""

from __future__ import annotations

from keyops.rotate import Action, rotate_account
from keyops.rotate.tags import REVOKE_TAG
from tests.rotate.conftest import Rig, options

WEU = "contoso-aiservices-weu"
SECRET = f"{WEU}-api-key"
EUS = "contoso-openai-eus"  # no secret in the default world
STALE = "0123456789abcdef0123456789abcdef"


def test_with_both_keys_working_key1_is_stored_and_the_record_says_why(rig: Rig) -> None:
    client = rig.emu.secret_client()
    client.set_secret(SECRET, STALE)
    client.close()
    target = rig.target(WEU)
    record = rotate_account(target, rig.services, options(repair=True))
    assert (record.action, record.slot, record.reason_code) == (Action.REPAIRED, "Key1", "repair")
    assert record.reason == "repair requested; stored the working Key1"
    assert rig.latest(SECRET).value == rig.keys(target).key1


def test_a_secret_with_no_version_gets_a_working_key(rig: Rig) -> None:
    target = rig.target(EUS)
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options(repair=True))
    assert (record.action, record.slot) == (Action.REPAIRED, "Key1"), record.reason
    assert rig.latest(target.secret_name).value == rig.keys(target).key1
    assert rig.calls(seq, "Accounts_RegenerateKey") == []


def test_a_repair_whose_store_is_refused_says_so_and_stores_nothing(rig: Rig) -> None:
    client = rig.emu.secret_client()
    client.set_secret(SECRET, STALE)
    client.close()
    rig.emu.fault(
        {
            "operation": "SetSecret",
            "kind": "status",
            "status": 403,
            "code": "Forbidden",
            "message": "Access denied.",
            "match": SECRET,
        }
    )
    record = rotate_account(rig.target(WEU), rig.services, options(repair=True))
    rig.emu.admin("DELETE", "faults")
    assert record.action is Action.FAILED
    assert record.reason.startswith(f"account {WEU}: repair could not store Key1: "), record.reason
    assert rig.latest(SECRET).value.reveal() == STALE


def test_a_repair_in_a_revoke_run_marks_no_revoke(rig: Rig) -> None:
    """A repair stores a working key over a dead one; it supersedes no rotation, so even with
    --revoke-previous its version carries no pending revoke."""
    client = rig.emu.secret_client()
    client.set_secret(SECRET, STALE)
    client.close()
    target = rig.target(WEU)
    record = rotate_account(target, rig.services, options(repair=True, revoke_previous=True))
    assert record.action is Action.REPAIRED, record.reason
    assert REVOKE_TAG not in rig.latest(SECRET).tags
