"""Key Vault secrets handlers: admit the request, parse it, call the models, serialise.

One handler per spec operation id. Bodies follow SecretSetParameters / SecretUpdateParameters;
unknown fields are ignored as the service does, wrong types answer 400 ``BadParameter``.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from keyops.emulator.core.operation import json_response, operation
from keyops.emulator.services.keyvault import auth, models, wire
from keyops.emulator.services.keyvault import exceptions as exc

SURFACE = "keyvault"


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        raise exc.bad_parameter("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise exc.bad_parameter("The request body must be a JSON object.")
    return body


def _optional(body: dict[str, Any], key: str, typ: type, label: str) -> Any:
    value = body.get(key)
    # JSON true/false must not pass for a number (bool is an int in Python).
    wrong = not isinstance(value, typ) or (typ is not bool and isinstance(value, bool))
    if value is not None and wrong:
        raise exc.bad_parameter(f"Property '{label}' has an invalid value.")
    return value


def _tags(body: dict[str, Any]) -> dict[str, str] | None:
    tags = _optional(body, "tags", dict, "tags")
    if tags is None:
        return None
    if not all(isinstance(v, str) for v in tags.values()):
        raise exc.bad_parameter("Property 'tags' has an invalid value.")
    return {str(k): str(v) for k, v in tags.items()}


def _attributes(body: dict[str, Any]) -> dict[str, Any]:
    """The writable attributes given (``enabled``, ``nbf``, ``exp``); read-only ones ignored."""
    attrs = _optional(body, "attributes", dict, "attributes") or {}
    found: dict[str, Any] = {}
    for key, typ in (("enabled", bool), ("nbf", int), ("exp", int)):
        value = _optional(attrs, key, typ, f"attributes.{key}")
        if value is not None:
            found[key] = value
    return found


def _new_secret(body: dict[str, Any]) -> models.NewSecret:
    value = body.get("value")
    if not isinstance(value, str):
        raise exc.bad_parameter("Property 'value' is required and must be a string.")
    attrs = _attributes(body)
    return models.NewSecret(
        value=value,
        content_type=_optional(body, "contentType", str, "contentType"),
        tags=_tags(body),
        enabled=attrs.get("enabled", True),
        nbf=attrs.get("nbf"),
        exp=attrs.get("exp"),
    )


def _changes(body: dict[str, Any]) -> dict[str, Any]:
    changes = _attributes(body)
    content_type = _optional(body, "contentType", str, "contentType")
    if content_type is not None:
        changes["content_type"] = content_type
    tags = _tags(body)
    if tags is not None:
        changes["tags"] = tags
    return changes


def _name(request: Request) -> str:
    return str(request.path_params["name"])


@operation("SetSecret", SURFACE, write=True)
async def set_secret(request: Request) -> Response:
    """PUT /secrets/{name}: a new version (the latest)."""
    ok = auth.admit(request, auth.SET_SECRET, _name(request))
    new = _new_secret(await _body(request))
    found = models.set_secret(ok.emu, ok.vault, _name(request), new)
    request.state.detail = found.version  # when each version became the latest, to the ms
    ok.emu.commit(request)
    return json_response(wire.bundle(ok.emu, found, with_value=True))


@operation("GetSecret", SURFACE)
async def get_secret(request: Request) -> Response:
    """GET /secrets/{name}[/{version}]: a version with its value (the latest without one)."""
    ok = auth.admit(request, auth.GET_SECRET, _name(request))
    version = str(request.path_params.get("version", ""))
    found = models.read_secret(ok.emu, ok.vault, _name(request), version)
    request.state.detail = found.version  # the version returned (Key Vault's audit log id)
    return json_response(wire.bundle(ok.emu, found, with_value=True))


@operation("UpdateSecret", SURFACE, write=True)
async def update_secret(request: Request) -> Response:
    """PATCH /secrets/{name}/{version}: change attributes, tags or content type (not the value)."""
    ok = auth.admit(request, auth.UPDATE_SECRET, _name(request))
    changes = _changes(await _body(request))
    version = str(request.path_params.get("version", ""))
    found = models.update_version(ok.emu, ok.vault, _name(request), version, changes)
    ok.emu.commit(request)
    return json_response(wire.bundle(ok.emu, found, with_value=False))


def _page(
    request: Request, ok: auth.Admitted, path: str, values: list[dict[str, Any]], token: str | None
) -> Response:
    raw_size = request.query_params.get("maxresults")
    link = wire.next_link(
        ok.emu,
        ok.vault,
        path,
        ok.api_version,
        token,
        int(raw_size) if raw_size is not None else None,
    )
    # Key Vault writes "nextLink": null on the last page.
    return json_response({"value": values, "nextLink": link})


@operation("GetSecrets", SURFACE)
async def get_secrets(request: Request) -> Response:
    """GET /secrets: the latest version of every secret, without values, paged."""
    ok = auth.admit(request, auth.READ_METADATA)
    size = wire.page_size(request.query_params.get("maxresults"))
    skiptoken = request.query_params.get("$skiptoken")
    after = wire.decode_marker(skiptoken) if skiptoken else None
    chunk, more = models.latest_page(ok.emu, ok.vault, after, size)
    token = wire.encode_marker(chunk[-1].name.lower()) if more and chunk else None
    values = [wire.item(ok.emu, v, versioned=False) for v in chunk]
    return _page(request, ok, "/secrets", values, token)


@operation("GetSecretVersions", SURFACE)
async def get_secret_versions(request: Request) -> Response:
    """GET /secrets/{name}/versions: every version of a secret, without values, paged."""
    name = _name(request)
    ok = auth.admit(request, auth.READ_METADATA, name)
    size = wire.page_size(request.query_params.get("maxresults"))
    chunk, token = wire.paginate(
        models.list_versions(ok.emu, ok.vault, name),
        lambda v: v.version,
        size,
        request.query_params.get("$skiptoken"),
    )
    values = [wire.item(ok.emu, v, versioned=True) for v in chunk]
    return _page(request, ok, f"/secrets/{name}/versions", values, token)


@operation("DeleteSecret", SURFACE, write=True)
async def delete_secret(request: Request) -> Response:
    """DELETE /secrets/{name}: soft-delete every version; answers the DeletedSecretBundle."""
    ok = auth.admit(request, auth.DELETE_SECRET, _name(request))
    deleted = models.delete_secret(ok.emu, ok.vault, _name(request))
    ok.emu.commit(request)
    return json_response(wire.deleted_bundle(ok.emu, deleted))


@operation("GetDeletedSecrets", SURFACE)
async def get_deleted_secrets(request: Request) -> Response:
    """GET /deletedsecrets: soft-deleted secrets, paged."""
    ok = auth.admit(request, auth.READ_METADATA)
    size = wire.page_size(request.query_params.get("maxresults"))
    chunk, token = wire.paginate(
        models.list_deleted(ok.emu, ok.vault),
        lambda d: d.latest.name.lower(),
        size,
        request.query_params.get("$skiptoken"),
    )
    values = [wire.deleted_item(ok.emu, d) for d in chunk]
    return _page(request, ok, "/deletedsecrets", values, token)


@operation("GetDeletedSecret", SURFACE)
async def get_deleted_secret(request: Request) -> Response:
    """GET /deletedsecrets/{name}."""
    ok = auth.admit(request, auth.READ_METADATA, _name(request))
    deleted = models.get_deleted(ok.emu, ok.vault, _name(request))
    return json_response(wire.deleted_bundle(ok.emu, deleted))


@operation("RecoverDeletedSecret", SURFACE, write=True)
async def recover_deleted_secret(request: Request) -> Response:
    """POST /deletedsecrets/{name}/recover: back to active; answers the latest (no value)."""
    ok = auth.admit(request, auth.RECOVER_SECRET, _name(request))
    found = models.recover_secret(ok.emu, ok.vault, _name(request))
    ok.emu.commit(request)
    return json_response(wire.bundle(ok.emu, found, with_value=False))


@operation("PurgeDeletedSecret", SURFACE, write=True)
async def purge_deleted_secret(request: Request) -> Response:
    """DELETE /deletedsecrets/{name}: gone for good; 204."""
    ok = auth.admit(request, auth.PURGE_SECRET, _name(request))
    models.purge_secret(ok.emu, ok.vault, _name(request))
    ok.emu.commit(request)
    return json_response(None, 204)
