"""Boundaries of the rules that keep real traffic quiet: batch hours, lone bursts, lone-hour spikes.

Plain lists in, so that each test states the exact numbers on both sides of a boundary.
"""

from __future__ import annotations

import math

from keyops.usage.baseline import Baseline
from keyops.usage.expect import BATCH_PEAK, batch_part
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.model import UsageSeries
from keyops.usage.rules_traffic import BURST_RATIO, SINGLE_HOUR_RATIO, bursty, spikes
from keyops.usage.sensitivity import Sensitivity
from tests.usage.factory import RID

EVENING = [100 * (1 + 0.7 * math.cos(2 * math.pi * (h - 20) / 24)) for h in range(24)]


def test_a_batch_over_an_evening_heavy_curve_is_a_batch_and_the_evening_peak_is_not() -> None:
    day = EVENING[:]
    day[4] += 150.0  # a 04:00 job on top of the night's ~40 calls
    part = batch_part(day * 3)
    assert part[24 + 4] > 120  # the excess over the higher of the two troughs
    assert max(part[24 + 12 : 24 + 24]) == 0.0  # the smooth evening peak


def test_a_batch_is_a_peak_over_both_troughs_not_a_ramp() -> None:
    ramp = [10.0] * 8 + [10.0 * 1.6**k for k in range(1, 8)] + [260.0] * 9
    assert max(batch_part(ramp * 2)) == 0.0
    trough = 10.0
    just_over = [trough] * 10 + [BATCH_PEAK * trough + 1] + [trough] * 13
    just_under = [trough] * 10 + [BATCH_PEAK * trough - 1] + [trough] * 13
    assert batch_part(just_over * 2)[10] == BATCH_PEAK * trough + 1 - trough
    assert batch_part(just_under * 2)[10] == 0.0


def test_a_batch_due_in_the_last_hours_is_known_from_the_week_before() -> None:
    week = [10.0] * 168
    week[20] = 60.0  # Monday 20:00, every week
    data = week * 3 + week[:21]  # the data end right after Monday's 20:00
    part = batch_part(data)
    assert part[-1] == 50.0


def _calls(bursts: list[int], n: int = 200, level: float = 40.0) -> list[float]:
    calls = [level] * n
    for t in bursts:
        calls[t] = level * BURST_RATIO * 2
    return calls


def test_a_lone_burst_elsewhere_makes_the_account_bursty_but_not_the_hours_judged() -> None:
    expected = [40.0] * 200
    assert not bursty(_calls([]), expected)
    assert bursty(_calls([50]), expected)
    assert not bursty(_calls([50]), expected, skip=range(49, 52))


def test_a_run_of_high_hours_or_a_poisson_wobble_is_not_a_burst() -> None:
    expected = [40.0] * 200
    assert not bursty(_calls([50, 51, 52]), expected)  # a runaway, not a lone hour
    quiet = [1.0] * 200
    quiet[50] = 3.0  # 3x usual, but 3 calls against 1 is no surprise
    assert not bursty(quiet, [1.0] * 200)


def _metrics(calls: list[float]) -> HourlyMetrics:
    stamps = tuple(1_756_684_800 + 3600 * t for t in range(len(calls)))
    zero = tuple(0.0 for _ in calls)
    series = UsageSeries(RID.format("a"), "a", stamps, tuple(calls), {"200": tuple(calls)},
                         zero, zero)  # fmt: skip
    return HourlyMetrics.of(series)


def _spike_hours(calls: list[float], expected: float = 100.0) -> list[tuple[int, int]]:
    base = Baseline(tuple(expected for _ in calls), 0.1, 20.0, "test")
    return [(iv.start, iv.end) for iv in spikes(_metrics(calls), base, Sensitivity())]


def test_a_lone_hour_on_a_bursty_account_needs_the_single_hour_ratio() -> None:
    calls = [100.0] * 300
    calls[40] = 300.0  # a lone 3x burst in the history: the account is bursty
    big, huge = calls[:], calls[:]
    big[250] = 100.0 * (SINGLE_HOUR_RATIO - 1)
    huge[250] = 100.0 * SINGLE_HOUR_RATIO
    assert all(s != 250 for s, _ in _spike_hours(big))
    assert (250, 251) in _spike_hours(huge)


def test_a_spike_of_several_hours_needs_two_of_them_past_the_ratio() -> None:
    calls = [100.0] * 300
    calls[40] = 300.0  # bursty
    one = calls[:]
    one[250], one[251] = 1500.0, 150.0  # a 2 h window passes on one hour's total
    two = calls[:]
    two[250], two[251] = 1500.0, 400.0
    assert all(s != 250 for s, _ in _spike_hours(one))
    assert (250, 252) in _spike_hours(two)


def test_a_lone_hour_on_a_calm_account_is_a_spike_at_the_spike_ratio() -> None:
    calls = [100.0] * 300
    calls[250] = 500.0
    assert (250, 251) in _spike_hours(calls)
