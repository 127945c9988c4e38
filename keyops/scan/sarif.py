"""SARIF 2.1.0 output, one rule per finding kind.

Results carry ``partialFingerprints["keyops/v1"]`` (the baseline fingerprint), so code-scanning
services track a finding across runs, and the commit of history findings in ``properties``.
Commit-message findings have no file location.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from keyops import __version__
from keyops.scan.engine import COMMIT_MESSAGE_PATH, ScanReport
from keyops.scan.findings import Finding, FindingKind
from keyops.severity import Severity

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
#: GitHub code scanning reads this 0-10 score to rank security results.
_SCORES = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.0",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
_RULES = list(FindingKind)


def _rule(kind: FindingKind) -> dict[str, Any]:
    severity = kind.default_severity
    return {
        "id": kind.value,
        "name": "".join(part.title() for part in kind.value.split("-")),
        "shortDescription": {"text": kind.description},
        "defaultConfiguration": {"level": _LEVELS[severity]},
        "properties": {"security-severity": _SCORES[severity], "tags": ["security", "secret"]},
    }


def _result(finding: Finding) -> dict[str, Any]:
    message = finding.detail if not finding.excerpt else f"{finding.detail}: {finding.excerpt}"
    result: dict[str, Any] = {
        "ruleId": finding.kind.value,
        "ruleIndex": _RULES.index(finding.kind),
        "level": _LEVELS[finding.severity],
        "message": {"text": message},
        "partialFingerprints": {"keyops/v1": finding.fingerprint},
        "properties": {"severity": finding.severity.label},
    }
    if finding.path != COMMIT_MESSAGE_PATH:
        location: dict[str, Any] = {"artifactLocation": {"uri": quote(finding.path)}}
        if finding.line is not None:
            location["region"] = {"startLine": finding.line}
        result["locations"] = [{"physicalLocation": location}]
    if finding.commit is not None:
        result["properties"]["commit"] = finding.commit
    if finding.key_fingerprint is not None:
        result["properties"]["keyFingerprint"] = finding.key_fingerprint
    return result


def render_sarif(report: ScanReport) -> str:
    """The SARIF 2.1.0 log for a report."""
    log = {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "keyops",
                        "version": __version__,
                        "rules": [_rule(kind) for kind in _RULES],
                    }
                },
                "results": [_result(f) for f in report.findings],
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False)
