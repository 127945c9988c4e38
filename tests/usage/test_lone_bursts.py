"""Boundaries of the lone-burst rule: one bursty hour with nothing but its volume moved is info.

Plain lists in, so that each test states the exact numbers on both sides of a boundary.
"""

from __future__ import annotations

from keyops.severity import Severity
from keyops.usage.baseline import Baseline
from keyops.usage.detect import detect
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.model import UsageSeries
from keyops.usage.rules_traffic import (
    BURST_ERROR_RISE,
    BURST_MIN_ERRORS,
    BURST_TOKEN_FACTOR,
    SINGLE_HOUR_RATIO,
    is_lone_burst,
    spikes,
)
from keyops.usage.sensitivity import Sensitivity
from keyops.usage.windows import Interval
from tests.usage.factory import RID

N, LEVEL, SIZE, HOUR = 300, 100.0, 500.0, 250


def _metrics(
    calls: list[float], errors: list[float] | None = None, tokens: list[float] | None = None
) -> HourlyMetrics:
    stamps = tuple(1_756_684_800 + 3600 * t for t in range(len(calls)))
    failed = errors or [0.0] * len(calls)
    spend = tokens or [c * SIZE for c in calls]
    ok = tuple(c - f for c, f in zip(calls, failed, strict=True))
    series = UsageSeries(
        RID.format("a"), "a", stamps, tuple(calls), {"200": ok, "500": tuple(failed)},
        tuple(spend), tuple(0.0 for _ in calls),
    )  # fmt: skip
    return HourlyMetrics.of(series)


def _bursty(peak: float = LEVEL * SINGLE_HOUR_RATIO) -> list[float]:
    calls = [LEVEL] * N
    calls[40] = 3 * LEVEL  # a lone burst in the history: the account is bursty
    calls[HOUR] = peak
    return calls


BASE = Baseline(tuple(LEVEL for _ in range(N)), 0.1, 20.0, "test")


def _judge(m: HourlyMetrics) -> bool:
    found = [iv for iv in spikes(m, BASE, Sensitivity()) if iv.start <= HOUR < iv.end]
    assert found, "the hour must pass the spike rule before the burst rule judges it"
    return is_lone_burst(m, BASE, found[0], Sensitivity())


def test_a_lone_hour_with_usual_tokens_and_failures_on_a_bursty_account_is_a_burst() -> None:
    assert _judge(_metrics(_bursty()))


def test_tokens_per_call_moved_by_the_factor_make_it_an_alarm_either_way() -> None:
    calls = _bursty()
    under = BURST_TOKEN_FACTOR * 0.95
    cases = ((BURST_TOKEN_FACTOR, False), (under, True), (1 / BURST_TOKEN_FACTOR, False),
             (1 / under, True))  # fmt: skip
    for factor, burst in cases:
        tokens = [c * SIZE for c in calls]
        tokens[HOUR] *= factor
        assert _judge(_metrics(calls, tokens=tokens)) is burst, factor


def test_a_failed_share_risen_by_the_margin_makes_it_an_alarm() -> None:
    calls = _bursty()
    for share, burst in ((BURST_ERROR_RISE, False), (BURST_ERROR_RISE * 0.9, True)):
        errors = [0.0] * N
        errors[HOUR] = share * calls[HOUR]
        assert _judge(_metrics(calls, errors=errors)) is burst, share


def test_too_few_failures_are_no_evidence() -> None:
    calls = _bursty(peak=60.0)  # a small hour, judged directly: 9 of 60 failed is 15%
    iv = Interval(HOUR, HOUR + 1, calls[HOUR], LEVEL, 10.0, HOUR)
    for failed, burst in ((BURST_MIN_ERRORS - 1, True), (BURST_MIN_ERRORS, False)):
        errors = [0.0] * N
        errors[HOUR] = failed
        assert is_lone_burst(_metrics(calls, errors=errors), BASE, iv, Sensitivity()) is burst


def test_two_hours_past_the_ratio_or_a_calm_account_are_never_a_burst() -> None:
    two = _bursty()
    two[HOUR + 1] = LEVEL * SINGLE_HOUR_RATIO
    found = [iv for iv in spikes(_metrics(two), BASE, Sensitivity()) if iv.start <= HOUR < iv.end]
    assert found and not is_lone_burst(_metrics(two), BASE, found[0], Sensitivity())
    calm = [LEVEL] * N
    calm[HOUR] = LEVEL * SINGLE_HOUR_RATIO
    assert not _judge(_metrics(calm))


def test_detect_reports_a_lone_burst_as_info_and_a_token_change_as_a_spike() -> None:
    calls = [LEVEL + (7.0 if t % 2 else -7.0) for t in range(24 * 28)]
    calls[100] = 3 * LEVEL  # a lone burst in the history
    hour = 24 * 27
    calls[hour] = LEVEL * 40
    plain = _metrics(calls).series
    findings = [f for f in detect([plain]) if f.kind == "spike"]
    assert findings and all(f.severity == Severity.INFO for f in findings)
    tokens = [c * SIZE for c in calls]
    tokens[hour] *= 10
    heavy = _metrics(calls, tokens=tokens).series
    alarms = [f for f in detect([heavy]) if f.kind == "spike" and f.severity > Severity.INFO]
    assert alarms
