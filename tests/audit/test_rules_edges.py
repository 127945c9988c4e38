"""Audit rules at their edges: unknown (None) permissions, the default age policy, one
permission alone, outcomes other than a refusal (pinned against mutation survivors)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from keyops.audit.model import CredentialCheck, IdentityView
from keyops.audit.rules import AuditPolicy
from keyops.consumers.evidence import Coverage, DataCaller, Evidence, LogTarget, VaultReader
from keyops.consumers.render import TargetEvidence
from tests.audit.test_rules import ACCOUNT, ME, _row, _rules, _secret


def test_the_default_age_policy_is_90_days_exactly() -> None:
    assert _rules(_row(secret=_secret(age_days=90))) == set()
    assert _rules(_row(secret=_secret(age_days=91))) == {"AUD005"}


def test_the_policy_cannot_be_changed_once_made() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        AuditPolicy().max_secret_age_days = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("read", "regenerate", "expected"),
    [(True, False, {"AUD010"}), (False, True, {"AUD010"}), (False, False, set())],
)
def test_either_key_permission_alone_makes_an_identity_a_manager(
    read: bool, regenerate: bool, expected: set[str]
) -> None:
    assert _rules(_row(identity=IdentityView(ME, read, regenerate, False))) == expected


@pytest.mark.parametrize(("read", "regenerate"), [(False, None), (False, True), (None, False)])
def test_an_inferer_is_keyless_only_when_both_key_permissions_are_known_absent(
    read: bool | None, regenerate: bool | None
) -> None:
    """None is "could not tell": it never counts as "cannot"."""
    assert _rules(_row(identity=IdentityView(ME, read, regenerate, True))) == set()


def test_a_manager_whose_inference_is_unknown_is_not_flagged() -> None:
    assert _rules(_row(identity=IdentityView(ME, True, True, None))) == set()


@pytest.mark.parametrize("outcome", ["forbidden", "connection_error", "ok", "timeout"])
def test_an_uncompared_secret_is_not_broken_unless_refused(outcome: str) -> None:
    checks = dict(_row().checks, vault=CredentialCheck("vault", outcome, 0))
    row = _row(checks=checks, secret=_secret(compared=False, matches=None))
    assert "AUD001" not in _rules(row)


def test_a_secret_of_unknown_state_without_expiry_is_flagged_as_such() -> None:
    row = _row(secret=_secret(enabled=None, expires_on=None))
    assert _rules(row) == {"AUD006"}


@pytest.mark.parametrize("outcome", ["forbidden", "connection_error", "deployment_not_found"])
def test_a_key_is_reported_refused_only_for_invalid_key(outcome: str) -> None:
    checks = dict(_row().checks, Key2=CredentialCheck("Key2", outcome, 0))
    assert "AUD015" not in _rules(_row(checks=checks))


def test_outcomes_are_compared_by_value_not_identity() -> None:
    """An outcome read from JSON is a new string object, equal to the name but not it."""
    refused = "".join(["invalid", "_key"])
    checks = dict(_row().checks, Key1=CredentialCheck("Key1", refused, 401))
    assert _rules(_row(checks=checks)) == {"AUD015"}
    vault = dict(_row().checks, vault=CredentialCheck("vault", refused, 401))
    assert "AUD001" in _rules(_row(checks=vault, secret=_secret(compared=False, matches=None)))


@pytest.mark.parametrize(("holds", "tag"), [("Key1", "Key2"), ("Key2", "Key1"), ("Key2", "key2")])
def test_a_secret_tagged_with_the_other_slot_is_flagged_either_way(holds: str, tag: str) -> None:
    row = _row(secret=_secret(matches=holds, credential_id_tag=tag))
    assert _rules(row) == (set() if tag.lower() == holds.lower() else {"AUD007"})


NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)


def _usage(keys: int, tokens: int, readers: int) -> TargetEvidence:
    callers = tuple(
        DataCaller("key" if i < keys else "token", None, "10.0.0.1", 3, NOW, NOW)
        for i in range(keys + tokens)
    )
    read = tuple(VaultReader(f"oid-{i}", None, None, None, "v1", NOW) for i in range(readers))
    coverage = Coverage(NOW - timedelta(days=30), NOW, True, ())
    return TargetEvidence(LogTarget("acct", ACCOUNT), Evidence(read, callers, coverage))


@pytest.mark.parametrize(
    ("keys", "tokens", "readers", "expected"),
    [
        (1, 0, 0, {"AUD019"}),
        (0, 0, 1, {"AUD019"}),
        (2, 0, 3, {"AUD019"}),
        (0, 4, 0, set()),
        (0, 0, 0, set()),
    ],
)
def test_keys_are_in_use_when_a_key_caller_or_a_vault_reader_is_seen(
    keys: int, tokens: int, readers: int, expected: set[str]
) -> None:
    assert _rules(_row(usage=_usage(keys, tokens, readers))) == expected
