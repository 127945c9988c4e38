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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from keyops.azure.errors import BadRequestError
from keyops.errors import ConfigError, KeyopsError, RefusedError, ServiceError
from keyops.exitcodes import ExitStatus
from keyops.rotate.copies import before_regenerate
from keyops.rotate.fence import (
    fence_lease,
    fence_revoke,
    fence_store,
    stored_is_live,
    write_budget,
)
from keyops.rotate.freshness import StaleFenceError
from keyops.rotate.hooks import boundary
from keyops.rotate.lease import Lease, LeaseHeldError, LeaseLostError
from keyops.rotate.listed import due_by_listing
from keyops.rotate.plan import AccountState, Decision, Step, decide
from keyops.rotate.records import Action, RotationRecord
from keyops.rotate.repair import repair, repair_if_dead
from keyops.rotate.steps import (
    AccountRun,
    ConflictError,
    FencedError,
    KeyTestFailedError,
    RotationOptions,
    check_validity,
    confirm,
    prove_key,
    read_first,
    read_state,
    regenerate,
    resolve_deployment,
    revoke,
    store,
)

if TYPE_CHECKING:
    from keyops.azure.arm import Deployment
    from keyops.rotate.services import RotationServices
    from keyops.targets import Target

__all__ = ["RotationOptions", "execute", "rotate_account"]

log = logging.getLogger(__name__)


def execute(
    run: AccountRun, state: AccountState, decision: Decision, deployment: Deployment | None
) -> None:
    """Carry out an ADOPT, ROTATE or REVOKE decision (the lease is held)."""
    record = run.record
    assert state.keys is not None and decision.slot is not None
    if decision.step is Step.REVOKE:
        assert state.latest is not None and state.latest.value is not None
        with run.step("fence"):
            keys = fence_revoke(run, state.latest.value, decision.slot)
        with run.step("revoke"):
            revoke(
                run, AccountState(state.account, state.latest, keys), decision.slot, state.latest
            )
        boundary("after-revoke")
        record.action, record.slot = Action.REVOKED, decision.active
        return
    if decision.step is Step.ADOPT:
        key = state.keys.slot(decision.slot)
        with run.step("fence"):
            fence_store(run, state.keys, decision.slot)
        with run.step("store"):
            version = store(run, key, decision.slot, None, "adopted")
        boundary("after-store")
        with run.step("confirm"):
            confirm(run, key, version)
        boundary("after-confirm")
        record.action, record.slot = Action.ADOPTED, decision.slot
        return
    assert deployment is not None
    _rotate(run, state, decision, deployment)


def _rotate(run: AccountRun, state: AccountState, decision: Decision, deploy: Deployment) -> None:
    assert state.keys is not None and decision.slot is not None and decision.active is not None
    with run.step("regenerate"):
        # Read-only guards first (they may read a whole vault), so that the fence is fresh.
        before_regenerate(run, state.keys, decision.slot)
    with run.step("fence"):
        fence_lease(run)  # a rival's claim still in flight at acquire time shows now
    boundary("before-regenerate")
    with run.step("regenerate"):
        keys = regenerate(run, state.keys, decision.slot, guards_passed=True)
    boundary("after-regenerate")
    new_key = keys.slot(decision.slot)
    with run.step("test"):
        # The store's fence must still find the lease: the test may use what is left of it.
        left = run.lease.remaining() - write_budget(run) if run.lease is not None else None
        prove_key(run, deploy, new_key, left)
    boundary("after-test")
    try:
        with run.step("fence"):
            fence_store(run, keys, decision.slot)
        boundary("before-store")
        with run.step("store"):
            # A stall since the fence makes the store fence again, which may fail the same way.
            version = store(run, new_key, decision.slot, state.latest, "rotated")
    except (LeaseLostError, FencedError, StaleFenceError):
        repair_if_dead(run, deploy)
        raise
    boundary("after-store")
    with run.step("confirm"):
        # The version is read back: a rival's store that was on its way when its lease ended
        # (a stall its clock did not see) can land on top of this one, with a key this run's
        # regenerate killed. Then a working key is stored again if the latest holds none, and
        # the run still fails (conflict): two writers met. The keys show the other way the
        # stored key dies, an outside regenerate between the fence and the store.
        try:
            confirm(run, new_key, version)
        except ConflictError:
            repair_if_dead(run, deploy, "another writer stored over this run's version")
            raise
        if not stored_is_live(run, new_key):
            repair(run, deploy, f"the key stored ({new_key.fingerprint}) was regenerated at once")
            run.record.reason_code = "repaired"
            run.record.warnings.append(
                f"account {run.target.account.name}: the key this run stored was regenerated "
                "by another actor right after the store; a working key was stored again"
            )
            return
    boundary("after-confirm")
    run.record.action, run.record.slot = Action.ROTATED, decision.slot
    if run.options.revoke_previous:
        with run.step("fence"):
            live = fence_revoke(run, new_key, decision.active)
        with run.step("revoke"):
            revoke(run, AccountState(state.account, version, live), decision.active, version)
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


@dataclass(frozen=True)
class _Go:
    """The run goes on to the lease; the deployment its key test uses, when already checked."""

    deployment: Deployment | None


def _take_lease(run: AccountRun) -> Lease:
    run.lease = Lease(
        run.vault,
        run.target.resource_id,
        run.target.account.name,
        run.options.holder,
        run.options.lease_ttl,
    )
    return run.lease


def _acquire(run: AccountRun, lease: Lease) -> None:
    with run.step("lease"):
        if run.options.break_lease:
            lease.break_live()
        lease.acquire()
    boundary("after-lease")


def _checked_target(run: AccountRun, state: AccountState | None) -> _Go | None:
    """A due account's deployment, checked before the lease so that a bad one writes nothing.

    When it is bad, a skip or refusal the keys call for stands before the error, as it always
    did: the keys (and, without ``state``, the latest version) are read to decide which.
    """
    try:
        with run.step("deployment"):
            return _Go(resolve_deployment(run))
    except ConfigError:
        with run.step("read"):
            state = read_state(run, state)
        if _held_or_planned(run, decide(state, run.policy, run.now())):
            return None
        raise


def _before_lease(run: AccountRun) -> _Go | None:
    """The reads and checks before the lease; None when there is nothing to execute.

    An account the run's vault listing shows as due is not read here at all (its latest
    version and keys are read under the lease, where they decide); any other is read first,
    its keys too unless the latest version alone says it is due.
    """
    with run.step("list"):  # the run's one listing per vault: its wait is not a read's time
        listed_due = due_by_listing(run)
    state = None
    if not listed_due:
        with run.step("read"):
            state = read_first(run)
    boundary("after-read")
    if state is None or (
        state.keys is None and state.latest is not None and not state.account.disable_local_auth
    ):
        return _checked_target(run, state)  # due: under the lease, ROTATE or a refusal
    if state.keys is None and not state.account.disable_local_auth:
        return _Go(None)  # no secret yet: ADOPT, decided under the lease
    decision = decide(state, run.policy, run.now())
    if _held_or_planned(run, decision):
        return None
    if decision.step is not Step.ROTATE:
        return _Go(None)
    with run.step("deployment"):  # checked before the lease: a bad target writes nothing
        return _Go(resolve_deployment(run))


def _run_account(run: AccountRun) -> None:
    check_validity(run)
    if run.options.repair:
        _run_repair(run)
        return
    go = _before_lease(run)
    if go is None:
        return
    deployment = go.deployment
    lease = _take_lease(run)
    try:
        _acquire(run, lease)
        # Decide again on what is true now that no other run can act on this account: the
        # latest version and the keys are read here, after the lease's first look, whatever
        # was read before it. Not only a run holding the lease writes the secret: an operator's
        # manual rotation (regenerate the unused key, store it as the new version) does too,
        # and deciding on an earlier read would regenerate the key the vault now serves.
        with run.step("read"):
            state = read_state(run)
        decision = decide(state, run.policy, run.now())
        if _held_or_planned(run, decision):
            return
        boundary("after-decide")
        if decision.step is Step.ROTATE and deployment is None:
            with run.step("deployment"):  # a secret appeared since the first read
                deployment = resolve_deployment(run)
        run.record.reason, run.record.reason_code = decision.reason, decision.code
        run.record.previous_slot = decision.active
        execute(run, state, decision, deployment)
        if run.record.outside_change and run.record.action is not Action.REPAIRED:
            run.record.reason_code = "outside-change"  # done, but reported (status 1)
    finally:
        lease.release()


def _run_repair(run: AccountRun) -> None:
    """``--repair``: store a working key if the latest version holds none; regenerate nothing."""
    if run.target.account.disable_local_auth:
        run.record.action, run.record.reason_code = Action.SKIPPED, "local-auth-disabled"
        run.record.reason = "key authentication is disabled on this account; nothing to repair"
        return
    with run.step("deployment"):
        deployment = resolve_deployment(run)
    if run.options.dry_run:
        run.record.action, run.record.planned = Action.PLANNED, "repair"
        run.record.reason = "would test both keys and store a working one if the latest is dead"
        return
    lease = _take_lease(run)
    try:
        _acquire(run, lease)
        with run.step("repair"):
            fence_lease(run)
            repair(run, deployment, "repair requested")
        boundary("after-store")
    finally:
        lease.release()


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
    # A 409 is a state conflict, not a broken service: status 1 (reason ``conflict``).
    status = ExitStatus.FAILED if _is_conflict(exc) else exc.exit_status
    record.error_status = int(status)


def _is_conflict(exc: KeyopsError) -> bool:
    return isinstance(exc, BadRequestError) and exc.status == 409


def _code_of(exc: KeyopsError) -> str:
    code = getattr(exc, "reason_code", None)  # errors that name their own code
    if isinstance(code, str):
        return code
    if isinstance(exc, LeaseHeldError):
        return "lease-held"
    if isinstance(exc, KeyTestFailedError):
        return "test-failed"
    if isinstance(exc, (LeaseLostError, FencedError, StaleFenceError)):
        return "fenced"
    if isinstance(exc, ConflictError) or _is_conflict(exc):
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
