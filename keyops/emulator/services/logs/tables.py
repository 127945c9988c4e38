"""Rendering stored events as Log Analytics rows, in each table's own column names.

``AZKVAuditLogs`` (resource-specific): ``Identity`` is a dynamic ``{"claim": {...}}`` bag with
the caller's object id, app id and UPN claims; ``Id`` is the returned object's id (with its
version); ``RequestUri`` what was asked. ``AzureDiagnostics`` flattens the same into
``identity_claim_oid_g``, ``identity_claim_appid_g``, ``identity_claim_upn_s``, ``id_s``,
``requestUri_s`` and ``CallerIPAddress``; Azure OpenAI's ``RequestResponse`` records put the
caller's ``objectId`` into ``properties_s`` only when it used a token.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

_OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"
_UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"

#: The long-form claim columns some workspaces' AzureDiagnostics records carry instead.
URI_OID_COLUMN = "identity_claim_http_schemas_microsoft_com_identity_claims_objectidentifier_g"
URI_UPN_COLUMN = "identity_claim_http_schemas_xmlsoap_org_ws_2005_05_identity_claims_upn_s"

#: Columns (name, type) of each table, in Azure's order for those keyops reads.
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "AZKVAuditLogs": [
        ("TenantId", "string"),
        ("TimeGenerated", "datetime"),
        ("OperationName", "string"),
        ("OperationVersion", "string"),
        ("ResultType", "string"),
        ("ResultSignature", "string"),
        ("ResultDescription", "string"),
        ("DurationMs", "long"),
        ("CallerIpAddress", "string"),
        ("CorrelationId", "string"),
        ("Identity", "dynamic"),
        ("RequestUri", "string"),
        ("Id", "string"),
        ("HttpStatusCode", "int"),
        ("ClientInfo", "string"),
        ("Type", "string"),
        ("_ResourceId", "string"),
    ],
    "AzureDiagnostics": [
        ("TenantId", "string"),
        ("TimeGenerated", "datetime"),
        ("ResourceId", "string"),
        ("Category", "string"),
        ("ResourceGroup", "string"),
        ("SubscriptionId", "string"),
        ("ResourceProvider", "string"),
        ("Resource", "string"),
        ("ResourceType", "string"),
        ("OperationName", "string"),
        ("ResultType", "string"),
        ("ResultSignature", "string"),
        ("DurationMs", "long"),
        ("CallerIPAddress", "string"),
        ("CorrelationId", "string"),
        ("identity_claim_oid_g", "guid"),
        (URI_OID_COLUMN, "guid"),
        ("identity_claim_appid_g", "guid"),
        ("identity_claim_upn_s", "string"),
        (URI_UPN_COLUMN, "string"),
        ("id_s", "string"),
        ("requestUri_s", "string"),
        ("httpStatusCode_d", "real"),
        ("properties_s", "string"),
        ("Type", "string"),
        ("_ResourceId", "string"),
    ],
}


def _when(event: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(float(event["t"]), tz=timezone.utc)


def _result_type(status: int) -> str:
    return "Success" if 200 <= status < 300 else "Failure"


def _kv_signature(status: int) -> str:
    names = {200: "OK", 201: "Created", 204: "NoContent", 401: "Unauthorized", 403: "Forbidden"}
    return names.get(
        status, {404: "NotFound", 409: "Conflict", 429: "TooManyRequests"}.get(status, str(status))
    )


def _resource_parts(rid: str) -> tuple[str, str, str, str]:
    parts = rid.strip("/").split("/")
    # subscriptions/{s}/resourceGroups/{g}/providers/{ns}/{type}/{name}
    return parts[1], parts[3], parts[5], parts[7]


def render(event: dict[str, Any], tenant: str) -> dict[str, Any]:
    """One stored event as a row of its table."""
    status = int(event.get("status", 200))
    rid = str(event["resource"])
    common = {
        "TenantId": tenant,
        "TimeGenerated": _when(event),
        "OperationName": event.get("op", ""),
        "ResultType": _result_type(status),
        "DurationMs": int(event.get("ms", 0)),
        "CorrelationId": event.get("cid", ""),
        "_ResourceId": rid.lower(),
        "Type": event["table"],
    }
    if event["table"] == "AZKVAuditLogs":
        return {**common, **_vault_columns(event, status)}
    return {**common, **_diagnostics_columns(event, status, rid)}


def _vault_columns(event: dict[str, Any], status: int) -> dict[str, Any]:
    uri = event.get("claims") != "short"
    claims = (
        (_OID if uri else "oid", event.get("oid")),
        ("appid", event.get("appid")),
        (_UPN if uri else "upn", event.get("upn")),
    )
    claim = {k: v for k, v in claims if v}
    return {
        "OperationVersion": event.get("api", ""),
        "ResultSignature": _kv_signature(status),
        "ResultDescription": "",
        "CallerIpAddress": event.get("ip", ""),
        "Identity": {"claim": claim} if claim else None,
        "RequestUri": event.get("uri", ""),
        "Id": event.get("object", ""),
        "HttpStatusCode": status,
        "ClientInfo": event.get("agent", ""),
    }


def _diagnostics_columns(event: dict[str, Any], status: int, rid: str) -> dict[str, Any]:
    sub, group, provider, name = _resource_parts(rid)
    audit = event["kind"] == "audit"
    properties: dict[str, Any] = {"apiName": event.get("api", "")}
    if not audit:
        properties["modelDeploymentName"] = event.get("deployment", "")
        if event.get("oid"):  # only token callers carry their object id
            properties["objectId"] = event["oid"]

    def audit_only(key: str) -> Any:
        return event.get(key, "") if audit else ""

    uri = event.get("claims") == "uri"
    filled = {
        "ResourceId": rid.upper(),
        "Category": "AuditEvent" if audit else "RequestResponse",
        "ResourceGroup": group.upper(),
        "SubscriptionId": sub,
        "ResourceProvider": provider.upper(),
        "Resource": name.upper(),
        "ResourceType": rid.strip("/").split("/")[6].upper(),
        "ResultSignature": _kv_signature(status) if audit else str(status),
        "CallerIPAddress": event.get("ip", ""),
        URI_OID_COLUMN if uri else "identity_claim_oid_g": audit_only("oid"),
        "identity_claim_appid_g": audit_only("appid"),
        URI_UPN_COLUMN if uri else "identity_claim_upn_s": audit_only("upn"),
        "id_s": audit_only("object"),
        "requestUri_s": audit_only("uri"),
        "httpStatusCode_d": float(status),
        "properties_s": json.dumps(properties, separators=(",", ":")),
    }
    # AzureDiagnostics has a column only once some record filled it.
    return {k: v for k, v in filled.items() if v not in ("", None)}


def columns_of(table: str, rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The table's columns as a workspace has them: AzureDiagnostics has its fixed columns and
    gains a resource-specific one (``_s``, ``_g``, ``_d``) only once a record fills it; a query
    naming any other fails to resolve it, as in Azure."""
    columns = COLUMNS[table]
    if table != "AzureDiagnostics":
        return columns
    seen = {k for row in rows for k in row}
    return [c for c in columns if c[0] in seen or not c[0].endswith(("_s", "_g", "_d"))]


def wire_value(value: Any, kind: str) -> Any:
    """A value as the query API serialises it (datetimes in ISO 8601 with 'Z')."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if kind == "dynamic" or isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if hasattr(value, "total_seconds"):
        total = value.total_seconds()
        return f"{int(total // 3600):02d}:{int(total % 3600 // 60):02d}:{total % 60:09.6f}"
    return value


def kind_of(value: Any) -> str:
    """The column type a computed value gets."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "real"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, (dict, list)):
        return "dynamic"
    if hasattr(value, "total_seconds"):
        return "timespan"
    return "string"
