"""The fences: checks right before each write, because Key Vault has no conditional write.

AWS Secrets Manager moves AWSCURRENT only if it still points at the version the rotation
started from; Key Vault stores whatever it is sent. So keyops fences itself: immediately before
regenerating, storing or revoking, the run confirms that the lease is still its own (with enough
of it left for the write) and lists the keys again; after storing, it lists them once more and
repairs a stored value that is in neither slot.

Each fence leaves a mark of its freshness on the run, and the write it guards is sent only while
that mark is fresh, else after the same fence again (:mod:`keyops.rotate.freshness`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from keyops.rotate.freshness import mark, tick
from keyops.rotate.steps import FencedError, note_outside_change

if TYPE_CHECKING:
    from collections.abc import Callable

    from keyops.azure.arm import AccountKeys, KeySlot
    from keyops.rotate.steps import AccountRun
    from keyops.secret import SecretValue

#: The least time a write is allowed: one Key Vault or ARM call with a retry or two.
MIN_WRITE_BUDGET = timedelta(seconds=15)


def write_budget(run: AccountRun) -> timedelta:
    """How much lease a write needs: twice the slowest step so far, at least 15 s, at most
    half the TTL (a renewed lease always has that much left)."""
    slowest = max((run.record.timings.get(n, 0.0) for n in ("read", "lease", "store")), default=0)
    budget = max(MIN_WRITE_BUDGET, timedelta(seconds=2 * slowest))
    return min(budget, run.options.lease_ttl / 2)


def _check_lease(run: AccountRun) -> None:
    """The lease is still this run's, with time for one write (LeaseLostError otherwise)."""
    if run.lease is not None:
        run.lease.fence(write_budget(run))


def _mark(run: AccountRun, redo: Callable[[], object]) -> None:
    """Mark the fence that just passed as fresh from now (its last answer), never past the
    lease's end less the write's budget (Key Vault's clock, as last seen)."""
    left = run.lease.remaining() - write_budget(run) if run.lease is not None else None
    mark(run, redo, tick(), left)


def fence_lease(run: AccountRun) -> None:
    """The lease is still this run's, with time for one write (LeaseLostError otherwise)."""
    _check_lease(run)
    _mark(run, lambda: fence_lease(run))


def fence_store(run: AccountRun, tested: AccountKeys, slot: KeySlot) -> None:
    """Before storing ``slot``'s tested key: the lease is ours and ``slot`` still holds it.

    If only the other slot changed (someone regenerated the key the vault holds), the store goes
    ahead — the tested key is the only working one — and the run reports the outside change.
    """
    _check_lease(run)
    now = run.arm.list_keys(run.target.resource_id)
    name = run.target.account.name
    if now.slot(slot) != tested.slot(slot):
        raise FencedError(
            f"account {name}: {slot} no longer holds the key this run tested (now "
            f"{now.slot(slot).fingerprint}: another actor regenerated it; fenced); Key Vault "
            "untouched"
        )
    keep: KeySlot = "Key1" if slot == "Key2" else "Key2"
    if now.slot(keep) != tested.slot(keep):
        note_outside_change(run, keep)
    _mark(run, lambda: fence_store(run, tested, slot))


def fence_revoke(run: AccountRun, stored: SecretValue, slot: KeySlot) -> AccountKeys:
    """Before regenerating ``slot`` (the previous key): the lease is ours, the vault's latest
    version still holds ``stored``, and ``stored`` is not in ``slot``; returns the keys."""
    _check_lease(run)
    name = run.target.account.name
    latest = run.vault.get_latest(run.target.secret_name)
    if latest is None or latest.value is None or latest.value != stored:
        raise FencedError(
            f"account {name}: the vault's latest version changed after this run stored its key "
            f"(fenced); {slot} was not revoked"
        )
    keys = run.arm.list_keys(run.target.resource_id)
    if keys.slot_held_by(stored) in (None, slot):
        raise FencedError(
            f"account {name}: the stored key is no longer the other slot's (fenced); {slot} was "
            "not revoked"
        )
    _mark(run, lambda: fence_revoke(run, stored, slot))
    return keys


def stored_is_live(run: AccountRun, stored: SecretValue) -> bool:
    """After the store: whether the stored key is still in one of the account's slots."""
    keys = run.arm.list_keys(run.target.resource_id)
    return keys.slot_of(stored) is not None
