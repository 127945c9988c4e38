"""`keyops usage` end to end: metrics from the emulator's Monitor, rotations from Key Vault."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from keyops.cli.main import cli
from tests.support.cli import invoke_json
from tests.support.emulator import EmulatorHandle

EUS = "contoso-openai-eus"


def _usage(emulator: EmulatorHandle, *args: str) -> tuple[int, dict[str, Any], str]:
    return invoke_json(emulator, "usage", *args)


def _findings(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(doc.get("findings", []))


def _hours_ago(text: str) -> float:
    start = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (datetime.now(timezone.utc) - start).total_seconds() / 3600


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ({"kind": "spike", "start": "-30h", "hours": 2, "factor": 8}, "spike"),
        ({"kind": "drop", "start": "-40h", "hours": 5, "factor": 0.02}, "drop"),
        ({"kind": "errors", "start": "-20h", "hours": 2, "rate": 0.3}, "error_rate"),
        ({"kind": "tokens", "start": "-50h", "hours": 3, "factor": 5}, "token_spend"),
    ],
)
def test_planted_pattern_is_found_with_its_kind_and_time(
    emulator: EmulatorHandle, event: dict[str, Any], kind: str
) -> None:
    emulator.admin("POST", f"metrics/{EUS}", {"events": [event]})
    status, doc, _ = _usage(emulator, "--account", EUS, "--window", "7d")
    assert status == 0
    found = [f for f in _findings(doc) if f["kind"] == kind]
    assert found, f"no {kind} finding in {[f['kind'] for f in _findings(doc)]}"
    planted_ago = float(event["start"].strip("-h"))
    assert abs(_hours_ago(found[0]["start"]) - planted_ago) <= 1.0


def test_quiet_default_world_has_no_findings(emulator: EmulatorHandle) -> None:
    # A fresh emulator: other tests' traffic on a shared one would be real anomalies.
    status, doc, err = _usage(emulator, "--window", "7d", "--fail-on", "low")
    assert status == 0, err
    assert [r["name"] for r in doc["resources"]]
    assert _findings(doc) == []


def test_401_surge_after_a_rotation_names_the_left_behind_consumers(
    emulator: EmulatorHandle,
) -> None:
    env = {
        "AZURE_CLIENT_ID": emulator.conn["client_id"],
        "AZURE_CLIENT_SECRET": emulator.conn["client_secret"],
        "AZURE_TENANT_ID": emulator.conn["tenant_id"],
    }
    rotate = [
        "--emulator",
        str(emulator.connection_path),
        "rotate",
        "--account",
        EUS,
        "--vault-url",
        emulator.vault_url(),
        "--force",
        "--confirm-breaking-consumers",  # breaking the consumer is what this test is about
    ]
    account = emulator.account(EUS)
    consumer_key = emulator.mgmt_client().accounts.list_keys("rg-ai-prod", EUS).key1
    for _ in range(3):  # adopt Key1, rotate Key2, then rotate Key1 past the consumer
        assert CliRunner().invoke(cli, rotate, env=env).exit_code == 0
    url = f"{account['endpoint']}openai/deployments/gpt-4o-mini/chat/completions"
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
    statuses = {
        requests.post(
            url,
            params={"api-version": "2024-10-21"},
            json=body,
            headers={"api-key": consumer_key},
            verify=emulator.ca_bundle,
            timeout=10,
        ).status_code
        for _ in range(40)
    }
    assert statuses == {401}
    status, doc, _ = _usage(
        emulator,
        "--account",
        EUS,
        "--vault-url",
        emulator.vault_url(),
        "--window",
        "3d",
        "--fail-on",
        "high",
        "--include-current-hour",  # the calls above were made in this hour
    )
    surge = [f for f in _findings(doc) if f["kind"] == "auth_surge_401"]
    assert surge, [f["kind"] for f in _findings(doc)]
    assert surge[0]["rotation"]["slot"] == "Key1"
    assert status == 1  # --fail-on high: a 401 surge after a rotation is high or worse
    assert consumer_key not in json.dumps(doc)


def test_bad_window_is_a_usage_error(shared_emulator: EmulatorHandle) -> None:
    status, _, err = _usage(shared_emulator, "--window", "400d")
    assert status == 2
    assert "window" in err


def test_unwritable_html_path_is_refused_before_any_call(emulator: EmulatorHandle) -> None:
    seq = emulator.last_seq
    status, _, err = _usage(emulator, "--html", "/nonexistent-dir/usage.html")
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and "--html" in err
    assert [e for e in emulator.log_since(seq) if e["surface"] != "admin"] == []


def test_identity_without_metrics_read_is_an_auth_error(emulator: EmulatorHandle) -> None:
    consumer = emulator.principal("app-consumer")
    result = CliRunner().invoke(
        cli,
        ["--emulator", str(emulator.connection_path), "usage", "--output", "json"],
        env={
            "AZURE_CLIENT_ID": consumer["client_id"],
            "AZURE_CLIENT_SECRET": consumer["client_secret"],
            "AZURE_TENANT_ID": emulator.conn["tenant_id"],
        },
    )
    assert result.exit_code == 4, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "AuthorizationFailed" in result.stderr


def test_report_shows_the_window_not_the_history(emulator: EmulatorHandle) -> None:
    status, doc, err = _usage(emulator, "--window", "2d", "--history", "21d")
    assert status == 0, err
    assert "48 h" in err
    for resource in doc["resources"]:
        assert resource["hours"] == 48 if "hours" in resource else True


def _hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def test_current_hour_is_left_out_and_said_so_and_series_come_on_request(
    shared_emulator: EmulatorHandle,
) -> None:
    before = _hour_start(datetime.now(timezone.utc))
    status, doc, err = _usage(shared_emulator, "--account", EUS, "--window", "2d", "--series")
    after = _hour_start(datetime.now(timezone.utc))
    assert status == 0 and doc["schema"] == "keyops.usage/v2"
    [note] = doc["notes"]
    assert "current hour" in note and "--include-current-hour" in note and note in err
    [resource] = doc["resources"]
    stamps = resource["series"]["timestamps"]
    assert len(stamps) == 48 == len(resource["series"]["requests_total"])
    last = datetime.fromisoformat(stamps[-1].replace("Z", "+00:00"))
    assert last + timedelta(hours=1) in (before, after)  # the window ends where this hour begins
    _, plain, _ = _usage(shared_emulator, "--account", EUS, "--window", "2d")
    assert "series" not in plain["resources"][0]


def test_the_current_hour_is_analysed_when_asked_for(emulator: EmulatorHandle) -> None:
    # A fresh emulator: no other test's calls in this hour.
    status, doc, _ = _usage(
        emulator, "--account", EUS, "--window", "1d", "--series", "--include-current-hour"
    )
    assert status == 0 and doc["notes"] == []
    stamps = doc["resources"][0]["series"]["timestamps"]
    last = datetime.fromisoformat(stamps[-1].replace("Z", "+00:00"))
    now = _hour_start(datetime.now(timezone.utc))
    assert last in (now, now - timedelta(hours=1))  # this hour (unless it just rolled over)
    # Its partial fill (Azure Monitor's, as the emulator serves it) is not read as a drop.
    assert [f["kind"] for f in doc["findings"] if f["kind"] == "drop"] == []
