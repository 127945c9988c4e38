"""The rotation decision, without any server: state in, decision out."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from keyops.azure.arm import Account, AccountKeys
from keyops.azure.vault import SecretVersion
from keyops.rotate.plan import AccountState, Policy, Step, decide
from keyops.rotate.tags import CREDENTIAL_TAG, REVOKE_PENDING, REVOKE_TAG, SUPERSEDES_TAG
from keyops.secret import SecretValue

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
K1, K2 = SecretValue("a" * 32), SecretValue("b" * 32)
KEYS = AccountKeys(K1, K2)
POLICY = Policy(rotate_after=timedelta(days=30), grace=timedelta(hours=24))


def account(disable_local_auth: bool = False) -> Account:
    return Account(
        id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a",
        name="a",
        subscription_id="s",
        resource_group="rg",
        kind="OpenAI",
        location="eastus",
        endpoint="https://a.openai.azure.com/",
        custom_subdomain="a",
        disable_local_auth=disable_local_auth,
        public_network_access="Enabled",
    )


def version(value: SecretValue, age: timedelta, **tags: str) -> SecretVersion:
    return SecretVersion(
        name="a-api-key",
        version="v1",
        value=value,
        enabled=True,
        created=NOW - age,
        updated=NOW - age,
        not_before=None,
        expires_on=None,
        content_type=None,
        tags=tags,
    )


def state(latest: SecretVersion | None, **kwargs: object) -> AccountState:
    return AccountState(account(), latest, KEYS, **kwargs)  # type: ignore[arg-type]


def test_no_secret_adopts_key1() -> None:
    d = decide(state(None), POLICY, NOW)
    assert (d.step, d.slot, d.code) == (Step.ADOPT, "Key1", "no-secret")


def test_due_rotation_regenerates_the_other_slot() -> None:
    d = decide(state(version(K2, timedelta(days=40))), POLICY, NOW)
    assert (d.step, d.active, d.slot, d.code) == (Step.ROTATE, "Key2", "Key1", "due")
    assert "40d" in d.reason


def test_fresh_secret_is_skipped() -> None:
    d = decide(state(version(K1, timedelta(days=3))), POLICY, NOW)
    assert (d.step, d.code) == (Step.SKIP, "fresh")
    assert d.reason.startswith("not due")


def test_inside_the_grace_period_a_rerun_skips() -> None:
    """A rerun right after a rotation is green: "within grace" is a skip with its reason."""
    policy = Policy(rotate_after=None, grace=timedelta(hours=24))
    d = decide(state(version(K1, timedelta(hours=2))), policy, NOW)
    assert (d.step, d.code) == (Step.SKIP, "within-grace")
    assert "22h" in d.reason and "Key2" in d.reason


def test_at_exactly_the_grace_period_it_still_skips() -> None:
    policy = Policy(rotate_after=None, grace=timedelta(hours=24))
    assert decide(state(version(K1, timedelta(hours=24))), policy, NOW).code == "within-grace"
    d = decide(state(version(K1, timedelta(hours=24, seconds=1))), policy, NOW)
    assert (d.step, d.code, d.slot) == (Step.ROTATE, "due", "Key2")


@pytest.mark.parametrize("flag", ["force", "revoke_previous"])
def test_an_explicit_flag_inside_grace_needs_the_typed_confirmation(flag: str) -> None:
    young = state(version(K1, timedelta(hours=2)))
    asked = Policy(rotate_after=timedelta(days=30), grace=timedelta(hours=24), **{flag: True})
    d = decide(young, asked, NOW)
    assert (d.step, d.code) == (Step.REFUSE, "grace")
    assert "--confirm-breaking-consumers" in d.reason and "Key2" in d.reason
    confirmed = Policy(
        rotate_after=timedelta(days=30),
        grace=timedelta(hours=24),
        confirm_breaking=True,
        **{flag: True},
    )
    d = decide(young, confirmed, NOW)
    assert (d.step, d.code, d.slot) == (Step.ROTATE, "forced", "Key2")


def test_force_past_grace_rotates_a_secret_not_yet_due() -> None:
    policy = Policy(rotate_after=timedelta(days=30), grace=timedelta(hours=24), force=True)
    d = decide(state(version(K1, timedelta(days=3))), policy, NOW)
    assert (d.step, d.code, d.slot) == (Step.ROTATE, "forced", "Key2")


@pytest.mark.parametrize("skew", [timedelta(hours=2), timedelta(hours=-2)])
def test_age_is_measured_on_key_vaults_clock(skew: timedelta) -> None:
    """A runner 2 h fast must not rotate a 23 h old version inside a 24 h grace (nor a slow
    runner hold back a 25 h old one): the read's Date header is the clock."""
    policy = Policy(rotate_after=None, grace=timedelta(hours=24))
    young = replace(version(K1, timedelta(hours=23)), read_at=NOW)
    assert decide(state(young), policy, NOW + skew).code == "within-grace"
    old = replace(version(K1, timedelta(hours=25)), read_at=NOW)
    assert decide(state(old), policy, NOW + skew).code == "due"


def test_a_waiting_revoke_is_a_skip_with_a_warning() -> None:
    latest = version(K2, timedelta(hours=2), **{REVOKE_TAG: REVOKE_PENDING, SUPERSEDES_TAG: "v0"})
    d = decide(state(latest, superseded_value=K1), POLICY, NOW)
    assert (d.step, d.code) == (Step.SKIP, "within-grace")
    assert d.warning is not None and "--revoke-previous now --confirm-revoke" in d.warning


def test_a_secret_matching_neither_key_is_refused() -> None:
    d = decide(state(version(SecretValue("c" * 32), timedelta(days=40))), POLICY, NOW)
    assert (d.step, d.code) == (Step.REFUSE, "mismatch")
    assert "c" * 32 not in d.reason


@pytest.mark.parametrize("padding", ["\n", "\r\n", " ", "\t"])
def test_a_key_with_whitespace_around_it_is_that_slots_key(padding: str) -> None:
    """Consumers that strip what they read use it: its slot is active, the other one is
    regenerated, and the decision warns (fingerprint only) that the value needs cleaning."""
    padded = SecretValue(K2.reveal() + padding)
    d = decide(state(version(padded, timedelta(days=40))), POLICY, NOW)
    assert (d.step, d.active, d.slot, d.code) == (Step.ROTATE, "Key2", "Key1", "due")
    assert d.warning is not None and "whitespace around it" in d.warning
    assert padded.fingerprint in d.warning and K2.reveal() not in d.warning


def test_a_fresh_padded_key_is_skipped_with_the_warning() -> None:
    d = decide(state(version(SecretValue(K1.reveal() + "\n"), timedelta(days=3))), POLICY, NOW)
    assert (d.step, d.code, d.active) == (Step.SKIP, "fresh", "Key1")
    assert d.warning is not None and "until a rotation stores a clean value" in d.warning


def test_a_clean_secret_carries_no_warning() -> None:
    assert decide(state(version(K2, timedelta(days=40))), POLICY, NOW).warning is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a" * 16 + " " + "a" * 16, "contains whitespace"),
        ("a" * 31 + "\x00", "contains a control character"),
        ("", "is empty"),
    ],
)
def test_a_key_broken_inside_matches_neither_slot(value: str, problem: str) -> None:
    d = decide(state(version(SecretValue(value), timedelta(days=40))), POLICY, NOW)
    assert (d.step, d.code) == (Step.REFUSE, "mismatch")
    assert f"(its value {problem})" in d.reason


def test_values_decide_not_tags() -> None:
    latest = version(K2, timedelta(days=40), **{CREDENTIAL_TAG: "Key1"})
    d = decide(state(latest), POLICY, NOW)
    assert (d.active, d.slot) == ("Key2", "Key1")
    assert "tag says Key1" in d.reason


def test_local_auth_disabled_is_skipped_before_anything_else() -> None:
    d = decide(AccountState(account(disable_local_auth=True), None, None), POLICY, NOW)
    assert (d.step, d.code) == (Step.SKIP, "local-auth-disabled")


def test_an_unfinished_revoke_is_resumed_only_with_the_flag() -> None:
    latest = version(K2, timedelta(minutes=5), **{REVOKE_TAG: REVOKE_PENDING, SUPERSEDES_TAG: "v0"})
    pending = state(latest, superseded_value=K1)
    with_flag = Policy(
        rotate_after=timedelta(days=30), grace=timedelta(hours=24), revoke_previous=True
    )
    d = decide(pending, with_flag, NOW)
    assert (d.step, d.slot, d.code) == (Step.REVOKE, "Key1", "revoke-pending")
    assert decide(pending, POLICY, NOW).step is Step.SKIP
    done = state(latest, superseded_value=SecretValue("already-regenerated"))
    assert (decide(done, with_flag, NOW).code) == "revoked"
