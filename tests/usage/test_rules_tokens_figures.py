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
from keyops.usage.rules_tokens import (
    _enough_calls,
    _finding,
    _union,
    batch_band,
    call_size_cv2,
    token_spend,
)
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


def _score(
    observed: float, expected: float, hours: int, noise: float = 0.3, pooled: float = DAYS
) -> float:
    """The z of a window of *hours* flat hours (units), as the window model scores it: *noise*
    is 1.5 x the default unless measured, *pooled* the days of data."""
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


def test_the_noise_is_measured_where_hours_expect_50_units_and_is_8_percent_at_least() -> None:
    """25 calls an hour are 50 units (of 250 tokens) an hour: busy enough to measure the noise,
    which on a flat week is none, so the floor of 8% holds (instead of the default 30%)."""
    finding = _only(token_spend(_week({AT: 3.0, AT + 1: 3.0}, calls=25.0), Sensitivity()))
    assert (finding.observed, finding.expected) == (3 * 25 * PER_CALL, 25 * PER_CALL)
    assert finding.score == _score(2 * 3 * 50.0, 2 * 50.0, 2, noise=0.08)


def _swinging(swing: float, jump: float) -> HourlyMetrics:
    """A week of 20 calls an hour at 500 tokens, but 60 from 08:00 to 20:00 whose calls cost
    *swing* more on some days and as much less on others (each hour of day's usual stays 500),
    and Thursday 10:00-12:00 at *jump* x its tokens."""
    sign = {0: 1, 1: -1, 2: 0, 3: 1, 4: 1, 5: -1, 6: -1}  # by day, from Tuesday
    ok = [60.0 if 8 <= t % 24 < 20 else 20.0 for t in range(HOURS)]
    tokens = [
        c * PER_CALL * (1 + swing * sign[t // 24] if c > CALLS else 1.0) for t, c in enumerate(ok)
    ]
    tokens[AT] *= jump
    tokens[AT + 1] *= jump
    return replace(HourlyMetrics.of(series(days=DAYS)), ok=ok, calls=list(ok), tokens=tokens)


@pytest.mark.parametrize(("swing", "jump", "found"), [(0.0, 3.0, True), (0.25, 3.0, False)])
def test_busy_hours_running_below_their_usual_are_noise_too(
    swing: float, jump: float, found: bool
) -> None:
    """Busy hours' call sizes swinging 25% either way (the quiet ones exact, so cv2 stays at
    its floor) are a noise a threefold jump of two hours hides in; the hours under their usual
    count in it as much as those over. Without the swing the same jump is found."""
    findings = token_spend(_swinging(swing, jump), Sensitivity())
    assert [(f.observed, f.expected) for f in findings] == (
        [(jump * 60 * PER_CALL, 60 * PER_CALL)] if found else []
    )


def _short(hours: int, factor: float) -> HourlyMetrics:
    """*hours* of which the last 20 have 20 calls at 500 tokens, one of them (the tenth from the
    end) *factor* times more."""
    ok = [CALLS if t >= hours - 20 else 0.0 for t in range(hours)]
    tokens = [c * PER_CALL for c in ok]
    tokens[hours - 10] *= factor
    return replace(HourlyMetrics.of(series(hours=hours)), ok=ok, calls=list(ok), tokens=tokens)


@pytest.mark.parametrize(("hours", "factor", "pooled"), [(36, 20.0, 1.5), (20, 30.0, 1.0)])
def test_a_short_series_pools_its_days_and_a_day_at_least(
    hours: int, factor: float, pooled: float
) -> None:
    """Under three days every hour's usual is the account's overall tokens per call, the jump
    counted in; with fewer than 24 hours of calls their sizes are taken to vary by cv2 = 1, so
    that usual is the unit. The usual is known from ``hours / 24`` days' worth, and from one day
    at least."""
    m = _short(hours, factor)
    overall = sum(m.tokens) / sum(m.ok)
    finding = _only(token_spend(m, Sensitivity()))
    assert (finding.observed, finding.expected) == (factor * CALLS * PER_CALL, CALLS * overall)
    jump = factor * CALLS * PER_CALL / overall
    assert finding.score == _score(jump, CALLS, 1, pooled=pooled)


def test_a_jump_under_the_score_bar_is_no_finding() -> None:
    """4.9x for one hour scores under 5 (5x scores 5.03): no finding."""
    assert _score(4.9 * CALLS * 2, CALLS * 2, 1) < Sensitivity().min_score
    assert token_spend(_week({AT: 4.9}), Sensitivity()) == []


@pytest.mark.parametrize(("extra", "found"), [(10001.0, True), (9999.0, False)])
def test_the_extra_tokens_must_reach_the_minimum_excess_per_hour(extra: float, found: bool) -> None:
    """5 calls an hour at 300 tokens (a unit of 150 that 10,000 is no multiple of): an hour a
    token past the medium preset's minimum excess of 10,000 over the usual 1,500 is found, one a
    token short of it is not."""
    m = _week({}, calls=5.0, size=300.0)
    tokens = list(m.tokens)
    tokens[AT] += extra
    findings = token_spend(replace(m, tokens=tokens), Sensitivity())
    assert [(f.observed, f.expected) for f in findings] == (
        [(1500.0 + extra, 1500.0)] if found else []
    )


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


def _batch_week(jump: float) -> tuple[HourlyMetrics, list[float], list[float]]:
    """The flat week plus a nightly batch of 100 calls of 2,000 tokens at 02:00, and
    the hour two later (Thursday 04:00) at *jump* x its tokens; with the calls' expected curve
    and its batch part."""
    ran = [100.0 if t % 24 == 2 else 0.0 for t in range(HOURS)]
    ok = [CALLS + b for b in ran]
    tokens = [CALLS * PER_CALL + b * 2000.0 for b in ran]
    tokens[BATCH_AT + 2] *= jump
    expected = [CALLS + (100.0 if t % 24 == 2 else 0.0) for t in range(HOURS)]
    batch = [100.0 if t % 24 == 2 else 0.0 for t in range(HOURS)]
    m = replace(HourlyMetrics.of(series(days=DAYS)), ok=ok, calls=list(ok), tokens=tokens)
    return m, expected, batch


BATCH_AT = 50  # Thursday 02:00


def test_beside_a_batch_the_regular_calls_cost_their_own_hours_usual() -> None:
    """Two hours after a batch of 100 large calls, 20 regular calls: they cost 500 tokens each as
    usual (10,000/h), not what the batch hour's calls usually cost (1,750 each, a batch may run
    late). Ten times that is a finding; without the calls' curve the same hour is priced as a late
    batch (35,000/h) and 100,000 is under the 2.5x bar."""
    m, expected, batch = _batch_week(10.0)
    finding = _only(token_spend(m, Sensitivity(), expected, batch))  # calls known exactly
    assert (finding.observed, finding.expected) == (100000.0, 10000.0)
    stamps = m.series.timestamps
    assert finding.start.timestamp() == stamps[BATCH_AT + 2]
    assert token_spend(m, Sensitivity()) == []
    assert token_spend(m, Sensitivity(), expected, None) == []


def test_calls_beyond_the_regular_ones_beside_a_batch_cost_what_batch_calls_do() -> None:
    """Ten calls more than the 20 regular ones two hours after the batch may be the batch's,
    late: they are priced at 2,000 tokens each (a batch call's cost), the 20 at 500."""
    m, expected, batch = _batch_week(10.0)
    ok, tokens = list(m.ok), list(m.tokens)
    ok[BATCH_AT + 2], tokens[BATCH_AT + 2] = 30.0, 30 * PER_CALL * 10
    m = replace(m, ok=ok, calls=list(ok), tokens=tokens)
    finding = _only(token_spend(m, Sensitivity(), expected, batch))
    assert (finding.observed, finding.expected) == (150000.0, 20 * PER_CALL + 10 * 2000.0)


def test_calls_that_report_no_tokens_have_no_token_finding() -> None:
    m = _week({})
    assert token_spend(replace(m, tokens=[0.0] * HOURS), Sensitivity()) == []


def test_calls_of_one_token_each_have_a_usual_too() -> None:
    """A usual of one token per call (unit: half a token): 10,020 tokens in an hour is found."""
    m = _week({}, size=1.0)
    tokens = list(m.tokens)
    tokens[AT] += Sensitivity().token_min_excess
    finding = _only(token_spend(replace(m, tokens=tokens), Sensitivity()))
    assert (finding.observed, finding.expected) == (tokens[AT], CALLS)


def test_hours_of_a_single_call_count_towards_the_usual_call_size() -> None:
    """As above, calls from 00:00 to 14:00, but one call in each other hour: those hours (and
    00:00-02:00, 13:00) take the overall tokens per call as their usual and are 14 of the 24
    hours with a call, so the overall, not 500, is the median usual and sets the unit."""
    ok = [CALLS if t % 24 < 14 else 1.0 for t in range(HOURS)]
    tokens = [c * PER_CALL for c in ok]
    tokens[AT] *= 10.0
    m = replace(HourlyMetrics.of(series(days=DAYS)), ok=ok, calls=list(ok), tokens=tokens)
    unit = sum(tokens) / sum(ok) * 0.5
    finding = _only(token_spend(m, Sensitivity()))
    usual = CALLS * PER_CALL / unit
    assert (finding.observed, finding.expected) == (10 * CALLS * PER_CALL, CALLS * PER_CALL)
    assert finding.score == _score(10 * usual, usual, 1)


def _interval_finding(tokens: list[float], usual: list[float], ok: list[float]) -> Finding:
    m = replace(HourlyMetrics.of(series(days=2)), tokens=tokens, ok=ok)
    return _finding(m, Interval(2, 5, 0.0, 0.0, 8.0, 3), usual)


def _three_hours(values: tuple[float, float, float]) -> list[float]:
    out = [0.0] * 48
    out[2:5] = values
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


def test_the_figures_of_a_token_finding_are_not_rounded_down() -> None:
    found = _interval_finding(
        _three_hours((300.0, 300.0, 301.0)),
        _three_hours((24.0, 24.0, 24.0)),
        _three_hours((2.0, 3.0, 0.0)),
    )
    assert (found.observed, found.expected) == (300.3333, 24.0)
    assert "Tokens rose to 300/h, 12.5x what these calls usually cost (24/h)" in found.message
    assert "12.5x the usual 14.4 tokens per call" in found.message


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
    calls[2] = ok  # all in the first hour: the total is what counts
    m = replace(HourlyMetrics.of(series(days=2)), ok=calls)
    assert _enough_calls(m, Interval(2, 2 + hours, 0.0, 0.0, 8.0, 2)) is enough


def test_token_intervals_that_only_touch_stay_apart() -> None:
    tokens = [1.0] * 48
    first, second = Interval(10, 14, 5.0, 1.0, 6.0, 11), Interval(14, 16, 5.0, 1.0, 9.0, 15)
    assert _union([second, first], tokens) == [first, second]


def test_a_token_interval_merges_with_the_last_one_kept_only() -> None:
    tokens = [float(t) for t in range(48)]
    merged = _union(
        [
            Interval(2, 4, 5.0, 1.0, 6.0, 3),
            Interval(10, 14, 5.0, 1.0, 6.0, 11),
            Interval(12, 16, 5.0, 1.0, 9.0, 15),
        ],
        tokens,
    )
    assert [(iv.start, iv.end, iv.score, iv.peak) for iv in merged] == [
        (2, 4, 6.0, 3),
        (10, 16, 9.0, 15),
    ]


def test_token_rules_refuse_hours_of_different_lengths() -> None:
    m = _week({})
    with pytest.raises(ValueError):
        call_size_cv2(m, [PER_CALL] * (HOURS - 1))
    with pytest.raises(ValueError):
        batch_band([1.0, 2.0], [1.0, 1.0], [2.0])


def test_without_the_calls_curve_an_interval_still_needs_five_calls() -> None:
    """Four calls an hour: a jump of 50,000 tokens in one hour is not enough calls to judge."""
    m = _week({}, calls=4.0)
    tokens = list(m.tokens)
    tokens[AT] += 50000.0
    assert token_spend(replace(m, tokens=tokens), Sensitivity()) == []
    assert len(token_spend(replace(m, ok=[5.0] * HOURS, tokens=tokens), Sensitivity())) == 1


def test_calls_of_under_a_token_each_still_say_how_sizes_vary() -> None:
    """The cv2 = 2 hours of the edge tests, at half a token per call: the same answer."""
    deviation = math.sqrt(2.0 / CALLS)
    ok = [CALLS] * 24 + [0.0] * 24
    tokens = [c * 0.5 * (1 + deviation) for c in ok]
    m = replace(HourlyMetrics.of(series(days=2)), ok=ok, tokens=tokens)
    assert call_size_cv2(m, [0.5] * 48) == pytest.approx(2.0)


def test_hours_of_more_than_50_calls_measure_drift_only() -> None:
    """25 hours of 60 calls whose sizes drift +-10% and 24 of 49 calls whose deviation is that
    drift plus cv2 = 2: the busy hours are no estimate of cv2 themselves (their deviations are
    drift, not call sizes), so cv2 is 2."""
    drift = (1.4826 * 0.1) ** 2
    ok = [60.0] * 25 + [49.0] * 24 + [0.0] * 23
    busy = [0.1 if h % 2 else -0.1 for h in range(24)] + [0.0]
    devs = busy + [math.sqrt(drift + 2.0 / 49)] * 24 + [0.0] * 23
    tokens = [c * PER_CALL * (1 + d) for c, d in zip(ok, devs, strict=True)]
    m = replace(HourlyMetrics.of(series(days=3)), ok=ok, tokens=tokens)
    assert call_size_cv2(m, [PER_CALL] * 72) == pytest.approx(2.0)


def test_hours_whose_usual_call_costs_nothing_say_nothing_of_call_sizes() -> None:
    """30 hours of 10 calls deviating as cv2 = 2 would have it, six of them at hours whose calls
    usually carry no tokens: those six are left out, and 24 remain."""
    deviation = math.sqrt(2.0 / CALLS)
    ok = [CALLS] * 30 + [0.0] * 18
    tokens = [c * PER_CALL * (1 + deviation) for c in ok]
    usual = [PER_CALL] * 24 + [0.0] * 24
    m = replace(HourlyMetrics.of(series(days=2)), ok=ok, tokens=tokens)
    assert call_size_cv2(m, usual) == pytest.approx(2.0)


def test_drift_needs_24_busy_hours() -> None:
    """23 hours of 60 calls drifting +-10% are too few to measure drift: none is subtracted."""
    ok = [60.0] * 23 + [CALLS] * 24 + [0.0] * 25
    busy = [0.1 if h % 2 else -0.1 for h in range(22)] + [0.0]
    devs = busy + [math.sqrt(2.0 / CALLS)] * 24 + [0.0] * 25
    tokens = [c * PER_CALL * (1 + d) for c, d in zip(ok, devs, strict=True)]
    m = replace(HourlyMetrics.of(series(days=3)), ok=ok, tokens=tokens)
    assert call_size_cv2(m, [PER_CALL] * 72) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("hours", "factor", "ratio"), [(2, 3.1, 2.5), (3, 2.7, 2.5), (4, 2.5, 2.5), (6, 2.0, 1.5)]
)
def test_each_window_length_finds_the_runs_only_it_can(
    hours: int, factor: float, ratio: float
) -> None:
    """Four weeks of the flat hours, then a run of *hours* at *factor*, sized so that no shorter
    window scores 5 on it and a window one hour longer (a usual hour in it) does not pass either:
    windows of 1, 2, 3, 4 and 6 hours are tried, and each run is found by its own length, from
    its first hour to its last."""
    days = 28
    at = 14 * 24 + 10
    ok = [CALLS] * (days * 24)
    tokens = [c * PER_CALL * (factor if at <= t < at + hours else 1.0) for t, c in enumerate(ok)]
    m = replace(HourlyMetrics.of(series(days=days)), ok=ok, calls=list(ok), tokens=tokens)
    finding = _only(token_spend(m, Sensitivity(token_ratio=ratio)))
    stamps = m.series.timestamps
    assert (finding.start.timestamp(), finding.end.timestamp()) == (stamps[at], stamps[at + hours])
