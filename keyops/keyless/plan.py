"""``keyops keyless plan``: per account, whether it can leave keys behind, and what first.

Plain logic over the evidence (:mod:`keyops.usedby`) and the account's role assignments,
evaluated as ``audit`` does (:func:`keyops.audit.access.access_view`: actions and dataActions,
wildcards, custom roles alike). An account is ready when no one called it with a key in the
lookback, the logs cover that lookback, and every identity that reads its key from the vault
(the consumers that will call with a token instead) already holds a role with the inference
dataAction. A key caller seen only once a week, or only inside the ingestion delay, is a key
caller: it blocks "ready" like any other; so does a lookback too short to see a weekly one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from keyops.audit.model import AccessView
from keyops.usedby import EvidenceView, ago, coverage_gap, key_callers, who

#: The built-in role the plan proposes: OpenAI inference dataActions, no listKeys.
INFERENCE_ROLE = "Cognitive Services OpenAI User"
#: The shortest lookback that sees a weekly consumer.
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Consumer:
    """An identity that uses the account's key (it reads it from the vault), and whether it may
    already call inference with a token."""

    object_id: str
    seen_as: str
    has_inference: bool


@dataclass(frozen=True)
class AccountPlan:
    """The plan for one account (``verdict``: ``ready``, ``blocked`` or ``keyless``)."""

    account: str
    account_id: str
    verdict: str
    blocked_by: tuple[str, ...]
    key_callers: tuple[str, ...]
    consumers: tuple[Consumer, ...]
    #: ``az role assignment create`` lines, one per consumer without the dataAction.
    assignments_to_add: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record."""
        return {
            "account": self.account,
            "account_id": self.account_id,
            "verdict": self.verdict,
            "blocked_by": list(self.blocked_by),
            "key_callers": list(self.key_callers),
            "consumers": [
                {"object_id": c.object_id, "seen_as": c.seen_as, "has_inference": c.has_inference}
                for c in self.consumers
            ],
            "assignments_to_add": list(self.assignments_to_add),
        }


def _consumers(evidence: EvidenceView, access: AccessView) -> tuple[Consumer, ...]:
    seen: dict[str, str] = {}
    for reader in evidence.readers:
        if reader.object_id:
            seen.setdefault(reader.object_id.lower(), who(reader))
    return tuple(
        Consumer(oid, label, access.can(oid, access.inference)) for oid, label in seen.items()
    )


def _assignment(account_id: str, consumer: Consumer) -> str:
    return (
        f"az role assignment create --assignee-object-id {consumer.object_id} "
        f'--assignee-principal-type ServicePrincipal --role "{INFERENCE_ROLE}" '
        f"--scope {account_id}"
    )


def plan_account(
    name: str,
    account_id: str,
    evidence: EvidenceView,
    access: AccessView,
    lookback: timedelta,
    now: datetime,
) -> AccountPlan:
    """The plan for one account that still accepts keys."""
    callers = tuple(
        f"{who(c)}: {c.calls} key calls, last {ago(c.last_seen, now)}"
        + ("" if c.settled else " (inside the ingestion delay)")
        for c in key_callers(evidence)
    )
    consumers = _consumers(evidence, access)
    blocked = list(callers)
    blocked += [f"{c.seen_as} has no inference role" for c in consumers if not c.has_inference]
    gap = coverage_gap(evidence)
    if gap is not None:
        blocked.append(f"no complete evidence: {gap}")
    if lookback < WEEK:
        blocked.append(
            f"a lookback of {lookback.days}d cannot see a weekly key caller (use 7d or more)"
        )
    return AccountPlan(
        account=name,
        account_id=account_id,
        verdict="blocked" if blocked else "ready",
        blocked_by=tuple(blocked),
        key_callers=callers,
        consumers=consumers,
        assignments_to_add=tuple(
            _assignment(account_id, c) for c in consumers if not c.has_inference
        ),
    )


def keyless_already(name: str, account_id: str) -> AccountPlan:
    """The plan for an account whose keys are already off."""
    return AccountPlan(name, account_id, "keyless", (), (), (), ())
