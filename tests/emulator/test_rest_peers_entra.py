"""Entra ID as a non-MSAL OAuth2/OIDC client sees it: RFC 6749, OIDC Discovery 1.0, RFC 7517.

Sources: RFC 6749 §2.3.1, §4.4, §5.1, §5.2; OpenID Connect Discovery 1.0 §3 and §4.3;
RFC 7517 §4; Microsoft identity platform "client credentials flow" page (v2 ``scope`` with
``/.default``; v1 ``resource``; error fields ``error_codes``, ``timestamp``, ``trace_id``,
``correlation_id``); ``az`` asks for ``https://management.core.windows.net//.default``.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest
import requests

from tests.emulator.test_rest_peers_common import bearer, session
from tests.support.emulator import EmulatorHandle

ARM_SCOPE = "https://management.azure.com/.default"

#: RFC 6749 §5.2's error codes.
OAUTH_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
}


def _token_url(handle: EmulatorHandle, v1: bool = False) -> str:
    tenant = handle.conn["tenant_id"]
    return f"{handle.url}/{tenant}/oauth2/{'token' if v1 else 'v2.0/token'}"


def _post_form(
    handle: EmulatorHandle, form: dict[str, str], v1: bool = False, **kwargs: Any
) -> requests.Response:
    with session(handle) as s:
        return s.post(_token_url(handle, v1), data=form, timeout=10, **kwargs)


def _client(handle: EmulatorHandle, principal: str = "keyops-rotator") -> dict[str, str]:
    p = handle.principal(principal)
    return {
        "grant_type": "client_credentials",
        "client_id": p["client_id"],
        "client_secret": p["client_secret"],
    }


def _discovery(handle: EmulatorHandle) -> dict[str, Any]:
    url = f"{handle.url}/{handle.conn['tenant_id']}/v2.0/.well-known/openid-configuration"
    with session(handle) as s:
        r = s.get(url, timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    doc: dict[str, Any] = r.json()
    return doc


def _assert_rfc6749_success(r: requests.Response) -> dict[str, Any]:
    """RFC 6749 §5.1: JSON body, ``access_token`` + ``token_type``, no caching."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert "no-store" in r.headers.get("cache-control", "")
    assert r.headers.get("pragma") == "no-cache"
    body: dict[str, Any] = r.json()
    assert isinstance(body["access_token"], str) and body["access_token"]
    assert body["token_type"].lower() == "bearer"
    return body


def _assert_rfc6749_error(r: requests.Response, error: str, aadsts: int) -> None:
    """RFC 6749 §5.2 (400, or 401 for a failed client authentication) plus Entra's fields."""
    assert r.status_code in (400, 401), r.text
    body = r.json()
    assert body["error"] in OAUTH_ERRORS
    assert body["error"] == error
    assert isinstance(body["error_description"], str)
    assert body["error_description"].startswith(f"AADSTS{aadsts}:")
    assert body["error_codes"] == [aadsts]
    for field in ("timestamp", "trace_id", "correlation_id"):
        assert isinstance(body[field], str) and body[field]


def test_client_credentials_with_form_body_and_scope(shared_emulator: EmulatorHandle) -> None:
    body = _assert_rfc6749_success(
        _post_form(shared_emulator, {**_client(shared_emulator), "scope": ARM_SCOPE})
    )
    # v2 endpoint: expires_in is a JSON number (RFC 6749 §5.1 "RECOMMENDED").
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert "refresh_token" not in body  # RFC 6749 §4.4.3: SHOULD NOT be included


def test_client_secret_basic_is_accepted(shared_emulator: EmulatorHandle) -> None:
    """RFC 6749 §2.3.1: the server MUST support HTTP Basic for clients that have a password."""
    form = _client(shared_emulator)
    auth = (form.pop("client_id"), form.pop("client_secret"))
    _assert_rfc6749_success(_post_form(shared_emulator, {**form, "scope": ARM_SCOPE}, auth=auth))


def test_v1_endpoint_takes_resource_and_answers_string_times(
    shared_emulator: EmulatorHandle,
) -> None:
    """The v1 endpoint: ``resource`` instead of ``scope``; times are strings of digits."""
    r = _post_form(
        shared_emulator,
        {**_client(shared_emulator), "resource": "https://vault.azure.net"},
        v1=True,
    )
    body = _assert_rfc6749_success(r)
    assert body["resource"] == "https://vault.azure.net"
    for field in ("expires_in", "expires_on", "not_before"):
        assert isinstance(body[field], str) and body[field].isdigit(), field
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://vault.azure.net"
    assert int(body["expires_on"]) == claims["exp"]


def test_token_verifies_against_the_discovered_jwks(shared_emulator: EmulatorHandle) -> None:
    """A resource server: discovery -> jwks_uri -> verify RS256 signature, ``iss`` and ``aud``."""
    doc = _discovery(shared_emulator)
    body = _post_form(shared_emulator, {**_client(shared_emulator), "scope": ARM_SCOPE}).json()
    token = body["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] in doc["id_token_signing_alg_values_supported"]
    with session(shared_emulator) as s:
        jwks = s.get(doc["jwks_uri"], timeout=10).json()
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience="https://management.azure.com/",
        issuer=doc["issuer"],
    )
    assert claims["tid"] == shared_emulator.conn["tenant_id"]
    assert claims["oid"] == shared_emulator.principal("keyops-rotator")["object_id"]
    assert claims["nbf"] <= claims["iat"] < claims["exp"]
    assert claims["exp"] - claims["iat"] == pytest.approx(body["expires_in"], abs=1)


def test_az_cli_scope_with_double_slash_reaches_arm(shared_emulator: EmulatorHandle) -> None:
    """``az`` asks for ``https://management.core.windows.net//.default``; ARM accepts the token
    (audience ``https://management.core.windows.net/``), and ``az login`` then lists
    subscriptions and tenants."""
    form = {**_client(shared_emulator), "scope": "https://management.core.windows.net//.default"}
    token = _assert_rfc6749_success(_post_form(shared_emulator, form))["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == "https://management.core.windows.net/"
    with session(shared_emulator) as s:
        subs = s.get(
            f"{shared_emulator.url}/subscriptions",
            params={"api-version": "2022-12-01"},
            headers=bearer(token),
            timeout=10,
        )
        tenants = s.get(
            f"{shared_emulator.url}/tenants",
            params={"api-version": "2022-12-01"},
            headers=bearer(token),
            timeout=10,
        )
    assert subs.status_code == 200, subs.text
    assert [v["subscriptionId"] for v in subs.json()["value"]] == [
        shared_emulator.conn["subscription_id"]
    ]
    assert tenants.status_code == 200
    assert tenants.json()["value"][0]["tenantId"] == shared_emulator.conn["tenant_id"]


@pytest.mark.parametrize(
    ("change", "error", "aadsts"),
    [
        ({"client_secret": "wrong"}, "invalid_client", 7000215),
        ({"grant_type": "password"}, "unsupported_grant_type", 70003),
        ({"scope": None}, "invalid_request", 900144),
        ({"scope": "https://management.azure.com/user_impersonation"}, "invalid_scope", 1002012),
        ({"client_id": "00000000-0000-0000-0000-000000000001"}, "unauthorized_client", 700016),
    ],
)
def test_token_errors_follow_rfc6749(
    shared_emulator: EmulatorHandle, change: dict[str, str | None], error: str, aadsts: int
) -> None:
    form = {**_client(shared_emulator), "scope": ARM_SCOPE, **change}
    _assert_rfc6749_error(
        _post_form(shared_emulator, {k: v for k, v in form.items() if v is not None}),
        error,
        aadsts,
    )


def test_discovery_document_has_the_oidc_required_fields(shared_emulator: EmulatorHandle) -> None:
    """OIDC Discovery 1.0 §3 REQUIRED members, and §4.3: ``issuer`` is the URL the document was
    fetched under, minus ``/.well-known/openid-configuration``."""
    doc = _discovery(shared_emulator)
    for field in (
        "issuer",
        "authorization_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
        "token_endpoint",
    ):
        assert field in doc, field
    assert doc["issuer"] == f"{shared_emulator.url}/{shared_emulator.conn['tenant_id']}/v2.0"
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    assert doc["token_endpoint"] == _token_url(shared_emulator)
    assert "client_secret_post" in doc["token_endpoint_auth_methods_supported"]
    assert "client_secret_basic" in doc["token_endpoint_auth_methods_supported"]


def test_jwks_keys_have_rfc7517_members(shared_emulator: EmulatorHandle) -> None:
    doc = _discovery(shared_emulator)
    with session(shared_emulator) as s:
        r = s.get(doc["jwks_uri"], timeout=10)
    assert r.status_code == 200
    keys = r.json()["keys"]
    assert keys
    for key in keys:
        assert key["kty"] == "RSA" and key["use"] == "sig"
        assert key["kid"] and key["n"] and key["e"]
        jwt.PyJWK(key)  # parses as an RSA public key


def test_unknown_tenant_is_aadsts90002(shared_emulator: EmulatorHandle) -> None:
    with session(shared_emulator) as s:
        r = s.post(
            f"{shared_emulator.url}/no-such-tenant/oauth2/v2.0/token",
            data={**_client(shared_emulator), "scope": ARM_SCOPE},
            timeout=10,
        )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_tenant"
    assert r.json()["error_codes"] == [90002]


def test_every_token_answer_carries_x_ms_request_id(shared_emulator: EmulatorHandle) -> None:
    """Entra puts ``x-ms-request-id`` (the trace id) on every answer, not only on errors;
    support tooling and MSAL's logs read it."""
    ok = _post_form(shared_emulator, {**_client(shared_emulator), "scope": ARM_SCOPE})
    bad = _post_form(
        shared_emulator, {**_client(shared_emulator), "scope": ARM_SCOPE, "client_secret": "wrong"}
    )
    assert "x-ms-request-id" in bad.headers
    assert "x-ms-request-id" in ok.headers


def test_get_on_the_token_endpoint_is_aadsts900561(shared_emulator: EmulatorHandle) -> None:
    """Entra answers a GET on the token endpoint with a JSON OAuth error, AADSTS900561 ("The
    endpoint only accepts POST, OPTIONS requests. Received a GET request."), status 400 as
    reported in public threads (e.g. NunoFilipeMota/PublicScripts#5)."""
    with session(shared_emulator) as s:
        r = s.get(_token_url(shared_emulator), timeout=10)
    assert r.status_code == 400
    assert r.json()["error_codes"] == [900561]
