"""Evidence of who uses a key, built by hand for the decisions' own tests (no server): frozen
dataclasses with the fields :mod:`keyops.usedby`'s views name, and a reader that hands them out.
The decisions are tested against the emulator's real logs where those exist."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from keyops.targets import Target
from keyops.usedby import EvidenceReader, EvidenceView


@dataclass(frozen=True)
class Reader:
    object_id: str | None
    ip: str | None
    version: str | None
    last_read: datetime
    display: str | None = None
    settled: bool = True


@dataclass(frozen=True)
class Caller:
    auth: str
    ip: str | None
    calls: int
    first_seen: datetime
    last_seen: datetime
    object_id: str | None = None
    settled: bool = True


@dataclass(frozen=True)
class Finding:
    message: str
    fix: str


@dataclass(frozen=True)
class Coverage:
    start: datetime
    end: datetime
    complete: bool = True
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class Evidence:
    readers: tuple[Reader, ...]
    callers: tuple[Caller, ...]
    coverage: Coverage


def evidence(
    now: datetime,
    readers: tuple[Reader, ...] = (),
    callers: tuple[Caller, ...] = (),
    *,
    delay: timedelta = timedelta(minutes=10),
    lookback: timedelta = timedelta(days=8),
    gap: str | None = None,
) -> Evidence:
    """Evidence over ``[now - lookback, now - delay]``; ``gap`` makes it incomplete."""
    findings = (Finding(gap, "enable the diagnostic setting"),) if gap else ()
    return Evidence(readers, callers, Coverage(now - lookback, now - delay, gap is None, findings))


@dataclass
class HandedEvidence(EvidenceReader):
    """A reader that hands out what the test set (and counts the reads)."""

    current: EvidenceView
    reads: list[str] = field(default_factory=list)

    def evidence(self, target: Target, lookback: timedelta, now: datetime) -> EvidenceView:
        self.reads.append(target.name)
        return self.current
