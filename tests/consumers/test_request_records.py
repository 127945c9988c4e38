"""Real requests leave the records Azure keeps: a Key Vault ``AuditEvent`` for every vault
operation, an Azure OpenAI ``RequestResponse`` for every data-plane call (the caller's object id
only when it used a token), read back with the real LogsQueryClient."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import openai
import pytest
from azure.identity import get_bearer_token_provider

from keyops.emulator.services.logs.models import customer_id
from tests.consumers.worlds import WEU, WEU_ID, consumers_world
from tests.emulator.openai_support import add_assignment, endpoint, key
from tests.support.emulator import EmulatorHandle, start_emulator


@pytest.fixture
def served(tmp_path: Path, tls_dir: Path) -> Iterator[EmulatorHandle]:
    """A consumers-world emulator without ingestion delay."""
    handle = start_emulator(tmp_path / "emu", tls_dir, world=consumers_world(ingestion_delay="0s"))
    yield handle
    handle.stop()


def _rows(emulator: EmulatorHandle, query: str) -> list[dict[str, Any]]:
    from azure.monitor.query import LogsQueryClient

    workspace = emulator.server.emulator.world.logs.workspaces[0]
    client = LogsQueryClient(
        emulator.credential(),
        endpoint=emulator.url,
        audience="https://api.loganalytics.io",
        connection_verify=emulator.ca_bundle,
    )
    table = client.query_workspace(customer_id(workspace), query, timespan=timedelta(hours=1))
    names = list(table.tables[0].columns)
    return [dict(zip(names, row, strict=True)) for row in table.tables[0].rows]


def test_every_vault_operation_is_an_audit_event(served: EmulatorHandle) -> None:
    client = served.secret_client()
    stored = client.set_secret("audited-secret", "value-1")
    client.get_secret("audited-secret")
    list(client.list_properties_of_secrets())
    rows = _rows(
        served,
        "AZKVAuditLogs | where CallerIpAddress == '127.0.0.1' and ResultSignature == 'OK' "
        "| project OperationName, Id, ResultSignature, oid = tostring(Identity.claim"
        "['http://schemas.microsoft.com/identity/claims/objectidentifier']) "
        "| order by OperationName asc",
    )
    rotator = served.principal("keyops-rotator")["object_id"]
    assert [(r["OperationName"], r["ResultSignature"], r["oid"]) for r in rows] == [
        ("SecretGet", "OK", rotator),
        ("SecretList", "OK", rotator),
        ("SecretSet", "OK", rotator),
    ]
    assert rows[0]["Id"].endswith(f"/secrets/audited-secret/{stored.properties.version}")
    # The SDK's first, unauthenticated request (Key Vault's challenge) is logged as Azure does.
    challenge = _rows(
        served,
        "AZKVAuditLogs | where ResultSignature == 'Unauthorized' | project OperationName, Identity",
    )
    assert [(r["OperationName"], r["Identity"]) for r in challenge] == [("SecretSet", None)]


def test_data_plane_calls_carry_an_object_id_only_for_token_callers(served: EmulatorHandle) -> None:
    add_assignment(served, "app-consumer", "Cognitive Services OpenAI User", WEU_ID)
    ctx = ssl.create_default_context(cafile=served.ca_bundle)
    with openai.DefaultHttpxClient(verify=ctx) as http:
        common: dict[str, Any] = {
            "azure_endpoint": endpoint(served, WEU),
            "api_version": "2024-10-21",
            "http_client": http,
            "max_retries": 0,
        }
        by_key = openai.AzureOpenAI(api_key=key(served, WEU, "Key2"), **common)
        provider = get_bearer_token_provider(
            served.credential("app-consumer"), "https://cognitiveservices.azure.com/.default"
        )
        by_token = openai.AzureOpenAI(azure_ad_token_provider=provider, **common)
        for client in (by_key, by_token):
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
            )
    rows = _rows(
        served,
        "AzureDiagnostics | where Category == 'RequestResponse' and CallerIPAddress == '127.0.0.1'"
        " | project ResultSignature, properties_s, OperationName",
    )
    props = sorted(
        ((r["ResultSignature"], json.loads(r["properties_s"])) for r in rows), key=lambda p: p[0]
    )
    assert len(props) == 2
    (key_status, key_props), (token_status, token_props) = props
    assert key_status == token_status == "200" and "objectId" not in key_props
    assert token_props["objectId"] == served.principal("app-consumer")["object_id"]


def test_a_call_with_a_revoked_key_is_logged_as_its_401(served: EmulatorHandle) -> None:
    ctx = ssl.create_default_context(cafile=served.ca_bundle)
    old = key(served, WEU, "Key1")
    served.mgmt_client().accounts.regenerate_key("rg-ai-shared", WEU, "Key1")
    with openai.DefaultHttpxClient(verify=ctx) as http:
        client = openai.AzureOpenAI(
            azure_endpoint=endpoint(served, WEU),
            api_version="2024-10-21",
            http_client=http,
            max_retries=0,
            api_key=old,
        )
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
            )
    rows = _rows(
        served,
        "AzureDiagnostics | where Category == 'RequestResponse' and CallerIPAddress == '127.0.0.1'"
        " | project ResultSignature, _ResourceId",
    )
    assert [(r["ResultSignature"], r["_ResourceId"]) for r in rows] == [("401", WEU_ID.lower())]


def test_the_connection_files_logs_audience_is_the_token_scope(
    served: EmulatorHandle, tmp_path: Path
) -> None:
    """keyops asks for a Logs token for the audience the connection file names (a sovereign-cloud
    emulator names its own), not always the public cloud's."""
    from keyops.cloud import EmulatorConnection, emulator_environment

    doc = json.loads(served.connection_path.read_text())
    assert emulator_environment(
        EmulatorConnection.load(str(served.connection_path))
    ).logs_scope == (f"{doc['logs_audience']}/.default")
    doc["logs_audience"] = "https://api.loganalytics.us"
    other = tmp_path / "connection.json"
    other.write_text(json.dumps(doc))
    env = emulator_environment(EmulatorConnection.load(str(other)))
    assert env.logs_scope == "https://api.loganalytics.us/.default"
