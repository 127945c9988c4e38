"""Helpers for the Azure OpenAI data-plane and Monitor tests: keys, tokens, raw wire calls."""

from __future__ import annotations

from typing import Any

import requests

from keyops.emulator.services.arm.models import current_key, get_account
from tests.support.emulator import EmulatorHandle

RG = "rg-ai-prod"
EUS = "contoso-openai-eus"  # custom subdomain, chat + completions deployments
ENTRA = "contoso-openai-entra"  # disableLocalAuth
LEGACY = "contoso-openai-legacy"  # no custom subdomain: the eastus regional endpoint
WEU = "contoso-aiservices-weu"
COGNITIVE = "https://cognitiveservices.azure.com"
API_VERSION = "2024-10-21"
CHAT_BODY: dict[str, Any] = {
    "messages": [
        {"role": "system", "content": "you are a helpful assistant that talks like a pirate"},
        {"role": "user", "content": "can you tell me how to care for a parrot?"},
    ]
}


def ca(handle: EmulatorHandle) -> str:
    """The emulator's CA certificate alone: ``requests`` loads its ``verify`` file for every
    new connection, and the full bundle (system roots + CA) costs ~0.1 s each time."""
    return str(handle.conn["ca_cert"])


def key(handle: EmulatorHandle, account: str, slot: str = "Key1") -> str:
    """An account key slot's current value."""
    return current_key(handle.server.emulator, account, slot)


def token(
    handle: EmulatorHandle,
    principal: str = "keyops-rotator",
    audience: str = COGNITIVE,
    **kwargs: Any,
) -> str:
    """An access token of a world principal, minted by the emulator's token service."""
    p = handle.principal(principal)
    value, _ = handle.server.emulator.tokens.issue(
        audience=audience, oid=p["object_id"], appid=p["client_id"], **kwargs
    )
    return value


def endpoint(handle: EmulatorHandle, account: str) -> str:
    """The data-plane endpoint ARM reports for an account (trailing slash)."""
    view = get_account(handle.server.emulator, account)
    assert view is not None, account
    return view.endpoint


def call(
    handle: EmulatorHandle,
    base: str,
    path: str,
    *,
    api_key: str | None = None,
    bearer: str | None = None,
    body: Any = None,
    api_version: str | None = API_VERSION,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    session: requests.Session | None = None,
) -> requests.Response:
    """A raw data-plane call to ``base`` + ``path`` (``base`` is an endpoint URL).

    Pass a ``session`` (and close it) to reuse one TLS connection across many calls.
    """
    sent = dict(headers or {})
    if api_key is not None:
        sent["api-key"] = api_key
    if bearer is not None:
        sent["Authorization"] = f"Bearer {bearer}"
    params = {"api-version": api_version} if api_version else None
    return (session or requests).request(
        method,
        base + path,
        params=params,
        headers=sent,
        json=CHAT_BODY if body is None else body,
        verify=ca(handle),
        timeout=10,
    )


def chat(
    handle: EmulatorHandle, account: str, deployment: str = "gpt-4o-mini", **kwargs: Any
) -> requests.Response:
    """A chat completions call on an account's own endpoint."""
    return call(
        handle,
        endpoint(handle, account),
        f"openai/deployments/{deployment}/chat/completions",
        **kwargs,
    )


def add_assignment(handle: EmulatorHandle, principal: str, role: str, scope: str) -> None:
    """Give a world principal a built-in role at a scope (test set-up of RBAC state)."""
    emu = handle.server.emulator
    assignments = emu.store.section("authorization").setdefault("assignments", [])
    name = f"test-{len(assignments)}"
    assignments.append(
        {
            "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
            "name": name,
            "scope": scope,
            "role_definition": emu.rbac.role_by_name(role).name,
            "principal_id": handle.principal(principal)["object_id"],
            "principal_type": "ServicePrincipal",
            "created": 0.0,
        }
    )


def regenerate(handle: EmulatorHandle, account: str, slot: str) -> Any:
    """Regenerate a key slot with the real management client; return its ``ApiKeys``.

    The client and its credential are closed afterwards: an idle keep-alive connection would
    hold the emulator's shutdown for its 10 s grace period.
    """
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    credential = handle.credential()
    client = CognitiveServicesManagementClient(
        credential,
        handle.conn["subscription_id"],
        base_url=handle.url,
        retry_total=0,
        connection_verify=handle.ca_bundle,
    )
    with credential, client:
        return client.accounts.regenerate_key(RG, account, slot)
