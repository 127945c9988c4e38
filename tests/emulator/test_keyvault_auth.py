"""Key Vault's gate: the 401 challenge, token checks, api-versions and RBAC data actions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from azure.core.exceptions import HttpResponseError

from keyops.emulator.services.keyvault.auth import API_VERSIONS
from tests.emulator.keyvault_support import bearer, kv_call, kv_client, own_emulator, present
from tests.support.emulator import EmulatorHandle

MISSING_TOKEN = {
    "error": {
        "code": "Unauthorized",
        "message": "AKV10000: Request is missing a Bearer or PoP token.",
    }
}


@pytest.fixture(scope="module")
def kv(tmp_path_factory: pytest.TempPathFactory, tls_dir: Path) -> Iterator[EmulatorHandle]:
    """One emulator for the module: each test works on secrets of its own names."""
    with own_emulator(tmp_path_factory.mktemp("kv-auth"), tls_dir) as handle:
        yield handle


def challenge(h: EmulatorHandle) -> str:
    return (
        f'Bearer authorization="{h.url}/{h.conn["tenant_id"]}", resource="https://vault.azure.net"'
    )


def test_sdk_runs_the_challenge_flow(kv: EmulatorHandle) -> None:
    seq = kv.last_seq
    with kv_client(kv) as client:
        client.set_secret("challenged", "v")
        client.get_secret("challenged")
    entries = [e for e in kv.log_since(seq) if e["surface"] == "keyvault"]
    first, second, third = entries[:3]
    assert (first["operation"], first["status"], first["principal"]) == (
        "SetSecret",
        401,
        "anonymous",
    )
    assert first["changed"] is False
    rotator = kv.principal("keyops-rotator")["object_id"]
    assert (second["operation"], second["status"], second["principal"]) == (
        "SetSecret",
        200,
        rotator,
    )
    assert second["changed"] is True and second["write"] is True
    # The challenge is answered once per client; later requests carry the token at once.
    assert (third["operation"], third["status"]) == ("GetSecret", 200)


def test_request_without_token_gets_the_challenge(kv: EmulatorHandle) -> None:
    for method, path in [
        ("GET", "/secrets"),
        ("PUT", "/secrets/x"),
        ("GET", "/secrets/x/"),
        ("DELETE", "/deletedsecrets/x"),
    ]:
        r = kv_call(kv, method, path, auth=None)
        assert r.status_code == 401, (method, path)
        assert r.json() == MISSING_TOKEN
        assert r.headers["WWW-Authenticate"] == challenge(kv)
    assert kv_call(kv, "GET", "/secrets", auth="Basic dXNlcjpwYXNz").status_code == 401


def test_bad_tokens_get_key_vault_messages(kv: EmulatorHandle) -> None:
    arm = bearer(kv, audience="https://management.azure.com/")
    r = kv_call(kv, "GET", "/secrets", auth=arm)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == challenge(kv)
    assert r.json()["error"] == {
        "code": "Unauthorized",
        "message": "AKV10022: Invalid audience. Expected https://vault.azure.net, found: "
        "https://management.azure.com/.",
    }
    expired = bearer(kv, lifetime=-3600)
    r = kv_call(kv, "GET", "/secrets", auth=expired)
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "[TokenExpired] Error validating token: 'S2S12086'."
    foreign = bearer(kv, extra={"iss": "https://sts.windows.net/someone-else/"})
    message = kv_call(kv, "GET", "/secrets", auth=foreign).json()["error"]["message"]
    assert message.startswith("AKV10032: Invalid issuer.")
    assert message.endswith("found https://sts.windows.net/someone-else/.")
    assert kv_call(kv, "GET", "/secrets", auth="Bearer not-a-jwt").status_code == 401
    # Key Vault's application id is an accepted audience too.
    app_id = bearer(kv, audience="cfa8b339-82a2-471a-a3c9-0fc0be7a4093")
    assert kv_call(kv, "GET", "/secrets", auth=app_id).status_code == 200


def test_published_api_versions_are_served(kv: EmulatorHandle) -> None:
    assert {"7.0", "7.4", "7.6", "2025-07-01", "2026-04-01"} <= API_VERSIONS
    for version in sorted(API_VERSIONS):
        assert kv_call(kv, "GET", "/secrets", api_version=version).status_code == 200, version


def test_unknown_and_missing_api_version(kv: EmulatorHandle) -> None:
    r = kv_call(kv, "GET", "/secrets", api_version="2099-01-01")
    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "code": "BadParameter",
            "message": "The specified version (2099-01-01) is not recognized. Consider using the "
            "latest supported version (2026-04-01).",
        }
    }
    r = kv_call(kv, "GET", "/secrets", api_version=None)
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadParameter"


def test_unknown_vault_is_a_clear_404(kv: EmulatorHandle) -> None:
    url = f"{kv.url}/vaults/no-such-vault/secrets"
    r = requests.get(url, params={"api-version": "7.6"}, verify=kv.ca_bundle, timeout=10)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "VaultNotFound"


def test_secrets_user_reads_but_cannot_write(kv: EmulatorHandle) -> None:
    with kv_client(kv) as rotator:
        rotator.set_secret("app-key", "v")
    consumer = kv.principal("app-consumer")
    with kv_client(kv, "app-consumer") as client:
        assert client.get_secret("app-key").value == "v"
        assert [p.name for p in client.list_properties_of_secret_versions("app-key")]
        with pytest.raises(HttpResponseError) as caught:
            client.set_secret("app-key", "mine")
    err = caught.value
    assert err.status_code == 403
    body = json.loads(present(err.response).text())["error"]
    assert body["code"] == "Forbidden" and body["innererror"] == {"code": "ForbiddenByRbac"}
    lines = body["message"].split("\r\n")
    assert lines[0] == "Caller is not authorized to perform action on resource."
    caller = f"Caller: appid={consumer['client_id']};oid={consumer['object_id']};iss="
    assert lines[2].startswith(caller)
    assert lines[3] == "Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'"
    vault_id = next(v["id"] for v in kv.conn["vaults"] if v["name"] == "kv-keyops-prod")
    assert lines[4] == f"Resource: '{vault_id.lower()}/secrets/app-key'"
    assert lines[5] == "Assignment: (not found)"
    assert "mine" not in body["message"]


def test_reader_role_has_no_data_access(kv: EmulatorHandle) -> None:
    with kv_client(kv, "ops-reader") as client:
        for call in (
            lambda: client.get_secret("contoso-openai-legacy-api-key"),
            lambda: next(iter(client.list_properties_of_secrets())),
        ):
            with pytest.raises(HttpResponseError) as caught:
                call()
            assert caught.value.status_code == 403
            assert "ForbiddenByRbac" in str(caught.value)
    r = kv_call(kv, "GET", "/secrets", auth=bearer(kv, "ops-reader"))
    assert (
        "Action: 'Microsoft.KeyVault/vaults/secrets/readMetadata/action'"
        in r.json()["error"]["message"]
    )


def test_secrets_user_cannot_delete_or_purge(kv: EmulatorHandle) -> None:
    with kv_client(kv) as rotator:
        rotator.set_secret("kept", "v")
    user = bearer(kv, "app-consumer")
    for method, path, action in [
        ("DELETE", "/secrets/kept", "secrets/delete'"),
        ("PATCH", "/secrets/kept/", "secrets/update/action'"),
        ("DELETE", "/deletedsecrets/kept", "secrets/purge/action'"),
        ("POST", "/deletedsecrets/kept/recover", "secrets/recover/action'"),
    ]:
        r = kv_call(kv, method, path, auth=user, body={} if method == "PATCH" else None)
        assert r.status_code == 403, (method, path)
        assert action in r.json()["error"]["message"]


def test_every_answer_carries_key_vault_headers(kv: EmulatorHandle) -> None:
    """Challenge, success and error alike, as recorded from the service."""
    rid = "9f1c2a4e-3b6d-4e8f-a0b1-c2d3e4f5a6b7"
    answers = [
        kv_call(kv, "GET", "/secrets", auth=None),
        kv_call(kv, "GET", "/secrets"),
        kv_call(kv, "GET", "/secrets/no-such-secret"),
        requests.get(
            f"{kv.vault_url()}/secrets",
            params={"api-version": "7.4"},
            headers={"Authorization": bearer(kv), "x-ms-client-request-id": rid},
            verify=kv.ca_bundle,
            timeout=10,
        ),
    ]
    assert [r.status_code for r in answers] == [401, 200, 404, 200]
    for r in answers:
        assert r.headers["x-ms-keyvault-region"] == "eastus"
        assert r.headers["x-ms-keyvault-service-version"].startswith("1.9.")
        assert r.headers["x-ms-keyvault-network-info"] == (
            "conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;"
        )
        assert r.headers["Cache-Control"] == "no-cache"
    assert len({r.headers["x-ms-request-id"] for r in answers}) == len(answers)
    assert answers[-1].headers["x-ms-client-request-id"] == rid
    assert "x-ms-client-request-id" not in answers[1].headers
    # No vault, no region: an answer Azure does not have (its host would not resolve).
    unknown = requests.get(
        f"{kv.url}/vaults/no-such-vault/secrets",
        params={"api-version": "7.4"},
        verify=kv.ca_bundle,
        timeout=10,
    )
    assert unknown.status_code == 404 and unknown.headers["x-ms-request-id"]
    assert "x-ms-keyvault-region" not in unknown.headers
