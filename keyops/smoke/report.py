"""``keyops smoke`` output: one line per target, or a JSON document. Fingerprints, never keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keyops.smoke.runner import SCHEMA, SmokeResult, summary


def credential_text(result: SmokeResult) -> str:
    """``key sha256:1a2b3c4d (vault kv/secret)`` or ``entra token``."""
    if result.auth == "entra":
        return "entra token"
    if result.skipped:
        return "key (not used)"
    if result.fingerprint is None:
        return "key (unavailable)"
    return f"key {result.fingerprint} ({result.origin})"


def format_line(result: SmokeResult, name_width: int = 0, deployment_width: int = 0) -> str:
    """The one line printed for a target."""
    t = result.target
    p = result.probe
    mark = "ok" if result.ok else "skip" if result.skipped else "FAIL"
    parts = [
        f"{mark:<4}",
        t.name.ljust(name_width),
        t.deployment.ljust(deployment_width),
        credential_text(result),
        result.outcome,
    ]
    if p is not None:
        if p.status is not None:
            parts.append(str(p.status) + (f" {p.error_code}" if p.error_code else ""))
        if p.latency_ms is not None:
            parts.append(f"{p.latency_ms:.0f} ms")
        if p.attempts > 1:
            parts.append(f"{p.attempts} attempts")
    if not result.ok:
        parts.append(f"- {result.detail}")
    return "  ".join(parts)


def format_lines(results: Sequence[SmokeResult]) -> list[str]:
    """Aligned lines for all results."""
    name_width = max((len(r.target.name) for r in results), default=0)
    dep_width = max((len(r.target.deployment) for r in results), default=0)
    return [format_line(r, name_width, dep_width) for r in results]


def document(results: Sequence[SmokeResult]) -> dict[str, Any]:
    """The JSON document (``keyops.smoke/v1``)."""
    return {
        "schema": SCHEMA,
        "results": [r.to_dict() for r in results],
        "summary": summary(results),
    }
