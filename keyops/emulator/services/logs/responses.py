"""The Logs query API: ``POST /v1/workspaces/{customerId}/query`` and, resource-centric,
``POST /v1/{resourceId}/query``; body ``{query, timespan}``; answer ``{tables: [{name, columns:
[{name, type}], rows}]}``. Only records already ingested (older than the ingestion delay) are
seen; a query the KQL interpreter refuses is Azure's 400 ``BadArgumentError``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from keyops.emulator.core.context import Emulator
from keyops.emulator.core.errors import EmulatorHTTPError
from keyops.emulator.core.operation import json_response, operation
from keyops.emulator.core.tokens import Caller, TokenError
from keyops.emulator.services.admin.auth import admin_emulator, bad_request, json_body
from keyops.emulator.services.logs import exceptions as exc
from keyops.emulator.services.logs import kqleval, models, tables
from keyops.emulator.services.logs.arm import may_read_workspace
from keyops.emulator.services.logs.kqlparse import KqlError, parse
from keyops.emulator.services.monitor.query import parse_timespan

LOGS_AUDIENCES = ["https://api.loganalytics.io"]
#: What resource-centric queries need on the resource (Reader's ``*/read`` grants it).
READ_LOGS = "Microsoft.Insights/logs/read"


def _caller(emu: Emulator, request: Request) -> Caller:
    try:
        return emu.caller(request, LOGS_AUDIENCES)
    except TokenError:
        raise exc.unauthenticated() from None


async def _body(request: Request, now: float) -> tuple[str, float, float]:
    try:
        body = await request.json()
    except ValueError:
        raise exc.bad_argument("The request body is not valid JSON.") from None
    query = body.get("query") if isinstance(body, dict) else None
    if not isinstance(query, str) or not query.strip():
        raise exc.bad_argument("The request body needs a non-empty 'query'.")
    span = body.get("timespan")
    if span is None:
        return query, 0.0, now
    try:
        start, end = parse_timespan(str(span), now)
    except EmulatorHTTPError:
        raise exc.bad_argument(f"Invalid timespan '{span}'.") from None
    return query, start, end


def _answer(emu: Emulator, query: str, records: list[Any], start: float, end: float) -> Response:
    now = emu.clock.now()
    try:
        parsed = parse(query)
        if parsed.table not in tables.COLUMNS:
            raise KqlError(
                f"Failed to resolve table expression named '{parsed.table}'", kind="semantic"
            )
        stored = [r for r in records if r["table"] == parsed.table]
        rendered = [tables.render(r, emu.tenant_id) for r in stored]
        columns = tables.columns_of(parsed.table, rendered)
        rows = [
            row for r, row in zip(stored, rendered, strict=True) if start <= float(r["t"]) <= end
        ]
        names, result = kqleval.run(
            parsed,
            rows,
            [c for c, _ in columns],
            datetime.fromtimestamp(now, tz=timezone.utc),
            dict(columns),
        )
    except KqlError as err:
        raise exc.bad_query(err, query) from None
    known = dict(columns)
    kinds = {}
    for name in names:
        sample = next((r[name] for r in result if r.get(name) is not None), None)
        computed = tables.kind_of(sample) if sample is not None else "string"
        kinds[name] = known.get(name, computed)
    return json_response(
        {
            "tables": [
                {
                    "name": "PrimaryResult",
                    "columns": [{"name": n, "type": kinds[n]} for n in names],
                    "rows": [
                        [tables.wire_value(r.get(n), kinds[n]) for n in names] for r in result
                    ],
                }
            ]
        }
    )


@operation("Query_Execute", "monitor")
async def query_workspace(request: Request) -> Response:
    """``POST /v1/workspaces/{workspaceId}/query``."""
    emu: Emulator = request.app.state.emulator
    caller = _caller(emu, request)
    cid = request.path_params["workspace"]
    workspace = models.workspace_by_customer_id(emu, cid)
    if workspace is None:
        raise exc.workspace_not_found(cid)
    request.state.target = workspace.id
    if not may_read_workspace(emu, caller.oid, workspace):
        raise exc.forbidden()
    now = emu.clock.now()
    query, start, end = await _body(request, now)
    records = models.queryable(emu, workspace.id, now)
    return _answer(emu, query, records, start, end)


@operation("Query_ResourceExecute", "monitor")
async def query_resource(request: Request) -> Response:
    """``POST /v1/{resourceId}/query``: the resource's records, whichever workspace has them."""
    emu: Emulator = request.app.state.emulator
    caller = _caller(emu, request)
    rid = "/" + request.path_params["resource"].strip("/")
    request.state.target = rid
    known = [r for r in models.resource_ids(emu) if r.lower() == rid.lower()]
    if not emu.rbac.allows(caller.oid, READ_LOGS, rid):
        raise exc.forbidden()
    if not known:
        raise exc.resource_not_found(rid)
    now = emu.clock.now()
    query, start, end = await _body(request, now)
    records = [
        r
        for space in models.logs_state(emu)["records"]
        for r in models.queryable(emu, space, now)
        if str(r["resource"]).lower() == rid.lower()
    ]
    return _answer(emu, query, records, start, end)


@operation("Admin_Logs", "admin")
async def admin_logs(request: Request) -> Response:
    """GET the ingestion delay and record counts; POST ``{ingestion_delay: seconds}``."""
    emu = admin_emulator(request)
    state = models.logs_state(emu)
    if request.method == "POST":
        body = await json_body(request)
        delay = body.get("ingestion_delay")
        if not isinstance(delay, (int, float)) or isinstance(delay, bool) or delay < 0:
            raise bad_request("ingestion_delay: expected seconds >= 0")
        state["ingestion_delay"] = float(delay)
        emu.commit(request)
    return json_response(
        {
            "ingestion_delay": state["ingestion_delay"],
            "records": {ws: len(recs) for ws, recs in state["records"].items()},
        }
    )


@operation("Admin_SwitchConsumer", "admin")
async def admin_consumer(request: Request) -> Response:
    """POST ``{auth: "key" | "token"}``: a declared consumer's owner changes how it calls."""
    from keyops.emulator.services.logs.consumers import switch_auth

    emu = admin_emulator(request)
    body = await json_body(request)
    name = request.path_params["name"]
    try:
        answer = switch_auth(emu, name, str(body.get("auth", "")))
    except LookupError as err:
        raise EmulatorHTTPError(404, {"error": {"code": "NotFound", "message": str(err)}}) from None
    except ValueError as err:
        raise bad_request(str(err)) from None
    emu.commit(request)
    return json_response(answer)
