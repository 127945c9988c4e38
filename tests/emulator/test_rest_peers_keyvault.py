"""Key Vault secrets as a client written from secrets.json and the Key Vault auth docs sees it.

Sources: azure-specs/keyvault-secrets/2025-07-01/secrets.json (SecretBundle, SecretListResult,
DeletedSecretBundle, KeyVaultError; ``maxresults`` 1..25; ``nextLink``); the 7.5/7.6 examples
(same bodies under older api-versions); Key Vault "authentication" docs: an unauthenticated
request gets 401 with ``WWW-Authenticate: Bearer authorization="<authority>/<tenant>",
resource="https://vault.azure.net"``; object ids are ``https://<vault>/secrets/<name>/<version>``;
Key Vault object names are case-insensitive.
"""

from __future__ import annotations

import re
import uuid
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

KV = "keyvault-secrets/2025-07-01/secrets.json"
VAULT_SCOPE = "https://vault.azure.net/.default"
#: api-versions in the spec repo's keyvault data-plane stable folders that clients still send.
VERSIONS = ["7.3", "7.4", "7.5", "7.6", "2025-07-01"]
CHALLENGE = re.compile(r'^Bearer authorization="(?P<authority>[^"]+)", resource="(?P<res>[^"]+)"$')

pytestmark = needs_specs


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Vault:
    """A tiny Key Vault client: ``{vault}{path}?api-version=...`` with a vault token."""

    def __init__(
        self, handle: EmulatorHandle, base: str | None = None, principal: str = "keyops-rotator"
    ) -> None:
        self.base = (base or handle.vault_url()).rstrip("/")
        self.headers = bearer(mint_token(handle, VAULT_SCOPE, principal))
        self.s = session(handle)

    def call(
        self, method: str, path: str, version: str = "7.4", **kwargs: Any
    ) -> requests.Response:
        params = {"api-version": version, **kwargs.pop("params", {})}
        return self.s.request(
            method, self.base + path, params=params, headers=self.headers, timeout=10, **kwargs
        )


def _assert_kv_error(r: requests.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["code"] == code
    assert_valid(KV, "/definitions/KeyVaultError", r.json())


def test_challenge_header_and_a_client_that_follows_it(shared_emulator: EmulatorHandle) -> None:
    """The challenge names the authority+tenant and the resource; a token minted there for
    ``<resource>/.default`` is accepted on the retried request."""
    vault = shared_emulator.vault_url()
    with session(shared_emulator) as s:
        first = s.get(f"{vault}/secrets", params={"api-version": "7.4"}, timeout=10)
        assert first.status_code == 401
        m = CHALLENGE.match(first.headers["www-authenticate"])
        assert m, first.headers["www-authenticate"]
        assert m["res"] == "https://vault.azure.net"
        assert m["authority"].rstrip("/").endswith("/" + shared_emulator.conn["tenant_id"])
        _assert_kv_error(first, 401, "Unauthorized")
        p = shared_emulator.principal("keyops-rotator")
        token = s.post(
            f"{m['authority']}/oauth2/v2.0/token",
            timeout=10,
            data={
                "grant_type": "client_credentials",
                "client_id": p["client_id"],
                "client_secret": p["client_secret"],
                "scope": m["res"] + "/.default",
            },
        ).json()["access_token"]
        again = s.get(
            f"{vault}/secrets", params={"api-version": "7.4"}, headers=bearer(token), timeout=10
        )
    assert again.status_code == 200


def test_wrong_audience_is_a_challenge_again(shared_emulator: EmulatorHandle) -> None:
    vault = shared_emulator.vault_url()
    with session(shared_emulator) as s:
        r = s.get(
            f"{vault}/secrets",
            params={"api-version": "7.4"},
            headers=bearer(mint_token(shared_emulator)),
            timeout=10,
        )
    _assert_kv_error(r, 401, "Unauthorized")
    assert CHALLENGE.match(r.headers["www-authenticate"])


@pytest.mark.parametrize("version", VERSIONS)
def test_older_api_versions_same_bodies(shared_emulator: EmulatorHandle, version: str) -> None:
    v = Vault(shared_emulator)
    name = _unique("peer-ver")
    body = {
        "value": "v",
        "contentType": "text/plain",
        "tags": {"a": "b"},
        "attributes": {"enabled": True, "exp": 2_000_000_000},
    }
    put = v.call("PUT", f"/secrets/{name}", version, json=body)
    assert put.status_code == 200, put.text
    assert_valid(KV, "/definitions/SecretBundle", put.json())
    got = v.call("GET", f"/secrets/{name}", version)
    assert got.status_code == 200
    assert_valid(KV, "/definitions/SecretBundle", got.json())
    assert got.json() == put.json()
    assert got.json()["attributes"]["exp"] == 2_000_000_000
    listed = v.call("GET", "/secrets", version, params={"maxresults": 25})
    assert_valid(KV, "/definitions/SecretListResult", listed.json(), nulls_as_absent=True)


def test_ids_are_on_the_vault_origin(shared_emulator: EmulatorHandle) -> None:
    """``id`` = ``{vaultBaseUrl}/secrets/{name}/{version}``; a client can GET it as is."""
    v = Vault(shared_emulator)
    name = _unique("peer-id")
    secret_id = v.call("PUT", f"/secrets/{name}", json={"value": "x"}).json()["id"]
    assert re.fullmatch(re.escape(f"{v.base}/secrets/{name}/") + "[0-9a-f]{32}", secret_id)
    with session(shared_emulator) as s:
        again = s.get(secret_id, params={"api-version": "7.4"}, headers=v.headers, timeout=10)
    assert again.status_code == 200
    assert again.json()["id"] == secret_id


@pytest.mark.parametrize("raw", ["0", "26", "many"])
def test_maxresults_out_of_range_is_bad_parameter(
    shared_emulator: EmulatorHandle, raw: str
) -> None:
    _assert_kv_error(
        Vault(shared_emulator).call("GET", "/secrets", params={"maxresults": raw}),
        400,
        "BadParameter",
    )


@pytest.mark.parametrize("form", ["url", "path_url"])
def test_skiptoken_next_links_followed_blindly(shared_emulator: EmulatorHandle, form: str) -> None:
    """Every secret once, whichever vault URL form the client was configured with."""
    vault = next(x for x in shared_emulator.conn["vaults"] if x["name"] == "kv-keyops-prod")
    v = Vault(shared_emulator, vault[form])
    names = {_unique("peer-page") for _ in range(3)}
    for name in names:
        assert v.call("PUT", f"/secrets/{name}", json={"value": "p"}).status_code == 200
    start = f"{v.base}/secrets?api-version=7.4&maxresults=2"
    items = list(follow_next_links(v.s, start, v.headers))
    listed = [i["id"].rsplit("/", 1)[1] for i in items]
    assert len(listed) == len(set(listed))
    assert names <= set(listed)
    for item in items:
        assert_valid(KV, "/definitions/SecretItem", item)
    # The SDKs put their own api-version on a nextLink; the $skiptoken must survive it.
    link = v.call("GET", "/secrets", params={"maxresults": 1}).json()["nextLink"]
    rewritten = link.replace("api-version=7.4", "api-version=2025-07-01")
    assert rewritten != link
    assert v.s.get(rewritten, headers=v.headers, timeout=10).status_code == 200


def test_deleted_secret_flow(shared_emulator: EmulatorHandle) -> None:
    """delete -> get deleted -> list deleted -> recover -> delete -> purge (204) -> 404."""
    v = Vault(shared_emulator)
    name = _unique("peer-del")
    assert v.call("PUT", f"/secrets/{name}", json={"value": "d"}).status_code == 200
    deleted = v.call("DELETE", f"/secrets/{name}")
    assert deleted.status_code == 200
    assert_valid(KV, "/definitions/DeletedSecretBundle", deleted.json())
    body = deleted.json()
    assert body["recoveryId"] == f"{v.base}/deletedsecrets/{name}"
    assert body["scheduledPurgeDate"] > body["deletedDate"]
    assert "value" not in body
    _assert_kv_error(v.call("GET", f"/secrets/{name}"), 404, "SecretNotFound")
    got = v.call("GET", f"/deletedsecrets/{name}")
    assert got.status_code == 200
    assert_valid(KV, "/definitions/DeletedSecretBundle", got.json())
    listed = list(
        follow_next_links(v.s, f"{v.base}/deletedsecrets?api-version=7.4&maxresults=1", v.headers)
    )
    assert f"{v.base}/deletedsecrets/{name}" in [i["recoveryId"] for i in listed]
    recovered = v.call("POST", f"/deletedsecrets/{name}/recover")
    assert recovered.status_code == 200
    assert_valid(KV, "/definitions/SecretBundle", recovered.json())
    assert v.call("GET", f"/secrets/{name}").json()["value"] == "d"
    assert v.call("DELETE", f"/secrets/{name}").status_code == 200
    purged = v.call("DELETE", f"/deletedsecrets/{name}")
    assert purged.status_code == 204
    assert purged.content == b""
    _assert_kv_error(v.call("GET", f"/deletedsecrets/{name}"), 404, "SecretNotFound")
    assert v.call("PUT", f"/secrets/{name}", json={"value": "again"}).status_code == 200


def test_names_are_case_insensitive(shared_emulator: EmulatorHandle) -> None:
    v = Vault(shared_emulator)
    name = _unique("peer-case")
    v.call("PUT", f"/secrets/{name}", json={"value": "c"})
    r = v.call("GET", f"/secrets/{name.upper()}/")
    assert r.status_code == 200
    assert r.json()["value"] == "c"


def test_errors_use_the_key_vault_envelope(shared_emulator: EmulatorHandle) -> None:
    v = Vault(shared_emulator)
    _assert_kv_error(v.call("GET", "/secrets/no-such-secret"), 404, "SecretNotFound")
    _assert_kv_error(v.call("GET", "/secrets/bad_name"), 400, "BadParameter")
    _assert_kv_error(v.call("PUT", "/secrets/x", json={}), 400, "BadParameter")
    _assert_kv_error(v.call("GET", "/secrets", "7.7"), 400, "BadParameter")
    reader = Vault(shared_emulator, principal="ops-reader")
    _assert_kv_error(reader.call("GET", "/secrets"), 403, "Forbidden")


def test_answers_carry_x_ms_request_id(shared_emulator: EmulatorHandle) -> None:
    """Every Key Vault answer has ``x-ms-request-id`` (and ``x-ms-keyvault-service-version``);
    the SDKs log it and support asks for it. Challenge answers included."""
    v = Vault(shared_emulator)
    with session(shared_emulator) as s:
        challenge = s.get(f"{v.base}/secrets", params={"api-version": "7.4"}, timeout=10)
    for r in (challenge, v.call("GET", "/secrets"), v.call("GET", "/secrets/no-such-secret")):
        assert "x-ms-request-id" in r.headers, r.status_code
        assert "x-ms-keyvault-service-version" in r.headers, r.status_code
