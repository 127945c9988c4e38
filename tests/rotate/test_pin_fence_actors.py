"""The fences before the store and the revoke, met in-process (keyops.rotate.fence): another
actor regenerates a key or stores a version at a step boundary (the hook a test installs), and
each fence answers with its own line, status and writes on the emulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from keyops.azure.arm import KeySlot
from keyops.exitcodes import ExitStatus
from keyops.rotate import Action, RotationRecord, exit_status, rotate_account
from keyops.secret import SecretValue
from tests.rotate.boundaries import at_boundary
from tests.rotate.conftest import Rig, options

WEU = "contoso-aiservices-weu"  # its secret holds Key1: a rotation regenerates Key2
SECRET = f"{WEU}-api-key"


def _regenerate(rig: Rig, slot: KeySlot) -> Callable[[], object]:
    target = rig.target(WEU)
    arm = rig.services.accounts(target.account.subscription_id)
    return lambda: arm.regenerate_key(target.resource_id, slot)


def _rotate(rig: Rig, at: str, act: Callable[[], object], **extra: object) -> RotationRecord:
    """A forced rotation of WEU, with ``act`` run once when it reaches boundary ``at``."""
    with at_boundary(at, act):
        return rotate_account(
            rig.target(WEU, rotate_after=timedelta(days=7)),
            rig.services,
            options(force=True, confirm_breaking_consumers=True, **extra),
        )


def test_the_tested_key_regenerated_before_the_store_fences_it(rig: Rig) -> None:
    before = rig.latest(SECRET).version
    record = _rotate(rig, "after-test", _regenerate(rig, "Key2"))
    assert (record.action, record.reason_code) == (Action.FAILED, "fenced"), record.reason
    assert record.reason.startswith(
        f"account {WEU}: Key2 no longer holds the key this run tested (now "
    )
    assert record.reason.endswith(": another actor regenerated it; fenced); Key Vault untouched")
    assert rig.latest(SECRET).version == before


def test_the_vaults_key_regenerated_before_the_store_is_stored_over_and_reported(rig: Rig) -> None:
    record = _rotate(rig, "after-test", _regenerate(rig, "Key1"))
    assert (record.action, record.slot) == (Action.ROTATED, "Key2"), record.reason
    assert (record.outside_change, record.reason_code) == ("Key1", "outside-change")
    assert record.warnings == [
        f"account {WEU}: Key1 was regenerated outside keyops during this run (a leak response?): "
        "the vault's previous version held the dead Key1; the tested new key is stored instead"
    ]
    assert exit_status([record]) is ExitStatus.FAILED
    assert rig.latest(SECRET).value == rig.keys(rig.target(WEU)).key2


def test_the_stored_key_regenerated_at_once_is_repaired(rig: Rig) -> None:
    record = _rotate(rig, "after-store", _regenerate(rig, "Key2"))
    assert (record.action, record.slot, record.reason_code) == (Action.REPAIRED, "Key1", "repaired")
    assert rig.latest(SECRET).value == rig.keys(rig.target(WEU)).key1


@pytest.mark.parametrize("change", ["another-version", "deleted"])
def test_the_secret_changed_before_the_revoke_fences_it(rig: Rig, change: str) -> None:
    """Between the confirm and the revoke, another writer stored a version, or someone deleted
    the secret (Key Vault answers 404): the stored key is not the vault's latest any more, so
    the previous key is not revoked."""
    vault = rig.services.vault(rig.vault_url)

    def act() -> None:
        if change == "deleted":
            rig.emu.secret_gone(SECRET, times=1)
        else:
            vault.set_secret(SECRET, SecretValue("someone-else"))

    seq = rig.emu.last_seq
    record = _rotate(rig, "after-confirm", act, revoke_previous=True)
    assert (record.action, record.reason_code) == (Action.FAILED, "fenced"), record.reason
    assert record.reason == (
        f"account {WEU}: the vault's latest version changed after this run stored its key "
        "(fenced); Key1 was not revoked"
    )
    assert record.regenerated == ["Key2"]  # the rotation's own regenerate only
    assert len(rig.calls(seq, "Accounts_RegenerateKey")) == 1


def test_the_stored_key_regenerated_before_the_revoke_fences_it(rig: Rig) -> None:
    seq = rig.emu.last_seq
    record = _rotate(rig, "after-confirm", _regenerate(rig, "Key2"), revoke_previous=True)
    assert (record.action, record.reason_code) == (Action.FAILED, "fenced"), record.reason
    assert record.reason == (
        f"account {WEU}: the stored key is no longer the other slot's (fenced); Key1 was not "
        "revoked"
    )
    assert len(rig.calls(seq, "Accounts_RegenerateKey")) == 2  # ours and the other actor's
