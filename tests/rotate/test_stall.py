"""A stall between a fence and its write: the write is not sent on the stale proof.

Each case is one of the failing chaos seeds of issue 9 (2000, 2058, 2091, 2113, 2124, 2195, 2216,
2218, 2230, 2311): runner A stopped after its last fence and before its write, at
``before-regenerate`` or ``before-store``, while the lease passed and a rival (plain or
``--break-lease``) rotated, or an operator regenerated a key. A stall passes on A's own clocks
too (libfaketime moves them from outside; no hook in keyops), so A's write finds its fence stale,
fences again and stops ``fenced``: it sends no write at all. The guard itself is tested below
on the real SDK pipeline, with azure-core's own retries.
"""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from keyops.azure.writeguard import guarded
from keyops.errors import KeyopsError
from keyops.rotate import Action, RotationServices, rotate_account
from keyops.rotate.freshness import (
    FRESH_FOR,
    REFENCES,
    StaleFenceError,
    fenced_write,
    mark,
    tick,
)
from keyops.rotate.smoke import KeyTestResult, ProbeKeyTester
from keyops.secret import SecretValue
from tests.rotate.conftest import TEST_RETRY, Rig, needs_faketime, options
from tests.rotate.runner import WEU, PausedRun, rotate_args
from tests.rotate.test_fencing import latest_works, live_claims, operator_regenerates
from tests.support.faketime import RunnerClock

SECRET = f"{WEU}-api-key"
DUE = ("--if-older-than", "30d")


@pytest.fixture
def rig(ops_rig: Rig) -> Rig:
    return ops_rig


def stall(rig: Rig, clock: RunnerClock, seconds: int) -> None:
    """Time passes while A is stopped: on Key Vault's clock and on A's own."""
    rig.emu.admin("POST", "clock", {"advance": seconds})
    clock.advance(seconds)


def rival(rig: Rig, *, break_lease: bool = False) -> str:
    """Runner B rotates the account; returns the version it stored."""
    b = rotate_account(
        rig.target(WEU),
        rig.services,
        options(holder="runner-b", lease_ttl=timedelta(seconds=60), break_lease=break_lease),
    )
    assert b.action is Action.ROTATED, b.reason
    return str(rig.latest(SECRET).version)


def a_wrote(rig: Rig, seq: int) -> list[dict[str, Any]]:
    """Writes to the account's keys or its secret after ``seq`` (the lease's own excluded)."""
    regenerates = rig.calls(seq, "Accounts_RegenerateKey")
    stores = [e for e in rig.calls(seq, "SetSecret") if f"/secrets/{SECRET}" in e["path"]]
    return regenerates + stores


@needs_faketime
@pytest.mark.parametrize("boundary", ["before-regenerate", "before-store"])
@pytest.mark.parametrize("break_lease", [False, True], ids=["plain", "break-lease"])
def test_a_run_stalled_past_its_lease_sends_no_write_after_a_rival_rotated(
    rig: Rig, clock: RunnerClock, boundary: str, break_lease: bool
) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    a = PausedRun(rig.emu, boundary, rotate_args(rig.emu, *DUE), **clock.env())
    stall(rig, clock, 61)  # A's 60 s lease passes
    stored_by_b = rival(rig, break_lease=break_lease)
    seq = rig.emu.last_seq
    done = a.resume()
    assert (done.code, done.record["reason_code"]) == (1, "fenced"), done.stderr
    assert a_wrote(rig, seq) == []  # not a dead key stored, not B's key killed
    assert rig.latest(SECRET).version == stored_by_b and latest_works(rig, target)
    assert live_claims(rig, target) == []


@needs_faketime
@pytest.mark.parametrize("boundary", ["before-regenerate", "before-store"])
def test_break_lease_stops_a_live_holder_stalled_after_its_fence(
    rig: Rig, clock: RunnerClock, boundary: str
) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    a = PausedRun(rig.emu, boundary, rotate_args(rig.emu, *DUE), **clock.env())
    stall(rig, clock, 5)  # a short stall: A's lease is still live when B breaks it
    stored_by_b = rival(rig, break_lease=True)
    seq = rig.emu.last_seq
    done = a.resume()
    assert (done.code, done.record["reason_code"]) == (1, "fenced"), done.stderr
    assert "broken" in done.record["reason"]
    assert a_wrote(rig, seq) == []
    assert rig.latest(SECRET).version == stored_by_b and latest_works(rig, target)


@needs_faketime
def test_an_operator_regenerating_the_tested_key_during_a_stall_before_the_store(
    rig: Rig, clock: RunnerClock
) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    before = rig.latest(SECRET).version
    a = PausedRun(rig.emu, "before-store", rotate_args(rig.emu, *DUE), **clock.env())
    stall(rig, clock, 5)
    operator_regenerates(rig, target, "Key2")  # the key A tested dies
    seq = rig.emu.last_seq
    done = a.resume()
    assert (done.code, done.record["reason_code"]) == (1, "fenced"), done.stderr
    assert a_wrote(rig, seq) == []
    assert rig.latest(SECRET).version == before and latest_works(rig, target)


@needs_faketime
def test_an_operator_regenerating_the_vaults_key_during_a_stall_before_the_store(
    rig: Rig, clock: RunnerClock
) -> None:
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    a = PausedRun(rig.emu, "before-store", rotate_args(rig.emu, *DUE), **clock.env())
    stall(rig, clock, 5)
    operator_regenerates(rig, target, "Key1")  # the vault's key dies; A's tested Key2 lives
    done = a.resume()
    # The fence, run again, sees the outside change: the tested key is stored and reported.
    assert (done.code, done.record["action"]) == (1, "rotated"), done.stderr
    assert done.record["outside_change"] == "Key1"
    assert latest_works(rig, target)


class Refused(KeyopsError):
    """The check's refusal in these tests."""


def sent(rig: Rig, seq: int) -> list[int]:
    """The statuses of SetSecret requests after ``seq`` (Key Vault's 401 challenge left out)."""
    return [e["status"] for e in rig.calls(seq, "SetSecret") if e["status"] != 401]


def test_a_refusing_check_stops_the_write_unsent(rig: Rig) -> None:
    vault = rig.services.vault(rig.vault_url)
    seq = rig.emu.last_seq

    def refuse() -> None:
        raise Refused("stale")

    with guarded(refuse), pytest.raises(Refused):
        vault.set_secret("guarded", SecretValue("value-1"))
    assert sent(rig, seq) == []
    vault.set_secret("guarded", SecretValue("value-2"))  # outside the block: no check
    assert sent(rig, seq) == [200]


def test_the_check_runs_again_before_azure_cores_retry(rig: Rig) -> None:
    vault = rig.services.vault(rig.vault_url)
    vault.get_latest(SECRET)  # the client has its token: the next request is the write itself
    rig.emu.fault({"operation": "SetSecret", "kind": "status", "status": 503, "times": 1})
    seq = rig.emu.last_seq
    checks: list[float] = []

    def second_refuses() -> None:
        checks.append(time.monotonic())
        if len(checks) == 2:
            raise Refused("stale by the retry")

    with guarded(second_refuses), pytest.raises(Refused):
        vault.set_secret("guarded", SecretValue("value-1"))
    # The first attempt was sent (and answered 503); the retry was checked and never sent.
    assert sent(rig, seq) == [503]
    assert len(checks) == 2


def _bare_run() -> Any:
    """What :func:`fenced_write` reads of a run: its latest fence and the account's name."""
    return SimpleNamespace(fence=None, target=SimpleNamespace(account=SimpleNamespace(name=WEU)))


def test_a_fresh_fence_costs_no_extra_request(rig: Rig) -> None:
    vault = rig.services.vault(rig.vault_url)
    vault.get_latest(SECRET)
    run = _bare_run()
    redone: list[int] = []

    def redo() -> None:
        redone.append(1)

    mark(run, redo, tick() + 60, None)  # fresh for longer than any scheduler delay
    seq = rig.emu.last_seq
    fenced_write(run, lambda: vault.set_secret("guarded", SecretValue("value-1")))
    assert redone == [] and sent(rig, seq) == [200]
    assert rig.emu.operations_since(seq) == ["SetSecret"]


def test_a_fence_is_never_fresh_past_the_lease_less_the_write_budget(rig: Rig) -> None:
    vault = rig.services.vault(rig.vault_url)
    vault.get_latest(SECRET)  # token and challenge first: the next request is the write
    run = _bare_run()
    redone: list[int] = []

    def redo() -> None:  # the fence again: this time with a whole lease left
        redone.append(1)
        mark(run, redo, tick(), timedelta(minutes=1))

    mark(run, redo, tick(), timedelta(0))  # just fenced, but no lease left beyond the budget
    seq = rig.emu.last_seq
    fenced_write(run, lambda: vault.set_secret("guarded", SecretValue("value-1")))
    assert redone == [1] and sent(rig, seq) == [200]  # fenced once more, then sent once


def test_a_write_held_up_after_every_fence_is_never_sent(rig: Rig) -> None:
    vault = rig.services.vault(rig.vault_url)
    vault.get_latest(SECRET)
    run = _bare_run()
    redone: list[int] = []

    def redo() -> None:  # every fence goes stale before its write leaves (a machine stalling)
        redone.append(1)
        mark(run, redo, tick() - 2 * FRESH_FOR, None)

    redo()
    seq = rig.emu.last_seq
    with pytest.raises(StaleFenceError, match="fenced"):
        fenced_write(run, lambda: vault.set_secret("guarded", SecretValue("value-1")))
    assert len(redone) == 1 + REFENCES and sent(rig, seq) == []


class _OperatorMidTest:
    """The real prober; while the new key is being tested, a portal operator regenerates Key1
    (the key the vault's latest version holds)."""

    def __init__(self, rig: Rig, inner: ProbeKeyTester) -> None:
        self.rig, self.inner, self.done = rig, inner, False

    def __call__(self, *args: Any, **kwargs: Any) -> KeyTestResult:
        if not self.done:
            self.done = True
            operator_regenerates(self.rig, self.rig.target(WEU), "Key1")
        return self.inner(*args, **kwargs)


def test_a_store_held_up_after_every_fence_repairs_a_vault_key_that_died_meanwhile(
    rig: Rig,
) -> None:
    """Each of the store's four attempts is throttled and waits out a 1 s Retry-After after its
    fence (longer than a fence is trusted), so the run stops ``fenced``; a portal operator had
    regenerated the vault's key meanwhile, so it stores a working key before stopping."""
    target = rig.target(WEU)
    rig.backdate(SECRET, "-40d")
    services = RotationServices(
        rig.env,
        rig.emu.credential("keyops-rotator"),
        tester=_OperatorMidTest(rig, ProbeKeyTester(rig.env)),
        retry=TEST_RETRY,
    )
    rig.emu.fault(
        {
            "operation": "SetSecret",
            "match": f"/secrets/{SECRET}",
            "kind": "status",
            "status": 429,  # Key Vault throttling the store: azure-core waits out 1 s each time
            "retry_after": 1,
            "times": 1 + REFENCES,
        }
    )
    seq = rig.emu.last_seq
    try:
        record = rotate_account(target, services, options())
    finally:
        services.close()
    assert (record.action, record.reason_code) == (Action.FAILED, "fenced"), record.reason
    assert "held up after each of 4 fences" in record.reason
    stores = [e["status"] for e in rig.calls(seq, "SetSecret") if f"/secrets/{SECRET}" in e["path"]]
    assert stores == [429] * (1 + REFENCES) + [200]  # the last one the repair's, unfenced
    assert latest_works(rig, target)
    assert any("stored the working" in w for w in record.warnings), record.warnings
