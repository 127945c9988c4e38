"""The App Service style managed identity endpoint, through the real ManagedIdentityCredential.

azure-identity 1.27 reaches it through MSAL's managed identity client: ``GET IDENTITY_ENDPOINT
?api-version=2019-08-01&resource=...`` with ``X-IDENTITY-HEADER``; the answer needs
``expires_on``. Over HTTPS, trust comes from ``REQUESTS_CA_BUNDLE``.
"""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError

from tests.emulator.test_entra import verified_claims
from tests.support.emulator import EmulatorHandle

MI = "keyops-managed-identity"


def msi_get(
    h: EmulatorHandle, params: dict[str, str], header: str | None = None
) -> requests.Response:
    """Call the identity endpoint as App Service code would."""
    mi = h.conn["managed_identity"]
    query = {"api-version": "2019-08-01", **params}
    return requests.get(
        mi["endpoint"],
        params=query,
        verify=h.ca_bundle,
        timeout=10,
        headers={"X-IDENTITY-HEADER": mi["header"] if header is None else header},
    )


@pytest.fixture
def app_service_env(shared_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment App Service gives a process with a managed identity."""
    mi = shared_emulator.conn["managed_identity"]
    monkeypatch.setenv("IDENTITY_ENDPOINT", mi["endpoint"])
    monkeypatch.setenv("IDENTITY_HEADER", mi["header"])
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", shared_emulator.ca_bundle)
    for name in ("IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("app_service_env")
@pytest.mark.parametrize("client_id", [None, "by-name"])
def test_managed_identity_credential(
    shared_emulator: EmulatorHandle, client_id: str | None
) -> None:
    from azure.identity import ManagedIdentityCredential

    h = shared_emulator
    p = h.principal(MI)
    with ManagedIdentityCredential(client_id=p["client_id"] if client_id else None) as cred:
        token = cred.get_token("https://management.azure.com/.default")
    claims = verified_claims(h, token.token, "https://management.azure.com/")
    assert (claims["oid"], claims["appid"]) == (p["object_id"], p["client_id"])
    # MSAL turns expires_on into expires_in against its own clock and back: seconds may slip.
    assert abs(token.expires_on - claims["exp"]) <= 5


@pytest.mark.usefixtures("app_service_env")
def test_default_credential_picks_managed_identity(
    shared_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.identity import DefaultAzureCredential

    for name in ("AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    h = shared_emulator
    with DefaultAzureCredential(
        exclude_cli_credential=True,
        exclude_developer_cli_credential=True,
        exclude_powershell_credential=True,
    ) as cred:
        token = cred.get_token("https://vault.azure.net/.default").token
    assert (
        verified_claims(h, token, "https://vault.azure.net")["oid"]
        == (h.principal(MI)["object_id"])
    )


@pytest.mark.usefixtures("app_service_env")
def test_unknown_identity_is_refused_by_the_sdk(shared_emulator: EmulatorHandle) -> None:
    from azure.identity import ManagedIdentityCredential

    with (
        ManagedIdentityCredential(client_id="11111111-2222-3333-4444-555555555555") as cred,
        pytest.raises(ClientAuthenticationError, match="No User Assigned"),
    ):
        cred.get_token("https://management.azure.com/.default")


def test_wire_answer(shared_emulator: EmulatorHandle) -> None:
    h = shared_emulator
    p = h.principal(MI)
    r = msi_get(h, {"resource": "https://vault.azure.net", "client_id": p["client_id"].upper()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "expires_on", "resource", "token_type", "client_id"}
    assert isinstance(body["expires_on"], str)
    assert (body["resource"], body["token_type"], body["client_id"]) == (
        "https://vault.azure.net",
        "Bearer",
        p["client_id"],
    )
    assert verified_claims(h, body["access_token"], "https://vault.azure.net")["exp"] == int(
        body["expires_on"]
    )
    by_object = msi_get(h, {"resource": "https://vault.azure.net", "object_id": p["object_id"]})
    assert by_object.status_code == 200


@pytest.mark.parametrize(
    ("params", "header", "status"),
    [
        ({"resource": "https://vault.azure.net"}, "wrong-header", 401),
        ({"resource": "https://vault.azure.net"}, "", 401),
        ({"resource": "https://vault.azure.net", "api-version": "2017-09-01"}, None, 400),
        ({}, None, 400),
        (
            {
                "resource": "https://vault.azure.net",
                "client_id": "11111111-2222-3333-4444-555555555555",
            },
            None,
            400,
        ),
        ({"resource": "https://example.invalid"}, None, 500),
    ],
)
def test_wire_errors(
    shared_emulator: EmulatorHandle, params: dict[str, str], header: str | None, status: int
) -> None:
    r = msi_get(shared_emulator, params, header)
    assert r.status_code == status
    body = r.json()
    assert body["statusCode"] == status
    assert {"message", "correlationId"} <= set(body)
