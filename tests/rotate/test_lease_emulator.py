"""Only one rotation per account at a time, across processes, through a lease in Key Vault."""

from __future__ import annotations

import threading
from datetime import timedelta

from keyops.rotate import Action, rotate_account
from keyops.rotate.lease import Lease, LeaseHeldError
from tests.rotate.conftest import Rig, options

WEU = "contoso-aiservices-weu"


def test_two_concurrent_runs_do_not_both_regenerate(rig: Rig) -> None:
    target = rig.target(WEU)
    seq = rig.emu.last_seq
    start = threading.Barrier(2)
    records = []

    def run(holder: str) -> None:
        start.wait()
        records.append(rotate_account(target, rig.services, options(holder=holder)))

    threads = [threading.Thread(target=run, args=(f"runner-{i}",)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    regenerations = rig.calls(seq, "Accounts_RegenerateKey")
    assert len(regenerations) <= 1
    # One rotates and the other is refused; or, when both claims fall in the same second and
    # each sees the other, both withdraw — never both regenerate.
    actions = sorted(r.action.value for r in records)
    assert actions in (["refused", "rotated"], ["refused", "refused"]), [r.reason for r in records]
    assert all(
        r.reason_code in ("lease-held", "grace") for r in records if r.action is Action.REFUSED
    )
    keys = rig.keys(target)
    latest = rig.latest(target.secret_name)
    assert latest.value == (keys.key2 if "rotated" in actions else keys.key1)


def test_a_live_lease_from_another_machine_refuses_clearly(rig: Rig) -> None:
    target = rig.target(WEU)
    vault = rig.services.vault(rig.vault_url)
    other = Lease(vault, target.resource_id, target.account.name, "ci@runner-7 pid 42")
    other.acquire()
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert (record.action, record.reason_code) == (Action.REFUSED, "lease-held")
    assert "ci@runner-7 pid 42" in record.reason and "another rotation" in record.reason
    assert rig.calls(seq, "Accounts_RegenerateKey") == []
    other.release()
    assert rotate_account(target, rig.services, options()).action is Action.ROTATED


def test_a_crashed_runs_lease_expires_by_its_ttl(rig: Rig) -> None:
    target = rig.target(WEU)
    vault = rig.services.vault(rig.vault_url)
    crashed = Lease(vault, target.resource_id, target.account.name, "crashed", timedelta(minutes=5))
    crashed.acquire()  # never released
    # Key Vault's clock (the emulator's) moves on; nobody sleeps.
    rig.emu.admin("POST", "clock", {"advance": 301})
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.ROTATED, record.reason


def test_the_earliest_live_claim_wins(rig: Rig) -> None:
    target = rig.target(WEU)
    vault = rig.services.vault(rig.vault_url)
    first = Lease(vault, target.resource_id, target.account.name, "first")
    first.acquire()
    second = Lease(vault, target.resource_id, target.account.name, "second")
    try:
        second.acquire()
        raise AssertionError("the second claim must lose")
    except LeaseHeldError as exc:
        assert "first" in str(exc)
    versions = {v.version: v.enabled for v in vault.list_versions(first.name)}
    assert first.version is not None and second.version is not None
    assert versions[first.version.version] is True
    assert versions[second.version.version] is False
    first.confirm()  # still the holder
