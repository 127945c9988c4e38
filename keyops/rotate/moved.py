"""Whether the consumers of a rotated secret have moved to the new version: plain logic over the
evidence of who reads the secret and who calls the account with a key (:mod:`keyops.usedby`).

``--revoke-previous when-moved`` revokes the previous key only when every (identity, caller IP)
that read the previous version in the lookback has read the current one since it was stored,
and no key call comes from an IP where no reader moved (a process configured by hand, or one
that read the key before the window). Inside the grace period that takes logs covering the
whole lookback; after it, the grace period's own promise stands where logs are missing, but what
the logs do show still blocks. The same evidence drives the grace guard: regenerating a slot
whose key a consumer read within the lookback breaks that consumer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from keyops.usedby import EvidenceReader, EvidenceView, ago, coverage_gap, key_callers, who

#: Said with every verdict: logs show reads, not what a process holds in memory.
UNPROVABLE = (
    "processes that read the key once at start-up and never again, and replicas sharing one "
    "identity and IP with one that moved, cannot be proven to have moved"
)


@dataclass(frozen=True)
class ConsumerCheck:
    """How a rotation reads the evidence of who uses the key (``--check-consumers``,
    ``--revoke-previous when-moved``), and how long a ``when-moved`` revoke waits."""

    reader: EvidenceReader
    #: How far back the logs are read (long enough to see a weekly consumer).
    lookback: timedelta = timedelta(days=8)
    #: After this long from the store, a consumer still lagging is a refusal (6), not a wait.
    max_wait: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class MovedVerdict:
    """Whether the previous key can go, who lags (one phrase each), and the reason in a line."""

    ready: bool
    lagging: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Versions:
    """The versions a revoke is about: the previous (its key goes) and the current one."""

    previous: str
    current: str
    stored_at: datetime


def _lagging(evidence: EvidenceView, versions: Versions, now: datetime) -> list[str]:
    moved_ips = {
        r.ip
        for r in evidence.readers
        if r.version == versions.current and r.last_read >= versions.stored_at
    }
    lagging = [
        f"{who(r)} (read version {versions.previous} {ago(r.last_read, now)})"
        for r in evidence.readers
        if r.version == versions.previous
    ]
    lagging += [
        f"{who(c)} ({c.calls} key calls, last {ago(c.last_seen, now)}; no reader there moved)"
        for c in key_callers(evidence)
        if c.ip not in moved_ips
    ]
    return lagging


def revoke_verdict(
    evidence: EvidenceView, versions: Versions, grace: timedelta, now: datetime
) -> MovedVerdict:
    """Whether the previous version's key can be revoked at ``now``."""
    lagging = tuple(_lagging(evidence, versions, now))
    if lagging:
        return MovedVerdict(
            False, lagging, f"still on the previous key: {', '.join(lagging)}; {UNPROVABLE}"
        )
    gap = coverage_gap(evidence)
    within_grace = now < versions.stored_at + grace
    if evidence.coverage.end < versions.stored_at:
        return MovedVerdict(
            False,
            (),
            "the logs reach only to "
            f"{evidence.coverage.end:%Y-%m-%d %H:%M:%SZ} (ingestion delay), before version "
            f"{versions.current} was stored: reads since are not visible yet",
        )
    if gap is not None and within_grace:
        return MovedVerdict(
            False, (), f"inside the grace period a revoke needs complete logs, and {gap}"
        )
    moved = sum(1 for r in evidence.readers if r.version == versions.current)
    basis = (
        f"every reader seen ({moved}) reads version {versions.current}"
        if gap is None
        else f"past the grace period; the logs are incomplete ({gap}) and show no one lagging"
    )
    return MovedVerdict(True, (), f"{basis}; {UNPROVABLE}")


def holders_of(evidence: EvidenceView, version: str, now: datetime) -> list[str]:
    """Who read ``version`` last within the evidence's window (the grace guard's "who")."""
    return [
        f"{who(r)} (read {ago(r.last_read, now)})" for r in evidence.readers if r.version == version
    ]
