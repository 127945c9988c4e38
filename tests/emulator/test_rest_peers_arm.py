"""ARM Microsoft.CognitiveServices as a client written from cognitiveservices.json sees it.

Sources: azure-specs/cognitiveservices-arm/2024-10-01/cognitiveservices.json (operations,
definitions, ``x-ms-pageable`` with ``nextLinkName: nextLink``); common-types v2 ErrorResponse;
the ARM RPC (resource ids are case-insensitive; every answer carries ``x-ms-request-id`` and
``x-ms-correlation-request-id``); the published stable api-versions of the provider
(2023-05-01, 2024-10-01, 2025-06-01, 2025-09-01, 2025-12-01 folders in azure-rest-api-specs).
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.emulator.test_rest_peers_common import (
    assert_valid,
    bearer,
    follow_next_links,
    mint_token,
    needs_specs,
    session,
)
from tests.support.emulator import EmulatorHandle

CS = "cognitiveservices-arm/2024-10-01/cognitiveservices.json"
TYPES_V2 = "common-types/resource-management/v2/types.json"
STABLE = ["2023-05-01", "2024-10-01", "2025-06-01", "2025-09-01", "2025-12-01"]
EUS = "contoso-openai-eus"


def _get(
    handle: EmulatorHandle,
    path: str,
    version: str | None = "2024-10-01",
    method: str = "GET",
    token: str | None = None,
    params_extra: dict[str, str] | None = None,
    **kwargs: Any,
) -> requests.Response:
    params = {"api-version": version} if version else {}
    params.update(params_extra or {})
    headers = bearer(token or mint_token(handle))
    with session(handle) as s:
        return s.request(
            method, handle.url + path, params=params, headers=headers, timeout=10, **kwargs
        )


def _account_id(handle: EmulatorHandle, name: str = EUS) -> str:
    return str(handle.account(name)["id"])


def _assert_arm_error(r: requests.Response, status: int, code: str) -> None:
    """common-types v2 ``ErrorResponse``: ``{"error": ErrorDetail}``, JSON, with ARM's ids."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["code"] == code
    assert_valid(TYPES_V2, "/definitions/ErrorResponse", r.json())
    assert "x-ms-request-id" in r.headers
    assert "x-ms-correlation-request-id" in r.headers


pytestmark = needs_specs


@pytest.mark.parametrize("version", STABLE)
def test_published_api_versions_are_accepted(shared_emulator: EmulatorHandle, version: str) -> None:
    token = mint_token(shared_emulator)
    account = _account_id(shared_emulator)
    sub = shared_emulator.conn["subscription_id"]
    for method, path in [
        ("GET", account),
        ("GET", f"/subscriptions/{sub}/providers/Microsoft.CognitiveServices/accounts"),
        ("GET", f"{account}/deployments"),
        ("POST", f"{account}/listKeys"),
    ]:
        r = _get(shared_emulator, path, version, method, token)
        assert r.status_code == 200, (version, path, r.text)


def test_unpublished_api_version_is_refused_with_the_supported_list(
    shared_emulator: EmulatorHandle,
) -> None:
    r = _get(shared_emulator, _account_id(shared_emulator), "2099-01-01")
    _assert_arm_error(r, 400, "NoRegisteredProviderFound")
    for version in STABLE:
        assert version in r.json()["error"]["message"]


def test_missing_api_version(shared_emulator: EmulatorHandle) -> None:
    _assert_arm_error(
        _get(shared_emulator, _account_id(shared_emulator), None), 400, "MissingApiVersionParameter"
    )


def test_responses_validate_against_the_spec_definitions(shared_emulator: EmulatorHandle) -> None:
    token = mint_token(shared_emulator)
    account = _account_id(shared_emulator)
    sub = shared_emulator.conn["subscription_id"]
    cases = [
        ("GET", account, "/definitions/Account"),
        (
            "GET",
            f"/subscriptions/{sub}/providers/Microsoft.CognitiveServices/accounts",
            "/definitions/AccountListResult",
        ),
        (
            "GET",
            f"/subscriptions/{sub}/resourceGroups/rg-ai-prod/providers/"
            "Microsoft.CognitiveServices/accounts",
            "/definitions/AccountListResult",
        ),
        ("GET", f"{account}/deployments", "/definitions/DeploymentListResult"),
        ("GET", f"{account}/deployments/gpt-4o-mini", "/definitions/Deployment"),
        ("POST", f"{account}/listKeys", "/definitions/ApiKeys"),
    ]
    for method, path, pointer in cases:
        r = _get(shared_emulator, path, method=method, token=token)
        assert r.status_code == 200, (path, r.text)
        assert_valid(CS, pointer, r.json())


def test_the_validators_are_not_vacuous() -> None:
    """A body that breaks the spec must fail the same validation the tests rely on."""
    with pytest.raises(AssertionError, match="endpoint"):
        assert_valid(CS, "/definitions/Account", {"properties": {"endpoint": 5}})
    with pytest.raises(AssertionError):
        assert_valid(TYPES_V2, "/definitions/ErrorResponse", {"error": {"code": 404}})


def test_account_fields_match_the_connection_file(shared_emulator: EmulatorHandle) -> None:
    body = _get(shared_emulator, _account_id(shared_emulator)).json()
    assert body["id"] == _account_id(shared_emulator)
    assert body["name"] == EUS
    assert body["type"] == "Microsoft.CognitiveServices/accounts"
    assert body["properties"]["endpoint"] == shared_emulator.account(EUS)["endpoint"]
    assert body["properties"]["provisioningState"] == "Succeeded"


def test_next_link_paging_followed_by_a_generic_client(emulator: EmulatorHandle) -> None:
    """``x-ms-pageable``: a client follows ``nextLink`` verbatim until it is absent."""
    emulator.admin("POST", "arm/settings", {"page_size": 1})
    token = mint_token(emulator)
    sub = emulator.conn["subscription_id"]
    account = _account_id(emulator)
    with session(emulator) as s:
        everything = [
            a["id"]
            for a in follow_next_links(
                s,
                f"{emulator.url}/subscriptions/{sub}/providers/Microsoft.CognitiveServices/"
                "accounts?api-version=2024-10-01",
                bearer(token),
            )
        ]
        # az writes the lowercase segments; the pages must keep working on that path.
        in_rg = [
            a["name"]
            for a in follow_next_links(
                s,
                f"{emulator.url}/subscriptions/{sub}/resourcegroups/rg-ai-prod/providers/"
                "microsoft.cognitiveservices/accounts?api-version=2023-05-01",
                bearer(token),
            )
        ]
        deployments = [
            d["name"]
            for d in follow_next_links(
                s, f"{emulator.url}{account}/deployments?api-version=2025-06-01", bearer(token)
            )
        ]
        first = s.get(
            f"{emulator.url}/subscriptions/{sub}/providers/Microsoft.CognitiveServices/"
            "accounts?api-version=2024-10-01",
            headers=bearer(token),
            timeout=10,
        ).json()
    assert sorted(everything) == sorted(a["id"] for a in emulator.conn["accounts"])
    assert len(set(everything)) == len(everything)
    assert sorted(in_rg) == sorted(
        a["name"] for a in emulator.conn["accounts"] if a["resource_group"] == "rg-ai-prod"
    )
    assert sorted(deployments) == sorted(emulator.account(EUS)["deployments"])
    assert len(first["value"]) == 1
    assert first["nextLink"].startswith(emulator.url + "/subscriptions/")
    # The SDKs rewrite the api-version of a nextLink to their own; the token must survive that.
    rewritten = first["nextLink"].replace("api-version=2024-10-01", "api-version=2025-09-01")
    with session(emulator) as s:
        second = s.get(rewritten, headers=bearer(token), timeout=10)
    assert second.status_code == 200, second.text
    assert second.json()["value"][0]["id"] == everything[1]


def test_regenerate_key_takes_exactly_key1_or_key2(emulator: EmulatorHandle) -> None:
    """``RegenerateKeyParameters.keyName``: enum ``Key1``/``Key2`` (case-sensitive on the wire);
    the answer is ``ApiKeys``; only the named key changes."""
    token = mint_token(emulator)
    account = _account_id(emulator)
    before = _get(emulator, f"{account}/listKeys", method="POST", token=token).json()
    rejected: list[tuple[str, Any]] = [
        ("json", {"keyName": "key1"}),
        ("json", {"keyName": "KEY2"}),
        ("json", {"keyName": "Key3"}),
        ("json", {}),
        ("json", {"KeyName": "Key1"}),
        ("data", "not json"),
    ]
    for kind, body in rejected:
        extra: dict[str, Any] = {kind: body}
        if kind == "data":
            extra["headers"] = {**bearer(token), "Content-Type": "application/json"}
        with session(emulator) as s:
            r = s.post(
                f"{emulator.url}{account}/regenerateKey",
                params={"api-version": "2024-10-01"},
                headers=extra.pop("headers", bearer(token)),
                timeout=10,
                **extra,
            )
        assert r.status_code == 400, (body, r.text)
        assert_valid(TYPES_V2, "/definitions/ErrorResponse", r.json())
    assert _get(emulator, f"{account}/listKeys", method="POST", token=token).json() == before
    r = _get(
        emulator, f"{account}/regenerateKey", method="POST", token=token, json={"keyName": "Key2"}
    )
    assert r.status_code == 200, r.text
    assert_valid(CS, "/definitions/ApiKeys", r.json())
    assert r.json()["key1"] == before["key1"]
    assert r.json()["key2"] != before["key2"]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("{account}x", 404, "ResourceNotFound"),
        (
            "/subscriptions/{sub}/resourceGroups/no-such-rg/providers/Microsoft.CognitiveServices/"
            "accounts/x",
            404,
            "ResourceGroupNotFound",
        ),
        ("{account}/deployments/no-such-deployment", 404, "ResourceNotFound"),
    ],
)
def test_not_found_envelopes(
    shared_emulator: EmulatorHandle, path: str, status: int, code: str
) -> None:
    path = path.format(
        account=_account_id(shared_emulator), sub=shared_emulator.conn["subscription_id"]
    )
    _assert_arm_error(_get(shared_emulator, path), status, code)


def test_auth_failures_use_the_arm_envelope(shared_emulator: EmulatorHandle) -> None:
    account = _account_id(shared_emulator)
    with session(shared_emulator) as s:
        missing = s.get(
            shared_emulator.url + account, params={"api-version": "2024-10-01"}, timeout=10
        )
    _assert_arm_error(missing, 401, "AuthenticationFailed")
    assert missing.headers["www-authenticate"].startswith("Bearer ")
    denied = _get(
        shared_emulator,
        f"{account}/listKeys",
        method="POST",
        token=mint_token(shared_emulator, principal="ops-reader"),
    )
    _assert_arm_error(denied, 403, "AuthorizationFailed")
    assert (
        "Microsoft.CognitiveServices/accounts/listKeys/action" in denied.json()["error"]["message"]
    )


@pytest.mark.parametrize(
    "transform",
    [
        lambda i: i.replace("/resourceGroups/", "/resourcegroups/"),
        lambda i: i.replace(
            "/providers/Microsoft.CognitiveServices/", "/providers/microsoft.cognitiveservices/"
        ),
        lambda i: i.replace("rg-ai-prod", "RG-AI-PROD").replace(EUS, EUS.upper()),
        lambda i: i + "/",
    ],
    ids=["lowercase-resourcegroups", "lowercase-namespace", "uppercase-names", "trailing-slash"],
)
def test_resource_ids_are_case_insensitive(shared_emulator: EmulatorHandle, transform: Any) -> None:
    account = _account_id(shared_emulator)
    r = _get(shared_emulator, transform(account))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == account  # the canonical casing comes back


def test_uppercase_top_level_segment_is_still_arm(shared_emulator: EmulatorHandle) -> None:
    """ARM matches every segment case-insensitively, the first one too."""
    account = _account_id(shared_emulator)
    r = _get(shared_emulator, account.replace("/subscriptions/", "/SUBSCRIPTIONS/"))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", "/noSuchChild"), ("DELETE", ""), ("GET", "/listKeys")]
)
def test_router_level_errors_carry_arm_ids(
    shared_emulator: EmulatorHandle, method: str, suffix: str
) -> None:
    """An unknown child type (404) or an unsupported method (405) is still an ARM answer."""
    r = _get(shared_emulator, _account_id(shared_emulator) + suffix, method=method)
    assert r.status_code in (404, 405)
    assert "x-ms-request-id" in r.headers
    assert "x-ms-correlation-request-id" in r.headers


AUTHZ = "authorization/2022-04-01/authorization-RoleAssignmentsCalls.json"
ROLEDEFS = "authorization/2022-04-01/authorization-RoleDefinitionsCalls.json"


@pytest.mark.parametrize("flt", ["atScope()", "principalId eq '{oid}'", "assignedTo('{oid}')"])
def test_role_assignments_list_for_scope(shared_emulator: EmulatorHandle, flt: str) -> None:
    """RoleAssignments_ListForScope 2022-04-01 with each documented ``$filter`` form."""
    oid = shared_emulator.principal("keyops-rotator")["object_id"]
    r = _get(
        shared_emulator,
        _account_id(shared_emulator) + "/providers/Microsoft.Authorization/roleAssignments",
        "2022-04-01",
        params_extra={"$filter": flt.format(oid=oid)},
    )
    assert r.status_code == 200, r.text
    # Unset members come back as null (condition, createdBy...); Swagger has no null type and
    # the SDKs read null as absent, so compare that way (see without_nulls).
    assert_valid(AUTHZ, "/definitions/RoleAssignmentListResult", r.json(), nulls_as_absent=True)
    assert r.json()["value"]
    if "eq" in flt or "assignedTo" in flt:
        assert {a["properties"]["principalId"] for a in r.json()["value"]} == {oid}


def test_role_definitions_by_name(shared_emulator: EmulatorHandle) -> None:
    sub = shared_emulator.conn["subscription_id"]
    r = _get(
        shared_emulator,
        f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions",
        "2022-04-01",
        params_extra={"$filter": "roleName eq 'Reader'"},
    )
    assert r.status_code == 200, r.text
    assert_valid(ROLEDEFS, "/definitions/RoleDefinitionListResult", r.json())
    assert [d["properties"]["roleName"] for d in r.json()["value"]] == ["Reader"]
