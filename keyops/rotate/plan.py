"""The rotation decision for one account: plain logic over what the read step saw.

:func:`decide` looks at the latest secret version, both account keys and the policy, and says
what to do and why. It is the same for a dry run and a real run (the real run decides again
once it holds the account's lease), and it never calls Azure.

A latest version holding a key with whitespace around it (a newline pasted with it) holds that
key: consumers that strip what they read use it, so its slot is the active one and is never
regenerated. The decision carries a warning (consumers that do not strip it are failing), and a
rotation stores the new key without the stray characters. A value with anything else wrong
matches neither key and is refused as before.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from keyops.azure.arm import KeySlot, other_slot
from keyops.durations import format_duration
from keyops.rotate.tags import (
    CREDENTIAL_TAG,
    REVOKE_DEADLINE_TAG,
    REVOKE_DONE,
    REVOKE_PENDING,
    REVOKE_TAG,
    REVOKE_WHEN_MOVED,
    rotated_at_of,
)

if TYPE_CHECKING:
    from keyops.azure.arm import Account, AccountKeys
    from keyops.azure.vault import SecretVersion
    from keyops.rotate.moved import MovedVerdict
    from keyops.secret import SecretValue


class Step(str, enum.Enum):
    """What the protocol will do for an account."""

    ADOPT = "adopt"
    ROTATE = "rotate"
    REVOKE = "revoke"
    SKIP = "skip"
    REFUSE = "refuse"


@dataclass(frozen=True)
class AccountState:
    """What the read step found (values held as SecretValue, never printed)."""

    account: Account
    latest: SecretVersion | None
    keys: AccountKeys | None
    #: For a latest version tagged with an unfinished revoke: the value it superseded.
    superseded_value: SecretValue | None = None
    #: ``when-moved``: whether the consumers moved off the superseded version (the evidence).
    moved: MovedVerdict | None = None
    #: Who read the key the rotation would regenerate within the lookback (the evidence).
    in_use_by: tuple[str, ...] = ()
    #: Key callers at an IP where no reader reads the current version (a key pasted by hand?):
    #: the logs never say which key they hold, so regenerating either may break them.
    unread_key_callers: tuple[str, ...] = ()

    @property
    def active_slot(self) -> KeySlot | None:
        """The slot whose key the latest secret version holds, by value (tags are hints)."""
        if self.latest is None or self.latest.value is None or self.keys is None:
            return None
        return self.keys.slot_held_by(self.latest.value)

    @property
    def text_problem(self) -> str | None:
        """What is wrong with the latest version's value as a key's text (None: nothing)."""
        if self.latest is None or self.latest.value is None:
            return None
        return self.latest.value.text_problem

    def age(self, now: datetime) -> timedelta | None:
        """How old the latest version is, on Key Vault's clock when the read saw it (the
        ``Date`` of its response), else at ``now`` on this machine's."""
        if self.latest is None or self.latest.created is None:
            return None
        return max(timedelta(0), (self.latest.read_at or now) - self.latest.created)


@dataclass(frozen=True)
class Policy:
    """The rules one account is rotated under."""

    rotate_after: timedelta | None
    grace: timedelta
    force: bool = False
    revoke_previous: bool = False
    #: ``--revoke-previous when-moved``: revoke a tagged previous key once consumers moved.
    when_moved: bool = False
    #: The typed ``--confirm-breaking-consumers``: regenerate a key consumers may still hold.
    confirm_breaking: bool = False


@dataclass(frozen=True)
class Decision:
    """What to do, on which slot, and why (``code`` is stable for machines)."""

    step: Step
    code: str
    reason: str
    #: ADOPT: the slot stored; ROTATE: the slot regenerated; REVOKE: the slot regenerated.
    slot: KeySlot | None = None
    #: The slot the latest version holds now.
    active: KeySlot | None = None
    #: Something the operator should fix even though the decision goes ahead (one line).
    warning: str | None = None


def _tag_note(state: AccountState, active: KeySlot) -> str:
    tagged = state.latest.tags.get(CREDENTIAL_TAG) if state.latest else None
    if tagged and tagged.lower() != active.lower():
        return f" (its {CREDENTIAL_TAG} tag says {tagged}; the value says {active})"
    return ""


def _pending_revoke(
    state: AccountState, active: KeySlot, policy: Policy, now: datetime
) -> Decision | None:
    latest = state.latest
    if latest is None or state.keys is None:
        return None
    if policy.when_moved and latest.tags.get(REVOKE_TAG) == REVOKE_WHEN_MOVED:
        return _when_moved(state, active, now)
    if not policy.revoke_previous:
        return None
    previous = other_slot(active)
    if latest.tags.get(REVOKE_TAG) == REVOKE_DONE and not policy.force:
        # A rerun of the revoke that just succeeded: green, nothing regenerated again.
        return Decision(
            Step.SKIP,
            "revoked",
            f"{previous} was already revoked when version {latest.version} was stored",
            active=active,
        )
    if latest.tags.get(REVOKE_TAG) != REVOKE_PENDING or state.superseded_value is None:
        return None
    if state.keys.slot(previous) != state.superseded_value:
        # The crash came after the regeneration, before the tag said so: nothing left to do.
        return Decision(
            Step.SKIP,
            "revoked",
            f"the revoke of {previous} requested when version {latest.version} was stored "
            "is already done (that key no longer exists)",
            active=active,
        )
    return Decision(
        Step.REVOKE,
        "revoke-pending",
        f"finishing the revoke of {previous} requested when version {latest.version} was stored",
        slot=previous,
        active=active,
    )


def _when_moved(state: AccountState, active: KeySlot, now: datetime) -> Decision | None:
    """A ``when-moved`` revoke: done once the evidence shows consumers moved; a wait (0, with a
    warning naming who lags) until its deadline; then a refusal (6)."""
    latest, keys, previous = state.latest, state.keys, other_slot(active)
    assert latest is not None and keys is not None
    if state.superseded_value is None or keys.slot(previous) != state.superseded_value:
        return None  # the previous key is gone already (or unknown): nothing left to revoke
    verdict = state.moved
    if verdict is not None and verdict.ready:
        return Decision(
            Step.REVOKE,
            "revoke-moved",
            f"revoking {previous}: consumers moved to version {latest.version}: {verdict.reason}",
            slot=previous,
            active=active,
        )
    why = verdict.reason if verdict is not None else "no evidence of who reads the secret"
    deadline = rotated_at_of(latest.tags, REVOKE_DEADLINE_TAG)
    if deadline is not None and now >= deadline:
        return Decision(
            Step.REFUSE,
            "revoke-lagging",
            f"revoke of {previous} refused: past its deadline "
            f"{deadline:%Y-%m-%d %H:%M:%SZ} and {why}; the previous key still works. Move "
            "them, or revoke anyway with --revoke-previous now --confirm-revoke "
            "--confirm-breaking-consumers",
            active=active,
        )
    return Decision(
        Step.SKIP,
        "revoke-waiting",
        f"revoke of {previous} waits for consumers to move to version {latest.version}",
        active=active,
        warning=f"revoke of {previous} waits: {why}",
    )


def _age_rules(
    state: AccountState, active: KeySlot, policy: Policy, now: datetime
) -> Decision | None:
    """The skip (fresh, within grace) or refusal (a forced rotation into consumers' key) the
    latest version's age calls for; None when the account is due."""
    age = state.age(now)
    if age is None:
        return None
    shown = format_duration(age)
    if age <= policy.grace:
        return _within_grace(active, policy, age)
    explicit = policy.force or policy.revoke_previous
    if policy.rotate_after is not None and age < policy.rotate_after and not explicit:
        return Decision(
            Step.SKIP,
            "fresh",
            f"not due: latest version is {shown} old (rotate after "
            f"{format_duration(policy.rotate_after)})",
            active=active,
        )
    return None


def due_by_vault(state: AccountState, policy: Policy, now: datetime) -> bool:
    """Whether the vault alone (``state.keys`` not read) says a write may follow: no secret
    yet, or a latest version past the age rules (due, or an explicit flag past its grace).

    False: the keys are read before the lease and :func:`decide` says exactly what happens (a
    skip, a refusal, a revoke). True never skips a check: the decision under the lease reads
    the keys and still refuses a mismatch, a key in use or anything else :func:`decide` does.
    A revoke run (its decision rests on the keys and the superseded value) is never due by the
    vault alone.
    """
    if state.account.disable_local_auth or policy.revoke_previous or policy.when_moved:
        return False
    if state.latest is None:
        return True
    # The slot named is only what a held decision would report; due or not does not depend on it.
    return _age_rules(state, "Key1", policy, now) is None


def _within_grace(active: KeySlot, policy: Policy, age: timedelta) -> Decision | None:
    """Inside the grace period the inactive slot holds the key consumers fetched less than
    grace ago: skip, or refuse an explicit request that is not typed-confirmed."""
    held = other_slot(active)
    left = format_duration(policy.grace - age)
    why = (
        f"latest version is {format_duration(age)} old (grace {format_duration(policy.grace)}): "
        f"{held} is the key consumers that fetched the secret earlier may hold for another {left}"
    )
    explicit = policy.force or policy.revoke_previous
    if not explicit:
        return Decision(Step.SKIP, "within-grace", f"within grace: {why}", active=active)
    if policy.confirm_breaking:
        return None
    asked = "--force" if policy.force else "--revoke-previous"
    return Decision(
        Step.REFUSE,
        "grace",
        f"{asked} refused: {why}; regenerating it breaks them now. Add "
        "--confirm-breaking-consumers to do it anyway, or rerun after the grace period",
        active=active,
    )


def _in_use(state: AccountState, active: KeySlot, policy: Policy) -> Decision | None:
    """The grace guard the evidence raises: consumers read the key about to be regenerated
    within the lookback, so the rotation would break them (typed confirmation or refusal)."""
    if not state.in_use_by or policy.confirm_breaking:
        return None
    slot = other_slot(active)
    return Decision(
        Step.REFUSE,
        "key-in-use",
        f"regenerating {slot} breaks {', '.join(state.in_use_by)}: they read the version "
        f"holding it within the lookback. Move them to the current version, or add "
        "--confirm-breaking-consumers",
        active=active,
    )


def _padded_warning(state: AccountState, active: KeySlot) -> str | None:
    """The warning for a latest version that holds ``active``'s key with whitespace around it."""
    if state.latest is None or state.latest.value is None or state.text_problem is None:
        return None
    return (
        f"latest version {state.latest.version} ({state.latest.value.fingerprint}) holds "
        f"{active}, but the value {state.text_problem}: consumers that do not strip it fail "
        "until a rotation stores a clean value"
    )


def _forced(state: AccountState, policy: Policy, now: datetime) -> bool:
    """Whether only an explicit flag lets the rotation go ahead (it is not due by age)."""
    age = state.age(now)
    if age is None:
        return False
    young = policy.rotate_after is not None and age < policy.rotate_after
    return age <= policy.grace or young


def _waiting_revoke(state: AccountState, policy: Policy) -> str | None:
    """The warning for an unfinished ``--revoke-previous`` this run does not finish."""
    latest = state.latest
    mode = latest.tags.get(REVOKE_TAG) if latest is not None else None
    if latest is None or policy.revoke_previous or policy.when_moved:
        return None
    if mode not in (REVOKE_PENDING, REVOKE_WHEN_MOVED):
        return None
    active = state.active_slot
    slot = other_slot(active) if active is not None else "the previous key"
    since = latest.created.strftime("%Y-%m-%d %H:%M:%SZ") if latest.created else "?"
    rerun = "now --confirm-revoke" if mode == REVOKE_PENDING else "when-moved"
    return (
        f"revoke of {slot} pending since {since} (requested when version {latest.version} was "
        f"stored): the previous key still works; rerun with --revoke-previous {rerun}"
    )


def _unread_warning(state: AccountState, decision: Decision) -> str | None:
    """The warning for a regeneration that may break key callers the logs cannot tie to a
    secret version (named, since the slot they hold is unknown: not a refusal)."""
    if decision.step not in (Step.ROTATE, Step.REVOKE) or not state.unread_key_callers:
        return None
    return (
        f"regenerating {decision.slot} breaks {', '.join(state.unread_key_callers)} if that is "
        "the key they hold: they call with a key from an IP where no reader reads the current "
        "version (a key pasted by hand?), and the logs do not say which key"
    )


def decide(state: AccountState, policy: Policy, now: datetime) -> Decision:
    """The decision for one account at ``now`` (with the warnings a padded secret or a waiting
    revoke call for)."""
    decision = _decide(state, policy, now)
    if decision.active is None:
        return decision
    warnings = [
        w
        for w in (
            decision.warning,
            _padded_warning(state, decision.active),
            _waiting_revoke(state, policy),
            _unread_warning(state, decision),
        )
        if w
    ]
    return replace(decision, warning="; ".join(warnings) or None)


def _decide(state: AccountState, policy: Policy, now: datetime) -> Decision:
    account = state.account
    if account.disable_local_auth:
        return Decision(
            Step.SKIP,
            "local-auth-disabled",
            "key authentication is disabled on this account (disableLocalAuth); "
            "its keys are not used",
        )
    if state.latest is None:
        return Decision(
            Step.ADOPT,
            "no-secret",
            "no secret yet: storing the current Key1 (nothing regenerated)",
            slot="Key1",
        )
    active = state.active_slot
    if active is None:
        fingerprint = state.latest.value.fingerprint if state.latest.value else "no value"
        problem = f" (its value {state.text_problem})" if state.text_problem else ""
        return Decision(
            Step.REFUSE,
            "mismatch",
            f"latest version {state.latest.version} ({fingerprint}) matches neither "
            f"account key{problem}: consumers reading it are already broken; nothing changed "
            "(store a working key with keyops rotate --repair --confirm-repair)",
        )
    pending = _pending_revoke(state, active, policy, now)
    if pending is not None:
        return pending
    held = _age_rules(state, active, policy, now) or _in_use(state, active, policy)
    if held is not None:
        return held
    age = state.age(now)
    why = "forced" if _forced(state, policy, now) else "due"
    detail = f"latest version is {format_duration(age)} old" if age is not None else "age unknown"
    return Decision(
        Step.ROTATE,
        why,
        f"{detail}; the secret holds {active}{_tag_note(state, active)}, "
        f"regenerating {other_slot(active)}",
        slot=other_slot(active),
        active=active,
    )
