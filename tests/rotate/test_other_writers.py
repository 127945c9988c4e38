"""Writers a rotation meets around its reads: the secret is decided and read back under the lease.

Key Vault has no conditional write, and the lease keeps out other keyops runs only. An operator's
documented manual rotation (regenerate the unused key, store it as the new version) may land
between the run's first look at the account and its lease; a rival whose stall its clock did not
see may store after its lease ended, on top of this run's version. Neither may end in a run
that exits 0 while the vault's latest version holds a dead key.
"""

from __future__ import annotations

import time

import pytest

from tests.rotate.conftest import Rig, needs_faketime
from tests.rotate.runner import WEU, PausedRun, rotate_args
from tests.rotate.test_fencing import latest_works, operator_regenerates, regenerations_by_keyops
from tests.support.faketime import RunnerClock

SECRET = f"{WEU}-api-key"


@pytest.fixture
def rig(ops_rig: Rig) -> Rig:
    return ops_rig


def test_a_manual_rotation_before_the_lease_is_decided_on_not_raced(rig: Rig) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    # A finds the account due (Key1 in the vault, 40 days old) and stalls before its lease.
    a = PausedRun(rig.emu, "after-read", rotate_args(rig.emu, "--if-older-than", "30d"))
    seq = rig.emu.last_seq
    # An operator rotates by hand: regenerates Key2 and stores it as the latest version.
    operator_regenerates(rig, target, "Key2")
    served = rig.keys(target).slot("Key2")
    rig.services.vault(rig.vault_url).set_secret(SECRET, served, tags={"CredentialId": "Key2"})
    done = a.resume()
    # Under its lease A reads the operator's version: Key2, just stored, within its grace.
    assert (done.code, done.record["action"], done.record["reason_code"]) == (
        0,
        "skipped",
        "within-grace",
    ), done.stderr
    assert regenerations_by_keyops(rig, seq) == []
    assert rig.keys(target).slot("Key2") == served
    assert rig.latest(SECRET).value == served


@needs_faketime
def test_a_rivals_late_store_on_top_of_ours_fails_and_leaves_a_working_key(
    rig: Rig, clock: RunnerClock
) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    # B fences its store, then stalls before sending it (a stall its clock never sees), and
    # dies right after the store lands (no check after it).
    b = PausedRun(rig.emu, "before-store", rotate_args(rig.emu, "--if-older-than", "30d"),
                  KEYOPS_TEST_CRASH_AT="after-store", **clock.env())  # fmt: skip
    stopped = time.monotonic()
    rig.emu.admin("POST", "clock", {"advance": 61})  # B's 60 s lease ends on Key Vault's clock
    # A takes the lease, regenerates Key2 (B's tested key dies), stores, and pauses after it.
    a = PausedRun(rig.emu, "after-store", rotate_args(rig.emu, "--if-older-than", "30d"))
    clock.hide_since(stopped)
    b.resume()  # B's store of its dead key lands on top of A's version
    done = a.resume()
    # A's read-back finds another writer's version: a working key is stored again, and the
    # run fails (1, conflict): two writers met.
    assert (done.code, done.record["reason_code"]) == (1, "conflict"), done.stderr
    assert "stored the working" in done.stderr + " ".join(done.record["warnings"])
    assert latest_works(rig, target)
