"""The issue's scoring rules, shared by both evaluation sets.

* Findings of severity **low and above** are scored (info notes are not).
* A finding is **correct** when it overlaps a planted anomaly's window widened by one hour on each
  side, on the same account, and its kind is mapped to the planted kind (:data:`KIND_MAP`).
* **Recall** counts each planted anomaly once (found by at least one correct finding).
* Every other scored finding is a **false positive**. Correct findings beyond the first on one
  anomaly are counted apart (``repeats``): not false, but noise an operator reads.

Kind-mapping table (planted kind -> finding kinds that count as finding it)::

    credential_stuffing  auth_surge_401
    rotation_401         auth_surge_401, drop      (the consumer's calls also vanish)
    runaway              spike, token_spend, error_rate  (429s once past the quota)
    outage               drop, error_rate
    error_5xx, error_429 error_rate
    token_x10            token_spend
    spike, drop, error_rate, auth_surge_401, token_spend (first set)  the same kind
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from keyops.severity import Severity
from keyops.usage.model import HOUR, Finding

KIND_MAP: dict[str, frozenset[str]] = {
    "credential_stuffing": frozenset({"auth_surge_401"}),
    "rotation_401": frozenset({"auth_surge_401", "drop"}),
    "runaway": frozenset({"spike", "token_spend", "error_rate"}),
    "outage": frozenset({"drop", "error_rate"}),
    "error_5xx": frozenset({"error_rate"}),
    "error_429": frozenset({"error_rate"}),
    "token_x10": frozenset({"token_spend"}),
    **{k: frozenset({k}) for k in ("spike", "drop", "error_rate", "auth_surge_401", "token_spend")},
}


@dataclass(frozen=True)
class PlantedWindow:
    """A planted anomaly on one account: epoch seconds ``[start, end)``."""

    resource_id: str
    kind: str
    start: int
    end: int


@dataclass
class Tally:
    """Correct findings, false positives and misses of one kind."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """Correct share of scored findings (1.0 when none)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of planted anomalies found (1.0 when none)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class Score:
    """Recall per planted kind, precision per finding kind, and the mistakes."""

    planted: dict[str, Tally] = field(default_factory=dict)  # tp/fn per planted kind
    found: dict[str, Tally] = field(default_factory=dict)  # tp/fp per finding kind
    repeats: int = 0
    legit_accounts: int = 0
    legit_quiet: int = 0
    misses: list[PlantedWindow] = field(default_factory=list)
    false_alarms: list[Finding] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Overall precision."""
        tp = sum(t.tp for t in self.found.values())
        fp = sum(t.fp for t in self.found.values())
        return tp / (tp + fp) if tp + fp else 1.0

    @property
    def recall(self) -> float:
        """Overall recall."""
        tp = sum(t.tp for t in self.planted.values())
        fn = sum(t.fn for t in self.planted.values())
        return tp / (tp + fn) if tp + fn else 1.0

    @property
    def legit_quiet_share(self) -> float:
        """Share of legit-only accounts without a scored finding."""
        return self.legit_quiet / self.legit_accounts if self.legit_accounts else 1.0

    def merge(self, other: Score) -> None:
        """Add *other*'s counts to this score."""
        for mine, theirs in ((self.planted, other.planted), (self.found, other.found)):
            for kind, t in theirs.items():
                m = mine.setdefault(kind, Tally())
                m.tp, m.fp, m.fn = m.tp + t.tp, m.fp + t.fp, m.fn + t.fn
        self.repeats += other.repeats
        self.legit_accounts += other.legit_accounts
        self.legit_quiet += other.legit_quiet
        self.misses += other.misses
        self.false_alarms += other.false_alarms


def print_score(title: str, s: Score) -> None:
    """Precision per finding kind, recall per planted kind, and the overall figures."""
    print(title)
    print(f"  {'planted kind':<20} {'planted':>7} {'found':>6} {'recall':>7}")
    for kind, t in sorted(s.planted.items()):
        print(f"  {kind:<20} {t.tp + t.fn:>7} {t.tp:>6} {t.recall:>7.3f}")
    print(f"  {'finding kind':<20} {'scored':>7} {'false+':>6} {'precision':>9}")
    for kind, t in sorted(s.found.items()):
        print(f"  {kind:<20} {t.tp + t.fp:>7} {t.fp:>6} {t.precision:>9.3f}")
    print(
        f"  overall: precision {s.precision:.3f}, recall {s.recall:.3f}; repeats on found "
        f"anomalies {s.repeats}; legit-only accounts quiet {s.legit_quiet}/{s.legit_accounts} "
        f"({s.legit_quiet_share:.3f})"
    )


def scored(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that count: severity low and above."""
    return [f for f in findings if f.severity >= Severity.LOW]


def matches(finding: Finding, planted: PlantedWindow) -> bool:
    """Same account, a mapped kind, and overlapping the planted window +-1 h."""
    if finding.resource_id.lower() != planted.resource_id.lower():
        return False
    if finding.kind not in KIND_MAP[planted.kind]:
        return False
    lo, hi = planted.start - HOUR, planted.end + HOUR
    return finding.start.timestamp() < hi and lo < finding.end.timestamp()


def score(
    planted: Sequence[PlantedWindow], findings: Sequence[Finding], accounts: Sequence[str] = ()
) -> Score:
    """Score *findings* against *planted*; *accounts* are all accounts (for the legit share)."""
    result = Score()
    for p in planted:
        result.planted.setdefault(p.kind, Tally())
    found_once: set[int] = set()
    for f in scored(findings):
        tally = result.found.setdefault(f.kind, Tally())
        hits = [i for i, p in enumerate(planted) if matches(f, p)]
        if not hits:
            tally.fp += 1
            result.false_alarms.append(f)
            continue
        tally.tp += 1
        new = [i for i in hits if i not in found_once]
        result.repeats += 0 if new else 1
        found_once.update(hits)
    for i, p in enumerate(planted):
        if i in found_once:
            result.planted[p.kind].tp += 1
        else:
            result.planted[p.kind].fn += 1
            result.misses.append(p)
    with_planted = {p.resource_id.lower() for p in planted}
    noisy = {f.resource_id.lower() for f in scored(findings)}
    legit = [a.lower() for a in accounts if a.lower() not in with_planted]
    result.legit_accounts = len(legit)
    result.legit_quiet = sum(1 for a in legit if a not in noisy)
    return result


def new_alerts(runs: Sequence[Sequence[Finding]], known: Sequence[Finding] = ()) -> list[Finding]:
    """What an hourly scheduled run would alert on: findings not already in the previous run.

    A finding is already known when the previous run had one of the same kind on the same
    account overlapping it; the others are new (a re-reported episode counts again only when it
    was missing from the run before). *known* is the run before the first (already alerted on).
    """
    out: list[Finding] = []
    previous: Sequence[Finding] = scored(known)
    for run in runs:
        current = scored(run)
        for f in current:
            if not any(
                p.kind == f.kind and p.resource_id == f.resource_id and p.start < f.end
                and f.start < p.end
                for p in previous
            ):  # fmt: skip
                out.append(f)
        previous = current
    return out
