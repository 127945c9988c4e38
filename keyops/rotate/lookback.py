"""What the evidence says about one account's rotation, read before the decision: whether the
consumers moved off the superseded version (``--revoke-previous when-moved``), who still read
the key a rotation would regenerate (the grace guard) and which key callers no secret version
accounts for (named in a warning: the logs never say which key they hold). Read-only; the
decision is :mod:`keyops.rotate.plan`'s, over :mod:`keyops.rotate.moved`'s verdicts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from keyops.azure.arm import other_slot
from keyops.errors import KeyopsError
from keyops.rotate import tags as T
from keyops.rotate.moved import Versions, holders_of, revoke_verdict
from keyops.usedby import EvidenceView, ago, key_callers, who

if TYPE_CHECKING:
    from keyops.rotate.plan import AccountState
    from keyops.rotate.steps import AccountRun


def _unread(evidence: EvidenceView, current: str, now: datetime) -> tuple[str, ...]:
    """Key callers at an IP where no reader reads ``current`` (nothing ties them to a version)."""
    ips = {r.ip for r in evidence.readers if r.version == current}
    return tuple(
        f"{who(c)} ({c.calls} key calls, last {ago(c.last_seen, now)})"
        for c in key_callers(evidence)
        if c.ip not in ips
    )


def with_evidence(run: AccountRun, state: AccountState) -> AccountState:
    """``state`` with the superseded value, the moved verdict, who holds the key the next
    rotation would regenerate and the key callers no version accounts for, from the run's
    evidence reader (``state`` as is without one)."""
    check, latest, keys = run.options.consumers, state.latest, state.keys
    if check is None or latest is None or keys is None:
        return state
    now = run.now()
    evidence = check.reader.evidence(run.target, check.lookback, now)
    state = replace(state, unread_key_callers=_unread(evidence, latest.version, now))
    previous = latest.tags.get(T.SUPERSEDES_TAG)
    if not previous:
        return state
    superseded = state.superseded_value
    if superseded is None:
        try:
            superseded = run.vault.get_version(run.target.secret_name, previous).value
        except KeyopsError:
            return state  # purged or unreadable: there is no previous version to reason about
    active = state.active_slot
    moved = None
    if latest.tags.get(T.REVOKE_TAG) == T.REVOKE_WHEN_MOVED and latest.created is not None:
        versions = Versions(previous, latest.version, latest.created)
        moved = revoke_verdict(evidence, versions, run.target.grace, now)
    held = (
        superseded is not None
        and active is not None
        and keys.slot_held_by(superseded) == other_slot(active)
    )
    return replace(
        state,
        superseded_value=superseded,
        moved=moved,
        in_use_by=tuple(holders_of(evidence, previous, now)) if held else (),
    )
