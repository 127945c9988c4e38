"""A small run of the generated evaluation set (the full one: scripts/eval_usage.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from keyops.severity import Severity
from keyops.usage.model import Finding, FindingKind
from keyops_bench.usage.evaluation import REPORT_SEED, EvalCase, build_set, make_case, run, score


def test_forty_series_precision_and_recall_at_least_090() -> None:
    result = run(40, REPORT_SEED)
    total = result.overall
    assert total.tp + total.fn == 20  # every odd case carries one planted anomaly
    assert total.precision >= 0.9, result.false_alarms
    assert total.recall >= 0.9, [(c.index, c.event) for c in result.misses]
    # Clean seasonal, noisy traffic (the even cases, rotations included) stays quiet.
    assert [(c.index, f.kind) for c, f in result.false_alarms if c.event is None] == []


def test_the_set_is_deterministic_and_balanced() -> None:
    cases = build_set(20, seed=3)
    again = make_case(7, seed=3)
    assert cases[7].series == again.series and cases[7].event == again.event
    assert [c.event is None for c in cases] == [i % 2 == 0 for i in range(20)]
    assert {c.event.kind for c in cases if c.event} == {
        "spike", "drop", "error_rate", "auth_surge_401", "token_spend"
    }  # fmt: skip
    for c in cases:
        assert c.series.hours == 168
        assert 5 <= c.spec.baseline <= 5000
        if c.event and c.event.kind == "auth_surge_401":
            [rot] = c.rotations
            lag = c.series.start + timedelta(hours=c.event.start_hour) - rot.rotated_at
            assert timedelta(0) <= lag < timedelta(hours=24)


def _finding_at(case: EvalCase, kind: str, hour: int) -> Finding:
    start = case.series.start + timedelta(hours=hour)
    return Finding(
        cast(FindingKind, kind), Severity.MEDIUM, case.series.resource_id, "a",
        start, start + timedelta(hours=1), 1.0, 1.0, 1.0, 1.0, "calls/h", "", "",
    )  # fmt: skip


def test_scorer_matches_kind_and_start_within_one_hour() -> None:
    case = make_case(1, seed=3)  # an odd case: one planted anomaly
    assert case.event is not None
    kind, hour = case.event.kind, case.event.start_hour
    other = "drop" if kind != "drop" else "spike"
    found = [[_finding_at(case, kind, hour + 1)]]
    assert (score([case], found).overall.tp, score([case], found).overall.fp) == (1, 0)
    late = score([case], [[_finding_at(case, kind, hour + 2)]]).overall
    assert (late.tp, late.fp, late.fn) == (0, 1, 1)
    wrong = score([case], [[_finding_at(case, other, hour)]]).overall
    assert (wrong.tp, wrong.fp, wrong.fn) == (0, 1, 1)
    twice = score([case], [[_finding_at(case, kind, hour), _finding_at(case, kind, hour)]]).overall
    assert (twice.tp, twice.fp) == (1, 1)
