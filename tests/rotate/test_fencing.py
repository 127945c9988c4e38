"""Rotation never leaves a dead key: each scenario of issue 9, driven from outside.

A real ``keyops rotate`` child process is paused at a step boundary (SIGSTOP, from the test-only
hook) while the test moves Key Vault's clock past its lease, runs a rival, or regenerates a key as
an operator would; then it is resumed. The checks are on Azure's state (the emulator's), never on
what the run says about itself alone.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from keyops.azure.probe import NO_RETRY, KeyAuth, probe
from keyops.rotate import Action, rotate_account
from keyops.rotate.lease import CLAIM_TAG, UNTIL_TAG, lease_secret_name
from keyops.targets import Target
from tests.rotate.conftest import Rig, needs_faketime, options
from tests.rotate.runner import WEU, PausedRun, rotate_args, run_once
from tests.support.faketime import RunnerClock
from tests.support.worlds import OPERATOR

SECRET = f"{WEU}-api-key"


@pytest.fixture
def rig(ops_rig: Rig) -> Rig:
    """Every scenario here has a portal operator besides keyops."""
    return ops_rig


def operator_regenerates(rig: Rig, target: Target, slot: str) -> None:
    """A human regenerates ``slot`` in the portal (another principal than keyops')."""
    client = rig.emu.mgmt_client(OPERATOR)
    client.accounts.regenerate_key(target.account.resource_group, target.account.name, slot)
    client.close()


def latest_works(rig: Rig, target: Target) -> bool:
    """Whether the vault's latest version holds a key the data plane accepts."""
    latest = rig.latest(target.secret_name)
    result = probe(
        target.account.endpoint,
        "gpt-4o",
        KeyAuth(latest.value),
        retry=NO_RETRY,
        verify=rig.env.verify,
    )
    return result.ok


def live_claims(rig: Rig, target: Target) -> list[Any]:
    """Enabled lease versions of the account (a clean exit leaves none)."""
    vault = rig.services.vault(rig.vault_url)
    name = lease_secret_name(target.resource_id, target.account.name)
    return [v for v in vault.list_versions(name) if v.enabled]


def regenerations_by_keyops(rig: Rig, seq: int) -> list[dict[str, Any]]:
    return [
        e
        for e in rig.calls(seq, "Accounts_RegenerateKey")
        if e["principal"] != rig.emu.principal(OPERATOR)["object_id"] and e["status"] == 200
    ]


def test_a_run_that_outlives_its_lease_is_fenced_and_stores_nothing(rig: Rig) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    a = PausedRun(rig.emu, "after-test", rotate_args(rig.emu, "--if-older-than", "30d"))
    # A stalls past its 60 s lease (a paused VM, 429s); B takes the expired lease and rotates.
    rig.emu.admin("POST", "clock", {"advance": 61})
    b = rotate_account(target, rig.services, options(holder="runner-b", lease_ttl=_minute()))
    assert b.action is Action.ROTATED, b.reason
    stored_by_b = rig.latest(SECRET).version
    done = a.resume()
    assert done.code == 1, done.stderr
    assert (done.record["action"], done.record["reason_code"]) == ("failed", "fenced")
    assert "fenced" in done.stderr and done.stderr.count("\n") <= 2
    assert rig.latest(SECRET).version == stored_by_b  # A wrote nothing
    assert latest_works(rig, target)
    assert live_claims(rig, target) == []


def test_break_lease_stops_a_live_holder_before_its_store(rig: Rig) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    a = PausedRun(rig.emu, "after-test", rotate_args(rig.emu, "--if-older-than", "30d"))
    b = run_once(rig.emu, *rotate_args(rig.emu, "--if-older-than", "30d", "--break-lease"))
    assert b.code == 0 and b.record["action"] == "rotated", b.stderr
    stored_by_b = rig.latest(SECRET).version
    done = a.resume()
    assert (done.code, done.record["reason_code"]) == (1, "fenced"), done.stderr
    assert "broken" in done.record["reason"]
    assert rig.latest(SECRET).version == stored_by_b and latest_works(rig, target)


def test_a_renewed_lease_lets_a_slow_run_finish(rig: Rig) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    a = PausedRun(rig.emu, "after-test", rotate_args(rig.emu, "--if-older-than", "30d"))
    rig.emu.admin("POST", "clock", {"advance": 40})  # 20 s of the 60 s lease left: renewed
    done = a.resume()
    assert (done.code, done.record["action"]) == (0, "rotated"), done.stderr
    assert latest_works(rig, target) and live_claims(rig, target) == []
    vault = rig.services.vault(rig.vault_url)
    (claim,) = vault.list_versions(lease_secret_name(target.resource_id, target.account.name))
    assert claim.created is not None
    assert float(claim.tags[UNTIL_TAG]) >= claim.created.timestamp() + 95  # moved on by ~40 s


def test_an_earlier_claim_surfacing_stops_the_run_before_it_regenerates(rig: Rig) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    a = PausedRun(rig.emu, "after-lease", rotate_args(rig.emu, "--if-older-than", "30d"))
    seq = rig.emu.last_seq
    # A rival's claim whose write was in flight when A looked: Key Vault dated it earlier.
    vault = rig.services.vault(rig.vault_url)
    name = lease_secret_name(target.resource_id, target.account.name)
    from keyops.rotate.lease import Lease

    rival = Lease(vault, target.resource_id, target.account.name, "rival", _minute())
    tags = {CLAIM_TAG: rival.claim_id, "Holder": "rival", "LeaseSeconds": "60"}
    from keyops.secret import SecretValue

    version = vault.set_secret(name, SecretValue("rival-token"), tags=tags)
    rig.backdate(name, "-5s", version.version)
    done = a.resume()
    assert (done.code, done.record["reason_code"]) == (1, "fenced"), done.stderr
    assert regenerations_by_keyops(rig, seq) == []


def test_an_operator_regenerating_the_vaults_key_after_the_read_is_refused_not_raced(
    rig: Rig,
) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    a = PausedRun(rig.emu, "after-read", rotate_args(rig.emu, "--if-older-than", "30d"))
    seq = rig.emu.last_seq
    operator_regenerates(rig, target, "Key1")  # Microsoft's documented leak response
    done = a.resume()
    assert (done.code, done.record["reason_code"]) == (6, "mismatch"), done.stderr
    assert "keyops rotate --repair --confirm-repair" in done.stderr
    assert regenerations_by_keyops(rig, seq) == []
    # The named command repairs it: both keys tested, a working one stored, nothing regenerated.
    repaired = run_once(rig.emu, *rotate_args(rig.emu, "--repair", "--confirm-repair"))
    assert (repaired.code, repaired.record["action"]) == (0, "repaired"), repaired.stderr
    assert regenerations_by_keyops(rig, seq) == [] and latest_works(rig, target)


def test_an_operator_regenerating_the_vaults_key_before_keyops_regenerates(rig: Rig) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    a = PausedRun(rig.emu, "before-regenerate", rotate_args(rig.emu, "--if-older-than", "30d"))
    operator_regenerates(rig, target, "Key1")
    done = a.resume()
    # The tested Key2 is the only working key: stored, and the outside change reported (1).
    assert (done.code, done.record["action"]) == (1, "rotated"), done.stderr
    assert done.record["outside_change"] == "Key1" and "outside keyops" in done.stderr
    assert latest_works(rig, target)


def test_an_operator_regenerating_the_tested_key_before_the_store_fences(rig: Rig) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    before = rig.latest(SECRET).version
    a = PausedRun(rig.emu, "after-test", rotate_args(rig.emu, "--if-older-than", "30d"))
    operator_regenerates(rig, target, "Key2")
    done = a.resume()
    assert (done.code, done.record["reason_code"]) == (1, "fenced"), done.stderr
    assert rig.latest(SECRET).version == before and latest_works(rig, target)


def test_a_key_regenerated_right_after_the_store_is_repaired(rig: Rig) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    a = PausedRun(rig.emu, "after-store", rotate_args(rig.emu, "--if-older-than", "30d"))
    operator_regenerates(rig, target, "Key2")  # the key just stored dies
    done = a.resume()
    assert (done.code, done.record["action"]) == (1, "repaired"), done.stderr
    assert "regenerated by another actor" in done.stderr
    assert latest_works(rig, target) and live_claims(rig, target) == []


@needs_faketime
def test_a_stall_unseen_between_the_fence_and_the_store_is_repaired(
    rig: Rig, clock: RunnerClock
) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    a = PausedRun(rig.emu, "before-store", rotate_args(rig.emu, "--if-older-than", "30d"),
                  **clock.env())  # fmt: skip
    stopped = time.monotonic()
    rig.emu.admin("POST", "clock", {"advance": 61})
    b = rotate_account(target, rig.services, options(holder="runner-b", lease_ttl=_minute()))
    assert b.action is Action.ROTATED, b.reason
    # A stall A's clock never saw (a suspend CLOCK_MONOTONIC skips; the residual window between
    # the last check and the bytes leaving): the store goes out on its stale fence, and Key
    # Vault has no conditional write. A finds its stored key in neither slot at once and
    # stores a working one again.
    clock.hide_since(stopped)
    done = a.resume()
    assert (done.code, done.record["action"]) == (1, "repaired"), done.stderr
    assert latest_works(rig, target)


def _minute() -> Any:
    from datetime import timedelta

    return timedelta(seconds=60)


@needs_faketime
def test_a_stall_unseen_before_the_regenerate_repairs_the_key_it_killed(
    rig: Rig, clock: RunnerClock
) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    a = PausedRun(rig.emu, "before-regenerate", rotate_args(rig.emu, "--if-older-than", "30d"),
                  **clock.env())  # fmt: skip
    stopped = time.monotonic()
    rig.emu.admin("POST", "clock", {"advance": 61})
    b = rotate_account(target, rig.services, options(holder="runner-b", lease_ttl=_minute()))
    assert b.action is Action.ROTATED, b.reason
    # A stall A's clock never saw: its regenerate goes out and kills the key B stored. A is
    # fenced at its store and, finding the vault's latest dead, stores a working key.
    clock.hide_since(stopped)
    done = a.resume()
    assert (done.code, done.record["reason_code"]) == (1, "fenced"), done.stderr
    assert "held a dead key" in done.stderr
    assert latest_works(rig, target)
