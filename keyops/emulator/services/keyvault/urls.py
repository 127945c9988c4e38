"""Routes of the vaults' data plane (``/vaults/{vault}/...``) and of their admin API.

A vault's URL is ``<emulator>/vaults/<name>`` (see ``core.layout.vault_url``); below it the
paths are Key Vault's own. ``get_secret(name)`` sends ``GET /secrets/{name}/`` (an empty
version) and ``update_secret_properties(name)`` ``PATCH /secrets/{name}/``; both mean the
latest version. ``/versions`` is listed before ``/{version}`` (versions are 32 hex digits).
"""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from keyops.emulator.core.operation import Handler
from keyops.emulator.services.keyvault import responses as r
from keyops.emulator.services.keyvault.admin import set_version_times
from keyops.emulator.services.keyvault.wire import answer_headers

_VAULT = "/vaults/{vault}"


def routes() -> list[BaseRoute]:
    """The data-plane routes (one Starlette route per path and method)."""
    secret = f"{_VAULT}/secrets/{{name}}"
    deleted = f"{_VAULT}/deletedsecrets/{{name}}"
    table = [
        (f"{_VAULT}/secrets", "GET", r.get_secrets),
        (secret, "PUT", r.set_secret),
        (secret, "GET", r.get_secret),
        (secret, "PATCH", r.update_secret),
        (secret, "DELETE", r.delete_secret),
        (f"{secret}/", "GET", r.get_secret),
        (f"{secret}/", "PATCH", r.update_secret),
        (f"{secret}/versions", "GET", r.get_secret_versions),
        (f"{secret}/{{version}}", "GET", r.get_secret),
        (f"{secret}/{{version}}", "PATCH", r.update_secret),
        (f"{_VAULT}/deletedsecrets", "GET", r.get_deleted_secrets),
        (deleted, "GET", r.get_deleted_secret),
        (deleted, "DELETE", r.purge_deleted_secret),
        (f"{deleted}/recover", "POST", r.recover_deleted_secret),
    ]
    return [Route(path, _answered(endpoint), methods=[method]) for path, method, endpoint in table]


def _answered(endpoint: Handler) -> Handler:
    """``endpoint`` with Key Vault's headers on every answer it gives.

    It wraps the operation-decorated handler, whose answer is already a Response for errors,
    challenges and injected faults alike, so one place covers them all.
    """

    @functools.wraps(endpoint)  # keeps ``operation_id``
    async def answered(request: Request) -> Response:
        response = await endpoint(request)
        for name, value in answer_headers(request).items():
            response.headers.setdefault(name, value)
        return response

    return answered


def admin_routes() -> list[BaseRoute]:
    """The vaults' admin routes (admin bearer token required)."""
    return [
        Route(
            "/_emulator/vaults/{vault}/secrets/{name}/versions/{version}",
            set_version_times,
            methods=["POST"],
        ),
    ]
