"""The audit's findings as a SARIF 2.1.0 log, for code-scanning dashboards.

Code scanning (GitHub's at least) needs one physical location per result with a repository
relative path, so each result points at the configuration file line that declared the account
when there is one, else at a stable pseudo path built from the account's resource id
(``azure/<subscription>/<resource group>/<account>``); the resource id itself is the result's
logical location. ``partialFingerprints`` make a finding the same alert across runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from keyops.audit.findings import RULES, Finding
from keyops.sarif import build_log, sarif_level, security_severity


def pseudo_path(account_id: str) -> str:
    """``azure/<subscription>/<resource group>/<account>`` from an account resource id."""
    parts = account_id.strip("/").split("/")
    try:
        sub = parts[parts.index("subscriptions") + 1]
        group = parts[[p.lower() for p in parts].index("resourcegroups") + 1]
    except (ValueError, IndexError):
        return "azure/" + "/".join(parts[-1:])
    return f"azure/{sub}/{group}/{parts[-1]}"


#: lower-case account id -> (configuration file, line) that declared the account.
Sources = Mapping[str, tuple[str, int | None]]


def _rules() -> list[dict[str, Any]]:
    return [
        {
            "id": rule.id,
            "name": rule.name,
            "shortDescription": {"text": rule.title},
            "fullDescription": {"text": f"{rule.title}. {rule.recommendation}"},
            "help": {"text": rule.recommendation},
            "defaultConfiguration": {"level": sarif_level(rule.severity)},
            "properties": {
                "security-severity": security_severity(rule.severity),
                "tags": ["security", "azure", "credentials"],
            },
        }
        for rule in RULES.values()
    ]


def _location(f: Finding, sources: Sources) -> dict[str, Any]:
    source = sources.get(f.account_id.lower())
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": source[0] if source else pseudo_path(f.account_id)}
    }
    if source and source[1]:
        physical["region"] = {"startLine": source[1]}
    return {
        "physicalLocation": physical,
        "logicalLocations": [
            {"name": f.account, "fullyQualifiedName": f.account_id, "kind": "resource"}
        ],
    }


def _result(f: Finding, index: int, sources: Sources) -> dict[str, Any]:
    digest = hashlib.sha256(f"{f.rule_id}|{f.account_id.lower()}".encode()).hexdigest()[:32]
    return {
        "ruleId": f.rule_id,
        "ruleIndex": index,
        "level": sarif_level(f.severity),
        "message": {"text": f"{f.account}: {f.message}. {f.recommendation}"},
        "locations": [_location(f, sources)],
        "partialFingerprints": {"keyops/v1": digest},
        "properties": {"severity": f.severity.label, "account": f.account},
    }


def sarif_log(findings: Sequence[Finding], sources: Sources | None = None) -> dict[str, Any]:
    """The SARIF 2.1.0 log for ``findings``.

    ``sources`` maps a lower-case account id to ``(config file path, line)`` where the account
    was declared, for the results' physical locations.
    """
    order = list(RULES)
    return build_log(
        "keyops-audit",
        _rules(),
        [_result(f, order.index(f.rule_id), sources or {}) for f in findings],
        automationDetails={"id": "keyops/audit/"},
    )
