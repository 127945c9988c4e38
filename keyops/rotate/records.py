"""What a rotation did to one account: the record printed as a table row or a JSON object.

A record never holds a key: the new key appears as a short fingerprint at most.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from keyops.exitcodes import ExitStatus

SCHEMA = "keyops.rotation/v1"


class Action(str, enum.Enum):
    """The outcome of one account's rotation (the value is the JSON ``action``)."""

    ROTATED = "rotated"
    ADOPTED = "adopted"
    REVOKED = "revoked"
    #: A working key stored again after the latest version was found holding a dead one.
    REPAIRED = "repaired"
    SKIPPED = "skipped"
    REFUSED = "refused"
    FAILED = "failed"
    #: Dry run: what would happen (``planned`` says which action).
    PLANNED = "planned"


@dataclass
class RotationRecord:
    """One account's result. Mutable while the rotation runs, then only read."""

    target: str
    account: str
    account_id: str
    action: Action = Action.FAILED
    reason: str = ""
    #: A stable machine-readable reason (``due``, ``fresh``, ``grace``, ``no-secret``, ...).
    reason_code: str = ""
    #: The slot the latest secret version holds after the run (or would, in a dry run).
    slot: str | None = None
    #: The slot it held before the run.
    previous_slot: str | None = None
    #: Slots regenerated through ARM, in order.
    regenerated: list[str] = field(default_factory=list)
    #: In a dry run, the action that would be taken.
    planned: str | None = None
    vault_url: str | None = None
    secret_name: str | None = None
    #: The new secret version id (rotated/adopted), and the one it superseded.
    secret_version: str | None = None
    supersedes: str | None = None
    fingerprint: str | None = None
    deployment: str | None = None
    dry_run: bool = False
    #: Seconds per step (``read``, ``lease``, ``regenerate``, ``test``, ``store``, ...).
    timings: dict[str, float] = field(default_factory=dict)
    #: Warnings worth a line on stderr (e.g. revoking a key consumers may still hold).
    warnings: list[str] = field(default_factory=list)
    #: For a failure: the exit status its error maps to (auth 4, service 5, ...).
    error_status: int | None = None
    #: The slot someone outside this run regenerated while it worked (reported, status 1).
    outside_change: str | None = None

    @property
    def needs_attention(self) -> bool:
        """Done, but something an operator must look at happened (status 1): a key changed
        outside keyops, or a dead latest version was repaired without being asked for."""
        return self.outside_change is not None or self.reason_code == "repaired"

    @property
    def ok(self) -> bool:
        """Whether the account ended in a good state (done, skipped as fresh, or planned)."""
        return self.action not in (Action.REFUSED, Action.FAILED)

    def to_dict(self) -> dict[str, Any]:
        """The JSON record (``keyops.rotation/v1``)."""
        return {
            "schema": SCHEMA,
            "target": self.target,
            "account": self.account,
            "account_id": self.account_id,
            "action": self.action.value,
            "planned": self.planned,
            "reason": self.reason,
            "reason_code": self.reason_code,
            "slot": self.slot,
            "previous_slot": self.previous_slot,
            "regenerated": list(self.regenerated),
            "secret": {
                "vault_url": self.vault_url,
                "name": self.secret_name,
                "version": self.secret_version,
                "supersedes": self.supersedes,
                "fingerprint": self.fingerprint,
            },
            "deployment": self.deployment,
            "dry_run": self.dry_run,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "warnings": list(self.warnings),
            "outside_change": self.outside_change,
        }


#: What a shared failure status means, for the one line that summarises a run.
_CAUSES = {
    ExitStatus.AUTH: "access denied",
    ExitStatus.SERVICE: "Azure unreachable or failing",
    ExitStatus.CONFIG: "configuration error",
}


def _shared_failure(records: list[RotationRecord]) -> ExitStatus | None:
    """The status every account with something to do failed on, if they all failed alike.

    Skipped accounts (key authentication disabled, secret still fresh) had nothing to do, so
    they neither hide nor break a shared cause: a fleet where each account that needs a key
    was denied is a permissions problem, whatever the others were. A planned account (dry run)
    did all its reads, so it counts as a success.
    """
    actionable = [r for r in records if r.action is not Action.SKIPPED]
    failed = [r for r in actionable if r.action is Action.FAILED]
    if not failed or len(failed) != len(actionable):
        return None
    statuses = {r.error_status or int(ExitStatus.FAILED) for r in failed}
    return ExitStatus(statuses.pop()) if len(statuses) == 1 else None


def exit_status(records: Iterable[RotationRecord]) -> ExitStatus:
    """The run's exit status.

    0 when every account is done, skipped or planned; 6 when some were refused and none failed;
    1 when some failed, were fenced, or needed attention (a key regenerated outside keyops, a
    dead latest version repaired) — unless every account with something to do (skipped ones
    aside) failed for the same kind of reason, which then gives that reason's status (4
    authentication or authorization, 5 Azure unreachable or service error, 3 configuration), so
    a run reports exactly what went wrong.
    """
    records = list(records)
    shared = _shared_failure(records)
    if shared is not None:
        return shared
    if any(r.action is Action.FAILED or r.needs_attention for r in records):
        return ExitStatus.FAILED
    if any(r.action is Action.REFUSED for r in records):
        return ExitStatus.REFUSED
    return ExitStatus.OK


def failure_summary(records: Iterable[RotationRecord]) -> str | None:
    """One line for a run whose accounts (two or more) all failed for one cause, else None.

    A missing role or an unreachable vault fails every account alike; one line naming the
    cause, with the first account's reason as the example, says so better than one per account.
    """
    records = list(records)
    shared = _shared_failure(records)
    failed = [r for r in records if r.action is Action.FAILED]
    if shared is None or shared not in _CAUSES or len(failed) < 2:
        return None
    skipped = len(records) - len(failed)
    also = f", {skipped} skipped" if skipped else ""
    first = failed[0]
    return (
        f"every account to rotate failed: {_CAUSES[shared]} "
        f"({len(failed)} accounts{also}); e.g. {first.account}: {first.reason}"
    )
