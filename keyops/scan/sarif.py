"""SARIF 2.1.0 output, one rule per finding kind.

Results carry ``partialFingerprints["keyops/v1"]`` (the baseline fingerprint), so code-scanning
services track a finding across runs, and the commit of history findings in ``properties``.
Commit-message findings have no file location.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from keyops.sarif import build_log, sarif_level, security_severity
from keyops.scan.engine import COMMIT_MESSAGE_PATH, ScanReport
from keyops.scan.findings import Finding, FindingKind

_RULES = list(FindingKind)


def _rule(kind: FindingKind) -> dict[str, Any]:
    severity = kind.default_severity
    return {
        "id": kind.value,
        "name": "".join(part.title() for part in kind.value.split("-")),
        "shortDescription": {"text": kind.description},
        "defaultConfiguration": {"level": sarif_level(severity)},
        "properties": {
            "security-severity": security_severity(severity),
            "tags": ["security", "secret"],
        },
    }


def _result(finding: Finding) -> dict[str, Any]:
    message = finding.detail if not finding.excerpt else f"{finding.detail}: {finding.excerpt}"
    result: dict[str, Any] = {
        "ruleId": finding.kind.value,
        "ruleIndex": _RULES.index(finding.kind),
        "level": sarif_level(finding.severity),
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
    log = build_log(
        "keyops", [_rule(kind) for kind in _RULES], [_result(f) for f in report.findings]
    )
    return json.dumps(log, indent=2, ensure_ascii=False)
