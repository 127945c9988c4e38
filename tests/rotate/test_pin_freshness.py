"""A fence's answer is trusted for 1 s (README: "at most 1 s old on this machine's clock"), and a
write held up after each fence gives up after the fourth: figures of keyops.rotate.freshness,
with the write a real SDK call to the emulator (a stale fence leaves it unsent)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from keyops.rotate.freshness import StaleFenceError, fenced_write, mark, tick
from keyops.secret import SecretValue
from tests.rotate.conftest import Rig


def _run() -> Any:
    return SimpleNamespace(fence=None, target=SimpleNamespace(account=SimpleNamespace(name="acct")))


def _refences(rig: Rig, age: float, left: timedelta | None) -> int:
    """How many times a write re-fences when its fence answered ``age`` s ago with ``left`` of
    the lease beyond the write's budget (each re-fence is fresh, with a whole lease left); the
    write is sent in the end."""
    vault = rig.services.vault(rig.vault_url)
    vault.get_latest("warm-up")  # token and challenge first: the next request is the write
    run = _run()
    redone: list[int] = []

    def redo() -> None:
        redone.append(1)
        mark(run, redo, tick(), timedelta(minutes=1))

    mark(run, redo, tick() - age, left)
    seq = rig.emu.last_seq
    fenced_write(run, lambda: vault.set_secret("fresh", SecretValue("value-1")))
    assert rig.emu.operations_since(seq) == ["SetSecret"]
    return len(redone)


@pytest.mark.parametrize(("age", "refenced"), [(0.2, 0), (1.5, 1)])
def test_a_fence_answered_under_1_s_ago_is_fresh_and_over_it_is_fenced_again(
    rig: Rig, age: float, refenced: int
) -> None:
    assert _refences(rig, age, None) == refenced


def test_a_write_held_up_after_four_fences_gives_up_unsent(rig: Rig) -> None:
    vault = rig.services.vault(rig.vault_url)
    vault.get_latest("warm-up")
    run = _run()
    fences: list[int] = []

    def redo() -> None:  # each fence is already 5 s old when its write would leave
        fences.append(1)
        mark(run, redo, tick() - 5.0, None)

    redo()
    seq = rig.emu.last_seq
    with pytest.raises(StaleFenceError) as caught:
        fenced_write(run, lambda: vault.set_secret("fresh", SecretValue("value-1")))
    assert str(caught.value) == (
        "account acct: the write was held up after each of 4 fences (fenced); nothing sent"
    )
    assert len(fences) == 4 and rig.emu.operations_since(seq) == []


def test_without_a_fence_the_write_is_sent_as_is(rig: Rig) -> None:
    vault = rig.services.vault(rig.vault_url)
    seq = rig.emu.last_seq
    version = fenced_write(_run(), lambda: vault.set_secret("unfenced", SecretValue("value-1")))
    assert version.name == "unfenced" and "SetSecret" in rig.emu.operations_since(seq)


@pytest.mark.parametrize(("left", "refenced"), [(0.9, 0), (0.0, 1)])
def test_a_fence_is_fresh_until_the_lease_left_beyond_the_budget_runs_out(
    rig: Rig, left: float, refenced: int
) -> None:
    """The lease's end caps a fence from the moment it is marked: 0.9 s of lease left beyond the
    write's budget is enough for a write sent at once, none is not."""
    assert _refences(rig, 0.0, timedelta(seconds=left)) == refenced


def test_a_write_held_up_after_three_fences_goes_after_the_fourth(rig: Rig) -> None:
    """Three stale fences in a row, then a fresh one: the fourth fence's write is sent."""
    vault = rig.services.vault(rig.vault_url)
    vault.get_latest("warm-up")
    run = _run()
    fences: list[int] = []

    def redo() -> None:  # the first three fences are 5 s old when their write would leave
        fences.append(1)
        mark(run, redo, tick() - (5.0 if len(fences) < 4 else 0.0), None)

    redo()
    seq = rig.emu.last_seq
    fenced_write(run, lambda: vault.set_secret("fresh", SecretValue("value-1")))
    assert len(fences) == 4 and rig.emu.operations_since(seq) == ["SetSecret"]
