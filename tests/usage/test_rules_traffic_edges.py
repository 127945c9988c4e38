"""Volume rules at their limits: the heavy-tail single-hour bar, per-hour averages, severity
cut-offs (each exactly at the limit and one step either side), on hand-made hours."""

from __future__ import annotations

from dataclasses import replace

import pytest

from keyops.severity import Severity
from keyops.usage.baseline import Baseline
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.rules_traffic import drop_finding, spike_finding, spikes
from keyops.usage.sensitivity import Sensitivity
from keyops.usage.windows import Interval
from tests.usage.factory import series

HOURS = 7 * 24
USUAL = 100.0
#: The documented bar for a lone hour on a heavy-tailed account (rules_traffic.SINGLE_HOUR_RATIO).
SINGLE_HOUR_RATIO = 20.0


def _metrics(calls: list[float]) -> HourlyMetrics:
    return replace(HourlyMetrics.of(series(days=7)), calls=calls)


def _base(heavy: bool) -> Baseline:
    return Baseline((USUAL,) * HOURS, noise=0.1, pooled=20.0, mode="flat", heavy_tailed=heavy)


def _one_hour(times: float) -> list[float]:
    calls = [USUAL] * HOURS
    calls[100] = USUAL * times
    return calls


@pytest.mark.parametrize(
    ("times", "heavy", "found"),
    [
        (SINGLE_HOUR_RATIO, True, True),
        (SINGLE_HOUR_RATIO - 0.01, True, False),
        (SINGLE_HOUR_RATIO + 5, True, True),
        (SINGLE_HOUR_RATIO - 0.01, False, True),
    ],
)
def test_on_a_heavy_tailed_account_one_hour_is_a_spike_only_from_20_times_usual(
    times: float, heavy: bool, found: bool
) -> None:
    intervals = spikes(_metrics(_one_hour(times)), _base(heavy), Sensitivity())
    assert [(iv.start, iv.end) for iv in intervals] == ([(100, 101)] if found else [])


def test_on_a_heavy_tailed_account_two_hours_need_no_extreme_hour() -> None:
    calls = [USUAL] * HOURS
    calls[100:102] = [USUAL * 6] * 2
    intervals = spikes(_metrics(calls), _base(True), Sensitivity())
    assert [(iv.start, iv.end) for iv in intervals] == [(100, 102)]


def _interval(hours: int, observed_per_hour: float, end: int = 110) -> Interval:
    start = end - hours
    return Interval(start, end, observed_per_hour * hours, USUAL * hours, 9.0, start)


@pytest.mark.parametrize(
    ("times", "severity"),
    [(10.0, Severity.HIGH), (9.99, Severity.MEDIUM), (9.995, Severity.MEDIUM)],
)
def test_a_spike_is_high_from_ten_times_usual(times: float, severity: Severity) -> None:
    finding = spike_finding(_metrics([USUAL] * HOURS), _interval(3, USUAL * times))
    assert (finding.observed, finding.expected, finding.severity) == (
        round(USUAL * times, 4),
        USUAL,
        severity,
    )


@pytest.mark.parametrize(
    ("hours", "share", "end", "severity"),
    [
        (6, 0.05, 110, Severity.HIGH),
        (6, 0.0501, 110, Severity.MEDIUM),
        (5, 0.05, 110, Severity.MEDIUM),
        (7, 0.0, 110, Severity.HIGH),
        (2, 0.1, HOURS, Severity.HIGH),
        (2, 0.1, HOURS - 1, Severity.MEDIUM),
    ],
)
def test_a_drop_is_high_when_ongoing_or_near_zero_for_six_hours(
    hours: int, share: float, end: int, severity: Severity
) -> None:
    finding = drop_finding(_metrics([USUAL] * HOURS), _interval(hours, USUAL * share, end))
    assert (finding.expected, finding.severity) == (USUAL, severity)
    assert finding.observed == round(USUAL * share, 4)


def test_a_drop_below_one_call_an_hour_is_judged_on_its_real_ratio() -> None:
    """Expected 0.5 calls/h, seen 0.04/h: 8% of usual, not 4% (no floor of one call)."""
    m = _metrics([USUAL] * HOURS)
    finding = drop_finding(m, Interval(100, 106, 0.24, 3.0, 9.0, 100))
    assert finding.severity is Severity.MEDIUM and "8% of the usual" in finding.message
