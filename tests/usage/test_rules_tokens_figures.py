"""The figures a token-spend finding carries, on hand-made weeks whose every number is known.

A flat week of 20 successful calls an hour at 500 tokens each: the usual is 500 tokens per call,
call sizes vary by the floor of the squared coefficient of variation (0.5, identical calls), so
tokens are counted in units of 250, and the noise is 1.5 x the default (no hour expects 50
units, so none is busy enough to measure it). A jump then has a score that follows from the
window model by hand: observed and expected units, that noise, and seven pooled days.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from keyops.severity import Severity
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.model import Finding
from keyops.usage.rules_tokens import _enough_calls, _finding, token_spend
from keyops.usage.sensitivity import Sensitivity
from keyops.usage.stats import log_surprise, surprise
from keyops.usage.windows import Interval
from tests.usage.factory import series

DAYS = 7
HOURS = DAYS * 24
CALLS = 20.0
PER_CALL = 500.0
UNIT = PER_CALL * 0.5  # tokens per unit: the usual call's size times the floor of cv2
AT = 58  # Thursday 10:00 UTC, a weekday: the hour-of-day usual trims the jump's day away


def _week(jump: dict[int, float], calls: float = CALLS, size: float = PER_CALL) -> HourlyMetrics:
    """A flat week of *calls* an hour of *size* tokens each, those of the hours in *jump*
    multiplied."""
    tokens = [calls * size * jump.get(t, 1.0) for t in range(HOURS)]
    ok = [calls] * HOURS
    return replace(HourlyMetrics.of(series(days=DAYS)), ok=ok, calls=list(ok), tokens=tokens)


def _score(observed: float, expected: float, hours: int) -> float:
    """The z of a window of *hours* flat hours (units), as the window model scores it."""
    noise, pooled = Sensitivity().default_noise * 1.5, float(DAYS)
    per_hour = expected / hours
    extra = noise**2 / hours + 1 / (pooled * per_hour) + noise**2 / pooled
    nats = min(surprise(observed, expected, 1 / extra), log_surprise(observed, expected, extra))
    return round(math.sqrt(2 * nats), 2)


def _only(found: list[Finding]) -> Finding:
    assert len(found) == 1, found
    return found[0]


def test_a_three_hour_tenfold_jump_carries_its_tokens_ratio_score_and_span() -> None:
    m = _week({AT: 10.0, AT + 1: 10.0, AT + 2: 10.0})
    finding = _only(token_spend(m, Sensitivity()))
    usual = CALLS * PER_CALL
    assert (finding.observed, finding.expected, finding.ratio) == (10 * usual, usual, 10.0)
    assert finding.severity is Severity.HIGH
    assert finding.score == _score(3 * 10 * usual / UNIT, 3 * usual / UNIT, 3)
    stamps = m.series.timestamps
    assert (finding.start.timestamp(), finding.end.timestamp()) == (stamps[AT], stamps[AT + 3])
    assert "Tokens rose to 100,000/h, 10.0x what these calls usually cost (10,000/h)" in (
        finding.message
    )
    assert "10.0x the usual 500 tokens per call" in finding.message
    assert f"(score {finding.score:.1f})" in finding.message


@pytest.mark.parametrize("factor", [5.0, 8.0])
def test_a_one_hour_jump_is_scored_on_that_hour_alone(factor: float) -> None:
    finding = _only(token_spend(_week({AT: factor}), Sensitivity()))
    usual = CALLS * PER_CALL / UNIT
    assert (finding.observed, finding.ratio) == (factor * CALLS * PER_CALL, factor)
    assert finding.score == _score(factor * usual, usual, 1)


def test_a_jump_under_the_score_bar_is_no_finding() -> None:
    """4.9x for one hour scores under 5 (5x scores 5.03): no finding."""
    assert _score(4.9 * CALLS * 2, CALLS * 2, 1) < Sensitivity().min_score
    assert token_spend(_week({AT: 4.9}), Sensitivity()) == []


@pytest.mark.parametrize(("extra", "found"), [(10000.0, True), (9999.0, False)])
def test_the_extra_tokens_must_reach_the_minimum_excess_per_hour(extra: float, found: bool) -> None:
    """5 calls an hour at 200 tokens: an hour 10,000 tokens over the usual 1,000 (11x) is at
    the medium preset's minimum excess; a token less is under it."""
    m = _week({}, calls=5.0, size=200.0)
    tokens = list(m.tokens)
    tokens[AT] += extra
    findings = token_spend(replace(m, tokens=tokens), Sensitivity())
    assert [(f.observed, f.expected) for f in findings] == ([(11000.0, 1000.0)] if found else [])


def test_the_usual_call_size_is_the_median_over_hours_with_calls() -> None:
    """Calls from 00:00 to 14:00 only. The hours without calls take the account's overall tokens
    per call (above 500: the jump counts in it), and so do the calls of 00:00-02:00 and 13:00 (a
    batch may run late or early); the ten hours from 03:00, 500 tokens, are the median of the 14
    hours with calls, and the unit is 250 tokens as in the flat week."""
    ok = [CALLS if t % 24 < 14 else 0.0 for t in range(HOURS)]
    tokens = [c * PER_CALL for c in ok]
    tokens[AT] *= 10.0
    m = replace(HourlyMetrics.of(series(days=DAYS)), ok=ok, calls=list(ok), tokens=tokens)
    finding = _only(token_spend(m, Sensitivity()))
    usual = CALLS * PER_CALL / UNIT
    assert (finding.observed, finding.expected) == (10 * CALLS * PER_CALL, CALLS * PER_CALL)
    assert finding.score == _score(10 * usual, usual, 1)


def _interval_finding(tokens: list[float], usual: list[float], ok: list[float]) -> Finding:
    m = replace(HourlyMetrics.of(series(days=2)), tokens=tokens, ok=ok)
    return _finding(m, Interval(5, 8, 0.0, 0.0, 8.0, 6), usual)


def _three_hours(values: tuple[float, float, float]) -> list[float]:
    out = [0.0] * 48
    out[5:8] = values
    return out


@pytest.mark.parametrize(
    ("tokens", "severity"),
    [(15000.0, Severity.HIGH), (14999.0, Severity.MEDIUM), (18000.0, Severity.HIGH)],
)
def test_a_token_finding_is_high_from_five_times_the_usual(
    tokens: float, severity: Severity
) -> None:
    third = tokens / 3
    found = _interval_finding(
        _three_hours((third, third, third)),
        _three_hours((1000.0, 1000.0, 1000.0)),
        _three_hours((2.0, 2.0, 2.0)),
    )
    assert found.severity is severity


def test_the_usual_tokens_per_call_is_the_usual_total_over_the_calls() -> None:
    found = _interval_finding(
        _three_hours((9000.0, 9000.0, 9000.0)),
        _three_hours((1000.0, 1000.0, 1000.0)),
        _three_hours((1.0, 2.0, 3.0)),
    )
    assert (found.observed, found.expected) == (9000.0, 1000.0)
    assert "9.0x the usual 500 tokens per call" in found.message


def test_an_interval_without_calls_reads_zero_tokens_per_call() -> None:
    found = _interval_finding(
        _three_hours((9000.0, 9000.0, 9000.0)),
        _three_hours((1000.0, 1000.0, 1000.0)),
        [0.0] * 48,
    )
    assert "the usual 0 tokens per call" in found.message


def test_tokens_against_nothing_usual_are_high_and_divide_by_no_zero() -> None:
    """One token an hour where none is usual is an unbounded ratio, not 1x."""
    found = _interval_finding(
        _three_hours((1.0, 1.0, 1.0)), [0.0] * 48, _three_hours((1.0, 1.0, 1.0))
    )
    assert found.severity is Severity.HIGH
    assert found.ratio == math.inf


@pytest.mark.parametrize(
    ("hours", "ok", "enough"),
    [
        (1, 5.0, True),
        (1, 4.0, False),
        (2, 5.0, True),
        (2, 4.0, False),
        (3, 5.0, True),
        (4, 6.0, True),
        (4, 5.0, False),
        (6, 9.0, True),
        (6, 8.0, False),
    ],
)
def test_a_token_finding_needs_five_calls_and_one_and_a_half_an_hour(
    hours: int, ok: float, enough: bool
) -> None:
    calls = [0.0] * 48
    calls[10] = ok  # all in the first hour: the total is what counts
    m = replace(HourlyMetrics.of(series(days=2)), ok=calls)
    assert _enough_calls(m, Interval(10, 10 + hours, 0.0, 0.0, 8.0, 10)) is enough
