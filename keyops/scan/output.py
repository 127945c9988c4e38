"""Rendering a scan report: a table for people, JSON (``keyops.scan/v1``) for programs.

SARIF lives in :mod:`keyops.scan.sarif`. None of these ever sees a key: findings carry only
fingerprints and masked excerpts.
"""

from __future__ import annotations

import json
from typing import Any

from keyops.scan.engine import ScanReport, ScanStats
from keyops.scan.findings import Finding

SCHEMA = "keyops.scan/v1"


def finding_record(finding: Finding) -> dict[str, Any]:
    """One finding as a JSON-ready dict."""
    return {
        "kind": finding.kind.value,
        "severity": finding.severity.label,
        "path": finding.path,
        "line": finding.line,
        "commit": finding.commit,
        "detail": finding.detail,
        "form": finding.form,
        "excerpt": finding.excerpt,
        "key_fingerprint": finding.key_fingerprint,
        "fingerprint": finding.fingerprint,
    }


def stats_record(stats: ScanStats, findings: int, suppressed: int) -> dict[str, Any]:
    """The summary block of the JSON document."""
    return {
        "findings": findings,
        "suppressed": suppressed,
        "files": stats.files,
        "blobs": stats.blobs,
        "commits": stats.commits,
        "bytes": stats.scanned_bytes,
        "skipped_binary": stats.skipped_binary,
        "skipped_large": stats.skipped_large,
        "seconds": round(stats.seconds, 3),
    }


def render_json(report: ScanReport) -> str:
    """The ``keyops.scan/v1`` JSON document."""
    document = {
        "schema": SCHEMA,
        "findings": [finding_record(f) for f in report.findings],
        "summary": stats_record(report.stats, len(report.findings), report.suppressed),
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


#: The table's columns; ``TABLE_DROP`` is the order they go on a narrow terminal.
TABLE_COLUMNS = ("severity", "kind", "location", "detail", "excerpt")
TABLE_DROP = ("excerpt", "kind", "detail")
TABLE_WRAP = ("detail", "excerpt")


def table_rows(report: ScanReport) -> list[tuple[str, ...]]:
    """One row per finding under :data:`TABLE_COLUMNS` (the excerpt masked)."""
    return [
        (f.severity.label, f.kind.value, f.location, f.detail, f.excerpt or "")
        for f in report.findings
    ]


def summary_line(report: ScanReport) -> str:
    """One line for stderr: what was scanned and what was found."""
    stats = report.stats
    scanned = f"{stats.files} file{'' if stats.files == 1 else 's'}"
    if stats.commits:
        scanned += f", {stats.blobs} blobs in {stats.commits} commits"
    megabytes = stats.scanned_bytes / 1e6
    found = len(report.findings)
    text = (
        f"scan: {found} finding{'' if found == 1 else 's'} in {scanned} "
        f"({megabytes:.1f} MB, {stats.seconds:.2f} s)"
    )
    if report.suppressed:
        text += f"; {report.suppressed} accepted by the baseline"
    skipped = stats.skipped_binary + stats.skipped_large
    if skipped:
        text += f"; skipped {stats.skipped_binary} binary and {stats.skipped_large} large files"
    return text
