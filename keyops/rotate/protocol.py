"""The rotation protocol for one account: read, guard, regenerate, test, store, confirm, revoke.

Each step checks state before acting and is safe to repeat. The invariant: Key Vault's latest
version always holds a key that works. Only the *inactive* slot is regenerated, and a new key is
stored only after the data plane accepted it, so a crash at any boundary leaves either the old
state (the rerun regenerates the inactive slot again) or the new one (the rerun sees a fresh
secret). A ``--revoke-previous`` that was interrupted is tagged ``RevokePrevious=pending`` on the
version stored, and a rerun with the same flag finishes it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from keyops.errors import ConfigError, KeyopsError, RefusedError, ServiceError
from keyops.exitcodes import ExitStatus
from keyops.rotate.hooks import boundary
from keyops.rotate.lease import Lease, LeaseHeldError
from keyops.rotate.plan import AccountState, Decision, Step, decide
from keyops.rotate.records import Action, RotationRecord
from keyops.rotate.steps import (
    AccountRun,
    ConflictError,
    KeyTestFailedError,
    RotationOptions,
    confirm,
    prove_key,
    read_state,
    regenerate,
    reread_state,
    resolve_deployment,
    revoke,
    store,
)

if TYPE_CHECKING:
    from keyops.rotate.services import RotationServices
    from keyops.targets import Target

__all__ = ["RotationOptions", "execute", "rotate_account"]

log = logging.getLogger(__name__)


def execute(run: AccountRun, state: AccountState, decision: Decision) -> None:
    """Carry out an ADOPT, ROTATE or REVOKE decision (the lease is held)."""
    record = run.record
    assert state.keys is not None and decision.slot is not None
    if decision.step is Step.REVOKE:
        assert state.latest is not None
        with run.step("revoke"):
            revoke(run, state, decision.slot, state.latest)
        boundary("after-revoke")
        record.action, record.slot = Action.REVOKED, decision.active
        return
    if decision.step is Step.ADOPT:
        key = state.keys.slot(decision.slot)
        with run.step("store"):
            version = store(run, key, decision.slot, None, "adopted")
        boundary("after-store")
        with run.step("confirm"):
            confirm(run, key, version)
        boundary("after-confirm")
        record.action, record.slot = Action.ADOPTED, decision.slot
        return
    _rotate(run, state, decision)


def _rotate(run: AccountRun, state: AccountState, decision: Decision) -> None:
    assert state.keys is not None and decision.slot is not None and decision.active is not None
    with run.step("deployment"):
        deployment = resolve_deployment(run)
    if run.lease is not None:
        with run.step("lease"):
            run.lease.confirm()  # a rival's claim still in flight at acquire time shows now
    with run.step("regenerate"):
        keys = regenerate(run, state.keys, decision.slot)
    boundary("after-regenerate")
    new_key = keys.slot(decision.slot)
    with run.step("test"):
        prove_key(run, deployment, new_key)
    boundary("after-test")
    with run.step("store"):
        version = store(run, new_key, decision.slot, state.latest, "rotated")
    boundary("after-store")
    with run.step("confirm"):
        confirm(run, new_key, version)
    boundary("after-confirm")
    run.record.action, run.record.slot = Action.ROTATED, decision.slot
    if run.options.revoke_previous:
        with run.step("revoke"):
            revoke(run, AccountState(state.account, version, keys), decision.active, version)
        boundary("after-revoke")


def _apply_held(record: RotationRecord, decision: Decision) -> None:
    record.action = Action.SKIPPED if decision.step is Step.SKIP else Action.REFUSED
    record.reason, record.reason_code = decision.reason, decision.code
    record.slot = decision.active


def _apply_plan(run: AccountRun, decision: Decision) -> None:
    record = run.record
    record.reason, record.reason_code = decision.reason, decision.code
    if decision.step in (Step.SKIP, Step.REFUSE):
        _apply_held(record, decision)
        return
    record.action = Action.PLANNED
    record.planned = f"{decision.step.value} {decision.slot}"
    record.slot = decision.active
    if decision.step is Step.ROTATE:
        with run.step("deployment"):
            resolve_deployment(run)


def _held_or_planned(run: AccountRun, decision: Decision) -> bool:
    """Record a skip/refusal (or the dry run's plan); True when there is nothing to execute."""
    if decision.warning and decision.warning not in run.record.warnings:
        run.record.warnings.append(decision.warning)  # decided twice, warned once
    if run.options.dry_run:
        _apply_plan(run, decision)
        return True
    if decision.step in (Step.SKIP, Step.REFUSE):
        _apply_held(run.record, decision)
        return True
    return False


def _run_account(run: AccountRun) -> None:
    with run.step("read"):
        state = read_state(run)
    boundary("after-read")
    decision = decide(state, run.policy, run.options.clock())
    if _held_or_planned(run, decision):
        return
    run.lease = Lease(
        run.vault,
        run.target.resource_id,
        run.target.account.name,
        run.options.holder,
        run.options.lease_ttl,
    )
    with run.step("lease"):
        if run.options.break_lease:
            run.lease.break_live()
        run.lease.acquire()
    boundary("after-lease")
    try:
        # Decide again on what is true now that no other run can act on this account.
        with run.step("read"):
            state = reread_state(run, state)
        decision = decide(state, run.policy, run.options.clock())
        if _held_or_planned(run, decision):
            return
        run.record.reason, run.record.reason_code = decision.reason, decision.code
        run.record.previous_slot = decision.active
        execute(run, state, decision)
    finally:
        run.lease.release()


def _new_record(target: Target, options: RotationOptions) -> RotationRecord:
    return RotationRecord(
        target=target.name,
        account=target.account.name,
        account_id=target.resource_id,
        vault_url=target.vault_url,
        secret_name=target.secret_name,
        dry_run=options.dry_run,
    )


def _fail(record: RotationRecord, exc: KeyopsError) -> None:
    record.action = Action.REFUSED if isinstance(exc, RefusedError) else Action.FAILED
    record.reason = exc.message
    record.reason_code = _code_of(exc)
    record.error_status = int(exc.exit_status)


def _code_of(exc: KeyopsError) -> str:
    code = getattr(exc, "reason_code", None)  # errors that name their own code
    if isinstance(code, str):
        return code
    if isinstance(exc, LeaseHeldError):
        return "lease-held"
    if isinstance(exc, KeyTestFailedError):
        return "test-failed"
    if isinstance(exc, ConflictError):
        return "conflict"
    return {
        ExitStatus.AUTH: "auth",
        ExitStatus.CONFIG: "config",
        ExitStatus.SERVICE: "service",
        ExitStatus.REFUSED: "refused",
    }.get(exc.exit_status, "error")


def rotate_account(
    target: Target, services: RotationServices, options: RotationOptions | None = None
) -> RotationRecord:
    """Rotate (adopt, skip, refuse, or plan in a dry run) one account; never raises.

    Every error ends in the record (``failed`` or ``refused``, with one line of reason), so a
    fleet run goes on with the other accounts.
    """
    options = options or RotationOptions()
    record = _new_record(target, options)
    try:
        if not target.vault_url:
            raise ConfigError(
                f"target {target.name}: no vault_url (set it in keyops.toml "
                "[defaults] or pass --vault-url)"
            )
        run = AccountRun(
            target,
            services,
            options,
            record,
            services.accounts(target.account.subscription_id),
            services.vault(target.vault_url),
        )
        _run_account(run)
    except KeyopsError as exc:
        _fail(record, exc)
    except Exception as exc:  # one account's unexpected error must not stop the fleet
        log.debug("rotation of %s failed", target.account.name, exc_info=True)
        # The type only: a library's message can quote what it was given (requests' does, for
        # a header value), and the record is printed and written as JSON.
        _fail(
            record,
            ServiceError(
                f"account {target.account.name}: internal error ({type(exc).__name__}); "
                "rerun with --debug for details"
            ),
        )
        record.error_status = int(ExitStatus.FAILED)
    return record
