"""`keyops consumers` end to end: the real azure-monitor-query client against the emulator's
Logs API, over logs the emulator's declared consumers wrote as its clock moved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.consumers.support import codes, key_caller, reader, run_consumers, target
from tests.consumers.worlds import PRINCIPALS, WEU, consumers_document, consumers_world
from tests.support.emulator import EmulatorHandle, start_emulator

WEU_ARGS = ("--account", WEU)


@pytest.fixture(scope="module")
def logs_emulator(
    tmp_path_factory: pytest.TempPathFactory, tls_dir: Path
) -> Iterator[EmulatorHandle]:
    """One emulator with the consumers world, for tests that only read."""
    handle = start_emulator(tmp_path_factory.mktemp("consumers"), tls_dir, world=consumers_world())
    yield handle
    handle.stop()


@pytest.fixture
def fresh(tmp_path: Path, tls_dir: Path) -> Iterator[EmulatorHandle]:
    """A consumers-world emulator a test may change (clock, keys, secrets)."""
    handle = start_emulator(tmp_path / "emu", tls_dir, world=consumers_world())
    yield handle
    handle.stop()


def _weu(emulator: EmulatorHandle, *args: str) -> dict[str, Any]:
    status, doc, err = run_consumers(
        emulator, *WEU_ARGS, "--vault-url", emulator.vault_url(), *args
    )
    assert status == 0, err
    return target(doc, WEU)


def _latest_version(emulator: EmulatorHandle) -> str:
    client = emulator.secret_client()
    return str(client.get_secret(f"{WEU}-api-key").properties.version)


def test_every_declared_consumer_is_listed_with_version_auth_and_ip(
    logs_emulator: EmulatorHandle,
) -> None:
    entry = _weu(logs_emulator)
    version = _latest_version(logs_emulator)
    assert entry["coverage"]["complete"] and entry["findings"] == []
    assert entry["coverage"]["tables"] == {"vault": "AZKVAuditLogs", "account": "AzureDiagnostics"}
    billing = reader(entry, "billing-api")
    assert billing is not None
    assert (billing["ip"], billing["version"], billing["app_id"]) == (
        "10.20.0.4",
        version,
        PRINCIPALS["billing-api"][0],
    )
    assert billing["reads"] == 3  # daily over three days
    # Key callers by IP, slot unknown; the token caller by its object id.
    billing_calls = key_caller(entry, "10.20.0.4")
    pasted = key_caller(entry, "10.50.0.2")
    assert billing_calls is not None and pasted is not None
    assert billing_calls["slot"] == "unknown" and billing_calls["rejected"] == 0
    assert billing_calls["calls"] == 3 * 48  # every 30 min for three days
    assert pasted["calls"] == 24 and pasted["object_id"] is None
    token = [c for c in entry["callers"] if c["auth"] == "token"]
    assert [(c["object_id"], c["ip"], c["calls"]) for c in token] == [
        (PRINCIPALS["chat-frontend"][1], "10.30.0.7", 48)
    ]


def test_a_consumer_inside_the_ingestion_delay_is_listed_as_not_yet_settled(
    logs_emulator: EmulatorHandle,
) -> None:
    entry = _weu(logs_emulator)
    late = reader(entry, "late-app")
    assert late is not None and late["visible"] == "within ingestion delay"
    assert reader(entry, "billing-api")["visible"] == "settled"  # type: ignore[index]
    # The coverage's end is held back by the ingestion delay, and says so.
    assert entry["coverage"]["ingestion_delay_seconds"] == 600


def test_a_weekly_consumer_needs_a_window_that_reaches_its_last_read(
    logs_emulator: EmulatorHandle,
) -> None:
    assert reader(_weu(logs_emulator, "--window", "7d"), "weekly-report") is not None
    assert reader(_weu(logs_emulator, "--window", "2d"), "weekly-report") is None


def test_resource_centric_queries_see_the_same_consumers(logs_emulator: EmulatorHandle) -> None:
    by_workspace = _weu(logs_emulator)
    by_resource = _weu(logs_emulator, "--resource-centric")
    assert by_resource["readers"] == by_workspace["readers"]
    assert by_resource["callers"] == by_workspace["callers"]


@pytest.mark.parametrize(
    ("account", "code"),
    [
        ("contoso-openai-eus", "category-not-enabled"),
        ("contoso-openai-legacy", "no-workspace"),
        ("contoso-openai-entra", "workspace-forbidden"),
    ],
)
def test_each_missing_log_case_is_a_finding_with_its_fix(
    logs_emulator: EmulatorHandle, account: str, code: str
) -> None:
    status, doc, err = run_consumers(logs_emulator, "--account", account, "--require-evidence")
    assert status == 1, err
    entry = target(doc, account)
    assert code in codes(entry) and not entry["coverage"]["complete"]
    found = next(f for f in entry["findings"] if f["code"] == code)
    where = "sec-logs" if code == "workspace-forbidden" else account
    assert found["fix"] and where in found["message"]
    assert entry["callers"] == []


def test_retention_shorter_than_the_window_is_a_finding(logs_emulator: EmulatorHandle) -> None:
    entry = _weu(logs_emulator, "--window", "60d")
    found = [f for f in entry["findings"] if f["code"] == "retention-short"]
    assert {f["source"] for f in found} == {"vault", "account"}
    assert "30d" in found[0]["message"] and "60d" in found[0]["message"]
    assert entry["readers"]  # the evidence that is there is still shown


def test_event_hub_only_is_a_finding(tmp_path: Path, tls_dir: Path) -> None:
    from keyops.emulator.world import parse_world

    doc = consumers_document()
    hub = "/subscriptions/x/resourceGroups/y/providers/Microsoft.EventHub/namespaces/z/a/send"
    doc["diagnostic_settings"][1] = {
        "resource": f"account:{WEU}",
        "categories": ["RequestResponse"],
        "event_hub": hub,
    }
    handle = start_emulator(tmp_path / "emu", tls_dir, world=parse_world(doc))
    try:
        entry = _weu(handle)
    finally:
        handle.stop()
    found = next(f for f in entry["findings"] if f["source"] == "account")
    assert found["code"] == "no-workspace" and "Event Hub only" in found["message"]
    assert entry["callers"] == [] and entry["readers"]


@pytest.mark.parametrize(
    ("table", "claims"),
    [
        ("AzureDiagnostics", None),
        ("AzureDiagnostics", "uri"),
        ("AZKVAuditLogs", "short"),
    ],
)
def test_either_table_and_either_claim_form_give_the_same_readers(
    tmp_path: Path, tls_dir: Path, table: str, claims: str | None
) -> None:
    """Real Key Vault records name the caller's claims by short name (identity_claim_oid_g,
    claim.oid) or by claim URI; both tables are read in both forms."""
    from keyops.emulator.world import parse_world

    doc = consumers_document(vault_table="Dedicated" if table == "AZKVAuditLogs" else table)
    if claims is not None:
        for space in doc["workspaces"]:
            space["claims"] = claims
    handle = start_emulator(tmp_path / "emu", tls_dir, world=parse_world(doc, "<claims>"))
    try:
        entry = _weu(handle)
        version = _latest_version(handle)
    finally:
        handle.stop()
    assert entry["coverage"]["tables"]["vault"] == table
    billing = reader(entry, "billing-api")
    assert billing is not None and billing["version"] == version and billing["reads"] == 3
    assert all(r["object_id"] for r in entry["readers"])


def test_a_versionless_read_by_a_person_shows_the_version_returned(fresh: EmulatorHandle) -> None:
    """The version comes from the returned object's id: the request URI has none."""
    client = fresh.secret_client(principal="keyops-rotator")
    old = client.get_secret(f"{WEU}-api-key").properties.version
    new = client.set_secret(f"{WEU}-api-key", "not-a-key-just-a-newer-version").properties.version
    client.get_secret(f"{WEU}-api-key")  # versionless: returns the new one
    fresh.admin("POST", "clock", {"advance": 11 * 60})  # past keyops' ingestion hold-back
    entry = _weu(fresh)
    me = next(
        r
        for r in entry["readers"]
        if r["object_id"] == fresh.principal("keyops-rotator")["object_id"]
    )
    assert me["version"] == new != old
    assert me["ip"] == "127.0.0.1" and me["reads"] == 2


def test_records_are_invisible_until_ingested(fresh: EmulatorHandle) -> None:
    """The emulator's ingestion delay (2m in this world) hides a read until it has passed."""
    fresh.secret_client(principal="keyops-rotator").get_secret(f"{WEU}-api-key")
    rotator = fresh.principal("keyops-rotator")["object_id"]

    def seen() -> bool:
        return any(r["object_id"] == rotator for r in _weu(fresh)["readers"])

    assert not seen()
    fresh.admin("POST", "clock", {"advance": 121})
    assert seen()


def test_consumers_follow_a_rotation_and_a_premature_revoke_shows_as_401s(
    fresh: EmulatorHandle,
) -> None:
    """Key1 regenerated with the vault not yet updated: billing-api still holds the old Key1
    and its calls fail until it reads a new version, in the logs and in the metrics."""
    mgmt = fresh.mgmt_client()
    mgmt.accounts.regenerate_key("rg-ai-shared", WEU, "Key1")
    # A quarter past: no call sits on the window's edges (calls every 30 min from the start).
    fresh.admin("POST", "clock", {"advance": 3 * 3600 + 900})
    entry = _weu(fresh, "--window", "2h")  # the calls at +1.5h, +2h, +2.5h and +3h
    billing = key_caller(entry, "10.20.0.4")
    assert billing is not None and billing["rejected"] == billing["calls"] == 4
    pasted = key_caller(entry, "10.50.0.2")  # holds Key2: unaffected
    assert pasted is not None and pasted["rejected"] == 0
    assert _metric_401s(fresh, hours=3) >= billing["rejected"]
    # The new key reaches the vault; after its daily refresh the consumer is healthy again.
    # (New clients: the clock moved past the first ones' tokens.)
    new_key = fresh.mgmt_client().accounts.list_keys("rg-ai-shared", WEU).key1
    version = fresh.secret_client().set_secret(f"{WEU}-api-key", new_key).properties.version
    fresh.admin("POST", "clock", {"advance": 23 * 3600})
    entry = _weu(fresh, "--window", "2h")  # since its refresh at +24h (now +26h15m)
    assert reader(_weu(fresh, "--window", "2d"), "billing-api")["version"] == version  # type: ignore[index]
    billing = key_caller(entry, "10.20.0.4")
    assert billing is not None and billing["rejected"] == 0 and billing["calls"] > 0


def _metric_401s(emulator: EmulatorHandle, hours: int) -> float:
    """AzureOpenAIRequests with StatusCode 401 over the last hours, from Monitor metrics."""
    from datetime import datetime, timedelta, timezone

    from azure.mgmt.monitor import MonitorManagementClient

    client = MonitorManagementClient(
        emulator.credential(),
        emulator.conn["subscription_id"],
        base_url=emulator.url,
        connection_verify=emulator.ca_bundle,
    )
    clock = emulator.admin("GET", "clock")
    end = datetime.fromtimestamp(float(clock["now"]), tz=timezone.utc)
    start = end - timedelta(hours=hours)
    span = f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"
    result = client.metrics.list(
        next(a["id"] for a in emulator.conn["accounts"] if a["name"] == WEU),
        timespan=span,
        interval="PT1H",
        metricnames="AzureOpenAIRequests",
        aggregation="Total",
        filter="StatusCode eq '401'",
    )
    return sum(
        point.total or 0
        for metric in result.value
        for series in metric.timeseries or []
        for point in series.data or []
    )


def test_a_bad_window_is_a_usage_error_before_any_call(logs_emulator: EmulatorHandle) -> None:
    seq = logs_emulator.last_seq
    status, doc, err = run_consumers(logs_emulator, "--window", "0s")
    assert status == 2 and doc == {}
    assert err.count("\n") == 1 and "--window" in err and "between 1h and 730d" in err
    assert logs_emulator.log_since(seq) == []


def test_an_identity_that_may_not_read_diagnostic_settings_is_status_4(
    logs_emulator: EmulatorHandle,
) -> None:
    from click.testing import CliRunner

    from keyops.cli.main import cli

    who = logs_emulator.principal("chat-frontend")
    result = CliRunner().invoke(
        cli,
        ["--emulator", str(logs_emulator.connection_path), "consumers", *WEU_ARGS],
        env={
            "AZURE_CLIENT_ID": who["client_id"],
            "AZURE_CLIENT_SECRET": who["client_secret"],
            "AZURE_TENANT_ID": logs_emulator.conn["tenant_id"],
        },
    )
    assert result.exit_code == 4, result.stderr
    assert result.stdout == "" and result.stderr.count("\n") == 1
    assert "Reader" in result.stderr


def test_resource_centric_reads_the_logs_even_when_the_workspace_is_forbidden(
    logs_emulator: EmulatorHandle,
) -> None:
    """Resource-centric queries need read on the resource, not the workspace: a 403 on the
    workspace's ARM read leaves only its retention unknown."""
    account = "contoso-openai-entra"
    status, doc, err = run_consumers(logs_emulator, "--account", account, "--resource-centric")
    assert status == 0, err
    entry = target(doc, account)
    assert codes(entry) == {"no-vault", "retention-unknown"}
    assert entry["coverage"]["tables"] == {"account": "AzureDiagnostics"}
    found = next(f for f in entry["findings"] if f["code"] == "retention-unknown")
    assert "sec-logs" in found["message"] and "403" in found["message"]


def test_without_azure_monitor_query_installed_the_fix_is_one_line(
    logs_emulator: EmulatorHandle,
) -> None:
    """A missing azure-monitor-query (a stale environment) is a configuration error naming the
    package, not an internal error. A ``None`` in ``sys.modules`` is how Python reports a package
    that cannot be imported, so the child process sees exactly what a missing install gives."""
    import os
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['azure.monitor.query'] = None\n"
        "from keyops.cli.main import main; main()"
    )
    env = os.environ | {
        "AZURE_CLIENT_ID": logs_emulator.conn["client_id"],
        "AZURE_CLIENT_SECRET": logs_emulator.conn["client_secret"],
        "AZURE_TENANT_ID": logs_emulator.conn["tenant_id"],
    }
    args = ["--emulator", str(logs_emulator.connection_path), "consumers", *WEU_ARGS]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout == "" and done.stderr.count("\n") == 1
    assert "install azure-monitor-query" in done.stderr


def test_a_failed_vault_query_is_a_finding_and_the_callers_are_still_read(
    fresh: EmulatorHandle,
) -> None:
    """The vault's query is sent first; Azure refusing it (a 400, not retried) must not cost the
    account's data-plane callers."""
    fresh.fault(
        {"operation": "Query_Execute", "status": 400, "code": "BadArgumentError", "times": 1}
    )
    status, doc, err = run_consumers(fresh, *WEU_ARGS, "--vault-url", fresh.vault_url())
    assert status == 0, err
    entry = target(doc, WEU)
    assert "query-failed" in codes(entry) and not entry["coverage"]["complete"]
    found = next(f for f in entry["findings"] if f["code"] == "query-failed")
    assert found["source"] == "vault" and "kv-keyops-prod" in found["message"]
    assert entry["readers"] == [] and key_caller(entry, "10.20.0.4") is not None


def test_a_vault_on_a_later_page_of_the_resource_list_is_found(
    tmp_path: Path, tls_dir: Path
) -> None:
    """ARM lists resources a page at a time: the vault may be on any page."""
    from keyops.emulator.world import parse_world

    doc = consumers_document()
    doc["vaults"][:0] = [{"name": f"kv-aaa-{i}", "resource_group": "rg-keyops"} for i in range(2)]
    handle = start_emulator(tmp_path / "emu", tls_dir, world=parse_world(doc, "<paged>"))
    try:
        handle.admin("POST", "arm/settings", {"page_size": 1})
        entry = _weu(handle)
    finally:
        handle.stop()
    assert entry["vault_id"].endswith("/vaults/kv-keyops-prod")
    assert reader(entry, "billing-api") is not None


def test_a_vault_keyops_cannot_find_is_a_finding_and_the_callers_are_still_read(
    fresh: EmulatorHandle,
) -> None:
    fresh.fault({"operation": "Resources_List", "status": 404, "code": "NotFound"})
    status, doc, err = run_consumers(fresh, *WEU_ARGS, "--vault-url", fresh.vault_url())
    assert status == 0, err
    entry = target(doc, WEU)
    found = next(f for f in entry["findings"] if f["source"] == "vault")
    assert found["code"] == "vault-not-found" and fresh.vault_url() in found["message"]
    assert key_caller(entry, "10.20.0.4") is not None


def test_a_vault_in_another_subscription_is_found(tmp_path: Path, tls_dir: Path) -> None:
    """A shared vault often lives in another subscription than the accounts using it."""
    from keyops.emulator.world import parse_world

    doc = consumers_document()
    shared = "0b5e7c1d-2f3a-4b6c-8d9e-1a2b3c4d5e6f"
    doc["subscriptions"].append({"id": shared, "name": "Shared"})
    doc["resource_groups"].append({"name": "rg-shared", "subscription": shared})
    doc["vaults"].append({"name": "kv-shared", "resource_group": "rg-shared"})
    doc["role_assignments"].append(
        {"principal": "keyops-rotator", "role": "Reader", "scope": f"/subscriptions/{shared}"}
    )
    handle = start_emulator(tmp_path / "emu", tls_dir, world=parse_world(doc, "<shared>"))
    try:
        status, out, err = run_consumers(
            handle, *WEU_ARGS, "--vault-url", handle.vault_url("kv-shared")
        )
    finally:
        handle.stop()
    assert status == 0, err
    entry = target(out, WEU)
    assert entry["vault_id"].startswith(f"/subscriptions/{shared}/")
    assert "vault-not-found" not in codes(entry)


def test_records_older_than_the_workspace_retention_are_gone(tmp_path: Path, tls_dir: Path) -> None:
    """Azure purges records past the workspace's retention: weekly-report's only read (6 days
    ago) is gone from a 2-day workspace, and the finding says why it may be missing."""
    from keyops.emulator.world import parse_world

    doc = consumers_document()
    doc["workspaces"][0]["retention_days"] = 2
    handle = start_emulator(tmp_path / "emu", tls_dir, world=parse_world(doc, "<retention>"))
    try:
        entry = _weu(handle, "--window", "7d")
    finally:
        handle.stop()
    assert "retention-short" in codes(entry)
    assert reader(entry, "weekly-report") is None
    assert reader(entry, "billing-api") is not None


@pytest.mark.parametrize(("window", "late"), [("7d", True), ("12h", False)])
def test_logging_that_started_inside_the_window_is_a_finding(
    tmp_path: Path, tls_dir: Path, window: str, late: bool
) -> None:
    """A diagnostic setting created a day ago has sent nothing from before then: a 7-day window
    is not complete, whatever the records say."""
    from keyops.emulator.world import parse_world

    doc = consumers_document()
    for setting in doc["diagnostic_settings"]:
        setting["created"] = "-1d"
    handle = start_emulator(tmp_path / "emu", tls_dir, world=parse_world(doc, "<late>"))
    try:
        entry = _weu(handle, "--window", window)
    finally:
        handle.stop()
    assert ("logs-start-late" in codes(entry)) is late
    assert entry["coverage"]["complete"] is not late
    assert reader(entry, "weekly-report") is None  # its read 6 days ago was never sent


def test_a_token_consumer_without_its_role_is_logged_as_refused(
    tmp_path: Path, tls_dir: Path
) -> None:
    """Declared token consumers are held to RBAC like any caller: without a data-plane role
    every call is Azure OpenAI's 401 PermissionDenied, in the logs as such."""
    from keyops.emulator.world import parse_world

    doc = consumers_document()
    doc["role_assignments"] = [
        a
        for a in doc["role_assignments"]
        if not (a["principal"] == "chat-frontend" and "OpenAI" in a["role"])
    ]
    handle = start_emulator(tmp_path / "emu", tls_dir, world=parse_world(doc, "<no-role>"))
    try:
        entry = _weu(handle)
    finally:
        handle.stop()
    oid = PRINCIPALS["chat-frontend"][1]
    token = next(c for c in entry["callers"] if c["object_id"] == oid)
    assert token["calls"] > 0 and token["rejected"] == token["calls"]


def test_the_readme_json_example_has_the_real_outputs_shape(
    logs_emulator: EmulatorHandle,
) -> None:
    """The README's `keyops consumers --output json` example keeps the real document's keys and
    its rule that coverage is complete exactly when there are no findings."""
    import json
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"### `keyops consumers --output json`\s+```json\n(.*?)```", readme, re.S)
    assert block is not None
    shown = json.loads(block.group(1))["targets"][0]
    real = _weu(logs_emulator)
    assert set(shown) == set(real)
    assert set(shown["coverage"]) == set(real["coverage"])
    assert set(shown["readers"][0]) == set(real["readers"][0])
    assert {k for c in shown["callers"] for k in c} == {k for c in real["callers"] for k in c}
    for entry in (shown, real):
        assert entry["coverage"]["complete"] is (entry["findings"] == [])


def test_reads_logged_before_the_vault_setting_changed_mode_are_still_read(
    tmp_path: Path, tls_dir: Path
) -> None:
    """A setting switched from AzureDiagnostics to resource-specific mode leaves the earlier
    reads in AzureDiagnostics: both tables are read."""
    import requests

    from keyops.emulator.world import parse_world
    from tests.consumers.worlds import KV

    doc = consumers_document(vault_table="AzureDiagnostics")
    doc["role_assignments"].append(
        {"principal": "keyops-rotator", "role": "Contributor", "scope": KV}
    )
    handle = start_emulator(tmp_path / "emu", tls_dir, world=parse_world(doc, "<mode>"))
    try:
        before = reader(_weu(handle), "billing-api")
        assert before is not None
        url = f"{handle.url}{KV}/providers/Microsoft.Insights/diagnosticSettings/keyops-logs"
        token = handle.credential().get_token("https://management.azure.com/.default").token
        auth = {"Authorization": f"Bearer {token}"}
        params = {"api-version": "2021-05-01-preview"}
        got = requests.get(url, params=params, headers=auth, verify=handle.ca_bundle, timeout=30)
        setting = got.json()
        setting["properties"]["logAnalyticsDestinationType"] = "Dedicated"
        put = requests.put(
            url, params=params, headers=auth, json=setting, verify=handle.ca_bundle, timeout=30
        )
        assert put.status_code == 200, put.text
        handle.admin("POST", "clock", {"advance": 25 * 3600})
        after = _weu(handle)
    finally:
        handle.stop()
    assert after["coverage"]["tables"]["vault"] == "AZKVAuditLogs"
    billing = reader(after, "billing-api")
    assert billing is not None and billing["reads"] > before["reads"]
