"""What the evidence says about one account's rotation, read before the decision: whether the
consumers moved off the superseded version (``--revoke-previous when-moved``) and who still read
the key a rotation would regenerate (the grace guard). Read-only; the decision is
:mod:`keyops.rotate.plan`'s, over :mod:`keyops.rotate.moved`'s verdicts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from keyops.azure.arm import other_slot
from keyops.errors import KeyopsError
from keyops.rotate import tags as T
from keyops.rotate.moved import Versions, holders_of, revoke_verdict

if TYPE_CHECKING:
    from keyops.rotate.plan import AccountState
    from keyops.rotate.steps import AccountRun


def with_evidence(run: AccountRun, state: AccountState) -> AccountState:
    """``state`` with the superseded value, the moved verdict and who holds the key the next
    rotation would regenerate, from the run's evidence reader (``state`` as is without one)."""
    check, latest, keys = run.options.consumers, state.latest, state.keys
    previous = latest.tags.get(T.SUPERSEDES_TAG) if latest is not None else None
    if check is None or latest is None or keys is None or not previous:
        return state
    superseded = state.superseded_value
    if superseded is None:
        try:
            superseded = run.vault.get_version(run.target.secret_name, previous).value
        except KeyopsError:
            return state  # purged or unreadable: there is no previous version to reason about
    now = run.now()
    evidence = check.reader.evidence(run.target, check.lookback, now)
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
