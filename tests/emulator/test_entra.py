"""Emulated Entra ID: discovery, keys, the client-secret grant, and Entra's error shapes.

Driven by the real azure-identity / MSAL over HTTPS; raw ``requests`` calls check the wire.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError

from keyops.emulator.core.store import read_state
from tests.support.emulator import EmulatorHandle

AUDIENCES = {
    "https://management.azure.com/.default": "https://management.azure.com/",
    "https://vault.azure.net/.default": "https://vault.azure.net",
    "https://cognitiveservices.azure.com/.default": "https://cognitiveservices.azure.com",
    "https://metrics.monitor.azure.com/.default": "https://metrics.monitor.azure.com",
}
ENTRA_ERROR_FIELDS = {
    "error",
    "error_description",
    "error_codes",
    "timestamp",
    "trace_id",
    "correlation_id",
}


def get(h: EmulatorHandle, path: str) -> requests.Response:
    """GET a path of the emulator."""
    return requests.get(f"{h.url}{path}", verify=h.ca_bundle, timeout=10)


def post_token(
    h: EmulatorHandle,
    form: dict[str, str],
    *,
    tenant: str | None = None,
    v1: bool = False,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """POST a form to the tenant's token endpoint."""
    path = "oauth2/token" if v1 else "oauth2/v2.0/token"
    return requests.post(
        f"{h.url}/{tenant or h.conn['tenant_id']}/{path}",
        data=form,
        headers=headers,
        verify=h.ca_bundle,
        timeout=10,
    )


def secret_form(
    h: EmulatorHandle,
    principal: str = "keyops-rotator",
    scope: str = "https://management.azure.com/.default",
) -> dict[str, str]:
    """The form fields MSAL sends for a client-secret grant."""
    p = h.principal(principal)
    return {
        "grant_type": "client_credentials",
        "client_id": p["client_id"],
        "client_secret": p["client_secret"],
        "scope": scope,
        "client_info": "1",
    }


def assert_entra_error(r: requests.Response, status: int, error: str, code: int) -> dict[str, Any]:
    """The answer is Entra's error envelope with this OAuth error and AADSTS code."""
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert set(body) >= ENTRA_ERROR_FIELDS
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert f"Trace ID: {body['trace_id']}" in body["error_description"]
    return body


def verified_claims(h: EmulatorHandle, token: str, audience: str) -> dict[str, Any]:
    """Validate a token as a resource server would: JWKS from discovery, aud, iss."""
    tenant = h.conn["tenant_id"]
    doc = get(h, f"/{tenant}/v2.0/.well-known/openid-configuration").json()
    jwks = requests.get(doc["jwks_uri"], verify=h.ca_bundle, timeout=10).json()
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["RS256"], audience=audience, issuer=doc["issuer"]
    )
    return claims


def test_v2_discovery_document_has_what_msal_reads(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    tenant = h.conn["tenant_id"]
    r = get(h, f"/{tenant}/v2.0/.well-known/openid-configuration")
    assert r.status_code == 200
    doc = r.json()
    assert doc["token_endpoint"] == f"{h.url}/{tenant}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"] == f"{h.url}/{tenant}/oauth2/v2.0/authorize"
    assert doc["issuer"] == f"{h.url}/{tenant}/v2.0"
    assert doc["jwks_uri"] == f"{h.url}/{tenant}/discovery/v2.0/keys"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "client_secret_basic" in doc["token_endpoint_auth_methods_supported"]


def test_v1_and_multi_tenant_discovery(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    tenant = h.conn["tenant_id"]
    v1 = get(h, f"/{tenant.upper()}/.well-known/openid-configuration").json()
    assert v1["token_endpoint"] == f"{h.url}/{tenant}/oauth2/token"
    common = get(h, "/common/v2.0/.well-known/openid-configuration").json()
    assert common["issuer"] == f"{h.url}/{{tenantid}}/v2.0"
    assert common["token_endpoint"] == f"{h.url}/common/oauth2/v2.0/token"
    assert "tenant_region_scope" not in common
    assert get(h, "/organizations/v2.0/.well-known/openid-configuration").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v2.0/.well-known/openid-configuration",
        "/.well-known/openid-configuration",
        "/discovery/v2.0/keys",
    ],
)
def test_unknown_tenant_is_aadsts90002(shared_emulator: EmulatorHandle, path: str) -> None:
    r = get(shared_emulator, f"/00000000-1111-2222-3333-444444444444{path}")
    body = assert_entra_error(r, 400, "invalid_tenant", 90002)
    assert "Tenant '00000000-1111-2222-3333-444444444444' not found" in body["error_description"]


def test_jwks_publishes_the_tenant_signing_key(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    tenant = h.conn["tenant_id"]
    v2 = get(h, f"/{tenant}/discovery/v2.0/keys").json()
    v1 = get(h, "/common/discovery/keys").json()
    expected = h.server.emulator.signer.kid
    assert [k["kid"] for k in v2["keys"]] == [expected] == [k["kid"] for k in v1["keys"]]
    assert v2["keys"][0]["issuer"] == f"{h.url}/{tenant}/v2.0"
    assert {"kty", "use", "n", "e"} <= set(v2["keys"][0])


@pytest.mark.parametrize(("scope", "audience"), list(AUDIENCES.items()))
def test_client_secret_credential_gets_tokens_azure_would(
    shared_emulator: EmulatorHandle, scope: str, audience: str
) -> None:
    h = shared_emulator
    p = h.principal("keyops-rotator")
    with h.credential("keyops-rotator") as cred:
        token = cred.get_token(scope).token
    claims = verified_claims(h, token, audience)
    assert claims["aud"] == audience
    assert (claims["oid"], claims["appid"], claims["azp"]) == (
        p["object_id"],
        p["client_id"],
        p["client_id"],
    )
    assert claims["tid"] == h.conn["tenant_id"]
    assert claims["azpacr"] == "1"
    assert claims["exp"] - claims["iat"] == 3599
    # The surfaces' own check accepts it too.
    caller = h.server.emulator.tokens.verify(token, [audience])
    assert caller.oid == p["object_id"]


def test_wrong_secret_is_refused(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    p = h.principal("keyops-rotator")
    from azure.identity import ClientSecretCredential

    with (
        ClientSecretCredential(
            h.conn["tenant_id"],
            p["client_id"],
            "not-the-secret",
            authority=h.url,
            disable_instance_discovery=True,
            connection_verify=h.ca_bundle,
        ) as cred,
        pytest.raises(ClientAuthenticationError, match="AADSTS7000215"),
    ):
        cred.get_token("https://management.azure.com/.default")
    form = dict(secret_form(h), client_secret="not-the-secret")
    assert_entra_error(post_token(h, form), 401, "invalid_client", 7000215)


def test_unknown_client_is_refused(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    from azure.identity import ClientSecretCredential

    unknown = "11111111-2222-3333-4444-555555555555"
    with (
        ClientSecretCredential(
            h.conn["tenant_id"],
            unknown,
            "whatever",
            authority=h.url,
            disable_instance_discovery=True,
            connection_verify=h.ca_bundle,
        ) as cred,
        pytest.raises(ClientAuthenticationError, match="AADSTS700016"),
    ):
        cred.get_token("https://vault.azure.net/.default")
    r = post_token(h, dict(secret_form(h), client_id=unknown))
    body = assert_entra_error(r, 400, "unauthorized_client", 700016)
    assert f"'{unknown}' was not found in the directory" in body["error_description"]


@pytest.mark.parametrize(
    ("scope", "error", "code"),
    [
        ("https://management.azure.com/user_impersonation", "invalid_scope", 1002012),
        ("https://example.invalid/.default", "invalid_resource", 500011),
        (
            "https://vault.azure.net/.default https://management.azure.com/.default",
            "invalid_scope",
            70011,
        ),
        ("", "invalid_request", 900144),
    ],
)
def test_bad_scopes_get_entra_errors(
    shared_emulator: EmulatorHandle, scope: str, error: str, code: int
) -> None:
    assert_entra_error(
        post_token(shared_emulator, secret_form(shared_emulator, scope=scope)), 400, error, code
    )


@pytest.mark.parametrize(
    ("change", "status", "error", "code"),
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"grant_type": ""}, 400, "invalid_request", 900144),
        ({"client_secret": None}, 401, "invalid_client", 7000218),
        ({"client_id": "keyops-managed-identity"}, 400, "unauthorized_client", 700016),
    ],
)
def test_malformed_grants(
    shared_emulator: EmulatorHandle,
    change: dict[str, str | None],
    status: int,
    error: str,
    code: int,
) -> None:
    h = shared_emulator
    form = secret_form(h)
    for key, value in change.items():
        if value is None:
            del form[key]
        elif value == "keyops-managed-identity":
            form[key] = h.principal(value)["client_id"]
        else:
            form[key] = value
    assert_entra_error(post_token(h, form), status, error, code)


def test_client_credentials_need_a_tenant(shared_emulator: EmulatorHandle) -> None:
    r = post_token(shared_emulator, secret_form(shared_emulator), tenant="common")
    assert_entra_error(r, 400, "invalid_request", 9001023)


def test_error_echoes_client_request_id(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    rid = "0d6a1c5e-6a35-4a3e-8a47-5d7f3a0b9c11"
    r = post_token(
        h, dict(secret_form(h), client_secret="nope"), headers={"client-request-id": rid}
    )
    assert r.json()["correlation_id"] == rid
    assert r.headers["client-request-id"] == rid


def test_v1_endpoint_takes_resource_and_answers_strings(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    form = secret_form(h)
    del form["scope"]
    form["resource"] = "https://vault.azure.net"
    body = post_token(h, form, v1=True).json()
    assert body["resource"] == "https://vault.azure.net"
    assert body["expires_in"] == "3599"
    assert int(body["expires_on"]) - int(body["not_before"]) == 3599
    assert verified_claims(h, body["access_token"], "https://vault.azure.net")["aud"] == (
        "https://vault.azure.net"
    )
    del form["resource"]
    assert_entra_error(post_token(h, form, v1=True), 400, "invalid_request", 900144)


def test_v2_success_body_and_basic_auth(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    form = secret_form(h, scope="https://cognitiveservices.azure.com/.default")
    basic = base64.b64encode(f"{form.pop('client_id')}:{form.pop('client_secret')}".encode())
    r = post_token(h, form, headers={"Authorization": f"Basic {basic.decode()}"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert (body["token_type"], body["expires_in"], body["ext_expires_in"]) == (
        "Bearer",
        3599,
        3599,
    )
    assert r.headers["cache-control"] == "no-store, no-cache"


def test_cae_claims_challenge_is_accepted(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    claims = json.dumps({"access_token": {"xms_cc": {"values": ["CP1"]}}})
    with h.credential("app-consumer") as cred:
        token = cred.get_token(
            "https://vault.azure.net/.default", claims=claims, enable_cae=True
        ).token
    assert verified_claims(h, token, "https://vault.azure.net")["xms_cc"] == ["CP1"]
    r = post_token(h, dict(secret_form(h), claims="not json"))
    assert r.status_code == 200


def test_secrets_are_stored_hashed_and_never_logged(emulator: EmulatorHandle) -> None:
    h = emulator
    with h.credential("keyops-rotator") as cred:
        cred.get_token("https://management.azure.com/.default")
    post_token(h, dict(secret_form(h), client_secret="wrong-guess-123"))
    state = json.dumps(read_state(h.server.state_dir / "state.db"))
    log = json.dumps(h.log_since(0))
    for p in h.conn["principals"]:
        if p["client_secret"]:
            assert p["client_secret"] not in state
            assert p["client_secret"] not in log
    assert "wrong-guess-123" not in log
    entra = read_state(h.server.state_dir / "state.db")["entra"]["principals"]
    rotator = entra[h.principal("keyops-rotator")["client_id"]]
    assert rotator["secret_hash"].startswith("pbkdf2_sha256$")
    token_entries = [e for e in h.log_since(0) if e["operation"] == "Token_Acquire"]
    assert token_entries[0]["principal"] == h.principal("keyops-rotator")["object_id"]
    assert token_entries[0]["target"] == "https://management.azure.com/"


def test_connection_document_carries_issuer_and_msi_secrets(emulator: EmulatorHandle) -> None:
    conn = emulator.conn
    meta = emulator.server.emulator.store.section("meta")
    assert conn["issuers"]["github"]["request_token"] == meta["issuer_request_token"] != ""
    assert conn["managed_identity"]["header"] == meta["msi_header"] != ""


def test_environment_and_default_credentials(
    shared_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.identity import DefaultAzureCredential, EnvironmentCredential

    h = shared_emulator
    p = h.principal("ops-reader")
    for name, value in {
        "AZURE_TENANT_ID": h.conn["tenant_id"],
        "AZURE_CLIENT_ID": p["client_id"],
        "AZURE_CLIENT_SECRET": p["client_secret"],
        "AZURE_AUTHORITY_HOST": h.url,
        "REQUESTS_CA_BUNDLE": h.ca_bundle,
    }.items():
        monkeypatch.setenv(name, value)
    for cred in (
        EnvironmentCredential(disable_instance_discovery=True),
        DefaultAzureCredential(disable_instance_discovery=True),
    ):
        with cred:
            token = cred.get_token("https://management.azure.com/.default").token
        assert verified_claims(h, token, "https://management.azure.com/")["oid"] == (p["object_id"])


def test_answers_carry_entra_trace_headers(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    rid = "5b0f0e1c-1d0e-4d8a-9c55-0b9a1c2d3e4f"
    ok = post_token(h, secret_form(h), headers={"client-request-id": rid})
    assert ok.status_code == 200
    assert ok.headers["client-request-id"] == rid
    assert ok.headers["x-ms-request-id"] and ok.headers["x-ms-ests-server"]
    assert ok.headers["Cache-Control"] == "no-store, no-cache"
    bad = post_token(h, dict(secret_form(h), client_secret="nope"))
    assert bad.headers["x-ms-request-id"] == bad.json()["trace_id"]
    assert bad.headers["x-ms-ests-server"] == ok.headers["x-ms-ests-server"]
    doc = get(h, f"/{h.conn['tenant_id']}/v2.0/.well-known/openid-configuration")
    assert doc.headers["x-ms-request-id"] != ok.headers["x-ms-request-id"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("path", ["oauth2/v2.0/token", "oauth2/token"])
def test_token_endpoint_takes_post_only(
    shared_emulator: EmulatorHandle, method: str, path: str
) -> None:
    """Entra answers other methods with 400 AADSTS900561, a JSON OAuth error (not a 405)."""
    h = shared_emulator
    r = requests.request(
        method, f"{h.url}/{h.conn['tenant_id']}/{path}", verify=h.ca_bundle, timeout=10
    )
    body = assert_entra_error(r, 400, "invalid_request", 900561)
    assert (
        f"only accepts POST, OPTIONS requests. Received a {method} request."
        in (body["error_description"])
    )
