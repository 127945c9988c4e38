"""``keyops consumers`` output: a JSON document (schema in the README) and terminal tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keyops.consumers.evidence import DataCaller, Evidence, LogTarget, VaultReader


@dataclass(frozen=True)
class TargetEvidence:
    """One target's evidence, or the error that stopped it."""

    target: LogTarget
    evidence: Evidence | None
    error: str | None = None


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _reader(r: VaultReader) -> dict[str, Any]:
    return {
        "object_id": r.object_id,
        "app_id": r.app_id,
        "ip": r.ip,
        "display": r.display,
        "version": r.version,
        "last_read": _iso(r.last_read),
        "reads": r.reads,
        "denied": r.denied,
        "keyops": r.keyops,
        "visible": "settled" if r.settled else "within ingestion delay",
    }


def _caller(c: DataCaller) -> dict[str, Any]:
    return {
        "auth": c.auth,
        "object_id": c.object_id,
        "ip": c.ip,
        "slot": "unknown" if c.auth == "key" else None,
        "calls": c.calls,
        "rejected": c.rejected,
        "keyops": c.keyops,
        "first_seen": _iso(c.first_seen),
        "last_seen": _iso(c.last_seen),
        "visible": "settled" if c.settled else "within ingestion delay",
    }


def target_json(item: TargetEvidence) -> dict[str, Any]:
    """One target as JSON."""
    t = item.target
    out: dict[str, Any] = {
        "account": t.name,
        "account_id": t.account_id,
        "vault_id": t.vault_id,
        "secret": t.secret_name,
    }
    if item.evidence is None:
        return {**out, "error": item.error}
    ev = item.evidence
    cov = ev.coverage
    return {
        **out,
        "coverage": {
            "start": _iso(cov.start),
            "end": _iso(cov.end),
            "ingestion_delay_seconds": int(cov.ingestion_delay.total_seconds()),
            "complete": cov.complete,
            "tables": dict(cov.tables),
        },
        "readers": [_reader(r) for r in ev.readers],
        "unauthenticated_401s": ev.unauthenticated,
        "callers": [_caller(c) for c in ev.callers],
        "findings": [
            {"source": f.source, "code": f.code, "message": f.message, "fix": f.fix}
            for f in cov.findings
        ],
    }


def to_json(items: Sequence[TargetEvidence]) -> dict[str, Any]:
    """The whole report."""
    return {"schema_version": 1, "targets": [target_json(i) for i in items]}


def _short(value: str | None, keep: int = 8) -> str:
    return "-" if not value else value if len(value) <= keep + 1 else value[:keep] + "…"


def _identity(r: VaultReader) -> str:
    who = r.display or (f"oid {_short(r.object_id)}" if r.object_id else "unknown")
    if r.keyops:
        who = f"keyops itself: {who}"
    return f"{who} (app {_short(r.app_id)})" if r.app_id else who


def _reader_row(r: VaultReader) -> list[Any]:
    return [
        "vault",
        _identity(r),
        r.ip,
        "token",
        _short(r.version),
        _iso(r.last_read),
        f"{r.reads} reads" + (f", {r.denied} denied" if r.denied else ""),
        "yes" if r.settled else "not yet (ingestion delay)",
    ]


def _caller_row(c: DataCaller) -> list[Any]:
    return [
        "data plane",
        ("keyops itself: " if c.keyops else "")
        + (f"oid {_short(c.object_id)}" if c.object_id else "-"),
        c.ip,
        c.auth,
        "slot unknown" if c.auth == "key" else "-",
        _iso(c.last_seen),
        f"{c.calls} calls" + (f", {c.rejected} rejected" if c.rejected else ""),
        "yes" if c.settled else "not yet (ingestion delay)",
    ]


_COLUMNS = ["source", "who", "ip", "auth", "version / slot", "last seen", "count", "visible"]


def print_report(items: Sequence[TargetEvidence], output: str) -> None:
    """Per target: its coverage line, readers, callers and findings."""
    from keyops.render import Layout, diag, print_table

    for item in items:
        t = item.target
        if item.evidence is None:
            diag(f"consumers: {t.name}: {item.error}")
            continue
        ev = item.evidence
        cov = ev.coverage
        held = int(cov.ingestion_delay.total_seconds() // 60)
        print_table(
            _COLUMNS,
            [*(_reader_row(r) for r in ev.readers), *(_caller_row(c) for c in ev.callers)],
            title=(
                f"{t.name}: logs {_iso(cov.start)} .. {_iso(cov.end)} (the last {held} min are "
                "held back: Key Vault logs arrive up to 10 min late)"
            ),
            layout=Layout(drop=("visible", "count", "ip")),
            output=output,
        )
        for f in cov.findings:
            diag(f"consumers: {t.name}: no usage evidence: {f.message}; fix: {f.fix}")
