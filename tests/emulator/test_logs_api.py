"""The Logs query API on the wire, driven by azure-monitor-query's LogsQueryClient: the answer's
shape, the timespan, the ingestion delay, and Azure's errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from keyops.emulator.services.logs.models import customer_id
from tests.consumers.worlds import WEU_ID, consumers_world
from tests.support.emulator import EmulatorHandle, start_emulator

RECENT = "AzureDiagnostics | where Category == 'RequestResponse' | summarize n = count()"


@pytest.fixture(scope="module")
def logs_api(tmp_path_factory: pytest.TempPathFactory, tls_dir: Path) -> Iterator[EmulatorHandle]:
    """A consumers-world emulator (read-only use)."""
    handle = start_emulator(tmp_path_factory.mktemp("logs-api"), tls_dir, world=consumers_world())
    yield handle
    handle.stop()


def _client(emulator: EmulatorHandle, principal: str = "keyops-rotator") -> Any:
    from azure.monitor.query import LogsQueryClient

    return LogsQueryClient(
        emulator.credential(principal),
        endpoint=emulator.url,
        audience="https://api.loganalytics.io",
        connection_verify=emulator.ca_bundle,
        retry_total=0,
    )


def _workspace(emulator: EmulatorHandle, name: str = "ops-logs") -> str:
    world = emulator.server.emulator.world
    return customer_id(next(w for w in world.logs.workspaces if w.name == name))


def test_a_workspace_query_answers_typed_tables(logs_api: EmulatorHandle) -> None:
    from azure.monitor.query import LogsQueryStatus

    query = (
        "AzureDiagnostics | where Category == 'RequestResponse' "
        "| summarize Calls = count(), Last = max(TimeGenerated) by CallerIPAddress "
        "| order by Calls desc"
    )
    result = _client(logs_api).query_workspace(
        _workspace(logs_api), query, timespan=timedelta(days=7)
    )
    assert result.status == LogsQueryStatus.SUCCESS
    table = result.tables[0]
    assert table.name == "PrimaryResult" and list(table.columns) == [
        "CallerIPAddress",
        "Calls",
        "Last",
    ]
    assert table.columns_types == ["string", "long", "datetime"]
    rows = [tuple(r) for r in table.rows]
    assert rows[0][:2] == ("10.20.0.4", 144)
    assert isinstance(rows[0][2], datetime)  # the SDK parsed the datetime column


def test_the_timespan_bounds_what_is_seen(logs_api: EmulatorHandle) -> None:
    client, ws = _client(logs_api), _workspace(logs_api)
    week = client.query_workspace(ws, RECENT, timespan=timedelta(days=7)).tables[0].rows[0][0]
    hours = client.query_workspace(ws, RECENT, timespan=timedelta(hours=3)).tables[0].rows[0][0]
    end = datetime.now(timezone.utc) - timedelta(days=1)
    old = client.query_workspace(ws, RECENT, timespan=(end - timedelta(hours=3), end))
    assert week == 216 and 0 < hours < 20 and 0 < old.tables[0].rows[0][0] < 20


def test_resource_centric_queries_see_only_that_resource(logs_api: EmulatorHandle) -> None:
    client = _client(logs_api)
    rows = (
        client.query_resource(
            WEU_ID,
            "AzureDiagnostics | summarize n = count() by ResourceProvider",
            timespan=timedelta(days=7),
        )
        .tables[0]
        .rows
    )
    assert [tuple(r) for r in rows] == [("MICROSOFT.COGNITIVESERVICES", 216)]


def test_a_refused_query_is_azures_bad_argument_error(logs_api: EmulatorHandle) -> None:
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError) as caught:
        _client(logs_api).query_workspace(
            _workspace(logs_api),
            "AzureDiagnostics | join (AZKVAuditLogs) on CorrelationId",
            timespan=timedelta(days=1),
        )
    assert caught.value.status_code == 400
    body = caught.value.response.json()["error"]
    assert body["code"] == "BadArgumentError" and body["innererror"]["code"] == "SyntaxError"
    assert body["innererror"]["innererror"]["token"] == "join"


def test_a_syntax_errors_place_is_its_line_and_position_in_that_line(
    logs_api: EmulatorHandle,
) -> None:
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError) as caught:
        _client(logs_api).query_workspace(
            _workspace(logs_api),
            "AzureDiagnostics\n| where Category == 'AuditEvent'\n| join (AZKVAuditLogs) on Id",
            timespan=timedelta(days=1),
        )
    place = caught.value.response.json()["error"]["innererror"]["innererror"]
    assert (place["line"], place["pos"], place["token"]) == (3, 2, "join")


def test_an_unknown_table_is_a_semantic_error(logs_api: EmulatorHandle) -> None:
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError) as caught:
        _client(logs_api).query_workspace(_workspace(logs_api), "StorageBlobLogs", timespan=None)
    body = caught.value.response.json()["error"]
    assert body["code"] == "BadArgumentError" and body["innererror"]["code"] == "SemanticError"
    assert "StorageBlobLogs" in body["innererror"]["innererror"]["message"]


def test_a_workspace_the_caller_may_not_read_is_403(logs_api: EmulatorHandle) -> None:
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError) as caught:
        _client(logs_api).query_workspace(_workspace(logs_api, "sec-logs"), RECENT, timespan=None)
    assert caught.value.status_code == 403
    assert caught.value.response.json()["error"]["code"] == "InsufficientAccessError"
    # Its declared reader may.
    ok = _client(logs_api, "ops-reader").query_workspace(
        _workspace(logs_api, "sec-logs"), RECENT, timespan=None
    )
    assert ok.tables[0].rows[0][0] == 0


def test_a_token_for_another_audience_is_401(logs_api: EmulatorHandle) -> None:
    token = logs_api.credential().get_token("https://management.azure.com/.default").token
    r = requests.post(
        f"{logs_api.url}/v1/workspaces/{_workspace(logs_api)}/query",
        json={"query": RECENT},
        headers={"Authorization": f"Bearer {token}"},
        verify=logs_api.ca_bundle,
        timeout=10,
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "AuthorizationRequiredError"


def test_an_unknown_workspace_is_404(logs_api: EmulatorHandle) -> None:
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError) as caught:
        _client(logs_api).query_workspace(
            "00000000-0000-4000-8000-000000000000", RECENT, timespan=None
        )
    assert caught.value.status_code == 404


def test_a_configurable_ingestion_delay_hides_fresh_records(tmp_path: Path, tls_dir: Path) -> None:
    handle = start_emulator(tmp_path / "emu", tls_dir, world=consumers_world(ingestion_delay="0s"))
    try:
        handle.admin("POST", "logs", {"ingestion_delay": 3600})
        client, ws = _client(handle), _workspace(handle)
        before = client.query_workspace(ws, RECENT, timespan=timedelta(days=7))
        handle.admin("POST", "clock", {"advance": 7200})
        after = _client(handle).query_workspace(ws, RECENT, timespan=timedelta(days=7))
    finally:
        handle.stop()
    # Records made after the delay was set wait an hour: of the 8 calls of the two hours
    # moved, only those of the first hour are in.
    # (219: with no delay the world's calls at its first instant are in, too.)
    assert before.tables[0].rows[0][0] == 219
    assert 219 + 2 <= after.tables[0].rows[0][0] <= 219 + 5
