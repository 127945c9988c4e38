"""Pins of the rotation decision's figures and edges (no server): each boundary exactly at its
limit and one second either side, each reason naming the slot, age and flag it is about.

Tags are built as Key Vault's JSON gives them (fresh strings, never the module's constants), so
a rule that compared them by identity would fail here as it would on the wire.
"""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, replace
from datetime import timedelta

import pytest

from keyops.azure.vault import SecretVersion
from keyops.rotate.moved import MovedVerdict
from keyops.rotate.plan import AccountState, Policy, Step, decide, due_by_vault
from keyops.rotate.tags import (
    CREDENTIAL_TAG,
    REVOKE_DEADLINE_TAG,
    REVOKE_DONE,
    REVOKE_PENDING,
    REVOKE_TAG,
    REVOKE_WHEN_MOVED,
    SUPERSEDES_TAG,
)
from keyops.secret import SecretValue
from tests.rotate.test_plan import K1, K2, NOW, account, state, version

GRACE, AFTER = timedelta(hours=24), timedelta(days=30)
#: The superseded version's value as the vault gives it: equal to Key1, not the same object.
READ_K1 = SecretValue(K1.reveal())
SECOND = timedelta(seconds=1)
POLICY = Policy(rotate_after=AFTER, grace=GRACE)


def tagged(value: SecretValue, age: timedelta, **tags: str) -> SecretVersion:
    """A version whose tags went through JSON, as the vault client reads them."""
    return version(value, age, **json.loads(json.dumps(tags)))


def pending(age: timedelta = timedelta(hours=2), mode: str = REVOKE_PENDING) -> SecretVersion:
    return tagged(K2, age, **{REVOKE_TAG: mode, SUPERSEDES_TAG: "v0"})


def when_moved(deadline: str | None = None) -> SecretVersion:
    tags = {REVOKE_TAG: REVOKE_WHEN_MOVED, SUPERSEDES_TAG: "v0"}
    if deadline is not None:
        tags[REVOKE_DEADLINE_TAG] = deadline
    return tagged(K2, timedelta(hours=2), **tags)


def flagged(flag: str) -> Policy:
    """POLICY with ``--force`` or ``--revoke-previous`` given."""
    return replace(POLICY, force=flag == "force", revoke_previous=flag == "revoke_previous")


# --- the age rules: grace, rotate_after, and an explicit flag -------------------------------


@pytest.mark.parametrize(
    ("age", "code"),
    [(AFTER - SECOND, "fresh"), (AFTER, "due"), (AFTER + SECOND, "due")],
)
def test_rotate_after_is_due_from_exactly_its_age(age: timedelta, code: str) -> None:
    d = decide(state(version(K1, age)), POLICY, NOW)
    assert d.code == code
    assert d.slot == ("Key2" if code == "due" else None)


def test_a_fresh_skip_names_its_age_and_the_policy() -> None:
    d = decide(state(version(K1, timedelta(days=3))), POLICY, NOW)
    assert d.reason == "not due: latest version is 3d old (rotate after 30d)"
    assert (d.active, d.slot) == ("Key1", None)


def test_a_due_rotation_names_the_age_the_active_slot_and_the_one_regenerated() -> None:
    d = decide(state(version(K2, timedelta(days=40, hours=3))), POLICY, NOW)
    assert d.reason == "latest version is 40d3h old; the secret holds Key2, regenerating Key1"


@pytest.mark.parametrize(
    ("flag", "age", "code"),
    [
        # Past grace, younger than rotate_after: only the flag makes it go.
        ("force", AFTER - SECOND, "forced"),
        # At rotate_after it is due whatever the flag says.
        ("force", AFTER, "due"),
        ("revoke_previous", AFTER - SECOND, "forced"),
    ],
)
def test_forced_or_due_is_decided_at_rotate_after_exactly(
    flag: str, age: timedelta, code: str
) -> None:
    policy = flagged(flag)
    d = decide(state(version(K1, age)), policy, NOW)
    assert (d.step, d.code, d.slot) == (Step.ROTATE, code, "Key2")


@pytest.mark.parametrize(
    ("age", "code"), [(GRACE - SECOND, "forced"), (GRACE, "forced"), (GRACE + SECOND, "due")]
)
def test_a_confirmed_force_inside_grace_is_forced_up_to_grace_exactly(
    age: timedelta, code: str
) -> None:
    """Without rotate_after, only the grace period makes a confirmed --force "forced"."""
    policy = Policy(rotate_after=None, grace=GRACE, force=True, confirm_breaking=True)
    d = decide(state(version(K1, age)), policy, NOW)
    assert (d.step, d.code) == (Step.ROTATE, code)


@pytest.mark.parametrize(
    ("flag", "asked"), [("force", "--force"), ("revoke_previous", "--revoke-previous")]
)
def test_a_refusal_inside_grace_names_the_flag_asked_and_the_time_left(
    flag: str, asked: str
) -> None:
    d = decide(state(version(K1, timedelta(hours=2))), flagged(flag), NOW)
    assert (d.step, d.code, d.active) == (Step.REFUSE, "grace", "Key1")
    assert d.reason.startswith(
        f"{asked} refused: latest version is 2h old (grace 1d): Key2 is the key consumers that "
        "fetched the secret earlier may hold for another 22h; regenerating it breaks them now."
    )


def test_a_skip_within_grace_says_how_much_is_left() -> None:
    d = decide(state(version(K1, timedelta(hours=20))), POLICY, NOW)
    assert d.reason == (
        "within grace: latest version is 20h old (grace 1d): Key2 is the key consumers that "
        "fetched the secret earlier may hold for another 4h"
    )


def test_a_version_stamped_ahead_of_key_vaults_clock_is_zero_old() -> None:
    """Created after the read's Date (a skewed writer): its age is 0, never negative or more."""
    ahead = replace(version(K1, -timedelta(hours=1)), read_at=NOW)
    s = state(ahead)
    assert s.age(NOW) == timedelta(0)
    d = decide(s, POLICY, NOW)
    assert d.code == "within-grace" and "latest version is 0s old" in d.reason
    assert "for another 1d" in d.reason


def test_an_unknown_creation_time_is_due_and_never_forced() -> None:
    """No created time: no age rule can hold it back, and a flag is not what made it go."""
    unknown = replace(version(K2, timedelta(0)), created=None)
    for policy in (POLICY, replace(POLICY, force=True)):
        d = decide(state(unknown), policy, NOW)
        assert (d.step, d.code, d.slot) == (Step.ROTATE, "due", "Key1")
        assert d.reason.startswith("age unknown; the secret holds Key2")
    assert state(unknown).age(NOW) is None


# --- what the latest version holds -----------------------------------------------------------


def test_a_version_without_a_value_matches_neither_key() -> None:
    empty = replace(version(K1, timedelta(days=40)), value=None)
    s = state(empty)
    assert (s.active_slot, s.text_problem) == (None, None)
    d = decide(s, POLICY, NOW)
    assert (d.step, d.code, d.slot, d.active, d.warning) == (
        Step.REFUSE,
        "mismatch",
        None,
        None,
        None,
    )
    assert d.reason.startswith("latest version v1 (no value) matches neither account key:")


def test_without_the_keys_no_slot_is_active() -> None:
    s = AccountState(account(), version(K1, timedelta(days=40)), None)
    assert s.active_slot is None


def test_a_refused_mismatch_carries_no_warning_even_for_a_broken_value() -> None:
    broken = SecretValue("a" * 16 + " " + "a" * 16)
    d = decide(state(version(broken, timedelta(days=40))), POLICY, NOW)
    assert (d.code, d.warning) == ("mismatch", None)
    assert f"({broken.fingerprint})" in d.reason


def test_a_tag_naming_the_active_slot_in_other_case_is_no_disagreement() -> None:
    d = decide(state(tagged(K2, timedelta(days=40), **{CREDENTIAL_TAG: "key2"})), POLICY, NOW)
    assert "tag says" not in d.reason
    d = decide(state(tagged(K2, timedelta(days=40), **{CREDENTIAL_TAG: "Key1"})), POLICY, NOW)
    assert "holds Key2 (its CredentialId tag says Key1; the value says Key2), regenerating" in (
        d.reason
    )


def test_two_warnings_are_joined_on_one_line() -> None:
    padded = SecretValue(K2.reveal() + "\n")
    latest = tagged(
        padded, timedelta(hours=2), **{REVOKE_TAG: REVOKE_PENDING, SUPERSEDES_TAG: "v0"}
    )
    d = decide(state(latest, superseded_value=READ_K1), POLICY, NOW)
    assert d.warning is not None
    assert d.warning.startswith(f"latest version v1 ({padded.fingerprint}) holds Key2, but ")
    assert "until a rotation stores a clean value; revoke of Key1 pending since " in d.warning


# --- --revoke-previous now: pending, done, unreadable ---------------------------------------


def test_a_waiting_revoke_warning_names_the_slot_and_when_it_was_asked() -> None:
    d = decide(state(pending(), superseded_value=READ_K1), POLICY, NOW)
    assert d.warning == (
        "revoke of Key1 pending since 2026-06-01 10:00:00Z (requested when version v1 was "
        "stored): the previous key still works; rerun with --revoke-previous now --confirm-revoke"
    )


def test_a_waiting_revoke_without_a_creation_time_says_so() -> None:
    latest = replace(pending(), created=None)
    d = decide(state(latest, superseded_value=READ_K1), POLICY, NOW)
    assert d.warning is not None and "pending since ? (requested" in d.warning


def test_finishing_a_revoke_carries_no_waiting_warning() -> None:
    policy = replace(POLICY, revoke_previous=True)
    d = decide(state(pending(timedelta(minutes=5)), superseded_value=READ_K1), policy, NOW)
    assert (d.step, d.code, d.slot, d.active) == (Step.REVOKE, "revoke-pending", "Key1", "Key2")
    assert d.warning is None
    assert d.reason == "finishing the revoke of Key1 requested when version v1 was stored"


def test_a_pending_revoke_whose_previous_value_could_not_be_read_is_no_revoke() -> None:
    """Without the superseded value nothing says which key to revoke: the age rules decide."""
    policy = replace(POLICY, revoke_previous=True)
    young = decide(state(pending(timedelta(minutes=5))), policy, NOW)
    assert (young.step, young.code) == (Step.REFUSE, "grace")
    old = decide(state(pending(timedelta(days=40))), policy, NOW)
    assert (old.step, old.code, old.slot) == (Step.ROTATE, "due", "Key1")


def test_a_done_revoke_is_green_on_a_rerun_and_a_forced_rerun_rotates() -> None:
    done = tagged(K2, timedelta(hours=30), **{REVOKE_TAG: REVOKE_DONE, SUPERSEDES_TAG: "v0"})
    policy = replace(POLICY, revoke_previous=True)
    d = decide(state(done, superseded_value=READ_K1), policy, NOW)
    assert (d.step, d.code, d.active) == (Step.SKIP, "revoked", "Key2")
    assert d.reason == "Key1 was already revoked when version v1 was stored"
    forced = decide(state(done, superseded_value=READ_K1), replace(policy, force=True), NOW)
    assert (forced.step, forced.code, forced.slot) == (Step.ROTATE, "forced", "Key1")


def test_a_pending_revoke_already_done_by_hand_names_the_slot() -> None:
    policy = replace(POLICY, revoke_previous=True)
    d = decide(state(pending(), superseded_value=SecretValue("c" * 32)), policy, NOW)
    assert (d.step, d.code, d.active) == (Step.SKIP, "revoked", "Key2")
    assert d.reason.startswith("the revoke of Key1 requested when version v1 was stored")


# --- --revoke-previous when-moved --------------------------------------------------------------


WHEN_MOVED = replace(POLICY, when_moved=True)


def test_when_moved_without_evidence_waits_and_says_there_is_none() -> None:
    d = decide(state(when_moved(), superseded_value=READ_K1), WHEN_MOVED, NOW)
    assert (d.step, d.code, d.slot, d.active) == (Step.SKIP, "revoke-waiting", None, "Key2")
    assert d.reason == "revoke of Key1 waits for consumers to move to version v1"
    assert d.warning == "revoke of Key1 waits: no evidence of who reads the secret"


@pytest.mark.parametrize(
    ("offset", "code"),
    [(-SECOND, "revoke-lagging"), (timedelta(0), "revoke-lagging"), (SECOND, "revoke-waiting")],
)
def test_when_moved_refuses_from_its_deadline_exactly(offset: timedelta, code: str) -> None:
    deadline = (NOW + offset).strftime("%Y-%m-%dT%H:%M:%SZ")
    lagging = MovedVerdict(False, ("job at 10.0.0.9",), "job at 10.0.0.9 still reads v0")
    s = state(when_moved(deadline), superseded_value=READ_K1, moved=lagging)
    d = decide(s, WHEN_MOVED, NOW)
    assert d.code == code
    if code == "revoke-lagging":
        assert d.step is Step.REFUSE and d.reason.startswith(
            f"revoke of Key1 refused: past its deadline {NOW + offset:%Y-%m-%d %H:%M:%SZ} and "
            "job at 10.0.0.9 still reads v0;"
        )


def test_a_ready_verdict_names_the_reason_and_the_version() -> None:
    ready = MovedVerdict(True, (), "every reader moved")
    d = decide(state(when_moved(), superseded_value=READ_K1, moved=ready), WHEN_MOVED, NOW)
    assert (d.step, d.slot, d.active) == (Step.REVOKE, "Key1", "Key2")
    assert d.reason == "revoking Key1: consumers moved to version v1: every reader moved"


def test_a_when_moved_tag_without_the_mode_is_an_ordinary_decision() -> None:
    """Not asked for: no revoke, no wait; the age rules decide, with the waiting warning."""
    ready = MovedVerdict(True, (), "every reader moved")
    d = decide(state(when_moved(), superseded_value=READ_K1, moved=ready), POLICY, NOW)
    assert (d.step, d.code) == (Step.SKIP, "within-grace")
    assert d.warning is not None and d.warning.endswith("rerun with --revoke-previous when-moved")
    assert "waits" not in d.warning


def test_the_when_moved_mode_on_a_version_without_its_tag_decides_by_age() -> None:
    d = decide(state(version(K2, timedelta(days=40)), superseded_value=READ_K1), WHEN_MOVED, NOW)
    assert (d.step, d.code, d.slot) == (Step.ROTATE, "due", "Key1")


# --- the evidence: readers of the key about to go, and unexplained key callers ---------------


def test_the_key_in_use_refusal_names_the_slot_and_who_reads_it() -> None:
    s = state(version(K2, timedelta(days=40)), in_use_by=("app at 10.0.0.4", "job at 10.0.0.9"))
    d = decide(s, POLICY, NOW)
    assert (d.step, d.code, d.active) == (Step.REFUSE, "key-in-use", "Key2")
    assert d.reason.startswith("regenerating Key1 breaks app at 10.0.0.4, job at 10.0.0.9:")


def test_unexplained_key_callers_are_warned_about_only_when_a_key_is_regenerated() -> None:
    callers = ("192.0.2.7", "198.51.100.3")
    due = decide(state(version(K2, timedelta(days=40)), unread_key_callers=callers), POLICY, NOW)
    assert due.step is Step.ROTATE
    assert due.warning is not None
    assert due.warning.startswith("regenerating Key1 breaks 192.0.2.7, 198.51.100.3 if that is")
    fresh = decide(state(version(K2, timedelta(days=3)), unread_key_callers=callers), POLICY, NOW)
    assert (fresh.step, fresh.warning) == (Step.SKIP, None)
    revoke = decide(
        state(pending(timedelta(minutes=5)), superseded_value=READ_K1, unread_key_callers=callers),
        replace(POLICY, revoke_previous=True),
        NOW,
    )
    assert revoke.step is Step.REVOKE
    assert revoke.warning is not None and revoke.warning.startswith("regenerating Key1 breaks")


# --- whether the vault alone says a write may follow ------------------------------------------


def _vault_only(latest: SecretVersion | None) -> AccountState:
    return AccountState(account(), latest, None)


@pytest.mark.parametrize(
    ("age", "policy", "due"),
    [
        (None, POLICY, True),
        (AFTER, POLICY, True),
        (AFTER - SECOND, POLICY, False),
        (timedelta(hours=2), POLICY, False),
        (timedelta(days=3), replace(POLICY, force=True), True),
        (timedelta(hours=2), replace(POLICY, force=True), False),
        (timedelta(hours=2), replace(POLICY, force=True, confirm_breaking=True), True),
    ],
)
def test_due_by_the_vault_alone(age: timedelta | None, policy: Policy, due: bool) -> None:
    latest = None if age is None else version(K1, age)
    assert due_by_vault(_vault_only(latest), policy, NOW) is due


@pytest.mark.parametrize(
    "policy", [replace(POLICY, revoke_previous=True), replace(POLICY, when_moved=True)]
)
def test_a_revoke_run_is_never_due_by_the_vault_alone(policy: Policy) -> None:
    for latest in (None, version(K1, timedelta(days=40))):
        assert due_by_vault(_vault_only(latest), policy, NOW) is False


def test_an_account_without_local_auth_is_never_due_by_the_vault() -> None:
    s = AccountState(account(disable_local_auth=True), None, None)
    assert due_by_vault(s, POLICY, NOW) is False


def test_a_state_a_policy_and_a_decision_cannot_be_changed_once_made() -> None:
    """Decided twice (before the lease, and under it), a decision is replaced, never edited."""
    d = decide(state(version(K2, timedelta(days=40))), POLICY, NOW)
    with pytest.raises(FrozenInstanceError):
        d.slot = "Key2"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        POLICY.force = True  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        state(None).latest = None  # type: ignore[misc]
