"""ARM wire details checked with raw HTTP: errors, headers, api-versions, admin routes."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from keyops.emulator import apiversions
from tests.emulator.arm_support import arm_call, arm_token
from tests.support.emulator import EmulatorHandle

RG = "rg-ai-prod"
EUS = "contoso-openai-eus"
_token = arm_token
_call = arm_call


def _account_path(handle: EmulatorHandle, name: str = EUS) -> str:
    return str(handle.account(name)["id"])


@pytest.fixture(scope="module")
def token(shared_emulator: EmulatorHandle) -> str:
    return _token(shared_emulator)


def test_tracking_headers(shared_emulator: EmulatorHandle, token: str) -> None:
    r = _call(shared_emulator, "GET", _account_path(shared_emulator), token=token)
    assert r.status_code == 200
    assert r.headers["x-ms-request-id"] and r.headers["x-ms-correlation-request-id"]
    assert 0 < int(r.headers["x-ms-ratelimit-remaining-subscription-reads"]) < 12000
    r = _call(shared_emulator, "POST", _account_path(shared_emulator) + "/listKeys", token=token)
    assert int(r.headers["x-ms-ratelimit-remaining-subscription-writes"]) < 1200
    r = _call(
        shared_emulator, "GET", _account_path(shared_emulator) + "/deployments/x", token=token
    )
    assert r.status_code == 404 and r.headers["x-ms-request-id"]


def test_correlation_id_is_echoed(shared_emulator: EmulatorHandle, token: str) -> None:
    r = requests.get(
        f"{shared_emulator.url}/subscriptions",
        params={"api-version": "2022-12-01"},
        headers={"Authorization": f"Bearer {token}", "x-ms-correlation-request-id": "abc-123"},
        verify=shared_emulator.ca_bundle,
        timeout=10,
    )
    assert r.headers["x-ms-correlation-request-id"] == "abc-123"
    assert "x-ms-ratelimit-remaining-tenant-reads" in r.headers


def test_subscriptions_and_tenants(shared_emulator: EmulatorHandle, token: str) -> None:
    sub = shared_emulator.conn["subscription_id"]
    subs = _call(shared_emulator, "GET", "/subscriptions", version="2022-12-01", token=token).json()
    assert [s["subscriptionId"] for s in subs["value"]] == [sub]
    assert subs["value"][0]["state"] == "Enabled"
    one = _call(shared_emulator, "GET", f"/subscriptions/{sub}", version="2022-12-01", token=token)
    assert one.json()["tenantId"] == shared_emulator.conn["tenant_id"]
    tenants = _call(shared_emulator, "GET", "/tenants", version="2022-12-01", token=token).json()
    assert tenants["value"][0]["tenantId"] == shared_emulator.conn["tenant_id"]
    bad = _call(shared_emulator, "GET", "/subscriptions", version="2099-01-01", token=token)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "InvalidApiVersionParameter"
    assert bad.json()["error"]["message"].startswith(
        "The api-version '2099-01-01' is invalid. The supported versions are '2024-11-01,"
    )


@pytest.mark.parametrize(
    "version",
    [
        "2025-09-01",
        "2024-10-01",
        "2023-05-01",
        "2017-04-18",
        "2025-10-01-preview",
        "2016-02-01-preview",
    ],
)
def test_published_api_versions_are_accepted(
    shared_emulator: EmulatorHandle, token: str, version: str
) -> None:
    r = _call(shared_emulator, "GET", _account_path(shared_emulator), version=version, token=token)
    assert r.status_code == 200


def test_unknown_api_version(shared_emulator: EmulatorHandle, token: str) -> None:
    r = _call(
        shared_emulator, "GET", _account_path(shared_emulator), version="2024-01-01", token=token
    )
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "NoRegisteredProviderFound"
    assert err["message"].startswith(
        "No registered resource provider found for location 'eastus' and API version "
        "'2024-01-01' for type 'accounts'. The supported api-versions are '"
        + ", ".join(apiversions.ACCOUNTS)
        + "'. The supported locations are '"
    )
    old = _call(
        shared_emulator,
        "GET",
        _account_path(shared_emulator) + "/deployments",
        version="2017-04-18",
        token=token,
    )
    assert old.status_code == 400 and "'accounts/deployments'" in old.json()["error"]["message"]
    missing = _call(
        shared_emulator, "GET", _account_path(shared_emulator), version=None, token=token
    )
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"


@pytest.mark.parametrize(
    "body", [{"keyName": "key1"}, {"keyName": "KEY2"}, {"keyName": "Key3"}, {}, {"keyName": 1}]
)
def test_regenerate_rejects_bad_key_names(
    shared_emulator: EmulatorHandle, token: str, body: dict[str, Any]
) -> None:
    path = _account_path(shared_emulator) + "/regenerateKey"
    r = _call(shared_emulator, "POST", path, token=token, body=body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "BadRequest"
    assert err["message"].endswith("is invalid. Valid values are 'Key1' and 'Key2'.")
    if body.get("keyName") == "key1":
        assert err["message"] == (
            "The key name 'key1' is invalid. Valid values are 'Key1' and 'Key2'."
        )


def test_missing_and_malformed_authorization(shared_emulator: EmulatorHandle) -> None:
    path = _account_path(shared_emulator)
    r = _call(shared_emulator, "GET", path)
    assert r.status_code == 401
    assert r.json() == {
        "error": {
            "code": "AuthenticationFailed",
            "message": "Authentication failed. The 'Authorization' header is missing.",
        }
    }
    assert r.headers["WWW-Authenticate"].startswith('Bearer authorization_uri="')
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    r = _call(shared_emulator, "GET", path, auth="Basic abc")
    assert r.json()["error"]["code"] == "AuthenticationFailedInvalidHeader"
    r = _call(shared_emulator, "GET", path, auth="Bearer not-a-jwt")
    assert r.status_code == 401
    assert r.json()["error"] == {
        "code": "InvalidAuthenticationToken",
        "message": "The access token is invalid.",
    }


def test_token_problems(shared_emulator: EmulatorHandle) -> None:
    emu = shared_emulator.server.emulator
    p = shared_emulator.principal("keyops-rotator")
    path = _account_path(shared_emulator)
    vault, _ = emu.tokens.issue(
        audience="https://vault.azure.net", oid=p["object_id"], appid=p["client_id"]
    )
    r = _call(shared_emulator, "GET", path, token=vault)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"
    assert "'https://vault.azure.net'" in r.json()["error"]["message"]
    old, _ = emu.tokens.issue(
        audience="https://management.azure.com/",
        oid=p["object_id"],
        appid=p["client_id"],
        lifetime=-3600,
    )
    r = _call(shared_emulator, "GET", path, token=old)
    assert r.json()["error"]["code"] == "ExpiredAuthenticationToken"
    assert "is earlier than current UTC time" in r.json()["error"]["message"]
    legacy_aud, _ = emu.tokens.issue(
        audience="https://management.core.windows.net/", oid=p["object_id"], appid=p["client_id"]
    )
    assert _call(shared_emulator, "GET", path, token=legacy_aud).status_code == 200


def test_unknown_path_and_method(shared_emulator: EmulatorHandle, token: str) -> None:
    r = _call(shared_emulator, "DELETE", _account_path(shared_emulator), token=token)
    assert r.status_code == 405
    r = _call(shared_emulator, "GET", _account_path(shared_emulator) + "/nonsense/x", token=token)
    assert r.status_code == 404


def test_admin_key_metadata_and_backdating(emulator: EmulatorHandle) -> None:
    before = emulator.admin("GET", f"accounts/{EUS}/keys")
    assert set(before["keys"]) == {"Key1", "Key2"}
    assert before["keys"]["Key1"]["fingerprint"].startswith("sha256:")
    assert "value" not in before["keys"]["Key1"]
    after = emulator.admin("POST", f"accounts/{EUS}/keys", {"slot": "Key2", "created": "-90d"})
    assert after["keys"]["Key2"]["created"] < before["keys"]["Key2"]["created"]
    assert after["keys"]["Key1"] == before["keys"]["Key1"]
    r = requests.post(
        f"{emulator.url}/_emulator/accounts/{EUS}/keys",
        json={"slot": "key2"},
        headers={"Authorization": f"Bearer {emulator.server.emulator.admin_token}"},
        verify=emulator.ca_bundle,
        timeout=10,
    )
    assert r.status_code == 400


def test_admin_added_accounts_work_end_to_end(emulator: EmulatorHandle) -> None:
    added = emulator.admin(
        "POST",
        "accounts",
        {
            "name": "late",
            "resource_group": RG,
            "key_format": "legacy",
            "disable_local_auth": False,
            "tags": {"env": "test"},
        },
    )
    assert added["accounts"][0]["endpoint"].endswith("/regional/eastus/")
    token = _token(emulator)
    r = _call(emulator, "POST", added["accounts"][0]["id"] + "/listKeys", token=token)
    assert r.status_code == 200 and len(r.json()["key1"]) == 32
    dup = requests.post(
        f"{emulator.url}/_emulator/accounts",
        json={"name": "late", "resource_group": RG},
        headers={"Authorization": f"Bearer {emulator.server.emulator.admin_token}"},
        verify=emulator.ca_bundle,
        timeout=10,
    )
    assert dup.status_code == 409


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("/Tenants", "2022-12-01"),
        ("/SUBSCRIPTIONS/{sub}", "2022-12-01"),
        ("/Providers/Microsoft.Authorization/roleDefinitions", "2022-04-01"),
    ],
)
def test_top_level_segment_in_any_case(
    shared_emulator: EmulatorHandle, token: str, path: str, version: str
) -> None:
    sub = shared_emulator.conn["subscription_id"]
    r = _call(shared_emulator, "GET", path.format(sub=sub), version=version, token=token)
    assert r.status_code == 200, r.text


def test_router_errors_carry_the_tracking_headers(
    shared_emulator: EmulatorHandle, token: str
) -> None:
    """404 InvalidResourceType and 405 MethodNotAllowed come from the dispatcher itself."""
    account = _account_path(shared_emulator)
    wrong_method = _call(shared_emulator, "DELETE", account, token=token)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "MethodNotAllowed"
    # a DELETE draws on ARM's deletes bucket, not the writes one
    assert int(wrong_method.headers["x-ms-ratelimit-remaining-subscription-deletes"]) < 200
    assert "x-ms-ratelimit-remaining-subscription-global-deletes" in wrong_method.headers
    assert "x-ms-ratelimit-remaining-subscription-writes" not in wrong_method.headers
    assert wrong_method.headers["Cache-Control"] == "no-cache"
    unknown = requests.get(
        f"{shared_emulator.url}{account}/noSuchChild",
        params={"api-version": "2024-10-01"},
        headers={"Authorization": f"Bearer {token}", "x-ms-correlation-request-id": "abc-404"},
        verify=shared_emulator.ca_bundle,
        timeout=10,
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "InvalidResourceType"
    assert unknown.headers["x-ms-correlation-request-id"] == "abc-404"
    assert unknown.headers["x-ms-request-id"]
