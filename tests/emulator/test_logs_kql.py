"""The emulator's KQL interpreter: the queries keyops sends, the operators it supports, and
Azure's refusal of everything else."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from keyops.consumers.queries import (
    account_query,
    callers_from_rows,
    kql_string,
    readers_from_rows,
    vault_query,
)
from keyops.emulator.services.logs import kqleval, tables
from keyops.emulator.services.logs.kqlparse import KqlError, parse

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
VAULT = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
ACCOUNT = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a"
URL = "https://kv.vault.azure.net"


def _read(minutes_ago: float, oid: str, version: str, name: str = "app-key", **kw: Any) -> Any:
    return {
        "t": (NOW - timedelta(minutes=minutes_ago)).timestamp(),
        "kind": "audit",
        "resource": VAULT,
        "op": "SecretGet",
        "status": kw.get("status", 200),
        "ip": kw.get("ip", "10.0.0.1"),
        "oid": oid,
        "appid": f"app-{oid}",
        "object": f"{URL}/secrets/{name}/{version}" if kw.get("status", 200) == 200 else "",
        "uri": f"{URL}/secrets/{name}/?api-version=7.5",
    }


def _call(minutes_ago: float, oid: str | None, ip: str, status: int = 200) -> Any:
    return {
        "t": (NOW - timedelta(minutes=minutes_ago)).timestamp(),
        "kind": "request",
        "resource": ACCOUNT,
        "op": "ChatCompletions_Create",
        "status": status,
        "ip": ip,
        "oid": oid,
        "table": "AzureDiagnostics",
    }


def _run(query: str, events: list[Any], table: str) -> list[dict[str, Any]]:
    rows = [tables.render({**e, "table": table}, "tenant") for e in events]
    schema = tables.columns_of(table, rows)
    _, result = kqleval.run(parse(query), rows, [c for c, _ in schema], NOW, dict(schema))
    return result


@pytest.mark.parametrize("table", ["AZKVAuditLogs", "AzureDiagnostics"])
def test_the_vault_query_finds_each_readers_last_version_in_both_schemas(table: str) -> None:
    events = [
        _read(300, "o1", "v1"),
        _read(100, "o1", "v2"),  # o1 moved on to v2
        _read(200, "o2", "v1", ip="10.0.0.2"),
        _read(50, "o2", "", status=403, ip="10.0.0.2"),  # then was refused
        _read(10, "o3", "v9", name="app-key-2"),  # another secret: a longer name
        _read(5, "o4", "v2", name="other"),
    ]
    rows = _run(vault_query(table, VAULT.upper(), "app-key"), events, table)
    readers = {r.object_id: r for r in readers_from_rows(rows, table, "app-key", NOW)}
    assert set(readers) == {"o1", "o2"}
    assert (readers["o1"].version, readers["o1"].reads, readers["o1"].app_id) == ("v2", 2, "app-o1")
    assert (readers["o2"].version, readers["o2"].reads, readers["o2"].denied) == ("v1", 1, 1)
    assert readers["o2"].ip == "10.0.0.2"


def test_the_account_query_tells_token_callers_from_key_callers() -> None:
    events = [
        _call(30, None, "10.1.0.1"),
        _call(20, None, "10.1.0.1", status=401),
        _call(10, "oid-t", "10.1.0.2"),
        _call(5, "oid-t", "10.1.0.3"),  # a token caller moving between IPs stays one caller
    ]
    rows = _run(account_query(ACCOUNT), events, "AzureDiagnostics")
    callers = callers_from_rows(rows, NOW - timedelta(minutes=10))
    key = next(c for c in callers if c.auth == "key")
    token = next(c for c in callers if c.auth == "token")
    assert (key.ip, key.calls, key.rejected, key.object_id) == ("10.1.0.1", 2, 1, None)
    assert (token.object_id, token.calls, token.ip) == ("oid-t", 2, "10.1.0.3")
    assert key.settled and not token.settled  # its last call is inside the hold-back


def test_where_extend_project_summarize_bin_order_take_ago() -> None:
    events = [_call(m, None, f"10.0.0.{m % 3}") for m in (5, 65, 70, 130, 200, 20000)]
    query = (
        "AzureDiagnostics | where TimeGenerated > ago(1d) and ResultSignature == '200' "
        "| extend Hour = bin(TimeGenerated, 1h) "
        "| summarize Calls = count(), Ips = dcount(CallerIPAddress) by Hour "
        "| order by Hour asc | take 3 | project Hour, Calls"
    )
    result = _run(query, events, "AzureDiagnostics")
    assert [r["Calls"] for r in result] == [1, 1, 2]  # 08:00, 09:00, 10:00; 11:00 cut
    assert list(result[0]) == ["Hour", "Calls"]
    assert result[0]["Hour"] == datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def test_comparisons_and_logic() -> None:
    events = [_call(1, None, "10.0.0.1"), _call(2, "o", "10.0.0.2", 401)]

    def ips(where: str) -> list[str]:
        rows = _run(
            f"AzureDiagnostics | where {where} | order by CallerIPAddress asc",
            events,
            "AzureDiagnostics",
        )
        return [r["CallerIPAddress"] for r in rows]

    assert ips("ResultSignature != '200'") == ["10.0.0.2"]
    assert ips("CallerIPAddress startswith '10.0' and not(ResultSignature == '401')") == [
        "10.0.0.1"
    ]
    assert ips("Resource =~ 'a' or httpStatusCode_d >= 400") == ["10.0.0.1", "10.0.0.2"]
    assert ips("properties_s !contains 'objectId'") == ["10.0.0.1"]
    assert ips("CallerIPAddress endswith '.2' and DurationMs < 1") == ["10.0.0.2"]


@pytest.mark.parametrize(
    ("query", "token"),
    [
        ("AzureDiagnostics | join (AZKVAuditLogs) on CorrelationId", "join"),
        ("union AzureDiagnostics, AZKVAuditLogs", "AzureDiagnostics"),
        ("AzureDiagnostics | mv-expand properties_s", "mv"),
        ("AzureDiagnostics | where Resource has 'a'", "has"),
        ("AzureDiagnostics | where Resource in ('a', 'b')", "in"),
        ("AzureDiagnostics | where Resource == 'a", "'"),
        ("AzureDiagnostics | take", "<end of query>"),
        ("", ""),
    ],
)
def test_anything_else_is_refused_as_a_syntax_error(query: str, token: str) -> None:
    with pytest.raises(KqlError) as caught:
        parse(query)
    assert caught.value.kind == "syntax" and caught.value.token == token


@pytest.mark.parametrize(
    "query",
    [
        "AzureDiagnostics | where NoSuchColumn == 1",
        "AzureDiagnostics | extend x = strcat(Resource, 'a')",
        "AzureDiagnostics | summarize percentile(DurationMs, 95)",
        "AzureDiagnostics | where count() > 1",
        "AzureDiagnostics | project Resource | where Category == 'x'",
        # Refused by their types, whatever the rows (these run on none):
        "AzureDiagnostics | where 1",
        "AzureDiagnostics | where Category == 1",
        "AzureDiagnostics | where TimeGenerated > 'yesterday'",
        "AzureDiagnostics | where Category == 'x' and DurationMs",
        "AzureDiagnostics | where Category == 'nope' | summarize foo(TimeGenerated) by Category",
        "AzureDiagnostics | extend N = count() | where N == 'x'",
    ],
)
def test_unknown_columns_and_functions_are_semantic_errors(query: str) -> None:
    with pytest.raises(KqlError) as caught:
        _run(query, [], "AzureDiagnostics")
    assert caught.value.kind == "semantic"


def test_a_column_no_record_filled_is_refused_unless_read_with_column_ifexists() -> None:
    """AzureDiagnostics gains ``requestUri_s`` only once a Key Vault record fills it: with only
    data-plane records, naming it fails as in Azure, and ``column_ifexists`` reads it as empty."""
    events = [_call(5, None, "10.0.0.1")]
    with pytest.raises(KqlError, match="Failed to resolve scalar expression named 'requestUri_s'"):
        _run("AzureDiagnostics | where requestUri_s contains 'x'", events, "AzureDiagnostics")
    rows = _run(
        "AzureDiagnostics | extend U = column_ifexists('requestUri_s', 'none'), "
        "O = coalesce(tostring(column_ifexists('identity_claim_oid_g', '')), 'fallback')",
        events,
        "AzureDiagnostics",
    )
    assert (rows[0]["U"], rows[0]["O"]) == ("none", "fallback")


@pytest.mark.parametrize("claims", ["short", "uri"])
def test_the_vault_query_reads_either_claim_form_in_both_tables(claims: str) -> None:
    for table in ("AZKVAuditLogs", "AzureDiagnostics"):
        events = [{**_read(10, "o1", "v1"), "claims": claims}]
        rows = _run(vault_query(table, VAULT, "app-key"), events, table)
        (found,) = readers_from_rows(rows, table, "app-key", NOW)
        assert (found.object_id, found.app_id, found.version) == ("o1", "app-o1", "v1")


def test_summarize_by_alone_gives_the_distinct_groups() -> None:
    events = [_call(m, None, ip) for m, ip in ((5, "10.0.0.1"), (6, "10.0.0.1"), (7, "10.0.0.2"))]
    rows = _run("AzureDiagnostics | summarize by CallerIPAddress", events, "AzureDiagnostics")
    assert sorted(r["CallerIPAddress"] for r in rows) == ["10.0.0.1", "10.0.0.2"]


def test_hostile_names_stay_string_literals() -> None:
    """A name with quotes and backslashes cannot end the literal and inject KQL."""
    hostile = "x' or 1 == 1 or Resource == '\\"
    query = vault_query("AZKVAuditLogs", VAULT, hostile)
    assert kql_string(hostile) == "'x\\' or 1 == 1 or Resource == \\'\\\\'"
    events = [_read(5, "o1", "v1"), _read(5, "o2", "v1", name=hostile)]
    rows = _run(query, events, "AZKVAuditLogs")
    assert [r["ObjectId"] for r in rows] == ["o2"]
