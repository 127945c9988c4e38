"""How much call sizes vary (rules_tokens.call_size_cv2) at its limits: the number of quiet
hours it needs, its bounds, and its default, on hand-made hours."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from keyops.usage.metrics import HourlyMetrics
from keyops.usage.rules_tokens import _finding, _union, call_size_cv2
from keyops.usage.windows import Interval
from tests.usage.factory import series

HOURS = 48
PER_CALL = 100.0
CALLS = 10.0


def _metrics(quiet_hours: int, cv2: float) -> HourlyMetrics:
    """``quiet_hours`` hours of CALLS calls each whose tokens deviate so that each hour's
    estimate of cv2 is ``cv2``; the other hours have no successful call."""
    deviation = math.sqrt(cv2 / CALLS)
    ok = [CALLS if h < quiet_hours else 0.0 for h in range(HOURS)]
    tokens = [c * PER_CALL * (1 + deviation) for c in ok]
    return replace(HourlyMetrics.of(series(days=2)), ok=ok, tokens=tokens)


@pytest.mark.parametrize(("quiet", "expected"), [(23, 1.0), (24, 2.0), (25, 2.0)])
def test_cv2_needs_24_quiet_hours_and_defaults_to_one(quiet: int, expected: float) -> None:
    assert call_size_cv2(_metrics(quiet, 2.0), [PER_CALL] * HOURS) == pytest.approx(expected)


@pytest.mark.parametrize(("measured", "expected"), [(0.1, 0.5), (0.5, 0.5), (4.0, 4.0), (9.0, 4.0)])
def test_cv2_is_held_between_one_half_and_four(measured: float, expected: float) -> None:
    assert call_size_cv2(_metrics(30, measured), [PER_CALL] * HOURS) == pytest.approx(expected)


def test_an_hour_of_one_call_is_a_quiet_hour() -> None:
    deviation = math.sqrt(2.0 / 1.0)
    ok = [1.0 if h < 24 else 0.0 for h in range(HOURS)]
    tokens = [c * PER_CALL * (1 + deviation) for c in ok]
    m = replace(HourlyMetrics.of(series(days=2)), ok=ok, tokens=tokens)
    assert call_size_cv2(m, [PER_CALL] * HOURS) == pytest.approx(2.0)


def test_the_drift_of_busy_hours_from_50_calls_is_taken_off_quiet_hours() -> None:
    """24 hours of exactly 50 calls, sizes off by +-10%: their drift (robust sigma squared) is
    subtracted from each quiet hour's squared deviation before it estimates cv2."""
    busy_dev = 0.1
    drift = (1.4826 * busy_dev) ** 2
    quiet_dev = math.sqrt(drift + 2.0 / CALLS)
    ok = [50.0] * 24 + [CALLS] * 24
    devs = [busy_dev if h % 2 else -busy_dev for h in range(24)] + [quiet_dev] * 24
    tokens = [c * PER_CALL * (1 + d) for c, d in zip(ok, devs, strict=True)]
    m = replace(HourlyMetrics.of(series(days=2)), ok=ok, tokens=tokens)
    assert call_size_cv2(m, [PER_CALL] * HOURS) == pytest.approx(2.0)


def test_overlapping_token_intervals_become_one_with_the_best_score_and_widest_span() -> None:
    tokens = [float(t) for t in range(HOURS)]
    merged = _union(
        [
            Interval(10, 14, 5.0, 1.0, 6.0, 11),
            Interval(12, 16, 5.0, 1.0, 9.0, 15),
            Interval(20, 21, 5.0, 1.0, 7.0, 20),
        ],
        tokens,
    )
    assert [(iv.start, iv.end, iv.score, iv.peak) for iv in merged] == [
        (10, 16, 9.0, 15),
        (20, 21, 7.0, 20),
    ]


def test_a_token_finding_is_in_tokens_per_hour_against_the_usual() -> None:
    m = _metrics(30, 2.0)
    tokens = [0.0] * HOURS
    tokens[5:8] = [9000.0, 12000.0, 6000.0]
    usual = [1000.0] * HOURS
    usual[7] = 1001.0  # a total that three hours do not divide: the average is not floored
    finding = _finding(replace(m, tokens=tokens), Interval(5, 8, 0.0, 0.0, 8.0, 6), usual)
    expected = round(3001.0 / 3, 4)
    assert (finding.observed, finding.expected, finding.unit) == (9000.0, expected, "tokens/h")
    assert finding.severity.name == "HIGH"
