"""A declared consumer's owner moves it from its key to Entra ID (``POST
/_emulator/consumers/{name}``): what was due before is logged the old way, every later call
carries its object id and no key, and the Logs query API (azure-monitor-query) shows it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from keyops.emulator.services.logs.models import customer_id
from keyops.emulator.world import parse_world
from tests.consumers.worlds import PRINCIPALS, WEU_ID, consumers_document
from tests.support.emulator import EmulatorHandle, start_emulator

BILLING_OID = PRINCIPALS["billing-api"][1]


@pytest.fixture
def emulator(tmp_path: Path, tls_dir: Path) -> Iterator[EmulatorHandle]:
    doc = consumers_document()
    # The app's owner granted it inference before moving it, as the keyless plan asks.
    doc["role_assignments"].append(
        {"principal": "billing-api", "role": "Cognitive Services OpenAI User", "scope": WEU_ID}
    )
    handle = start_emulator(tmp_path, tls_dir, world=parse_world(doc, "<switch world>"))
    yield handle
    handle.stop()


def _query(emulator: EmulatorHandle, query: str) -> list[Any]:
    from azure.monitor.query import LogsQueryClient

    world = emulator.server.emulator.world
    workspace = customer_id(next(w for w in world.logs.workspaces if w.name == "ops-logs"))
    client: Any = LogsQueryClient(
        emulator.credential("keyops-rotator"),
        endpoint=emulator.url,
        audience="https://api.loganalytics.io",
        connection_verify=emulator.ca_bundle,
        retry_total=0,
    )
    now = datetime.now(timezone.utc) + timedelta(days=4)  # the emulator's clock runs ahead
    rows = client.query_workspace(workspace, query, timespan=(now - timedelta(days=12), now))
    return [list(r) for r in rows.tables[0].rows]


def _billing_calls(emulator: EmulatorHandle) -> list[tuple[datetime, int, str]]:
    query = (
        "AzureDiagnostics | where Category == 'RequestResponse' "
        "and CallerIPAddress == '10.20.0.4' "
        "| project TimeGenerated, ResultSignature, properties_s | order by TimeGenerated asc"
    )
    return [
        (r[0], int(r[1]), json.loads(r[2]).get("objectId", "")) for r in _query(emulator, query)
    ]


def _switched_at(emulator: EmulatorHandle) -> datetime:
    answer = emulator.admin("POST", "consumers/billing-api", {"auth": "token"})
    assert answer == {"name": "billing-api", "auth": "token"}
    return datetime.fromtimestamp(emulator.admin("GET", "clock")["now"], timezone.utc)


def test_a_consumer_moved_to_token_calls_with_its_object_id_and_no_key(
    emulator: EmulatorHandle,
) -> None:
    switched = _switched_at(emulator)
    emulator.admin("POST", "clock", {"advance": 6 * 3600})
    calls = _billing_calls(emulator)
    before = [c for c in calls if c[0] <= switched]
    after = [c for c in calls if c[0] > switched]
    assert len(before) > 100 and all(oid == "" for _, _, oid in before)  # by key
    assert len(after) >= 10  # every 30 minutes for six hours, less the ingestion delay
    assert all(oid == BILLING_OID and status == 200 for _, status, oid in after)


def test_a_consumer_moved_to_token_stops_reading_the_secret(emulator: EmulatorHandle) -> None:
    switched = _switched_at(emulator)
    emulator.admin("POST", "clock", {"advance": 3 * 86400})
    query = (
        "AZKVAuditLogs | where OperationName == 'SecretGet' and CallerIpAddress == '10.20.0.4' "
        "| project TimeGenerated"
    )
    reads = [r[0] for r in _query(emulator, query)]
    assert reads and all(t <= switched for t in reads)  # daily reads until, none after


@pytest.mark.parametrize(
    ("name", "body", "status", "words"),
    [
        ("nobody", {"auth": "token"}, 404, "no consumer named 'nobody'"),
        ("billing-api", {"auth": "cert"}, 400, "expected 'key' or 'token'"),
        ("hand-pasted", {"auth": "token"}, 400, "no principal"),
    ],
)
def test_a_switch_it_cannot_make_is_refused(
    emulator: EmulatorHandle, name: str, body: dict[str, str], status: int, words: str
) -> None:
    r = requests.post(
        f"{emulator.url}/_emulator/consumers/{name}",
        json=body,
        headers={"Authorization": f"Bearer {emulator.server.emulator.admin_token}"},
        verify=emulator.ca_bundle,
        timeout=10,
    )
    assert r.status_code == status and words in r.json()["error"]["message"]
