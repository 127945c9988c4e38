"""Tokens per call beside batch jobs: what a batch may excuse, and what it may not.

Boundaries of :mod:`keyops.usage.expect` (the hours a batch may move to, the hour-of-week usual)
and :func:`keyops.usage.rules_tokens.batch_band` on plain lists, then whole accounts through
``detect``: a ten-fold jump in tokens per call with flat calls is found next to a nightly batch,
on a day a weekday-only batch does not run, and on a busy account whose batch is often late.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import pytest

from keyops.usage import detect
from keyops.usage.expect import (
    BATCH_EARLY_HOURS,
    BATCH_LATE_HOURS,
    WEEK_MIN_CALLS,
    WEEK_MIN_DAYS,
    WEEK_MIN_SAMPLES,
    batch_priced_tokens,
    tokens_per_call,
    with_batch_slack,
)
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.rules_tokens import MIN_CALL_SHARE, _calls_as_usual, batch_band
from keyops.usage.windows import Interval
from tests.usage.factory import series
from tests.usage.test_real_patterns import START, WINDOW, office, scored, traffic

AT = 10  # the batch's hour in the one-day lists
REGULAR, BATCH = 100.0, 1000.0
T0 = int(START.timestamp())  # a Monday, 00:00 UTC


def _batch_day() -> tuple[list[float], list[float]]:
    expected = [REGULAR] * 24
    batch = [0.0] * 24
    expected[AT] += BATCH
    batch[AT] = BATCH
    return expected, batch


@pytest.mark.parametrize(
    ("hour", "covered"),
    [
        (AT + BATCH_LATE_HOURS - 1, True),
        (AT + BATCH_LATE_HOURS, True),
        (AT + BATCH_LATE_HOURS + 1, False),
        (AT - BATCH_EARLY_HOURS + 1, True),
        (AT - BATCH_EARLY_HOURS, True),
        (AT - BATCH_EARLY_HOURS - 1, False),
    ],
)
def test_a_batch_may_run_three_hours_late_or_one_early(hour: int, covered: bool) -> None:
    upper, lower = with_batch_slack(*_batch_day())
    assert upper[hour] == (REGULAR + BATCH if covered else REGULAR)
    assert lower[AT] == REGULAR  # skipped: the hour keeps its regular calls


@pytest.mark.parametrize(
    ("hour", "covered"),
    [
        (AT + BATCH_LATE_HOURS, True),
        (AT + BATCH_LATE_HOURS + 1, False),
        (AT - BATCH_EARLY_HOURS, True),
        (AT - BATCH_EARLY_HOURS - 1, False),
    ],
)
def test_batch_sized_calls_are_usual_only_where_the_batch_may_run(hour: int, covered: bool) -> None:
    days = 7
    ok = [10.0] * (24 * days)
    tokens = [c * (BATCH if t % 24 == AT else REGULAR) for t, c in enumerate(ok)]
    stamps = [T0 + 3600 * t for t in range(24 * days)]
    usual = tokens_per_call(tokens, ok, stamps)
    assert usual[48 + hour] == pytest.approx(BATCH if covered else REGULAR)


def _weekly(days: int, monday_ok: float, weeks_with_calls: int = 99) -> list[float]:
    """The first week's usual tokens per call, over *days* of 10 calls an hour.

    Calls at Monday 10:00 UTC cost ten times the others; there are *monday_ok* of them in the
    first *weeks_with_calls* weeks and none after.
    """
    ok, tokens, stamps = [], [], []
    for t in range(24 * days):
        monday_ten = t % 168 == AT
        calls = 10.0
        if monday_ten:
            calls = monday_ok if t // 168 < weeks_with_calls else 0.0
        ok.append(calls)
        tokens.append(calls * (BATCH if monday_ten else REGULAR))
        stamps.append(T0 + 3600 * t)
    return tokens_per_call(tokens, ok, stamps, slack=False)[:168]


@pytest.mark.parametrize(
    ("hours", "by_week"),
    [(WEEK_MIN_DAYS * 24 - 1, False), (WEEK_MIN_DAYS * 24, True), (WEEK_MIN_DAYS * 24 + 1, True)],
)
def test_tokens_per_call_by_hour_of_week_from_three_weeks(hours: int, by_week: bool) -> None:
    ok = [40.0] * hours  # 120 calls or more at each hour of the week
    tokens = [c * (BATCH if t % 168 == AT else REGULAR) for t, c in enumerate(ok)]
    stamps = [T0 + 3600 * t for t in range(hours)]
    usual = tokens_per_call(tokens, ok, stamps, slack=False)
    if by_week:
        assert usual[AT] == pytest.approx(BATCH)
        assert usual[AT + 24] == pytest.approx(REGULAR)  # Tuesday 10:00: not a batch hour
    else:  # weekdays pooled by hour of day: Tuesday takes a share of Monday's batch
        assert REGULAR * 1.1 < usual[AT + 24] < BATCH / 2


@pytest.mark.parametrize(
    ("weeks", "by_week"),
    [(WEEK_MIN_SAMPLES - 1, False), (WEEK_MIN_SAMPLES, True), (WEEK_MIN_SAMPLES + 1, True)],
)
def test_an_hour_of_week_needs_three_weeks_with_calls(weeks: int, by_week: bool) -> None:
    usual = _weekly(28, 40.0, weeks_with_calls=weeks)
    assert (usual[AT] == pytest.approx(BATCH)) is by_week


@pytest.mark.parametrize(
    ("total", "by_week"),
    [(WEEK_MIN_CALLS - 4, False), (WEEK_MIN_CALLS, True), (WEEK_MIN_CALLS + 4, True)],
)
def test_an_hour_of_week_needs_a_hundred_calls(total: float, by_week: bool) -> None:
    usual = _weekly(28, total / 4)
    assert (usual[AT] == pytest.approx(BATCH)) is by_week


@pytest.mark.parametrize(
    ("observed", "banded"),
    [(9.0, 10.0), (10.0, 10.0), (11.0, 11.0), (79.0, 79.0), (80.0, 80.0), (81.0, 80.0)],
)
def test_token_noise_is_measured_outside_the_batch_band(observed: float, banded: float) -> None:
    assert batch_band([observed], [10.0], [80.0]) == [banded]


def _found(
    is_batch: Callable[[int], bool], batch: tuple[float, float], at: int, hours: int
) -> list[tuple[str, int]]:
    """Scored findings of office traffic with a batch (calls, tokens per call) where *is_batch*,
    and tokens per call ten times usual in the *hours* from *at*, calls flat."""

    def calls(t: int) -> float:
        return office(t, 2000.0) + (batch[0] if is_batch(t) else 0.0)

    def size(t: int) -> float:
        if is_batch(t):
            return batch[1]
        return 8000.0 if at <= t < at + hours else 800.0

    return scored(detect([traffic(calls, tokens_per_call=size)], since=WINDOW))


def test_ten_times_tokens_two_hours_before_a_batch_is_token_spend() -> None:
    # The batch at 08:00 runs into the office morning: its calls are no peak in the calls (the
    # hours after are as busy), only its tokens per call are. A batch never runs hours early.
    at = 23 * 24 + 5  # Wednesday of the week reported, 05:00-07:00, up to 3 h before the batch
    assert _found(lambda t: t % 24 == 8, (600.0, 9000.0), at, 2) == [("token_spend", at)]


def test_ten_times_tokens_on_a_day_the_weekday_batch_skips_is_token_spend() -> None:
    # A batch at 03:00 local on local weekdays, nine hours ahead of UTC: 18:00 UTC, Sunday to
    # Thursday. Hour of day with UTC weekdays pooled would call Friday 18:00 a batch hour.
    def is_batch(t: int) -> bool:
        return t % 24 == 18 and (t // 24) % 7 in (6, 0, 1, 2, 3)

    at = 25 * 24 + 17  # Friday of the week reported, 17:00-20:00 UTC
    assert _found(is_batch, (600.0, 9000.0), at, 3) == [("token_spend", at)]


def test_a_batch_often_late_does_not_hide_ten_times_tokens_in_the_day() -> None:
    # On time, an hour late, two hours late, in turn.
    def is_batch(t: int) -> bool:
        return t % 24 == 1 + (t // 24) % 3

    at = 22 * 24 + 11  # Tuesday of the week reported, 11:00-13:00 UTC
    assert _found(is_batch, (3000.0, 12000.0), at, 2) == [("token_spend", at)]


@pytest.mark.parametrize(("calls", "as_usual"), [(49.0, False), (50.0, True), (51.0, True)])
def test_tokens_of_calls_under_a_quarter_of_usual_are_left_to_the_drop(
    calls: float, as_usual: bool
) -> None:
    assert MIN_CALL_SHARE == 0.25
    m = replace(HourlyMetrics.of(series(days=2)), calls=[calls / 2] * 48)
    interval = Interval(10, 12, 0.0, 0.0, 9.0, 10)
    assert _calls_as_usual(m, interval, [100.0] * 48) is as_usual


@pytest.mark.parametrize(
    ("hour", "batch_priced"),
    [
        (24 + AT + BATCH_LATE_HOURS, True),
        (24 + AT + BATCH_LATE_HOURS + 1, False),
        (24 + AT - BATCH_EARLY_HOURS, True),
        (24 + AT - BATCH_EARLY_HOURS - 1, False),
    ],
)
def test_a_batch_seen_on_one_day_may_run_late_on_another(hour: int, batch_priced: bool) -> None:
    # Two days; the fit knows the batch on the first day only (the hour of week of the second
    # usually skips it). Extra calls near that hour of day on the second day are batch calls.
    expected = [REGULAR] * 48
    batch = [0.0] * 48
    expected[AT] += BATCH
    batch[AT] = BATCH
    plain = [1.0] * 48
    plain[AT] = (REGULAR + BATCH * 10.0) / (REGULAR + BATCH)  # batch calls cost 10, others 1
    ok = list(expected)
    ok[hour] += BATCH
    out = batch_priced_tokens(plain, plain, ok, expected, batch)
    assert out[hour] == pytest.approx(REGULAR + BATCH * (10.0 if batch_priced else 1.0))


@pytest.mark.parametrize(
    ("ok", "batch_calls"),
    [
        (REGULAR * math.exp(-0.2) - 1, 0.0),
        (REGULAR * math.exp(-0.2), 0.0),
        (REGULAR * math.exp(-0.2) + 1, 1.0),
        (REGULAR, REGULAR * (1 - math.exp(-0.2))),
        (REGULAR + BATCH, BATCH),
        (REGULAR + BATCH + 1, BATCH),  # no more than the largest batch is a batch's
    ],
)
def test_regular_calls_are_known_to_the_calls_noise(ok: float, batch_calls: float) -> None:
    expected, batch = _batch_day()
    plain = [1.0] * 24
    plain[AT] = (REGULAR + BATCH * 10.0) / (REGULAR + BATCH)
    calls = list(expected)
    calls[AT + 1] = ok
    out = batch_priced_tokens(plain, plain, calls, expected, batch, noise=0.2)
    assert out[AT + 1] == pytest.approx(ok + 9.0 * batch_calls)
