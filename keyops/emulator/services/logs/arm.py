"""ARM surfaces of the logs: diagnostic settings on vaults and accounts
(``{resourceId}/providers/Microsoft.Insights/diagnosticSettings``, api-version
2021-05-01-preview), Log Analytics workspaces (``Microsoft.OperationalInsights/workspaces``, for
``customerId`` and ``retentionInDays``), and the subscription's resource list filtered by type
(so a vault's ARM id can be found from its name).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from keyops.emulator.core.clock import iso
from keyops.emulator.core.errors import arm_error
from keyops.emulator.core.operation import json_response, operation
from keyops.emulator.core.tokens import Caller
from keyops.emulator.logsworld import WorkspaceDecl
from keyops.emulator.services.arm import armhttp
from keyops.emulator.services.arm import exceptions as arm_errors
from keyops.emulator.services.logs import models

DIAGNOSTIC_API_VERSIONS = ("2021-05-01-preview", "2017-05-01-preview")
WORKSPACE_API_VERSIONS = ("2022-10-01", "2023-09-01", "2025-02-01", "2020-08-01")
RESOURCES_API_VERSIONS = ("2021-04-01", "2022-09-01", "2024-03-01")
READ_SETTINGS = "Microsoft.Insights/diagnosticSettings/read"
WRITE_SETTINGS = "Microsoft.Insights/diagnosticSettings/write"
DELETE_SETTINGS = "Microsoft.Insights/diagnosticSettings/delete"
READ_WORKSPACE = "Microsoft.OperationalInsights/workspaces/read"
READ_RESOURCES = "Microsoft.Resources/subscriptions/resources/read"


def _known_resource(request: Request, rid: str) -> str:
    emu = armhttp.emulator(request)
    for known in models.resource_ids(emu):
        if known.lower() == rid.lower():
            return known
    parts = rid.strip("/").split("/")
    raise arm_errors.resource_not_found("/".join(parts[5:7]), parts[7], parts[3])


def _preamble(request: Request, action: str, versions: tuple[str, ...]) -> tuple[Caller, str]:
    caller = armhttp.authenticate(request)
    rid = request.path_params["resource"]
    request.state.target = rid
    version = armhttp.api_version(request)
    armhttp.check_provider_version(version, versions, "diagnosticSettings", "global", ("global",))
    armhttp.require(request, caller, action, rid)
    return caller, _known_resource(request, rid)


def _setting_json(emu: Any, rid: str, name: str, properties: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"{rid}/providers/microsoft.insights/diagnosticSettings/{name}",
        "type": "Microsoft.Insights/diagnosticSettings",
        "name": name,
        "location": None,
        "properties": properties,
    }
    created = models.created_at(emu, rid, name)
    if created is not None:
        body["systemData"] = {"createdAt": iso(created), "lastModifiedAt": iso(created)}
    return body


@operation("DiagnosticSettings_List", "arm")
@armhttp.arm_endpoint
async def list_settings(request: Request) -> Response:
    """``GET {resourceUri}/providers/Microsoft.Insights/diagnosticSettings``."""
    _, rid = _preamble(request, READ_SETTINGS, DIAGNOSTIC_API_VERSIONS)
    emu = armhttp.emulator(request)
    settings = models.settings_of(emu, rid)
    return json_response({"value": [_setting_json(emu, rid, n, p) for n, p in settings.items()]})


@operation("DiagnosticSettings_Get", "arm")
@armhttp.arm_endpoint
async def get_setting(request: Request) -> Response:
    """``GET .../diagnosticSettings/{name}``."""
    _, rid = _preamble(request, READ_SETTINGS, DIAGNOSTIC_API_VERSIONS)
    name = request.path_params["name"]
    emu = armhttp.emulator(request)
    found = models.settings_of(emu, rid).get(name)
    if found is None:
        raise arm_error(404, "ResourceNotFound", f"The diagnostic setting '{name}' doesn't exist.")
    return json_response(_setting_json(emu, rid, name, found))


@operation("DiagnosticSettings_CreateOrUpdate", "arm", write=True)
@armhttp.arm_endpoint
async def put_setting(request: Request) -> Response:
    """``PUT .../diagnosticSettings/{name}`` (workspace, storage or Event Hub; logs)."""
    _, rid = _preamble(request, WRITE_SETTINGS, DIAGNOSTIC_API_VERSIONS)
    emu = armhttp.emulator(request)
    try:
        body = await request.json()
        properties = dict(body["properties"])
    except (ValueError, KeyError, TypeError):
        raise arm_error(400, "BadRequest", "The request body needs 'properties'.") from None
    workspace = properties.get("workspaceId")
    if workspace and models.workspace_by_id(emu, str(workspace)) is None:
        raise arm_error(400, "BadRequest", f"Workspace '{workspace}' was not found.")
    if not (
        workspace
        or properties.get("storageAccountId")
        or properties.get("eventHubName")
        or properties.get("eventHubAuthorizationRuleId")
    ):
        raise arm_error(
            400, "BadRequest", "At least one destination (workspace, storage or Event Hub) needed."
        )
    name = request.path_params["name"]
    models.put_setting(emu, rid, name, properties, emu.clock.now())
    emu.commit(request)
    return json_response(_setting_json(emu, rid, name, models.settings_of(emu, rid)[name]))


@operation("DiagnosticSettings_Delete", "arm", write=True)
@armhttp.arm_endpoint
async def delete_setting(request: Request) -> Response:
    """``DELETE .../diagnosticSettings/{name}``: 200, or 204 when there was none."""
    _, rid = _preamble(request, DELETE_SETTINGS, DIAGNOSTIC_API_VERSIONS)
    emu = armhttp.emulator(request)
    existed = models.delete_setting(emu, rid, request.path_params["name"])
    emu.commit(request)
    return json_response(None, 200 if existed else 204)


def may_read_workspace(emu: Any, oid: str, workspace: WorkspaceDecl) -> bool:
    """Whether ``oid`` may read the workspace (its declared readers, or anyone)."""
    if workspace.readers is None:
        return True
    allowed = {emu.world.principal(name).object_id for name in workspace.readers}
    return oid in allowed


@operation("Workspaces_Get", "arm")
@armhttp.arm_endpoint
async def get_workspace(request: Request) -> Response:
    """``GET .../Microsoft.OperationalInsights/workspaces/{name}``."""
    caller = armhttp.authenticate(request)
    emu = armhttp.emulator(request)
    rid = request.url.path
    request.state.target = rid
    version = armhttp.api_version(request)
    armhttp.check_provider_version(version, WORKSPACE_API_VERSIONS, "workspaces", "global", ())
    workspace = models.workspace_by_id(emu, rid)
    if workspace is not None and not may_read_workspace(emu, caller.oid, workspace):
        raise arm_errors.authorization_failed(caller.appid, caller.oid, READ_WORKSPACE, rid)
    armhttp.require(request, caller, READ_WORKSPACE, rid)
    if workspace is None:
        name = request.path_params["name"]
        raise arm_errors.resource_not_found(
            "Microsoft.OperationalInsights/workspaces", name, request.path_params["group"]
        )
    location = next(
        (loc for _, g, loc in emu.world.resource_groups if g == workspace.resource_group), ""
    )
    return json_response(
        {
            "id": workspace.id,
            "name": workspace.name,
            "type": "Microsoft.OperationalInsights/workspaces",
            "location": location,
            "properties": {
                "customerId": models.customer_id(workspace),
                "provisioningState": "Succeeded",
                "sku": {"name": "PerGB2018"},
                "retentionInDays": workspace.retention_days,
                "publicNetworkAccessForIngestion": "Enabled",
                "publicNetworkAccessForQuery": "Enabled",
            },
        }
    )


_TYPE_FILTER = re.compile(r"^\s*resourceType\s+eq\s+'([^']+)'\s*$", re.IGNORECASE)


@operation("Resources_List", "arm")
@armhttp.arm_endpoint
async def list_resources(request: Request) -> Response:
    """``GET /subscriptions/{s}/resources?$filter=resourceType eq '<type>'`` (vaults, accounts
    and workspaces; only that filter form is understood)."""
    caller = armhttp.authenticate(request)
    emu = armhttp.emulator(request)
    sub = request.path_params["subscriptionId"]
    scope = f"/subscriptions/{sub}"
    request.state.target = scope
    armhttp.check_provider_version(
        armhttp.api_version(request), RESOURCES_API_VERSIONS, "resources", "global", ()
    )
    armhttp.require(request, caller, READ_RESOURCES, scope)
    raw = request.query_params.get("$filter")
    match = _TYPE_FILTER.match(raw or "") if raw else None
    if raw and match is None:
        raise arm_error(400, "InvalidFilterInQueryString", f"Invalid $filter '{raw}'.")
    pool = [
        *((v.id, v.name, "Microsoft.KeyVault/vaults") for v in emu.world.vaults),
        *((a.id, a.name, "Microsoft.CognitiveServices/accounts") for a in emu.world.accounts),
        *(
            (w.id, w.name, "Microsoft.OperationalInsights/workspaces")
            for w in models.workspaces(emu)
        ),
    ]
    wanted = match.group(1).lower() if match else None
    value = [
        {"id": rid, "name": name, "type": kind}
        for rid, name, kind in pool
        if rid.lower().startswith(scope.lower() + "/") and wanted in (None, kind.lower())
    ]
    return json_response(armhttp.list_body(request, value))
