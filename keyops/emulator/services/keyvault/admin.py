"""Admin API of the vaults: rewrite a secret version's times so tests never wait.

``POST /_emulator/vaults/{vault}/secrets/{name}/versions/{version}`` with any of ``created``,
``updated``, ``nbf``, ``exp`` — each a relative time (``"-40d"``, ``"+2h"``), an ISO 8601 time
or Unix seconds; ``nbf``/``exp`` also ``null`` to clear. ``{version}`` may be ``latest``.
Answers the version's id and attributes (never its value).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from keyops.emulator.core.operation import json_response, operation
from keyops.emulator.services.admin.auth import admin_emulator, bad_request, json_body
from keyops.emulator.services.keyvault import models, wire
from keyops.emulator.world import WorldError, relative_time

_FIELDS = ("created", "updated", "nbf", "exp")


def _times(body: dict[str, Any], now: float) -> dict[str, int | None]:
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise bad_request(f"unknown field {unknown[0]!r}; expected {', '.join(_FIELDS)}")
    times: dict[str, int | None] = {}
    for key, value in body.items():
        if value is None:
            if key in ("created", "updated"):
                raise bad_request(f"{key} cannot be null")
            times[key] = None
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            times[key] = int(value)
        elif isinstance(value, str):
            try:
                times[key] = int(relative_time(value, now, key))
            except WorldError as err:
                raise bad_request(str(err)) from None
        else:
            raise bad_request(f'{key}: expected a time ("-40d", ISO 8601, Unix seconds)')
    return times


@operation("Admin_SetSecretVersionTimes", "admin", write=True)
async def set_version_times(request: Request) -> Response:
    """Backdate (or move) a version's created/updated/nbf/exp."""
    emu = admin_emulator(request)
    vault = models.find_vault(emu, str(request.path_params["vault"]))
    if vault is None:
        raise bad_request(f"no vault named {request.path_params['vault']!r}")
    name = str(request.path_params["name"])
    version = str(request.path_params["version"])
    times = _times(await json_body(request), emu.clock.now())
    found = models.set_times(emu, vault, name, "" if version == "latest" else version, times)
    emu.commit(request)
    request.state.target = f"{vault.id}/secrets/{found.name}/{found.version}"
    return json_response(
        {"id": wire.secret_id(emu, found.name, found.version), "attributes": wire.attributes(found)}
    )
