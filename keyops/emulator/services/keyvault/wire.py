"""Key Vault's JSON shapes (spec definitions SecretBundle, SecretItem, DeletedSecretBundle,
DeletedSecretItem, SecretAttributes, *ListResult), its paging and the headers of every answer.

Object identifiers: Key Vault names an object ``https://<vault host>/secrets/<name>/<version>``
and azure-keyvault-secrets parses every id it receives as exactly that path (two or three
segments after the host; anything else raises ``ValueError`` inside ``get_secret``). The
emulator gives every vault a port of its own (``core.vaulthosts``): requests that come in there
get ids, ``recoveryId`` and ``nextLink`` on that origin, exactly Azure's shape. Requests on the
main port's path-prefix form (``/vaults/<name>``) get ids on the bare origin — the shape clients
parse — and a ``nextLink`` (followed verbatim, never parsed) under the prefix.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.requests import Request

from keyops.emulator.core.context import Emulator
from keyops.emulator.core.layout import vault_url
from keyops.emulator.core.vaulthosts import current_vault_origin
from keyops.emulator.services.keyvault import exceptions as exc
from keyops.emulator.services.keyvault.models import (
    RECOVERABLE_DAYS,
    RECOVERY_LEVEL,
    DeletedSecret,
    SecretVersion,
    find_vault,
    vault_location,
)
from keyops.emulator.world import Vault

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 25
#: The service build Key Vault reports (a value seen in a 2025 capture of a real answer).
SERVICE_VERSION = "1.9.3019.1"


def id_base(emu: Emulator) -> str:
    """Where object ids start (see the module docstring for why it is the bare origin)."""
    return current_vault_origin() or emu.base_url


def secret_id(emu: Emulator, name: str, version: str | None = None) -> str:
    """A secret's identifier, with its version when given."""
    base = f"{id_base(emu)}/secrets/{name}"
    return f"{base}/{version}" if version else base


def attributes(v: SecretVersion) -> dict[str, Any]:
    """``SecretAttributes`` of a version (``nbf``/``exp`` only when set)."""
    attrs: dict[str, Any] = {"enabled": v.enabled}
    if v.nbf is not None:
        attrs["nbf"] = v.nbf
    if v.exp is not None:
        attrs["exp"] = v.exp
    attrs.update(
        created=v.created,
        updated=v.updated,
        recoveryLevel=RECOVERY_LEVEL,
        recoverableDays=RECOVERABLE_DAYS,
    )
    return attrs


def _common(body: dict[str, Any], v: SecretVersion) -> dict[str, Any]:
    if v.content_type is not None:
        body["contentType"] = v.content_type
    body["attributes"] = attributes(v)
    if v.tags is not None:
        body["tags"] = dict(v.tags)
    return body


def bundle(emu: Emulator, v: SecretVersion, *, with_value: bool) -> dict[str, Any]:
    """A ``SecretBundle``; the value only for Set/Get (Update and Recover omit it)."""
    body: dict[str, Any] = {"value": v.value} if with_value else {}
    body["id"] = secret_id(emu, v.name, v.version)
    return _common(body, v)


def item(emu: Emulator, v: SecretVersion, *, versioned: bool) -> dict[str, Any]:
    """A ``SecretItem`` (GetSecrets: id without version; GetSecretVersions: with it)."""
    return _common({"id": secret_id(emu, v.name, v.version if versioned else None)}, v)


def _deletion(emu: Emulator, d: DeletedSecret) -> dict[str, Any]:
    return {
        "recoveryId": f"{id_base(emu)}/deletedsecrets/{d.latest.name}",
        "deletedDate": d.deleted_date,
        "scheduledPurgeDate": d.scheduled_purge,
    }


def deleted_bundle(emu: Emulator, d: DeletedSecret) -> dict[str, Any]:
    """A ``DeletedSecretBundle`` (DeleteSecret, GetDeletedSecret): no value."""
    body = _deletion(emu, d)
    body["id"] = secret_id(emu, d.latest.name, d.latest.version)
    return _common(body, d.latest)


def deleted_item(emu: Emulator, d: DeletedSecret) -> dict[str, Any]:
    """A ``DeletedSecretItem`` (GetDeletedSecrets): id without version."""
    body = _deletion(emu, d)
    body["id"] = secret_id(emu, d.latest.name)
    return _common(body, d.latest)


# --- paging -----------------------------------------------------------------------------------


def page_size(raw: str | None) -> int:
    """``maxresults``: absent means 25; otherwise an integer from 1 to 25, else 400."""
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise exc.bad_parameter(f"Invalid value for maxresults: {raw[:32]}") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise exc.bad_parameter(f"maxresults must be between 1 and {MAX_PAGE_SIZE}.")
    return size


def encode_marker(marker: str) -> str:
    """A ``$skiptoken`` carrying the last name or version a page returned."""
    doc = json.dumps({"NextMarker": marker, "TargetLocation": 0}, separators=(",", ":"))
    return base64.urlsafe_b64encode(doc.encode()).decode().rstrip("=")


def decode_marker(token: str) -> str:
    """The marker in a ``$skiptoken``; Key Vault's 400 for a token it did not make."""
    try:
        padded = token + "=" * (-len(token) % 4)
        marker = json.loads(base64.urlsafe_b64decode(padded.encode()))["NextMarker"]
    except (ValueError, KeyError, TypeError):
        raise exc.bad_parameter("The specified $skiptoken is not valid.") from None
    if not isinstance(marker, str):
        raise exc.bad_parameter("The specified $skiptoken is not valid.")
    return marker


def paginate(
    items: Sequence[T], key: Callable[[T], str], size: int, skiptoken: str | None
) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by ``key``) after ``skiptoken``; and the next token.

    The token carries the last key returned, not an offset, so items added or removed between
    pages neither repeat nor vanish from the rest of the listing.
    """
    after = decode_marker(skiptoken) if skiptoken else None
    rest = [i for i in items if after is None or key(i) > after]
    chunk = rest[:size]
    more = len(rest) > size
    return chunk, (encode_marker(key(chunk[-1])) if more and chunk else None)


def next_link(
    emu: Emulator, vault: Vault, path: str, api_version: str, token: str | None, size: int | None
) -> str | None:
    """The absolute ``nextLink`` (the vault's URL, api-version, ``$skiptoken``, ``maxresults``)."""
    if token is None:
        return None
    query: dict[str, Any] = {"api-version": api_version, "$skiptoken": token}
    if size is not None:
        query["maxresults"] = size
    base = current_vault_origin() or vault_url(emu.base_url, vault.name)
    return f"{base}{path}?{urlencode(query, safe='$')}"


# --- headers ----------------------------------------------------------------------------------


def _network_info(request: Request) -> str:
    host = request.client.host if request.client else "127.0.0.1"
    try:
        v6 = ipaddress.ip_address(host).version == 6
    except ValueError:
        v6 = False
    family = ("Ipv6", "InterNetworkV6") if v6 else ("Ipv4", "InterNetwork")
    return f"conn_type={family[0]};addr={host};act_addr_fam={family[1]};"


def answer_headers(request: Request) -> dict[str, str]:
    """The headers Key Vault puts on every answer, challenges and errors included.

    As recorded from the service (azure-sdk-for-js keyvault recordings, SDK error logs):
    ``x-ms-request-id``, ``x-ms-keyvault-service-version``, ``x-ms-keyvault-region`` (the vault's
    region; absent for the emulator-only VaultNotFound, which Azure has no answer for),
    ``x-ms-keyvault-network-info`` (the caller's address), the client's
    ``x-ms-client-request-id`` echoed, and the no-cache and hardening headers.
    """
    emu: Emulator = request.app.state.emulator
    headers = {
        "Cache-Control": "no-cache",
        "Pragma": "no-cache",
        "Expires": "-1",
        "x-ms-request-id": str(uuid.uuid4()),
        "x-ms-keyvault-service-version": SERVICE_VERSION,
        "x-ms-keyvault-network-info": _network_info(request),
        "X-Content-Type-Options": "nosniff",
        "Strict-Transport-Security": "max-age=31536000;includeSubDomains",
    }
    vault = find_vault(emu, str(request.path_params.get("vault", "")))
    if vault is not None:
        headers["x-ms-keyvault-region"] = vault_location(emu, vault)
    client_request_id = request.headers.get("x-ms-client-request-id")
    if client_request_id:
        headers["x-ms-client-request-id"] = client_request_id
    return headers
