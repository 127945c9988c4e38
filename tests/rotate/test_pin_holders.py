"""Which other secrets hold the key about to be regenerated (keyops.rotate.holders), on the
emulator: the refusal's line, a value padded with a newline still held, lease secrets (by name
or content type), disabled secrets and one deleted mid-read are no holders, and a vault's index
is read by the waiting account and two helpers (three connections, whatever the vault's size)."""

from __future__ import annotations

import sys
import threading
import time
from datetime import timedelta

import pytest

from keyops.errors import KeyopsError
from keyops.rotate import Action, RotationRecord, RotationServices, rotate_account
from keyops.rotate.holders import HeldBy, VaultIndex
from keyops.rotate.lease import LEASE_CONTENT_TYPE
from keyops.secret import SecretValue
from tests.rotate.conftest import Rig, options

WEU = "contoso-aiservices-weu"  # its secret holds Key1: a rotation regenerates Key2
SECRET = f"{WEU}-api-key"


def _rotate(rig: Rig) -> RotationRecord:
    return rotate_account(
        rig.target(WEU, rotate_after=timedelta(days=7)),
        rig.services,
        options(force=True, confirm_breaking_consumers=True),
    )


def _key2(rig: Rig) -> SecretValue:
    return rig.keys(rig.target(WEU)).key2  # type: ignore[no-any-return]


def test_another_secret_holding_the_key_with_a_newline_is_named_and_refused(rig: Rig) -> None:
    key2 = _key2(rig)
    rig.services.vault(rig.vault_url).set_secret("billing-key", SecretValue(key2.reveal() + "\n"))
    seq = rig.emu.last_seq
    record = _rotate(rig)
    assert (record.action, record.reason_code) == (Action.REFUSED, "other-holder")
    assert record.reason == (
        f"account {WEU}: secret billing-key in vault {rig.services.vault(rig.vault_url).name} "
        "holds Key2 "
        f"({key2.fingerprint}), the key this rotation would regenerate; its consumers would "
        "break. Nothing changed: list it in the target's also_store, or make it a target's own "
        "secret"
    )
    assert rig.calls(seq, "Accounts_RegenerateKey") == []


def test_lease_secrets_by_name_or_by_content_type_are_no_holders(rig: Rig) -> None:
    vault = rig.services.vault(rig.vault_url)
    key2 = _key2(rig)
    vault.set_secret("Keyops-Lease-by-hand", key2)
    vault.set_secret("claims", key2, content_type=LEASE_CONTENT_TYPE)
    record = _rotate(rig)
    assert (record.action, record.slot) == (Action.ROTATED, "Key2"), record.reason


def test_a_disabled_secret_is_not_read_and_holds_nothing(rig: Rig) -> None:
    vault = rig.services.vault(rig.vault_url)
    version = vault.set_secret("retired-key", _key2(rig))
    vault.set_enabled("retired-key", version.version, False)
    seq = rig.emu.last_seq
    record = _rotate(rig)
    assert (record.action, record.slot) == (Action.ROTATED, "Key2"), record.reason
    assert not [e for e in rig.calls(seq, "GetSecret") if "retired-key" in e["path"]]


def test_a_secret_deleted_between_the_listing_and_its_read_holds_nothing(rig: Rig) -> None:
    rig.services.vault(rig.vault_url).set_secret("going-key", _key2(rig))
    rig.emu.secret_gone("going-key", times=1)
    record = _rotate(rig)
    assert (record.action, record.slot) == (Action.ROTATED, "Key2"), record.reason


def test_an_index_is_read_by_the_waiting_account_and_two_helpers(rig: Rig) -> None:
    vault = rig.services.vault(rig.vault_url)
    for i in range(60):
        vault.set_secret(f"app-{i}", SecretValue(f"value-{i}"))
    services = RotationServices(rig.env, rig.services.credential)
    try:
        fresh = services.vault(rig.vault_url)
        fresh.get_latest("app-0")  # token and challenge first
        rig.emu.admin("DELETE", "connections")
        held = VaultIndex().held_in(fresh)
        counts = rig.emu.admin("GET", "connections")["connections"]
    finally:
        services.close()
    assert len(held) == 62  # the 60, the account's own secret and the other account's
    assert [n for k, n in counts.items() if k.startswith("keyvault@")] == [3]


def test_a_reading_that_failed_is_read_afresh_by_the_next_account(rig: Rig) -> None:
    """A vault's index whose reading failed (a secret refused once) is not kept: the next
    account to need it reads it again, and finds the secret."""
    vault = rig.services.vault(rig.vault_url)
    vault.set_secret("refused-once", SecretValue("value-1"))
    rig.emu.fault(
        {"operation": "GetSecret", "match": "/secrets/refused-once", "status": 403, "times": 1}
    )
    index = VaultIndex()
    with pytest.raises(KeyopsError, match="refused-once"):
        index.held_in(vault)
    assert "refused-once" in {held.secret_name for held in index.held_in(vault)}


def test_a_vault_of_three_secrets_is_read_three_at_a_time(rig: Rig) -> None:
    """The waiting account and two helpers each take one secret: with every read held by the
    emulator, three are on their way at once (two helpers at most, one fewer than names)."""
    vault = rig.services.vault(rig.vault_url)
    vault.set_secret("app-0", SecretValue("value-0"))  # with the two seeded: three to read
    services = RotationServices(rig.env, rig.services.credential)
    fresh = services.vault(rig.vault_url)
    fresh.get_latest("app-0")  # token and challenge first
    rule = rig.emu.fault(
        {"operation": "GetSecret", "kind": "hold", "latency_ms": 20_000, "times": 3}
    )
    read: list[list[HeldBy]] = []
    thread = threading.Thread(target=lambda: read.append(VaultIndex().held_in(fresh)))
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while rig.emu.fired(rule) < 3 and thread.is_alive() and time.monotonic() < deadline:
            pass
        at_once = rig.emu.fired(rule)
    finally:
        rig.emu.release(rule)
        thread.join()
        services.close()
    assert at_once == 3 and len(read[0]) == 3


def test_accounts_waiting_for_a_listing_that_fails_all_fail_with_its_error(rig: Rig) -> None:
    """The first account lists the vault (the listing held by the emulator, then refused); a
    second account waits for that listing: both fail with Key Vault's answer, none waits on."""
    vault = rig.services.vault(rig.vault_url)
    vault.get_latest(SECRET)  # token and challenge first
    hold = rig.emu.fault({"operation": "GetSecrets", "kind": "hold", "latency_ms": 20_000})
    rig.emu.fault({"operation": "GetSecrets", "status": 403, "code": "Forbidden"})
    index = VaultIndex()
    errors: dict[str, BaseException] = {}

    def account(name: str) -> None:
        try:
            index.held_in(vault)
        except KeyopsError as err:
            errors[name] = err

    first = threading.Thread(target=account, args=("first",), daemon=True)
    first.start()
    second = threading.Thread(target=account, args=("second",), daemon=True)
    try:
        while not rig.emu.held(hold) and first.is_alive():
            pass
        second.start()
        while second.is_alive() and not _waits_in_the_reading(second):
            pass
    finally:
        rig.emu.release(hold)
    first.join(timeout=20)
    second.join(timeout=20)
    assert not second.is_alive(), "the waiting account never ended"
    assert set(errors) == {"first", "second"} and errors["first"] is errors["second"]


def _waits_in_the_reading(thread: threading.Thread) -> bool:
    """Whether ``thread`` is inside a vault reading's ``join`` (waiting for the listing)."""
    frame = sys._current_frames().get(thread.ident or 0)
    while frame is not None:
        if frame.f_code.co_name == "join" and frame.f_code.co_filename.endswith("holders.py"):
            return True
        frame = frame.f_back
    return False
