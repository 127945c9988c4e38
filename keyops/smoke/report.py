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


#: The table's columns; ``drop`` is the order they go on a narrow terminal.
COLUMNS = ("result", "account", "deployment", "outcome", "status", "latency", "key", "detail")
DROP = ("latency", "status", "key", "deployment", "outcome")
WRAP = ("detail",)


def account_name(result: SmokeResult) -> str:
    """The account's name (the last segment of its resource id), as other commands show it;
    an ad hoc call has no account, so its endpoint's host stands in."""
    t = result.target
    if t.account_id:
        return t.account_id.rstrip("/").rsplit("/", 1)[-1]
    from urllib.parse import urlsplit

    return urlsplit(t.endpoint).netloc or t.name


def table_row(result: SmokeResult) -> list[str]:
    """One target's row under :data:`COLUMNS`."""
    p = result.probe
    status = ""
    latency = ""
    if p is not None:
        if p.status is not None:
            status = str(p.status) + (f" {p.error_code}" if p.error_code else "")
        if p.latency_ms is not None:
            latency = f"{p.latency_ms:.0f} ms" + (f", {p.attempts} tries" if p.attempts > 1 else "")
    return [
        "ok" if result.ok else "skip" if result.skipped else "FAIL",
        account_name(result),
        result.target.deployment,
        result.outcome,
        status,
        latency,
        credential_text(result),
        "" if result.ok else result.detail,
    ]


def table_rows(results: Sequence[SmokeResult]) -> list[list[str]]:
    """Rows for all results."""
    return [table_row(r) for r in results]


def document(results: Sequence[SmokeResult]) -> dict[str, Any]:
    """The JSON document (``keyops.smoke/v1``)."""
    return {
        "schema": SCHEMA,
        "results": [r.to_dict() for r in results],
        "summary": summary(results),
    }
