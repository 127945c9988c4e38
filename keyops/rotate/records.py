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
        }


def exit_status(records: Iterable[RotationRecord]) -> ExitStatus:
    """The run's exit status.

    0 when every account is done, skipped or planned; 6 when some were refused and none failed;
    1 when some failed — unless every account failed for the same kind of reason, which then
    gives that reason's status (4 authentication/authorization, 5 Azure unreachable or service
    error, 3 configuration), so a single-account run reports exactly what went wrong.
    """
    records = list(records)
    failed = [r for r in records if r.action is Action.FAILED]
    if failed:
        statuses = {r.error_status or int(ExitStatus.FAILED) for r in failed}
        if len(statuses) == 1 and len(failed) == len(records):
            return ExitStatus(statuses.pop())
        return ExitStatus.FAILED
    if any(r.action is Action.REFUSED for r in records):
        return ExitStatus.REFUSED
    return ExitStatus.OK
