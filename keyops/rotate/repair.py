"""Repair: make the vault's latest version hold a working key again, regenerating nothing.

Used by ``keyops rotate --repair --confirm-repair`` and, automatically, by a rotation that finds
after its store that the stored key is in neither slot (a rival or a human regenerated it in
between). Both current keys are tested on the data plane; a working one is stored.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from keyops.errors import KeyopsError
from keyops.rotate.records import Action
from keyops.rotate.steps import KeyTestFailedError, store

if TYPE_CHECKING:
    from keyops.azure.arm import AccountKeys, Deployment, KeySlot
    from keyops.rotate.steps import AccountRun
    from keyops.secret import SecretValue

#: Old keys need no propagation: a short test tells a working key from a dead one.
REPAIR_TEST_TIMEOUT = timedelta(seconds=10)


def _works(run: AccountRun, deployment: Deployment, key: SecretValue) -> bool:
    given = run.options.propagation_timeout
    result = run.services.tester(
        run.target.account,
        deployment,
        key,
        api_version=run.target.api_version,
        timeout=REPAIR_TEST_TIMEOUT if given is None else min(REPAIR_TEST_TIMEOUT, given),
    )
    return result.ok


def working_slot(run: AccountRun, deployment: Deployment, keys: AccountKeys) -> KeySlot | None:
    """The first slot whose key the data plane accepts (Key1, then Key2), or None."""
    for slot in ("Key1", "Key2"):
        if _works(run, deployment, keys.slot(slot)):
            return slot
    return None


def repair(run: AccountRun, deployment: Deployment, why: str) -> None:
    """Store a working key as the latest version (when the latest does not hold one).

    ``why`` is the reason recorded; the record's action becomes ``repaired`` (or ``skipped``
    when the latest version already holds a working key).
    """
    keys = run.arm.list_keys(run.target.resource_id)
    latest = run.vault.get_latest(run.target.secret_name)
    held = keys.slot_held_by(latest.value) if latest and latest.value else None
    name = run.target.account.name
    if held is not None and _works(run, deployment, keys.slot(held)):
        run.record.action, run.record.slot = Action.SKIPPED, held
        run.record.reason, run.record.reason_code = (
            f"latest version holds {held}, which works; nothing to repair",
            "healthy",
        )
        return
    slot = working_slot(run, deployment, keys)
    if slot is None:
        raise KeyTestFailedError(
            f"account {name}: neither key works on deployment {deployment.name}; nothing stored"
        )
    try:
        # Unfenced: any working key is better than the dead one the latest version holds.
        store(run, keys.slot(slot), slot, latest, "repaired", fenced=False)
    except KeyopsError as exc:
        raise KeyopsError(f"account {name}: repair could not store {slot}: {exc}") from exc
    run.record.action, run.record.slot = Action.REPAIRED, slot
    run.record.reason = f"{why}; stored the working {slot}"
    run.record.reason_code = "repair"  # asked for; a rotation's own repair says "repaired"


def repair_if_dead(run: AccountRun, deploy: Deployment, cause: str = "fenced") -> None:
    """A run that stops after its regenerate stores a working key first if the vault's latest
    version holds a dead one: fenced (paused past its lease between its fence and its
    regenerate, its regenerate killed the latest key), or another writer's store landed on top
    of this run's with a key that regenerate killed."""
    latest = run.vault.get_latest(run.target.secret_name)
    keys = run.arm.list_keys(run.target.resource_id)
    if latest is None or latest.value is None or keys.slot_held_by(latest.value) is not None:
        return
    repair(run, deploy, f"{cause}, and the vault's latest version held a dead key")
    run.record.warnings.append(
        f"account {run.target.account.name}: {cause}, and the vault's latest version held a "
        f"dead key: stored the working {run.record.slot} before stopping"
    )
