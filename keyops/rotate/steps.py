"""The steps of one account's rotation, each checking state before it acts.

:class:`AccountRun` is what a step works with (the target, the clients, the options and the
record being filled in); :mod:`keyops.rotate.protocol` runs the steps in order.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from keyops.azure.arm import KeySlot, other_slot
from keyops.durations import format_duration
from keyops.errors import AuthError, ConfigError, KeyopsError, RefusedError
from keyops.rotate import tags as T
from keyops.rotate.copies import before_regenerate, store_copies
from keyops.rotate.freshness import fenced_write
from keyops.rotate.holder import default_holder
from keyops.rotate.lease import DEFAULT_LEASE_TTL, Lease
from keyops.rotate.lookback import with_evidence
from keyops.rotate.moved import ConsumerCheck
from keyops.rotate.plan import AccountState, Policy, due_by_vault
from keyops.targets import pick_deployment

if TYPE_CHECKING:
    from keyops.azure.arm import AccountKeys, AccountsClient, Deployment
    from keyops.azure.vault import SecretVersion, VaultClient
    from keyops.rotate.freshness import FenceMark
    from keyops.rotate.records import RotationRecord
    from keyops.rotate.services import RotationServices
    from keyops.secret import SecretValue
    from keyops.targets import Target

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class RotationOptions:
    """How a run behaves (the CLI's flags); the same for every account of the run."""

    dry_run: bool = False
    #: Rotate even when the latest version is fresh or inside the grace period.
    force: bool = False
    #: Overrides each target's ``rotate_after``.
    if_older_than: timedelta | None = None
    #: ``--revoke-previous now``: after storing, also regenerate the previously active slot.
    revoke_previous: bool = False
    #: ``--revoke-previous when-moved``: revoke it once the evidence shows consumers moved.
    revoke_when_moved: bool = False
    #: Read the evidence of who uses the key (the grace guard; ``when-moved`` needs it).
    consumers: ConsumerCheck | None = None
    #: Overrides each target's ``propagation_timeout``.
    propagation_timeout: timedelta | None = None
    lease_ttl: timedelta = DEFAULT_LEASE_TTL
    #: Withdraw a live lease (a crashed run's) before taking this run's own.
    break_lease: bool = False
    #: The typed ``--confirm-breaking-consumers``: --force/--revoke-previous inside the grace.
    confirm_breaking_consumers: bool = False
    holder: str = field(default_factory=default_holder)
    clock: Callable[[], datetime] = utcnow
    #: Store a working key found in either slot; regenerate nothing (``--repair``).
    repair: bool = False


class ConflictError(KeyopsError):
    """State changed under the rotation in a way the protocol did not expect."""


class FencedError(KeyopsError):
    """The commit's preconditions no longer hold (lease or keys moved on); nothing was stored."""


class KeyTestFailedError(KeyopsError):
    """The new key did not work on the data plane; Key Vault was not touched."""


@dataclass
class AccountRun:
    """Everything one account's rotation works with."""

    target: Target
    services: RotationServices
    options: RotationOptions
    record: RotationRecord
    arm: AccountsClient
    vault: VaultClient
    lease: Lease | None = None
    #: The latest fence's proof and its freshness (see :mod:`keyops.rotate.freshness`).
    fence: FenceMark | None = None

    @property
    def policy(self) -> Policy:
        return Policy(
            rotate_after=self.options.if_older_than or self.target.rotate_after,
            grace=self.target.grace,
            force=self.options.force,
            revoke_previous=self.options.revoke_previous,
            when_moved=self.options.revoke_when_moved,
            confirm_breaking=self.options.confirm_breaking_consumers,
        )

    def now(self) -> datetime:
        """Key Vault's time (the ``Date`` of its latest answer), so that ages and expiries agree
        with the versions' ``created`` whatever this machine's clock says; this machine's clock
        before any answer, or the clock the options name."""
        if self.options.clock is utcnow:
            server = self.vault.clock.now()
            if server is not None:
                return server
        return self.options.clock()

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - started
            self.record.timings[name] = self.record.timings.get(name, 0.0) + spent


#: The longest validity keyops writes as a version's expiry (Key Vault takes any date; ten years
#: is far beyond any rotation policy, and a typo such as ``99999999d`` must fail before a write).
MAX_VALIDITY = timedelta(days=3650)


def check_validity(run: AccountRun) -> None:
    """Refuse a validity that is not positive or longer than ten years, before any write."""
    validity = run.target.validity
    if validity is not None and not timedelta(0) < validity <= MAX_VALIDITY:
        raise ConfigError(
            f"target {run.target.name}: validity {format_duration(validity)} is out of range "
            "(give 1s to 3650d in keyops.toml); nothing changed"
        )


def refuse_soft_deleted(run: AccountRun) -> None:
    """Refuse (6) when the secret's name is soft-deleted: Key Vault would answer 409 to a store.

    The dry run reads this too, so it says what the real run will do. Without the right to
    read deleted secrets the check is skipped, and the store's 409 says the same.
    """
    name = run.target.secret_name
    try:
        deleted = run.vault.get_deleted(name)
    except AuthError:
        return
    if deleted is not None:
        raise soft_deleted_error(run, deleted.purge_on)


def soft_deleted_error(run: AccountRun, purge_on: datetime | None) -> RefusedError:
    """The refusal for a soft-deleted secret, naming both ways out (reason ``soft-deleted``)."""
    from keyops.azure.vault import SecretDeletedError

    name = run.target.secret_name
    when = f" (purged automatically {purge_on:%Y-%m-%d})" if purge_on else ""
    return SecretDeletedError(
        f"secret {name} in vault {run.vault.name} is soft-deleted{when}: recover it (az keyvault "
        f"secret recover --vault-name {run.vault.name} --name {name}) or purge it, then rerun; "
        "nothing changed"
    )


def read_latest(run: AccountRun) -> SecretVersion | None:
    """The secret's latest version (a soft-deleted name is refused here, before any write)."""
    latest = run.vault.get_latest(run.target.secret_name)
    if latest is None:
        refuse_soft_deleted(run)
    return latest


def read_first(run: AccountRun) -> AccountState:
    """The read before the lease: the latest version, and the keys only when the vault alone
    does not say the account is due (:func:`~keyops.rotate.plan.due_by_vault`).

    A due account's keys are listed once, under the lease (:func:`read_state`), where the
    decision that leads to a write is made; listing them before it as well would only decide
    the same thing on an older answer. A dry run reads everything: its plan is the decision.
    """
    if run.target.account.disable_local_auth:
        return read_state(run)
    state = AccountState(run.target.account, read_latest(run), None)
    if run.options.dry_run or not due_by_vault(state, run.policy, run.now()):
        return read_state(run, state)
    return state


def read_state(run: AccountRun, known: AccountState | None = None) -> AccountState:
    """Read the latest secret version and both keys (Key Vault first: no write before this).

    ``known``: a state whose latest version was just read (before the lease, where no write
    follows this read): it is used instead of a second read.
    """
    account = run.target.account
    if account.disable_local_auth:
        return AccountState(account, None, None)
    latest = known.latest if known is not None else read_latest(run)
    keys = run.arm.list_keys(account.id)
    superseded = None
    if (
        run.options.revoke_previous
        and latest is not None
        and latest.tags.get(T.REVOKE_TAG) == T.REVOKE_PENDING
        and latest.tags.get(T.SUPERSEDES_TAG)
    ):
        try:
            superseded = run.vault.get_version(
                run.target.secret_name, latest.tags[T.SUPERSEDES_TAG]
            ).value
        except KeyopsError as exc:
            log.warning("%s: cannot read superseded version: %s", account.name, exc)
    state = AccountState(account, latest, keys, superseded)
    return with_evidence(run, state) if run.options.consumers else state


def resolve_deployment(run: AccountRun) -> Deployment:
    """The deployment the test step calls; checked before anything is regenerated."""
    wanted = run.target.deployment
    deployments = run.arm.list_deployments(run.target.resource_id)
    chosen = pick_deployment(deployments, wanted)
    if chosen is None:
        names = ", ".join(d.name for d in deployments) or "none"
        what = f"deployment {wanted!r}" if wanted else "chat deployment"
        raise ConfigError(
            f"account {run.target.account.name}: no {what} to test the new key "
            f"with (deployments: {names}); nothing changed"
        )
    run.record.deployment = chosen.name
    return chosen


def regenerate(
    run: AccountRun, keys: AccountKeys, slot: KeySlot, *, guards_passed: bool = False
) -> AccountKeys:
    """Regenerate ``slot``; note (never undo) a change of the other slot by someone else.

    The call is sent only on a fresh fence (:func:`~keyops.rotate.freshness.fenced_write`);
    ``guards_passed``: the caller ran :func:`before_regenerate` before its fence. When the answer
    is lost, the keys are listed again so that the record says whether the slot was regenerated.
    """
    keep = other_slot(slot)
    if not guards_passed:
        before_regenerate(run, keys, slot)
    try:
        after = fenced_write(run, lambda: run.arm.regenerate_key(run.target.resource_id, slot))
    except KeyopsError:
        now = run.arm.list_keys(run.target.resource_id)
        if now.slot(slot) != keys.slot(slot):
            run.record.regenerated.append(slot)
            run.record.warnings.append(
                f"account {run.target.account.name}: {slot} was regenerated but the answer was "
                "lost; its new key was never stored, so no consumer holds it"
            )
        raise
    run.record.regenerated.append(slot)
    if after.slot(slot) == keys.slot(slot):
        raise ConflictError(
            f"account {run.target.account.name}: regenerating {slot} returned the old key"
        )
    if after.slot(keep) != keys.slot(keep):
        note_outside_change(run, keep)
    return after


def note_outside_change(run: AccountRun, slot: KeySlot) -> None:
    """Record that ``slot`` — the one the vault holds — was regenerated outside this run."""
    run.record.outside_change = slot
    warning = (
        f"account {run.target.account.name}: {slot} was regenerated outside keyops during this "
        f"run (a leak response?): the vault's previous version held the dead {slot}; the tested "
        "new key is stored instead"
    )
    if warning not in run.record.warnings:
        run.record.warnings.append(warning)


def prove_key(
    run: AccountRun, deployment: Deployment, key: SecretValue, within: timedelta | None = None
) -> None:
    """Prove the new key on the data plane (retrying through the propagation delay).

    ``within`` caps the retries (the lease left for them): a test that would outlast the lease
    gives up instead, and Key Vault is left untouched.
    """
    timeout = run.options.propagation_timeout
    if timeout is None:  # 0 s given is 0 s (the 1 s floor below), not the default
        timeout = run.target.settings.propagation_timeout
    if within is not None:
        timeout = max(timedelta(seconds=1), min(timeout, within))
    result = run.services.tester(
        run.target.account, deployment, key, api_version=run.target.api_version, timeout=timeout
    )
    if not result.ok:
        raise KeyTestFailedError(
            f"account {run.target.account.name}: the new key failed its test on deployment "
            f"{deployment.name}: {result.detail}; Key Vault untouched"
        )


def store(
    run: AccountRun,
    key: SecretValue,
    slot: KeySlot,
    supersedes: SecretVersion | None,
    action: str,
    *,
    fenced: bool = True,
) -> SecretVersion:
    """Write the key as a new secret version with its tags and expiry.

    ``fenced``: sent only on a fresh fence (:func:`~keyops.rotate.freshness.fenced_write`);
    a repair storing a working key over a dead one needs none."""
    now = run.now()
    validity = run.target.validity
    tags = T.version_tags(
        slot=slot,
        account_id=run.target.resource_id,
        endpoint=run.target.account.endpoint,
        rotated_at=now,
        supersedes=supersedes.version if supersedes else None,
        validity=validity,
        action=action,
        revoke_pending=_revoke_mode(run)
        if supersedes is not None and action == "rotated"
        else None,
        revoke_deadline=now + run.options.consumers.max_wait if run.options.consumers else None,
    )

    def write() -> SecretVersion:
        return run.vault.set_secret(
            run.target.secret_name,
            key,
            content_type=T.CONTENT_TYPE,
            tags=tags,
            expires_on=now + validity if validity else None,
        )

    version = fenced_write(run, write) if fenced else write()
    run.record.secret_version = version.version
    run.record.supersedes = supersedes.version if supersedes else None
    run.record.fingerprint = key.fingerprint
    store_copies(run, key, tags, version.expires_on)
    return version


def _revoke_mode(run: AccountRun) -> str | None:
    """The ``RevokePrevious`` tag a rotation's new version carries, if any."""
    if run.options.revoke_previous:
        return T.REVOKE_PENDING
    return T.REVOKE_WHEN_MOVED if run.options.revoke_when_moved else None


def confirm(run: AccountRun, key: SecretValue, version: SecretVersion) -> None:
    """Read the latest version back and compare fingerprints."""
    latest = run.vault.get_latest(run.target.secret_name)
    if latest is None or latest.value is None or latest.value.digest != key.digest:
        found = latest.value.fingerprint if latest and latest.value else "nothing"
        raise ConflictError(
            f"secret {run.target.secret_name}: latest version holds {found}, not the version "
            f"{version.version} ({key.fingerprint}) just stored; another writer?"
        )


def revoke(run: AccountRun, state: AccountState, slot: KeySlot, latest: SecretVersion) -> None:
    """Regenerate the previously active slot and mark the revoke done on the latest version."""
    assert state.keys is not None
    now = run.now()
    regenerate(run, state.keys, slot)
    age = format_duration(now - latest.created) if latest.created else "an unknown time"
    who = (
        "the logs show every consumer moved; one that read it once at start-up"
        if run.record.reason_code == "revoke-moved"
        else "every consumer still holding it"
    )
    run.record.warnings.append(
        f"account {run.target.account.name}: revoked {slot}: {who} breaks now (it was "
        f"superseded {age} ago)"
    )
    tags = {**latest.tags, T.REVOKE_TAG: T.REVOKE_DONE}
    run.vault.update_tags(run.target.secret_name, latest.version, tags)
