"""HTTP handlers of Azure Monitor metrics: per resource (ARM), batch (data plane), admin."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from keyops.emulator import apiversions
from keyops.emulator.core.armrouter import resource_requests_header
from keyops.emulator.core.context import Emulator
from keyops.emulator.core.errors import EmulatorHTTPError, arm_error
from keyops.emulator.core.operation import json_response, operation
from keyops.emulator.core.tokens import Caller, TokenError
from keyops.emulator.services.admin.auth import admin_emulator, bad_request, json_body
from keyops.emulator.services.arm import armhttp
from keyops.emulator.services.arm import exceptions as arm_errors
from keyops.emulator.services.arm.models import AccountView, get_account
from keyops.emulator.services.monitor import models, results
from keyops.emulator.services.monitor.catalog import NAMESPACE
from keyops.emulator.services.monitor.query import parse_timespan, stamp

#: api-versions published for each operation (the emulator's one table).
METRICS_API_VERSIONS = apiversions.METRICS
DEFINITIONS_API_VERSIONS = apiversions.METRIC_DEFINITIONS
BATCH_API_VERSIONS = apiversions.METRICS_BATCH
METRICS_AUDIENCES = ["https://metrics.monitor.azure.com"]
READ_METRICS = "Microsoft.Insights/metrics/read"
READ_DEFINITIONS = "Microsoft.Insights/metricDefinitions/read"
MAX_BATCH = 50


def _params(request: Request) -> dict[str, str | None]:
    """Query parameters by lower-case name (Azure ignores their case); ``$filter`` -> filter."""
    out: dict[str, str | None] = {}
    for key, value in request.query_params.items():
        out[key.lower().lstrip("$")] = value
    return out


def _batch_caller(emu: Emulator, request: Request) -> Caller:
    if not request.headers.get("authorization"):
        raise _batch_error(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        )
    try:
        return emu.caller(request, METRICS_AUDIENCES)
    except TokenError:
        raise _batch_error(
            401, "InvalidAuthenticationToken", "The access token is invalid."
        ) from None


def _account(request: Request, caller: Caller, resource: str, action: str) -> AccountView:
    # RBAC is evaluated before existence, as ARM does (no probing for resources).
    armhttp.require(request, caller, action, resource)
    account = models.account_by_id(armhttp.emulator(request), resource)
    if account is None:
        parts = resource.strip("/").split("/")
        raise arm_errors.resource_not_found("/".join(parts[5:7]), parts[7], parts[3])
    return account


def _arm_preamble(
    request: Request, supported: tuple[str, ...], type_name: str, action: str
) -> tuple[AccountView, dict[str, str | None]]:
    caller = armhttp.authenticate(request)
    request.state.target = request.path_params["resource"]
    version = armhttp.api_version(request)
    armhttp.check_provider_version(version, supported, type_name, "global", ("global",))
    return _account(request, caller, request.path_params["resource"], action), _params(request)


@operation("Metrics_List", "monitor")
@armhttp.arm_endpoint
async def list_metrics(request: Request) -> Response:
    """``GET {resourceUri}/providers/Microsoft.Insights/metrics``."""
    account, params = _arm_preamble(request, METRICS_API_VERSIONS, "metrics", READ_METRICS)
    emu = armhttp.emulator(request)
    return json_response(results.response(emu, account, params, emu.clock.now()))


@operation("MetricDefinitions_List", "monitor")
@armhttp.arm_endpoint
async def list_definitions(request: Request) -> Response:
    """``GET {resourceUri}/providers/Microsoft.Insights/metricDefinitions``."""
    account, params = _arm_preamble(
        request, DEFINITIONS_API_VERSIONS, "metricDefinitions", READ_DEFINITIONS
    )
    results.check_namespace(params.get("metricnamespace"))
    return json_response(results.definitions(account), headers=resource_requests_header(request))


def _batch_error(status: int, code: str, message: str) -> EmulatorHTTPError:
    return EmulatorHTTPError(status, {"error": {"code": code, "message": message}})


async def _resource_ids(request: Request, subscription: str) -> list[str]:
    try:
        body = await request.json()
    except ValueError:
        raise _batch_error(400, "BadRequest", "The request body is not valid JSON.") from None
    ids = body.get("resourceids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise _batch_error(
            400,
            "BadRequest",
            "The request body must contain 'resourceids', a non-empty list of resource ids.",
        )
    if len(ids) > MAX_BATCH:
        raise _batch_error(
            400,
            "BadRequest",
            f"At most {MAX_BATCH} resource ids are allowed in one batch; got {len(ids)}.",
        )
    for rid in ids:
        if not rid.lower().startswith(f"/subscriptions/{subscription.lower()}/"):
            raise _batch_error(
                400, "BadRequest", f"Resource id '{rid}' is not in subscription '{subscription}'."
            )
    return ids


@operation("Batch", "monitor")
async def batch(request: Request) -> Response:
    """``POST /subscriptions/{s}/metrics:getBatch`` (the regional metrics data plane)."""
    emu: Emulator = request.app.state.emulator
    caller = _batch_caller(emu, request)
    params = _params(request)
    version = params.get("api-version")
    if version not in BATCH_API_VERSIONS:
        raise _batch_error(
            400,
            "UnsupportedApiVersion",
            f"The HTTP resource that matches the request URI '{request.url.path}' "
            f"does not support the API version '{version}'.",
        )
    if not params.get("metricnamespace") or not params.get("metricnames"):
        raise _batch_error(
            400, "BadRequest", "The metricnamespace and metricnames query parameters are required."
        )
    ids = await _resource_ids(request, request.path_params["subscription"])
    now = emu.clock.now()
    start, end = _batch_span(params.get("starttime"), params.get("endtime"), now)
    win = results.window(start, end, params.get("interval"), False)
    results.check_namespace(params["metricnamespace"])
    names = results.metric_names(params["metricnames"])
    values = []
    for rid in ids:
        account = _account(request, caller, rid, READ_METRICS)
        values.append(
            {
                "starttime": params.get("starttime") or stamp(start),
                "endtime": params.get("endtime") or stamp(end),
                "interval": win.interval,
                "value": results.metric_values(emu, account, names, win, params),
                "namespace": NAMESPACE.lower(),
                "resourceregion": account.location,
                "resourceid": account.id,
            }
        )
    request.state.target = ",".join(ids)
    return json_response({"values": values})


def _batch_span(start: str | None, end: str | None, now: float) -> tuple[float, float]:
    if start and end:
        return parse_timespan(f"{start}/{end}", now)
    if start:
        return parse_timespan(f"{start}/{stamp(now)}", now)
    if end:
        raise _batch_error(400, "BadRequest", "starttime is required when endtime is given.")
    return parse_timespan(None, now)


def _admin_account(emu: Emulator, name: str) -> AccountView:
    account = get_account(emu, name)
    if account is None:
        raise arm_error(404, "NotFound", f"No account named {name!r}.")
    return account


def _entry_view(account: AccountView, entry: dict[str, Any] | None) -> dict[str, Any]:
    if entry is None:
        return {"account": account.name, "history": None}
    return {"account": account.name, "origin": entry["origin"], "history": entry["spec"]}


@operation("Admin_Metrics", "admin")
async def admin_metrics(request: Request) -> Response:
    """GET an account's history spec; POST ``{history: spec}`` replaces it (ending now) and
    ``{events: [...]}`` adds events (times relative to now)."""
    emu = admin_emulator(request)
    account = _admin_account(emu, request.path_params["account"])
    if request.method == "POST":
        body = await json_body(request)
        if not {"history", "events"} & set(body):
            raise bad_request("body needs 'history' and/or 'events'")
        try:
            if "history" in body:
                models.set_history(emu, account.name, body["history"])
        except ValueError as err:
            raise bad_request(f"history.{err}") from None
        try:
            if "events" in body:
                models.add_events(emu, account.name, body["events"])
        except ValueError as err:
            raise bad_request(str(err)) from None
        emu.commit(request)
    return json_response(_entry_view(account, models.history_entry(emu, account.name)))
