"""SARIF 2.1.0 pieces shared by ``keyops audit`` and ``keyops scan``.

The log's envelope and the one mapping from keyops' severity scale to SARIF's ``level`` and to
the ``security-severity`` score (0-10) GitHub code scanning ranks security results by, so that
a finding of a given severity looks the same on a dashboard whichever command reported it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from keyops import __version__
from keyops.severity import Severity

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://github.com/keyops/keyops"

_LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub's bands: critical >= 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9.
_SCORES = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}


def sarif_level(severity: Severity) -> str:
    """SARIF's level for a severity: high and above are errors, medium warnings, else notes."""
    return _LEVELS[severity]


def security_severity(severity: Severity) -> str:
    """The 0-10 score GitHub code scanning ranks security results by."""
    return _SCORES[severity]


def build_log(
    tool: str,
    rules: Sequence[Mapping[str, Any]],
    results: Sequence[Mapping[str, Any]],
    **run: Any,
) -> dict[str, Any]:
    """A SARIF 2.1.0 log of one run of ``tool`` (``run`` adds members such as
    ``automationDetails``)."""
    driver = {
        "name": tool,
        "version": __version__,
        "informationUri": INFORMATION_URI,
        "rules": list(rules),
    }
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [{"tool": {"driver": driver}, **run, "results": list(results)}],
    }
