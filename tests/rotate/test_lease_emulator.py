"""Only one rotation per account at a time, across processes, through a lease in Key Vault."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from keyops.rotate import Action, RotationRecord, rotate_account
from keyops.rotate.lease import Lease, LeaseHeldError, LeaseLostError, lease_secret_name
from keyops.targets import Target
from tests.rotate.conftest import Rig, options

WEU = "contoso-aiservices-weu"


def test_two_concurrent_runs_regenerate_exactly_once(rig: Rig) -> None:
    target = rig.target(WEU)
    seq = rig.emu.last_seq
    start = threading.Barrier(2)
    records: list[RotationRecord] = []

    def run(holder: str) -> None:
        start.wait()
        records.append(rotate_account(target, rig.services, options(holder=holder)))

    threads = [threading.Thread(target=run, args=(f"runner-{i}",)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    actions = sorted(r.action.value for r in records)
    if actions == ["refused", "refused"]:
        both_withdrew_on_a_tie(rig, target, seq, records)
    else:
        assert actions in (["refused", "rotated"], ["rotated", "skipped"]), [
            r.reason for r in records
        ]
        (loser,) = (r for r in records if r.action is not Action.ROTATED)
        # Refused at the lease, or (arriving after the winner stored) skipped inside the grace.
        assert loser.reason_code in ("lease-held", "within-grace"), loser.reason
    (regenerated,) = rig.calls(seq, "Accounts_RegenerateKey")
    assert regenerated["status"] == 200
    keys = rig.keys(target)
    assert rig.latest(target.secret_name).value == keys.key2


def both_withdrew_on_a_tie(
    rig: Rig, target: Target, seq: int, records: list[RotationRecord]
) -> None:
    """Both refusing is allowed only by the documented tie rule; then a rerun rotates once."""
    assert all(r.reason_code == "lease-held" for r in records), [r.reason for r in records]
    assert rig.calls(seq, "Accounts_RegenerateKey") == []
    vault = rig.services.vault(rig.vault_url)
    claims = vault.list_versions(lease_secret_name(target.resource_id, target.account.name))
    # The tie: two claims stamped in the same second, each withdrawn on seeing the other.
    assert len(claims) == 2 and not any(c.enabled for c in claims)
    assert claims[0].created is not None and claims[0].created == claims[1].created
    rerun = rig.emu.last_seq
    assert rotate_account(target, rig.services, options()).action is Action.ROTATED
    assert len(rig.calls(rerun, "Accounts_RegenerateKey")) == 1


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
    first.fence(timedelta(0))  # still the holder


def test_break_lease_takes_over_a_crashed_runs_lease_and_a_live_holder_stops(rig: Rig) -> None:
    target = rig.target(WEU)
    rig.backdate(target.secret_name, "-40d")
    vault = rig.services.vault(rig.vault_url)
    # A run that took the lease and then died (or is still alive: it must notice).
    stale = Lease(
        vault, target.resource_id, target.account.name, "crashed-runner", timedelta(minutes=15)
    )
    stale.acquire()
    seq = rig.emu.last_seq
    refused = rotate_account(target, rig.services, options(holder="rerun"))
    assert refused.action is Action.REFUSED and refused.reason_code == "lease-held"
    assert "crashed-runner" in refused.reason
    assert rig.calls(seq, "Accounts_RegenerateKey") == []

    rotated = rotate_account(target, rig.services, options(holder="rerun", break_lease=True))
    assert rotated.action is Action.ROTATED, rotated.reason
    assert len(rig.calls(seq, "Accounts_RegenerateKey")) == 1
    # The broken holder, if it was still alive, stops at its next check.
    with pytest.raises(LeaseLostError, match="was broken by another run"):
        stale.fence(timedelta(0))


def test_breaking_a_live_claim_waits_out_the_holders_last_fenced_write(rig: Rig) -> None:
    from keyops.rotate.lease import BREAK_SETTLE

    target = rig.target(WEU)
    vault = rig.services.vault(rig.vault_url)
    holder = Lease(vault, target.resource_id, target.account.name, "live", timedelta(minutes=15))
    holder.acquire()
    rival = Lease(vault, target.resource_id, target.account.name, "rival", timedelta(minutes=15))
    seq = rig.emu.last_seq
    assert rival.break_live() == ["live"]
    rival.acquire()
    # The holder may have sent one write it fenced just before the break: the rival's next
    # request (its claim, and every read after it) comes only after that write has landed.
    log = [e for e in rig.emu.log_since(seq) if e["surface"] == "keyvault"]
    (broke,) = [e for e in log if e["operation"] == "UpdateSecret"]
    claim = next(e for e in log if e["operation"] == "SetSecret" and e["seq"] > broke["seq"])
    assert claim["time"] - broke["time"] >= BREAK_SETTLE - 0.05
