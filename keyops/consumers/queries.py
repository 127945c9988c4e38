"""The KQL keyops sends, and the parsing of its answers in both column schemas.

Key Vault ``AuditEvent`` records land in ``AZKVAuditLogs`` (resource-specific, when the
diagnostic setting's destination type is "Dedicated": ``Identity`` is a dynamic ``claim`` bag,
``Id`` the returned object's id) or in ``AzureDiagnostics`` (flattened: ``identity_claim_oid_g``,
``identity_claim_appid_g``, ``id_s``, ``requestUri_s``, ``CallerIPAddress``). The version read is
taken from the returned object's id, never the request URI: a versionless read has none there.
Azure OpenAI ``RequestResponse`` records are in ``AzureDiagnostics`` whatever the destination type
(Azure Monitor's supported-logs page lists no resource-specific table for any
Microsoft.CognitiveServices/accounts category); their ``properties_s`` JSON carries ``objectId``
only when the caller used an Entra token.

Each query summarises in the service (one row per identity, IP, version and result), so what
comes back is small whatever the traffic.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from keyops.consumers.evidence import DataCaller, VaultReader

_OID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"
_UPN_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
#: The same claims as AzureDiagnostics columns, in their long (URI) form.
_OID_COLUMN = "identity_claim_http_schemas_microsoft_com_identity_claims_objectidentifier_g"
_UPN_COLUMN = "identity_claim_http_schemas_xmlsoap_org_ws_2005_05_identity_claims_upn_s"
_REJECTED = {"401", "403", "unauthorized", "forbidden"}


def kql_string(value: str) -> str:
    """A KQL single-quoted string literal (backslash escapes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _secret_filter(column: str, secret: str) -> str:
    # '/secrets/<name>/' (versioned, or the SDK's trailing slash) or '/secrets/<name>?'
    # (versionless): 'contains' alone would also match a secret whose name extends this one.
    a, b = kql_string(f"/secrets/{secret}/"), kql_string(f"/secrets/{secret}?")
    return f"({column} contains {a} or {column} contains {b})"


def _either(*forms: str) -> str:
    # Claims come as short names in some records and as claim URIs in others (Microsoft's own
    # samples show both); read whichever is there.
    return "coalesce(" + ", ".join(f"tostring({f})" for f in forms) + ")"


def _optional(column: str) -> str:
    # AzureDiagnostics gains a column only once some record fills it; naming a column it lacks
    # is a 400 SemanticError, so every column not filled by every record is read this way.
    return f"column_ifexists({kql_string(column)}, '')"


def vault_query(table: str, vault_id: str, secret: str) -> str:
    """Reads of ``secret`` in the vault, per identity, IP, returned object id and result."""
    rid = kql_string(vault_id)
    summary = "summarize Reads = count(), LastRead = max(TimeGenerated) by "
    if table == "AZKVAuditLogs":
        oid = _either(f"Identity.claim[{kql_string(_OID_CLAIM)}]", "Identity.claim.oid")
        upn = _either(f"Identity.claim[{kql_string(_UPN_CLAIM)}]", "Identity.claim.upn")
        return "\n".join(
            [
                "AZKVAuditLogs",
                f"| where OperationName == 'SecretGet' and _ResourceId =~ {rid}",
                f"| where {_secret_filter('RequestUri', secret)}",
                f"| extend ObjectId = {oid}, AppId = tostring(Identity.claim.appid), Upn = {upn}",
                f"| {summary}ObjectId, AppId, Upn, Ip = CallerIpAddress, Id, ResultSignature",
            ]
        )
    oid = _either(_optional("identity_claim_oid_g"), _optional(_OID_COLUMN))
    upn = _either(_optional("identity_claim_upn_s"), _optional(_UPN_COLUMN))
    return "\n".join(
        [
            "AzureDiagnostics",
            "| where ResourceProvider == 'MICROSOFT.KEYVAULT' and Category == 'AuditEvent'",
            f"| where OperationName == 'SecretGet' and _ResourceId =~ {rid}",
            f"| extend RequestUri = tostring({_optional('requestUri_s')})",
            f"| where {_secret_filter('RequestUri', secret)}",
            f"| extend ObjectId = {oid}, AppId = tostring({_optional('identity_claim_appid_g')}), "
            f"Upn = {upn}, Ip = tostring({_optional('CallerIPAddress')}), "
            f"Id = tostring({_optional('id_s')}), "
            f"ResultSignature = tostring({_optional('ResultSignature')})",
            f"| {summary}ObjectId, AppId, Upn, Ip, Id, ResultSignature",
        ]
    )


def account_query(account_id: str) -> str:
    """Data-plane calls on the account, per caller object id (token callers), IP and status."""
    return "\n".join(
        [
            "AzureDiagnostics",
            "| where ResourceProvider == 'MICROSOFT.COGNITIVESERVICES' and "
            "Category == 'RequestResponse'",
            f"| where _ResourceId =~ {kql_string(account_id)}",
            f"| extend ObjectId = tostring(todynamic({_optional('properties_s')}).objectId), "
            f"Ip = tostring({_optional('CallerIPAddress')}), "
            f"Status = tostring({_optional('ResultSignature')})",
            "| summarize Calls = count(), FirstSeen = min(TimeGenerated), "
            "LastSeen = max(TimeGenerated) by ObjectId, Ip, Status",
        ]
    )


def parse_time(value: Any) -> datetime:
    """A UTC datetime from a datetime or ISO 8601 text (Azure sends 7 fractional digits)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value).replace("Z", "+00:00")
    if "." in text:  # Python 3.10 takes at most 6 fractional digits
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _text(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def secret_version(object_id: str | None, secret: str) -> tuple[bool, str | None]:
    """(whether the id is this secret's, its version) from ``https://v/secrets/<name>/<ver>``."""
    if not object_id:
        return True, None
    parts = object_id.split("?", 1)[0].rstrip("/").split("/")
    if "secrets" not in parts:
        return False, None
    at = parts.index("secrets")
    rest = parts[at + 1 :]
    if not rest or rest[0].lower() != secret.lower():
        return False, None
    return True, rest[1] if len(rest) > 1 else None


def _challenge(key: tuple[str | None, str | None, str | None], ok: list[Any]) -> bool:
    # No object id, no app id and nothing served: the 401 challenge every Key Vault SDK client
    # gets on its first request, before it presents a token. Not a consumer.
    return key[0] is None and key[1] is None and not ok


def _groups(
    rows: Iterable[dict[str, Any]], secret: str
) -> dict[tuple[str | None, str | None, str | None], list[dict[str, Any]]]:
    groups: dict[tuple[str | None, str | None, str | None], list[dict[str, Any]]] = {}
    for row in rows:
        mine, _ = secret_version(_text(row.get("Id")), secret)
        if mine:
            key = (_text(row.get("ObjectId")), _text(row.get("AppId")), _text(row.get("Ip")))
            groups.setdefault(key, []).append(row)
    return groups


def _served(group: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in group if str(r.get("ResultSignature", "")).lower() not in _REJECTED]


def unauthenticated_reads(rows: Iterable[dict[str, Any]], secret: str) -> int:
    """Reads of ``secret`` refused before any identity was presented (401 challenges)."""
    return sum(
        int(r.get("Reads") or 0)
        for key, group in _groups(rows, secret).items()
        if _challenge(key, _served(group))
        for r in group
    )


def readers_from_rows(
    rows: Iterable[dict[str, Any]],
    table: str,
    secret: str,
    settled_until: datetime,
    own: frozenset[str] = frozenset(),
) -> tuple[VaultReader, ...]:
    """One :class:`VaultReader` per (object id, app id, IP), with the version it read last;
    identity-less 401 challenges are left out, ``own`` ids (keyops's) are marked."""
    readers = []
    for (oid, app, ip), group in _groups(rows, secret).items():
        ok = _served(group)
        if _challenge((oid, app, ip), ok):
            continue
        denied = sum(int(r.get("Reads") or 0) for r in group if r not in ok)
        latest = max(ok or group, key=lambda r: parse_time(r["LastRead"]))
        last = parse_time(latest["LastRead"])
        readers.append(
            VaultReader(
                object_id=oid,
                app_id=app,
                ip=ip,
                display=next((_text(r.get("Upn")) for r in group if _text(r.get("Upn"))), None),
                version=secret_version(_text(latest.get("Id")), secret)[1] if ok else None,
                last_read=last,
                reads=sum(int(r.get("Reads") or 0) for r in ok),
                denied=denied,
                settled=last <= settled_until,
                keyops=bool({(oid or "").lower(), (app or "").lower()} & own),
            )
        )
    return tuple(sorted(readers, key=lambda r: (r.last_read, r.object_id or "", r.ip or "")))


def callers_from_rows(
    rows: Iterable[dict[str, Any]], settled_until: datetime, own: frozenset[str] = frozenset()
) -> tuple[DataCaller, ...]:
    """Token callers by object id, key callers by IP, with their call and rejection counts."""
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for row in rows:
        oid = _text(row.get("ObjectId"))
        key = ("token", oid) if oid else ("key", _text(row.get("Ip")))
        groups.setdefault(key, []).append(row)
    callers = []
    for (auth, who), group in groups.items():
        first = min(parse_time(r["FirstSeen"]) for r in group)
        latest = max(group, key=lambda r: parse_time(r["LastSeen"]))
        last = parse_time(latest["LastSeen"])
        callers.append(
            DataCaller(
                auth="token" if auth == "token" else "key",
                object_id=who if auth == "token" else None,
                ip=_text(latest.get("Ip")),
                calls=sum(int(r.get("Calls") or 0) for r in group),
                first_seen=first,
                last_seen=last,
                rejected=sum(
                    int(r.get("Calls") or 0)
                    for r in group
                    if str(r.get("Status", "")).lower() in _REJECTED
                ),
                settled=last <= settled_until,
                keyops=auth == "token" and (who or "").lower() in own,
            )
        )
    return tuple(sorted(callers, key=lambda c: (c.auth, c.object_id or "", c.ip or "")))
