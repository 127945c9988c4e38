"""A peer team's view of the emulator: plain HTTP clients written from the published specs.

This module holds what the ``test_rest_peers_*`` files share (a ``requests`` session that trusts
the emulator's CA, an OAuth2 client-credentials token minted the way a non-MSAL client does, and
JSON-schema validators built from the spec snapshot, see tests/support/specs.py) plus the HTTP
behaviour every surface shares: keep-alive and the envelopes of unknown routes.

Nothing here reads the emulator's code: every expectation comes from a spec, an RFC or a
documented Azure behaviour (cited where it is asserted).
"""

from __future__ import annotations

import copy
import http.client
import json
import ssl
import urllib.parse
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
import requests
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.support.emulator import EmulatorHandle
from tests.support.specs import SPECS, needs

#: Local spec snapshot -> its path in Azure/azure-rest-api-specs (see SOURCES.md), so that the
#: relative ``$ref``s written against the repository's layout resolve unchanged.
_REPO_PATHS = {
    "cognitiveservices-arm/2024-10-01/cognitiveservices.json": "specification/cognitiveservices/"
    "resource-manager/Microsoft.CognitiveServices/stable/2024-10-01/cognitiveservices.json",
    "common-types/resource-management/v2/types.json": "specification/common-types/"
    "resource-management/v2/types.json",
    "common-types/resource-management/v2/privatelinks.json": "specification/common-types/"
    "resource-management/v2/privatelinks.json",
    "common-types/resource-management/v1/types.json": "specification/common-types/"
    "resource-management/v1/types.json",
    "keyvault-secrets/2025-07-01/secrets.json": "specification/keyvault/data-plane/"
    "Microsoft.KeyVault/stable/2025-07-01/secrets.json",
    "monitor-metrics/2024-02-01/metrics_API.json": "specification/monitor/resource-manager/"
    "Microsoft.Insights/stable/2024-02-01/metrics_API.json",
    "monitor-metrics/common-types/v2/commonMonitoringTypes.json": "specification/monitor/"
    "common-types/v2/commonMonitoringTypes.json",
    "azure-openai-inference/2024-10-21/inference.json": "specification/cognitiveservices/"
    "data-plane/AzureOpenAI/inference/stable/2024-10-21/inference.json",
    "authorization/2022-04-01/authorization-RoleAssignmentsCalls.json": "specification/"
    "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/"
    "authorization-RoleAssignmentsCalls.json",
    "authorization/2022-04-01/authorization-RoleDefinitionsCalls.json": "specification/"
    "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/"
    "authorization-RoleDefinitionsCalls.json",
    "authorization/2022-04-01/common-types.json": "specification/authorization/"
    "resource-manager/Microsoft.Authorization/stable/2022-04-01/common-types.json",
}
_BASE = "https://specs.invalid/azure-rest-api-specs/"

needs_specs = needs(SPECS)


# --------------------------------------------------------------------------- clients


class PeerSession(requests.Session):
    """A ``requests`` session that trusts only the emulator's CA bundle.

    ``trust_env`` is off on purpose: with ``REQUESTS_CA_BUNDLE`` set (it is, on this machine),
    requests lets the variable override ``Session.verify``, so a session's own CA is ignored.
    Leaving a ``with`` block keeps the pooled connections: one session serves a whole test
    process (a fresh TLS handshake costs ~70 ms here, a reused connection ~5 ms).
    """

    def __init__(self, ca_bundle: str) -> None:
        super().__init__()
        self.verify = ca_bundle
        self.trust_env = False

    def __exit__(self, *args: object) -> None:
        """Keep the connections for the next test."""


_SESSIONS: dict[tuple[str, str], PeerSession] = {}


def session(handle: EmulatorHandle) -> PeerSession:
    """The peer session for one running emulator (shared; HTTP keep-alive across tests).

    Keyed by the emulator's state directory too, so a later emulator that happens to get a
    stopped one's port never inherits its dead pooled connections.
    """
    key = (handle.ca_bundle, str(handle.connection_path))
    if key not in _SESSIONS:
        _SESSIONS[key] = PeerSession(handle.ca_bundle)
    return _SESSIONS[key]


def mint_token(
    handle: EmulatorHandle,
    scope: str = "https://management.azure.com/.default",
    principal: str = "keyops-rotator",
) -> str:
    """An access token from the v2 token endpoint: RFC 6749 §4.4 client credentials, form body."""
    p = handle.principal(principal)
    with session(handle) as s:
        r = s.post(
            f"{handle.url}/{handle.conn['tenant_id']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": p["client_id"],
                "client_secret": p["client_secret"],
                "scope": scope,
            },
            timeout=10,
        )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def follow_next_links(s: requests.Session, url: str, headers: dict[str, str]) -> Iterator[Any]:
    """Every item of a paged list, following ``nextLink`` verbatim as a generic client does."""
    seen: set[str] = set()
    next_url: str | None = url
    while next_url:
        assert next_url not in seen, f"nextLink loops: {next_url}"
        seen.add(next_url)
        r = s.get(next_url, headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        page = r.json()
        yield from page["value"]
        next_url = page.get("nextLink")


# --------------------------------------------------------------------------- spec schemas


def _nullable_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` / Swagger ``x-nullable: true`` -> a JSON-schema null."""
    if isinstance(node, list):
        return [_nullable_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable_to_jsonschema(v) for k, v in node.items()}
    if out.pop("nullable", False) is True or out.pop("x-nullable", False) is True:
        if "type" in out and isinstance(out["type"], str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def _registry() -> Registry:
    resources = []
    for local, repo in _REPO_PATHS.items():
        contents = _nullable_to_jsonschema(json.loads((SPECS / local).read_text()))
        resources.append((_BASE + repo, Resource.from_contents(contents, DRAFT4)))
    registry: Registry = Registry().with_resources(resources)
    return registry


def validator(spec: str, pointer: str) -> Draft4Validator:
    """A validator for the schema at ``pointer`` (``/definitions/Account``) of local ``spec``."""
    ref = f"{_BASE}{_REPO_PATHS[spec]}#{pointer}"
    return Draft4Validator({"$ref": ref}, registry=_registry())


def without_nulls(value: Any) -> Any:
    """``value`` with null members dropped.

    Swagger 2.0 has no null type, yet Azure writes ``"nextLink": null`` (Key Vault) and its
    generated clients read a null member as an absent one; compare Swagger-described bodies
    the same way.
    """
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def assert_valid(spec: str, pointer: str, body: Any, *, nulls_as_absent: bool = False) -> None:
    """Fail with every schema violation of ``body`` against ``spec#pointer``."""
    instance = without_nulls(copy.deepcopy(body)) if nulls_as_absent else body
    errors = sorted(validator(spec, pointer).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors[:10]
    )


# --------------------------------------------------------------------------- raw HTTP/1.1


def raw_connection(url: str, ca_bundle: str) -> http.client.HTTPSConnection:
    """A single HTTP/1.1 connection to ``url``'s origin (to watch keep-alive)."""
    parts = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context(cafile=ca_bundle)
    return http.client.HTTPSConnection(parts.hostname or "", parts.port, context=ctx, timeout=10)


def exchange(
    conn: http.client.HTTPSConnection,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[http.client.HTTPResponse, bytes]:
    """One request/response on ``conn``; the body is read so the connection can be reused."""
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response, response.read()


# --------------------------------------------------------------------------- shared behaviour


def test_keep_alive_survives_errors_and_unread_bodies(shared_emulator: EmulatorHandle) -> None:
    """RFC 9112 §9.3: an HTTP/1.1 connection persists unless either side says ``close``.

    Error answers (ARM 400/401, a 404 route) and a request body the server never reads (a big
    POST without credentials) must not cost a client its connection.
    """
    token = mint_token(shared_emulator)
    account = shared_emulator.account("contoso-openai-eus")["id"]
    conn = raw_connection(shared_emulator.url, shared_emulator.ca_bundle)
    try:
        steps: list[tuple[str, str, bytes | None, dict[str, str], int]] = [
            ("GET", f"{account}?api-version=2024-10-01", None, bearer(token), 200),
            (
                "POST",
                f"{account}/regenerateKey?api-version=2024-10-01",
                b'{"keyName":"Key9"}',
                {**bearer(token), "Content-Type": "application/json"},
                400,
            ),
            ("POST", f"{account}/listKeys?api-version=2024-10-01", b"x" * 200_000, {}, 401),
            ("GET", "/no/such/route", None, {}, 404),
            ("GET", f"{account}?api-version=2024-10-01", None, bearer(token), 200),
        ]
        socket_before = None
        for method, path, body, headers, status in steps:
            response, _ = exchange(conn, method, path, body, headers)
            assert response.status == status, (method, path)
            assert response.version == 11
            assert (response.getheader("connection") or "").lower() != "close"
            socket_before = socket_before or conn.sock
            assert conn.sock is socket_before, f"connection was replaced after {method} {path}"
        response, _ = exchange(
            conn, "GET", steps[0][1], None, {**bearer(token), "Connection": "close"}
        )
        assert response.getheader("connection", "").lower() == "close"
    finally:
        conn.close()


def test_keep_alive_on_a_vault_port_across_the_challenge(shared_emulator: EmulatorHandle) -> None:
    """The Key Vault challenge flow (401, then the same request with a token) on one connection."""
    vault = shared_emulator.vault_url()
    token = mint_token(shared_emulator, "https://vault.azure.net/.default")
    conn = raw_connection(vault, shared_emulator.ca_bundle)
    try:
        body = json.dumps({"value": "peer-keepalive"}).encode()
        headers = {"Content-Type": "application/json"}
        first, _ = exchange(conn, "PUT", "/secrets/peer-keepalive?api-version=7.4", body, headers)
        assert first.status == 401
        sock = conn.sock
        second, data = exchange(
            conn,
            "PUT",
            "/secrets/peer-keepalive?api-version=7.4",
            body,
            {**headers, **bearer(token)},
        )
        assert second.status == 200, data
        assert conn.sock is sock
    finally:
        conn.close()


@pytest.mark.parametrize(
    "path",
    [
        "/subscriptions/{sub}/resourceGroups/rg-ai-prod/providers/Microsoft.CognitiveServices"
        "/accounts/contoso-openai-eus/noSuchChild",
        "/subscriptions/{sub}/resourceGroups/rg-ai-prod/providers/Microsoft.NoSuch/things/x",
    ],
)
def test_arm_unknown_routes_answer_an_arm_error_envelope(
    shared_emulator: EmulatorHandle, path: str
) -> None:
    """ARM answers an unknown resource type with the common-types ErrorResponse, as JSON."""
    url = shared_emulator.url + path.format(sub=shared_emulator.conn["subscription_id"])
    with session(shared_emulator) as s:
        r = s.get(
            url,
            params={"api-version": "2024-10-01"},
            headers=bearer(mint_token(shared_emulator)),
            timeout=10,
        )
    assert r.status_code in (400, 404)
    assert r.headers["content-type"].startswith("application/json")
    assert set(r.json()) == {"error"}
    assert {"code", "message"} <= set(r.json()["error"])


def test_openai_unknown_routes_answer_the_inference_error_envelope(
    shared_emulator: EmulatorHandle,
) -> None:
    """Azure OpenAI's unknown path: 404 ``{"error":{"code":"404","message":"Resource not found"}}``
    (the shape every ``openai`` client parses into ``NotFoundError``)."""
    endpoint = shared_emulator.account("contoso-openai-eus")["endpoint"].rstrip("/")
    with session(shared_emulator) as s:
        r = s.post(
            f"{endpoint}/openai/nothing/here",
            params={"api-version": "2024-10-21"},
            json={},
            headers={"api-key": "x"},
            timeout=10,
        )
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "404", "message": "Resource not found"}}
