"""The generated evaluation set for the anomaly rules, and its scorer (run: scripts/eval_usage.py).

Each case is 7 days hourly (no extra history: the detector uses in-window baselines) from a
random hour of the week, with a baseline drawn log-uniformly from 5 to 5,000 calls/h, daily
amplitude 0.3-0.6 peaking between 08:00 and 20:00 UTC, a weekend dip of 20-50%, 15% multiplicative
noise, a background error rate under 1%, Poisson counts. Even cases are clean, odd cases carry one
planted anomaly, the five kinds in turn. Rotations also occur without a surge (half of the clean
cases, 30% of the others) so that rotations alone must not raise findings.

Planted magnitudes are drawn from ranges starting at the issue's minimums (``hard=True`` plants
exactly the minimums instead): spike 4-8x for 1-4 h; drop to 0-10% for 3-12 h; error rate 10-40%
for 1-6 h; 401 surge 20-200/h for 1-8 h, starting 0-23 h after a rotation; tokens per call 3-6x
for 2-8 h. A finding matches when its kind equals the planted kind and it starts within one hour
of the planted start; every other finding is a false positive.

Seeds: thresholds are tuned on ``DEV_SEED`` (7, and 8 as a second look), figures are reported on
``REPORT_SEED`` and confirmed on ``CHECK_SEEDS``; nothing in the detector knows the generator.
The issue asks for at least 200 series (100 anomalies, recall known to about +-0.02), so the
script runs 1,000 by default and prints the first 200 (the same cases) as well. What stays
missed is mostly physics: an error rate of 10-40% on a resource of 5-30 calls/h is often one or
two failed calls, which background errors of under 1% produce by chance too.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from keyops.usage.detect import detect
from keyops.usage.model import Finding, Rotation, UsageSeries
from keyops.usage.sensitivity import Sensitivity
from keyops_bench.usage.scoring import Tally
from keyops_bench.usage.synth import PlantedEvent, SeriesSpec, generate, rotations_at

PLANTED_KINDS = ("spike", "drop", "error_rate", "auth_surge_401", "token_spend")
EVAL_START = datetime(2025, 3, 3, tzinfo=timezone.utc)  # a Monday
HOURS = 168
_RID_PREFIX = "/subscriptions/eval/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts"
#: Seed of the reported figures; defaults were tuned on DEV_SEED (and DEV_SEED + 1) only, and
#: CHECK_SEEDS, never looked at while tuning, confirm the report seed is not a lucky draw.
REPORT_SEED = 20250601
DEV_SEED = 7
CHECK_SEEDS = (101, 202)
#: The size of the set the issue asks for (the first ISSUE_SET cases of any larger set).
ISSUE_SET = 200


@dataclass(frozen=True)
class EvalCase:
    """One generated series with its rotations and the anomaly planted in it (if any)."""

    index: int
    spec: SeriesSpec
    series: UsageSeries
    rotations: tuple[Rotation, ...]
    event: PlantedEvent | None


def _log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _event(
    kind: str, rng: random.Random, hard: bool, hours: int
) -> tuple[PlantedEvent, int | None]:
    """A planted event of *kind* and, for a 401 surge, the hour of the rotation that caused it."""
    draws: dict[str, Callable[[], tuple[float, int]]] = {
        "spike": lambda: (_log_uniform(rng, 4, 8), rng.randint(1, 4)),
        "drop": lambda: (rng.uniform(0, 0.1), rng.randint(3, 12)),
        "error_rate": lambda: (rng.uniform(0.1, 0.4), rng.randint(1, 6)),
        "auth_surge_401": lambda: (_log_uniform(rng, 20, 200), rng.randint(1, 8)),
        "token_spend": lambda: (rng.uniform(3, 6), rng.randint(2, 8)),
    }
    minimums = {"spike": (4.0, 1), "drop": (0.1, 3), "error_rate": (0.1, 1),
                "auth_surge_401": (20.0, 1), "token_spend": (3.0, 2)}  # fmt: skip
    factor, length = minimums[kind] if hard else draws[kind]()
    status = rng.choice(("500", "503", "429", "400"))
    if kind == "auth_surge_401":
        rotated = rng.randint(0, hours - 24 - length)
        start = rotated + rng.randint(0, 23)
        return PlantedEvent(kind, start, length, factor, status), rotated
    return PlantedEvent(kind, rng.randint(0, hours - length), length, factor, status), None


def make_case(index: int, seed: int, hard: bool = False, hours: int = HOURS) -> EvalCase:
    """Case *index* of the set generated from *seed* (independent of the set's size)."""
    rng = random.Random(seed * 1_000_003 + index)
    spec = SeriesSpec(
        baseline=_log_uniform(rng, 5, 5000),
        daily=rng.uniform(0.3, 0.6),
        peak_hour=rng.randint(8, 20),
        weekly=rng.uniform(0.2, 0.5),
        noise=0.15,
        error_rate=rng.uniform(0.001, 0.009),
        auth_error_rate=rng.uniform(0, 0.001),
        tokens_per_request=rng.uniform(300, 3000),
    )
    event, rotated = None, None
    if index % 2:
        event, rotated = _event(PLANTED_KINDS[(index // 2) % 5], rng, hard, hours)
        spec = SeriesSpec(**{**spec.__dict__, "events": (event,)})
    if rotated is None and rng.random() < (0.3 if event else 0.5):
        rotated = rng.randint(0, hours - 1)
    start = EVAL_START + timedelta(hours=rng.randint(0, 167))
    rid = f"{_RID_PREFIX}/a{index}"
    series = generate(
        spec, start, hours, seed=rng.getrandbits(32), resource_id=rid, name=f"a{index}"
    )
    rotations = tuple(rotations_at([rotated], start, rid)) if rotated is not None else ()
    return EvalCase(index, spec, series, rotations, event)


def build_set(n: int = ISSUE_SET, seed: int = REPORT_SEED, hard: bool = False) -> list[EvalCase]:
    """The first *n* cases of the set for *seed*."""
    return [make_case(i, seed, hard) for i in range(n)]


@dataclass
class EvalResult:
    """Scores per kind and overall, with the mistakes for inspection."""

    per_kind: dict[str, Tally] = field(default_factory=dict)
    misses: list[EvalCase] = field(default_factory=list)
    false_alarms: list[tuple[EvalCase, Finding]] = field(default_factory=list)

    @property
    def overall(self) -> Tally:
        """Totals over all kinds."""
        total = Tally()
        for s in self.per_kind.values():
            total.tp, total.fp, total.fn = total.tp + s.tp, total.fp + s.fp, total.fn + s.fn
        return total


def _matches(finding: Finding, case: EvalCase) -> bool:
    event = case.event
    if event is None or finding.kind != event.kind:
        return False
    hour = (finding.start.timestamp() - case.series.timestamps[0]) / 3600
    return abs(hour - event.start_hour) <= 1


def score(cases: Sequence[EvalCase], findings: Sequence[Sequence[Finding]]) -> EvalResult:
    """Score each case's findings against its planted anomaly (at most one match per anomaly)."""
    result = EvalResult({k: Tally() for k in PLANTED_KINDS})
    for case, found in zip(cases, findings, strict=True):
        matched = False
        for f in found:
            kind = result.per_kind.setdefault(f.kind, Tally())
            if not matched and _matches(f, case):
                kind.tp += 1
                matched = True
            else:
                kind.fp += 1
                result.false_alarms.append((case, f))
        if case.event is not None and not matched:
            result.per_kind[case.event.kind].fn += 1
            result.misses.append(case)
    return result


def _detect_cases(args: tuple[range, int, bool, Sensitivity | None]) -> list[Sequence[Finding]]:
    """Worker: detect on cases *indexes* of the set (picklable for a process pool)."""
    indexes, seed, hard, sensitivity = args
    out: list[Sequence[Finding]] = []
    for i in indexes:
        case = make_case(i, seed, hard)
        out.append(detect([case.series], case.rotations, sensitivity=sensitivity))
    return out


def detect_set(
    n: int = ISSUE_SET,
    seed: int = REPORT_SEED,
    hard: bool = False,
    sensitivity: Sensitivity | None = None,
    jobs: int = 1,
) -> tuple[list[EvalCase], list[Sequence[Finding]]]:
    """Generate the set and run ``detect`` on each case (in *jobs* processes); cases, findings."""
    cases = build_set(n, seed, hard)
    if jobs <= 1:
        return cases, _detect_cases((range(n), seed, hard, sensitivity))
    from concurrent.futures import ProcessPoolExecutor

    chunks = [(range(k, n, jobs), seed, hard, sensitivity) for k in range(jobs)]
    with ProcessPoolExecutor(jobs) as pool:
        parts = list(pool.map(_detect_cases, chunks))
    return cases, [parts[i % jobs][i // jobs] for i in range(n)]


def run(
    n: int = ISSUE_SET,
    seed: int = REPORT_SEED,
    hard: bool = False,
    sensitivity: Sensitivity | None = None,
    jobs: int = 1,
) -> EvalResult:
    """Generate the set, run ``detect`` on each case (in *jobs* processes) and score it."""
    return score(*detect_set(n, seed, hard, sensitivity, jobs))
