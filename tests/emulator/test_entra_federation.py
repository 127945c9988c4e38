"""Workload identity federation: hosted CI issuers and the client-assertion grant.

The real WorkloadIdentityCredential (token file) and AzurePipelinesCredential (OIDC request
URL) exchange issuer tokens at the emulated Entra; refused assertions get Entra's codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError

from keyops.emulator.world import load_world, parse_world
from tests.emulator.test_entra import assert_entra_error, get, post_token, verified_claims
from tests.support.emulator import EmulatorHandle, start_emulator

EXCHANGE = "api://AzureADTokenExchange"
MAIN_BRANCH = "repo:contoso/ai-platform:ref:refs/heads/main"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def mint(h: EmulatorHandle, issuer: str = "github", **body: Any) -> str:
    """A test assertion from the admin API."""
    return str(h.admin("POST", f"issuers/{issuer}/token", body)["token"])


def assertion_form(
    h: EmulatorHandle, assertion: str, scope: str = "https://management.azure.com/.default"
) -> dict[str, str]:
    """The form WorkloadIdentityCredential posts."""
    return {
        "grant_type": "client_credentials",
        "client_id": h.principal("github-actions")["client_id"],
        "client_assertion": assertion,
        "client_assertion_type": JWT_BEARER,
        "scope": scope,
    }


def runner_headers(h: EmulatorHandle, issuer: str = "github") -> dict[str, str]:
    """The bearer a CI job holds for its token service."""
    return {"Authorization": f"Bearer {h.conn['issuers'][issuer]['request_token']}"}


def test_issuer_discovery_and_keys_are_its_own(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    url = h.conn["issuers"]["github"]["url"]
    doc = get(h, "/_issuer/github/.well-known/openid-configuration").json()
    assert doc["issuer"] == url
    jwks = requests.get(doc["jwks_uri"], verify=h.ca_bundle, timeout=10).json()
    pipelines = get(h, "/_issuer/azure-pipelines/.well-known/jwks").json()
    tenant_kid = h.server.emulator.signer.kid
    kids = {jwks["keys"][0]["kid"], pipelines["keys"][0]["kid"], tenant_kid}
    assert len(kids) == 3
    assert get(h, "/_issuer/gitlab/.well-known/jwks").status_code == 404


def test_github_runner_token_service(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    request_url = h.conn["issuers"]["github"]["request_url"]
    r = requests.get(
        request_url,
        params={"audience": EXCHANGE},
        headers=runner_headers(h),
        verify=h.ca_bundle,
        timeout=10,
    )
    assert r.status_code == 200, r.text
    token = r.json()["value"]
    jwks = get(h, "/_issuer/github/.well-known/jwks").json()
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience=EXCHANGE,
        issuer=h.conn["issuers"]["github"]["url"],
    )
    assert claims["sub"] == MAIN_BRANCH
    assert claims["exp"] - claims["iat"] == 300
    assert claims["repository"] == "contoso/ai-platform"
    # The toolkit appends "&audience=" to the request URL as given.
    r = requests.get(
        f"{request_url}&audience=api%3A%2F%2FAzureADTokenExchange&subject=repo:x/y",
        headers=runner_headers(h),
        verify=h.ca_bundle,
        timeout=10,
    )
    claims = jwt.decode(r.json()["value"], options={"verify_signature": False})
    assert (claims["aud"], claims["sub"]) == (EXCHANGE, "repo:x/y")


def test_runner_token_service_needs_its_request_token(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    url = h.conn["issuers"]["github"]["request_url"]
    r = requests.get(url, headers={"Authorization": "Bearer nope"}, verify=h.ca_bundle, timeout=10)
    assert r.status_code == 401
    r = requests.post(url, headers=runner_headers(h), verify=h.ca_bundle, timeout=10)
    assert r.status_code == 405


def test_workload_identity_credential_with_github_token_file(
    shared_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    from azure.identity import WorkloadIdentityCredential

    h = shared_emulator
    p = h.principal("github-actions")
    token_file = tmp_path / "token"
    token_file.write_text(mint(h))
    with WorkloadIdentityCredential(
        tenant_id=h.conn["tenant_id"],
        client_id=p["client_id"],
        token_file_path=str(token_file),
        authority=h.url,
        connection_verify=h.ca_bundle,
    ) as cred:
        token = cred.get_token("https://vault.azure.net/.default").token
    claims = verified_claims(h, token, "https://vault.azure.net")
    assert (claims["oid"], claims["azpacr"]) == (p["object_id"], "2")


def test_workload_identity_via_environment(
    shared_emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.identity import DefaultAzureCredential

    h = shared_emulator
    token_file = tmp_path / "token"
    token_file.write_text(mint(h))
    for name, value in {
        "AZURE_TENANT_ID": h.conn["tenant_id"],
        "AZURE_CLIENT_ID": h.principal("github-actions")["client_id"],
        "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
        "AZURE_AUTHORITY_HOST": h.url,
        "REQUESTS_CA_BUNDLE": h.ca_bundle,
    }.items():
        monkeypatch.setenv(name, value)
    with DefaultAzureCredential(disable_instance_discovery=True) as cred:
        token = cred.get_token("https://management.azure.com/.default").token
    assert (
        verified_claims(h, token, "https://management.azure.com/")["oid"]
        == (h.principal("github-actions")["object_id"])
    )


def test_azure_pipelines_credential(
    shared_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.identity import AzurePipelinesCredential

    h = shared_emulator
    issuer = h.conn["issuers"]["azure-pipelines"]
    monkeypatch.setenv("SYSTEM_OIDCREQUESTURI", issuer["request_url"])
    with AzurePipelinesCredential(
        tenant_id=h.conn["tenant_id"],
        client_id=h.principal("github-actions")["client_id"],
        service_connection_id="4b4a4a1e-3c41-4d3c-9d0e-6d9b4c1c2f10",
        system_access_token=issuer["request_token"],
        authority=h.url,
        connection_verify=h.ca_bundle,
    ) as cred:
        token = cred.get_token("https://cognitiveservices.azure.com/.default").token
    assert (
        verified_claims(h, token, "https://cognitiveservices.azure.com")["oid"]
        == (h.principal("github-actions")["object_id"])
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"subject": "repo:contoso/ai-platform:ref:refs/heads/feature"}, 700213),
        ({"subject": "REPO:contoso/ai-platform:ref:refs/heads/main"}, 700213),
        ({"audience": "api://SomethingElse"}, 700212),
        ({"expires_in": -600}, 700024),
        ({"not_before": 900}, 700024),
    ],
)
def test_refused_assertions(
    shared_emulator: EmulatorHandle, body: dict[str, Any], code: int
) -> None:
    h = shared_emulator
    r = post_token(h, assertion_form(h, mint(h, **body)))
    assert_entra_error(r, 401, "invalid_client", code)


def test_expired_assertion_refused_by_the_sdk(
    shared_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    from azure.identity import WorkloadIdentityCredential

    h = shared_emulator
    token_file = tmp_path / "token"
    token_file.write_text(mint(h, expires_in=-3600))
    with (
        WorkloadIdentityCredential(
            tenant_id=h.conn["tenant_id"],
            client_id=h.principal("github-actions")["client_id"],
            token_file_path=str(token_file),
            authority=h.url,
            connection_verify=h.ca_bundle,
        ) as cred,
        pytest.raises(ClientAuthenticationError, match="AADSTS700024"),
    ):
        cred.get_token("https://vault.azure.net/.default")


def test_assertion_expires_with_the_emulated_clock(emulator: EmulatorHandle) -> None:
    h = emulator
    assertion = mint(h)
    assert post_token(h, assertion_form(h, assertion)).status_code == 200
    h.admin("POST", "clock", {"advance": 300 + 301})
    assert_entra_error(post_token(h, assertion_form(h, assertion)), 401, "invalid_client", 700024)


def test_untrusted_issuer_and_tampered_assertions(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    github = h.conn["issuers"]["github"]["url"]
    # Another issuer's token: the app has no credential for it.
    r = post_token(h, assertion_form(h, mint(h, "github", claims={"iss": "https://elsewhere"})))
    assert_entra_error(r, 401, "invalid_client", 700211)
    # Signed by the pipelines key but claiming to be GitHub's: a key GitHub does not publish.
    forged = mint(h, "azure-pipelines", subject=MAIN_BRANCH, claims={"iss": github})
    assert_entra_error(post_token(h, assertion_form(h, forged)), 401, "invalid_client", 7000272)
    # GitHub's key id, but the payload changed after signing.
    header, _, signature = mint(h).split(".")
    other_payload = mint(h, subject="repo:evil/x:ref:refs/heads/main").split(".")[1]
    tampered = ".".join([header, other_payload, signature])
    assert_entra_error(post_token(h, assertion_form(h, tampered)), 401, "invalid_client", 700027)
    assert_entra_error(post_token(h, assertion_form(h, "not-a-jwt")), 400, "invalid_request", 50027)


def test_assertion_needs_its_type(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    form = assertion_form(h, mint(h))
    del form["client_assertion_type"]
    assert_entra_error(post_token(h, form), 400, "invalid_request", 900144)


def test_issuer_not_hosted_here_is_refused(tmp_path: Path, tls_dir: Path) -> None:
    """A federated credential trusting a real issuer URL cannot be satisfied (AADSTS70021)."""
    world = load_world()
    github_url = "https://token.actions.githubusercontent.com"
    data: dict[str, Any] = {
        "tenant_id": world.tenant_id,
        "subscriptions": [{"id": world.default_subscription}],
        "principals": [
            {
                "name": "github-actions",
                "client_id": "2f0c3f0e-0c4e-4a57-9a0b-1d4e5f6a7b8c",
                "object_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                "federated_credentials": [{"issuer": github_url, "subject": MAIN_BRANCH}],
            }
        ],
    }
    h = start_emulator(tmp_path / "external", tls_dir, world=parse_world(data))
    try:
        form = assertion_form(h, mint(h, claims={"iss": github_url}))
        body = assert_entra_error(post_token(h, form), 401, "invalid_client", 70021)
        assert f"Assertion Issuer: '{github_url}'" in body["error_description"]
    finally:
        h.stop()


def test_admin_mint_validates_its_body(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    url = f"{h.url}/_emulator/issuers/github/token"
    auth = {"Authorization": f"Bearer {h.server.emulator.admin_token}"}
    bodies: list[dict[str, Any]] = [{"expires_in": "soon"}, {"subject": 3}, {"claims": []}]
    for body in bodies:
        r = requests.post(url, json=body, headers=auth, verify=h.ca_bundle, timeout=10)
        assert r.status_code == 400, body
    assert requests.post(url, json={}, verify=h.ca_bundle, timeout=10).status_code == 401
    r = requests.post(
        f"{h.url}/_emulator/issuers/gitlab/token",
        json={},
        headers=auth,
        verify=h.ca_bundle,
        timeout=10,
    )
    assert r.status_code == 404


def test_issuer_key_and_secrets_survive_a_restart(tmp_path: Path, tls_dir: Path) -> None:
    h = start_emulator(tmp_path / "state", tls_dir)
    try:
        assertion = mint(h)  # makes the GitHub key on first use
    finally:
        h.stop()
    # Issuer URLs include the port; a restarted emulator keeps it (as `keyops emulator` does).
    h = start_emulator(tmp_path / "state", tls_dir, port=h.server.port)
    try:
        assert post_token(h, assertion_form(h, assertion)).status_code == 200
        with h.credential("keyops-rotator") as cred:
            assert cred.get_token("https://vault.azure.net/.default").token
    finally:
        h.stop()
