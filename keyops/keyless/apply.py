"""``keyops keyless apply``: set ``disableLocalAuth`` on one account, or roll it back.

A last check first: no key caller in the logs of the last ``quiet_for`` (a key caller is
someone the switch would break). Then a PATCH of only ``properties.disableLocalAuth`` with
``If-Match`` on the etag read, so a change someone made since (in the portal, say) is never
overwritten. Azure applies the switch within minutes; the watch is a later run on the already
keyless account, which counts 403 answers in Azure Monitor since the switch (ARM's
``lastModifiedAt``): any is a key caller the switch broke. ``--rollback`` turns keys back on,
and says that the keys of before are live again unless both are regenerated, which
``regenerate_keys`` does before the PATCH, while the account still refuses keys: a run stopped
half-way leaves it keyless, and its rerun starts the rollback over (never keys on with an old
one live).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from keyops.azure.arm import KEY_SLOTS, AccountChangedError
from keyops.durations import format_duration
from keyops.errors import RefusedError, ServiceError
from keyops.exitcodes import ExitStatus
from keyops.usedby import EvidenceReader, ago, coverage_gap, key_callers, who

if TYPE_CHECKING:
    from keyops.azure.arm import Account, AccountsClient
    from keyops.azure.metrics import MetricsClient
    from keyops.targets import Target


@dataclass(frozen=True)
class ApplyOptions:
    """What ``apply`` is asked to do; a dry run unless ``confirm``."""

    confirm: bool = False
    rollback: bool = False
    #: The last check: no key caller in the logs of this long before the switch (8 days, so
    #: that a weekly caller is seen).
    quiet_for: timedelta = timedelta(days=8)
    #: How long after the switch 403s are watched for.
    watch: timedelta = timedelta(minutes=30)
    #: ``--rollback``: regenerate both keys right after keys are turned back on.
    regenerate_keys: bool = False


@dataclass
class ApplyResult:
    """What happened to one account (``code`` is stable for machines)."""

    account: str
    code: str
    reason: str
    status: ExitStatus = ExitStatus.OK
    warnings: list[str] = field(default_factory=list)
    #: Requests answered 403 since the switch (the watch), when read.
    rejected: int | None = None


@dataclass(frozen=True)
class KeylessClients:
    """The clients ``apply`` works with."""

    arm: AccountsClient
    metrics: MetricsClient
    evidence: EvidenceReader


def apply(target: Target, clients: KeylessClients, options: ApplyOptions) -> ApplyResult:
    """Switch ``target``'s account to keyless (or back), or watch a switch already made.

    Times are ARM's (the ``Date`` of its answer), so the watch agrees with ``lastModifiedAt``
    whatever this machine's clock says.
    """
    account = clients.arm.get_account(target.account.id)
    now = clients.arm.clock.now() or datetime.now(timezone.utc)
    if options.rollback:
        return _rollback(account, clients.arm, options)
    if account.disable_local_auth:
        return _watch(account, clients.metrics, options, now)
    _last_check(target, clients.evidence, options, now)
    short = _short_check(account.name, options)
    if not options.confirm:
        return ApplyResult(
            account.name,
            "would-disable",
            "no key caller in the last "
            f"{format_duration(options.quiet_for)}: would set disableLocalAuth=true "
            f"(If-Match {account.etag}); add --confirm to do it",
            warnings=short,
        )
    _switch(clients.arm, account, True)
    return ApplyResult(
        account.name,
        "disabled",
        "disableLocalAuth set: Azure applies it within minutes. Rerun this command after "
        f"{format_duration(options.watch)} to watch for 403s from callers still using a key",
        warnings=short,
    )


#: The shortest last check that sees a caller that calls once a week.
WEEK = timedelta(days=7)


def _short_check(name: str, options: ApplyOptions) -> list[str]:
    """The warning for a last check too short to see a weekly key caller."""
    if options.quiet_for >= WEEK:
        return []
    return [
        f"account {name}: a last check of {format_duration(options.quiet_for)} cannot see a key "
        "caller that calls weekly (keyless plan looks back 7d or more): the watch is what "
        "would show it, after the switch broke it"
    ]


def _switch(arm: AccountsClient, account: Account, disabled: bool) -> None:
    """PATCH ``disableLocalAuth`` on the etag read. When the answer is lost (a dropped
    connection, or a retry that met the etag the write itself made: 412), the account is read
    again: already as asked means the write went through. Anything else is the error (a 412 on
    an account changed otherwise is someone else's write: refused, 6)."""
    assert account.etag is not None, "ARM answers every account with its etag"
    try:
        arm.set_disable_local_auth(account.id, disabled, if_match=account.etag)
    except (AccountChangedError, ServiceError):
        if arm.get_account(account.id).disable_local_auth is not disabled:
            raise


def _last_check(
    target: Target, reader: EvidenceReader, options: ApplyOptions, now: datetime
) -> None:
    """Refuse (6) when the logs show a key caller in ``quiet_for``, or cannot show there is
    none."""
    evidence = reader.evidence(target, options.quiet_for, now)
    callers = [c for c in key_callers(evidence) if c.last_seen >= now - options.quiet_for]
    name = target.account.name
    if callers:
        named = ", ".join(
            f"{who(c)} ({c.calls} calls, last {ago(c.last_seen, now)})" for c in callers
        )
        raise RefusedError(
            f"account {name}: still called with a key by {named}: disabling keys breaks them; "
            "move them to Entra ID first (keyops keyless plan); nothing changed"
        )
    gap = coverage_gap(evidence)
    if gap is not None:
        raise RefusedError(
            f"account {name}: cannot show that no one calls with a key: {gap}; nothing changed"
        )


def _watch(
    account: Account, metrics: MetricsClient, options: ApplyOptions, now: datetime
) -> ApplyResult:
    since = account.modified_at
    if since is None:
        return ApplyResult(account.name, "keyless", "key authentication is already disabled")
    counts = metrics.requests_by_status(account.id, account.name, since, now)
    rejected = counts.get("403", 0)
    when = f"{since:%Y-%m-%d %H:%M:%SZ}"
    if rejected:
        return ApplyResult(
            account.name,
            "broke-callers",
            f"{rejected} calls answered 403 since disableLocalAuth was set at {when}: a caller "
            "still uses a key (keyops consumers shows which); move it to Entra ID, or turn keys "
            "back on with --rollback --confirm",
            ExitStatus.FAILED,
            rejected=rejected,
        )
    if now < since + options.watch:
        left = format_duration(since + options.watch - now)
        return ApplyResult(
            account.name,
            "watching",
            f"no 403 since disableLocalAuth was set at {when}; still watching ({left} left): "
            "rerun later",
            rejected=0,
        )
    return ApplyResult(
        account.name,
        "keyless",
        f"keyless since {when}: no 403 in the {format_duration(options.watch)} watched",
        rejected=0,
    )


def _rollback(account: Account, arm: AccountsClient, options: ApplyOptions) -> ApplyResult:
    if not account.disable_local_auth:
        return ApplyResult(account.name, "keys-enabled", "key authentication is already enabled")
    live = (
        "both keys are regenerated first, while the account still refuses keys"
        if options.regenerate_keys
        else "Key1 and Key2 as they were before the switch work again for anyone who kept them "
        "(add --regenerate-keys to regenerate both first)"
    )
    if not options.confirm:
        return ApplyResult(
            account.name,
            "would-enable",
            f"would set disableLocalAuth=false: {live}; add --confirm to do it",
        )
    if options.regenerate_keys:
        for slot in KEY_SLOTS:
            arm.regenerate_key(account.id, slot)
        account = arm.get_account(account.id)  # the PATCH goes on the etag read after them
    _switch(arm, account, False)
    result = ApplyResult(account.name, "enabled", "disableLocalAuth set to false")
    if options.regenerate_keys:
        result.warnings.append(
            f"account {account.name}: both keys regenerated; the vault's secret holds a dead "
            "key: once Azure applies the change (minutes; until then both keys are refused), "
            "store a working one with keyops rotate --repair --confirm-repair"
        )
    else:
        result.warnings.append(f"account {account.name}: key authentication is on again: {live}")
    return result
