"""Usage evidence in the audit: who uses each account's keys, from ``keyops consumers``'
evidence (:mod:`keyops.consumers`), as a "used by" cell and two findings.

Opt-in (``audit --consumers``): it needs read access to diagnostic settings and to the logs, and
costs a few queries per account. A failure to read the logs is a finding on the account, never
an audit failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from keyops.consumers.evidence import LogTarget
from keyops.consumers.render import TargetEvidence
from keyops.errors import KeyopsError

if TYPE_CHECKING:
    from keyops.audit.model import AccountRow
    from keyops.azure.logs import AzureLogSource
    from keyops.cloud import AzureEnvironment
    from keyops.targets import Target


def attach_usage(
    env: AzureEnvironment,
    credential: Any,
    rows: Sequence[AccountRow],
    targets: Sequence[Target],
    window: timedelta,
) -> list[AccountRow]:
    """``rows`` with their usage evidence (or the reason there is none)."""
    from keyops.azure.logs import AzureLogSource
    from keyops.consumers.run import gather_all

    sources: dict[str, AzureLogSource] = {}

    def source_for(sub: str) -> AzureLogSource:
        if sub not in sources:
            sources[sub] = AzureLogSource(env, credential, sub)
        return sources[sub]

    try:
        items = gather_all(targets, source_for, window)
    except KeyopsError as err:
        items = [TargetEvidence(LogTarget(t.name, t.resource_id), None, str(err)) for t in targets]
    finally:
        for source in sources.values():
            source.close()
    by_id = {i.target.account_id.lower(): i for i in items}
    return [replace(row, usage=by_id.get(row.id.lower())) for row in rows]


def in_use_by(item: TargetEvidence) -> tuple[int, int, int]:
    """(key callers, token callers, vault readers) that used the key: served calls and reads that
    got the secret, keyops's own identity and unauthenticated 401 challenges left out."""
    ev = item.evidence
    if ev is None:
        return 0, 0, 0
    readers, callers = ev.consumers
    keys = sum(1 for c in callers if c.auth == "key")
    return keys, len(callers) - keys, len(readers)


def used_by_cell(item: TargetEvidence | None) -> str:
    """The matrix's "used by" cell."""
    if item is None:
        return "-"
    if item.evidence is None:
        return "no evidence"
    keys, tokens, readers = in_use_by(item)
    parts = [f"{n} {label}" for n, label in ((keys, "key"), (tokens, "token"), (readers, "read"))]
    seen = ", ".join(p for p in parts if not p.startswith("0 ")) or "nobody"
    return seen if item.evidence.coverage.complete else f"{seen} (partial)"
