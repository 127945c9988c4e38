"""Helpers for the Key Vault tests: real SecretClients, bearer tokens and raw wire calls."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import requests
from azure.keyvault.secrets import SecretClient

from tests.support.emulator import EmulatorHandle, start_emulator

VAULT_AUDIENCE = "https://vault.azure.net"
API_VERSION = "2025-07-01"
T = TypeVar("T")
_SESSIONS: dict[str, requests.Session] = {}


def present(value: T | None) -> T:
    """``value``, asserting the SDK filled it in (its models type every field Optional)."""
    assert value is not None
    return value


@contextmanager
def own_emulator(state_dir: Path, tls_dir: Path) -> Iterator[EmulatorHandle]:
    """A started emulator (default world) for one test module, stopped afterwards."""
    handle = start_emulator(state_dir, tls_dir)
    try:
        yield handle
    finally:
        session = _SESSIONS.pop(handle.url, None)
        if session is not None:
            session.close()
        handle.stop()


def kv_client(
    handle: EmulatorHandle, principal: str = "keyops-rotator", **kwargs: Any
) -> SecretClient:
    """A real SecretClient for the default vault, signed in through the emulated Entra ID."""
    client: SecretClient = handle.secret_client(principal=principal, **kwargs)
    return client


def bearer(
    handle: EmulatorHandle,
    principal: str = "keyops-rotator",
    audience: str = VAULT_AUDIENCE,
    **kwargs: Any,
) -> str:
    """An ``Authorization`` header value for ``principal`` (minted by the token service)."""
    p = handle.principal(principal)
    token, _ = handle.server.emulator.tokens.issue(
        audience=audience, oid=p["object_id"], appid=p["client_id"], **kwargs
    )
    return f"Bearer {token}"


def kv_call(
    handle: EmulatorHandle,
    method: str,
    path: str,
    *,
    auth: str | None = "",
    api_version: str | None = API_VERSION,
    body: Any = None,
    params: dict[str, Any] | None = None,
) -> requests.Response:
    """A raw request to the default vault (``auth=""``: the rotator's token; None: no header)."""
    query = dict(params or {})
    if api_version is not None:
        query["api-version"] = api_version
    headers = {}
    if auth is not None:
        headers["Authorization"] = auth or bearer(handle)
    # One keep-alive session per emulator: a TLS handshake per call would dominate the tests.
    session = _SESSIONS.setdefault(handle.url, requests.Session())
    return session.request(
        method,
        f"{handle.vault_url()}{path}",
        params=query,
        json=body,
        headers=headers,
        verify=handle.ca_bundle,
        timeout=10,
    )
