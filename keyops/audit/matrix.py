"""The audit report: the matrix and findings as JSON, as table rows, and its exit status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keyops.audit.findings import Finding
from keyops.audit.model import AccountRow, SecretState
from keyops.audit.rules import AuditPolicy
from keyops.audit.usage import used_by_cell
from keyops.severity import Severity

SCHEMA = "keyops.audit/v1"
MATRIX_COLUMNS = (
    "account",
    "kind",
    "endpoint",
    "local auth",
    "network",
    "deployments",
    "Key1",
    "Key2",
    "vault secret",
    "entra",
    "used by",
)
FINDING_COLUMNS = ("severity", "rule", "account", "finding", "recommendation")


@dataclass(frozen=True)
class AuditReport:
    """Everything one audit run produced."""

    rows: tuple[AccountRow, ...]
    findings: tuple[Finding, ...]
    policy: AuditPolicy
    principal_id: str | None
    generated_at: datetime

    def counts(self) -> dict[str, int]:
        """Findings per severity label (every label present)."""
        counts = {s.label: 0 for s in sorted(Severity, reverse=True)}
        for f in self.findings:
            counts[f.severity.label] += 1
        return counts

    def fails(self, threshold: Severity | None) -> bool:
        """Whether a finding is at or above ``threshold`` (never, without one)."""
        return threshold is not None and any(f.severity >= threshold for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (``keyops.audit/v1``)."""
        return {
            "schema": SCHEMA,
            "generated_at": self.generated_at.isoformat(),
            "identity": {"principal_id": self.principal_id},
            "policy": {"max_secret_age_days": self.policy.max_secret_age_days},
            "accounts": [row.to_dict() for row in self.rows],
            "findings": [f.to_dict() for f in self.findings],
            "summary": {"accounts": len(self.rows), "findings": self.counts()},
        }


def _secret_cell(row: AccountRow) -> str:
    s: SecretState | None = row.secret
    if s is None:
        return "-"
    if s.present is None:
        return "unreadable"
    if not s.present:
        return "missing"
    parts = [row.check("vault").cell]
    if not s.readable:
        parts.append("unreadable")
    elif s.compared:
        parts.append(f"={s.matches or 'none'}")
    if s.age_days is not None:
        parts.append(f"{s.age_days}d")
    if s.expired:
        parts.append("expired")
    elif s.expires_on is None:
        parts.append("no-exp")
    if s.enabled is False:
        parts.append("disabled")
    return " ".join(parts)


def matrix_rows(rows: Sequence[AccountRow]) -> list[list[str]]:
    """Table rows for the matrix."""
    return [
        [
            row.name,
            row.kind,
            "custom" if row.endpoint_type == "custom_subdomain" else "regional",
            "disabled" if row.disable_local_auth else "enabled",
            row.public_network_access or "-",
            ", ".join(row.deployments) or "-",
            row.check("Key1").cell,
            row.check("Key2").cell,
            _secret_cell(row),
            row.check("entra").cell,
            used_by_cell(row.usage),
        ]
        for row in rows
    ]


def finding_rows(findings: Sequence[Finding]) -> list[list[str]]:
    """Table rows for the findings."""
    return [
        [f.severity.label, f"{f.rule_id} {f.rule.name}", f.account, f.message, f.recommendation]
        for f in findings
    ]
