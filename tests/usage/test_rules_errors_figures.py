"""The figures error-rate and 401-surge findings carry, on hand-made weeks of exact status counts.

A flat week of 100 calls an hour. Failures are judged against the usual share of the calls,
pooled over the normal hours (known from that many failures), with the rate noise of 30% and the
week's 168 hours discounted by half as the pooled hours; 401s against the usual daily share of
the calls (or of the expected calls, if higher). The scores below follow from those by hand.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import pytest

from keyops.severity import Severity
from keyops.usage.baseline import Baseline
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.model import Finding, KeyUsagePolicy, from_epoch
from keyops.usage.rules_errors import (
    _auth_finding,
    _pooled,
    _rates,
    _rotation_before,
    _usual_error_share,
    auth_surges,
    error_rate,
    unexpected_key_use,
)
from keyops.usage.sensitivity import Sensitivity
from keyops.usage.stats import log_surprise, surprise, z_score
from keyops.usage.windows import Interval
from tests.usage.factory import START, by_status, rotation

HOURS = 7 * 24
CALLS = 100.0
AT = 58  # Thursday 10:00 UTC
NOISE = 0.3  # rules_errors.RATE_NOISE
POOLED = HOURS * 0.5


def _burst(background: float, burst: float, code: str = "500") -> dict[str, list[float]]:
    """100 calls an hour, *background* of them failing with *code*, *burst* from AT for 3 h."""
    failed = [background] * HOURS
    failed[AT : AT + 3] = [burst] * 3
    return {"200": [CALLS - f for f in failed], code: failed}


def _error_score(observed: float, expected: float, hours: int, events: float) -> float:
    """The z of *hours* flat hours of failures against a share counted from *events* failures."""
    multiplicative = NOISE**2 * (1 / hours + 1 / POOLED)
    extra = multiplicative + 1 / (events + 1)
    nats = min(
        surprise(observed, expected, 1 / extra), log_surprise(observed, expected, multiplicative)
    )
    return round(math.sqrt(2 * nats), 2)


def _only(found: list[Finding]) -> Finding:
    assert len(found) == 1, found
    return found[0]


def test_an_error_burst_carries_its_rate_usual_score_and_codes() -> None:
    """30% failing for three hours against 1%: the usual share is pooled over the 165 other
    hours, 165 failures in all (the burst's hours are masked out of it)."""
    m = HourlyMetrics.of(by_status(_burst(1.0, 30.0)))
    finding = _only(error_rate(m, Sensitivity()))
    assert (finding.observed, finding.expected, finding.unit) == (0.3, 0.01, "share of calls")
    assert finding.severity is Severity.MEDIUM
    assert finding.score == _error_score(90.0, 3.0, 3, 165.0)
    stamps = m.series.timestamps
    assert (finding.start.timestamp(), finding.end.timestamp()) == (stamps[AT], stamps[AT + 3])
    assert finding.message.startswith("30% of calls failed (90 x 500) against a usual 1.0%")


def test_throttling_and_other_failures_each_have_their_own_usual() -> None:
    """5% of calls throttled every hour is this account's usual; 500s it never has. Three
    hours of 10% failing with 500 are found against the floor of 0.1% (0.1 failures an hour,
    known from no failure), not against the 5% of 429s."""
    statuses = _burst(0.0, 10.0)
    statuses["429"] = [5.0] * HOURS
    statuses["200"] = [c - 5.0 for c in statuses["200"]]
    finding = _only(error_rate(HourlyMetrics.of(by_status(statuses)), Sensitivity()))
    assert (finding.observed, finding.expected) == (0.1, 0.001)
    assert finding.score == _error_score(30.0, 0.3, 3, 0.0)
    assert finding.message.startswith(
        "10% of calls failed (30 x 500, 15 x 429) against a usual 0.1%"
    )


def _auth_score(observed: float, expected: float, hours: int) -> float:
    """The z of *hours* flat hours of 401s against *expected* (no events: a noisy count)."""
    per_hour = expected / hours
    extra = NOISE**2 / hours + 1 / (POOLED * max(per_hour, 0.5)) + NOISE**2 / POOLED
    nats = min(surprise(observed, expected, 1 / extra), log_surprise(observed, expected, extra))
    return round(math.sqrt(2 * nats), 2)


def _flat_base(expected: float = CALLS) -> Baseline:
    return Baseline((expected,) * HOURS, noise=0.1, pooled=20.0, mode="flat")


def test_a_401_surge_carries_its_rate_usual_and_score() -> None:
    """2 401s an hour on 100 calls (2%), then 40 an hour for three hours: 20x usual."""
    m = HourlyMetrics.of(by_status({"200": [CALLS] * HOURS, "401": _burst(2.0, 40.0)["500"]}))
    finding = _only(auth_surges(m, _flat_base(), [], Sensitivity()))
    assert (finding.observed, finding.expected, finding.unit) == (40.0, 2.0, "401/h")
    assert finding.score == _auth_score(120.0, 6.0, 3)
    assert finding.severity is Severity.MEDIUM
    assert finding.message.startswith("401 responses rose to 40/h, 20.0x the usual 2/h")


def test_401s_where_none_are_usual_are_judged_against_a_twentieth_an_hour() -> None:
    m = HourlyMetrics.of(by_status({"200": [CALLS] * HOURS, "401": _burst(0.0, 10.0)["500"]}))
    finding = _only(auth_surges(m, _flat_base(), [], Sensitivity()))
    assert (finding.observed, finding.expected) == (10.0, 0.05)
    assert finding.score == _auth_score(30.0, 0.15, 3)
    assert "where none are usual (0.05/h expected)" in finding.message


def test_401s_rising_with_the_calls_are_no_surge() -> None:
    """Ten times the calls for three hours bring ten times the 401s (2% of them): no surge."""
    calls = _burst(CALLS, 10 * CALLS)["500"]
    auth = [c * 0.02 for c in calls]
    m = HourlyMetrics.of(by_status({"200": calls, "401": auth}))
    assert auth_surges(m, _flat_base(), [], Sensitivity()) == []


def test_a_401_surges_figures_are_per_hour_of_its_span() -> None:
    m = HourlyMetrics.of(by_status({"200": [CALLS] * HOURS}))
    finding = _auth_finding(m, Interval(2, 5, 61.0, 3.0, 9.0, 2), None)
    assert (finding.observed, finding.expected) == (20.3333, 1.0)
    assert "for 3 h" in finding.message


def test_key_use_from_the_second_hour_is_per_hour_of_its_busy_span() -> None:
    ok = [0.0] * HOURS
    ok[2], ok[3], ok[5] = 4.0, 1.0, 1.0
    m = HourlyMetrics.of(by_status({"200": ok}))
    policy = KeyUsagePolicy(keys_expected_unused=frozenset({m.series.resource_id.lower()}))
    (finding,) = unexpected_key_use(m, policy)
    assert finding.observed == 1.5  # six calls over hours 2 to 5
    assert finding.message.startswith("6 calls succeeded between Tue 2025-03-04 02:00 UTC and")
    assert finding.recommendation.startswith("To verify, set disableLocalAuth")
    ok[0] = 2.0
    (first_hour,) = unexpected_key_use(HourlyMetrics.of(by_status({"200": ok})), policy)
    assert (first_hour.start, first_hour.observed) == (m.series.start, round(8.0 / 6, 4))


@pytest.mark.parametrize(
    ("hours", "calls", "failed", "per_day"),
    [
        (1, 60.0, 4.0, 1),
        (2, 20.0, 2.0, 1),
        (3, 40.0, 2.0, 1),
        (4, 8.0, 2.0, 3),
        (6, 10.0, 1.25, 1),
        (6, 30.0, 1.5, 1),
        (8, 20.0, 1.0, 1),
        (12, 20.0, 1.0, 1),
    ],
)
def test_each_error_window_length_finds_the_bursts_only_it_can(
    hours: int, calls: float, failed: float, per_day: int
) -> None:
    """*calls* an hour with *per_day* background failures a day, then *failed* failures an hour
    for *hours*: sized so that the windows of neighbouring lengths (1, 2, 3, 4, 6, 8 and 12
    hours are tried) do not find the burst and its own length does, from its first hour."""
    every = 24 // per_day
    fail = [1.0 if t % every == 3 % every else 0.0 for t in range(HOURS)]
    fail[100 : 100 + hours] = [failed] * hours
    m = HourlyMetrics.of(by_status({"200": [calls - f for f in fail], "500": fail}))
    finding = _only(error_rate(m, Sensitivity()))
    stamps = m.series.timestamps
    assert (finding.start.timestamp(), finding.end.timestamp()) == (
        stamps[100],
        stamps[100 + hours],
    )


def test_hours_three_sigma_out_are_left_out_of_the_usual_error_share() -> None:
    """One failure an hour in 100 calls, but four hours of 7 (z about 3.4 against the usual
    share) and four of 5 (about 2.5): the 7s are left out, the 5s kept. The usual share is then
    180 failures over the 164 hours' 16,400 calls, known from those 180 failures."""
    failed = [1.0] * HOURS
    for t in (10, 40, 70, 100):
        failed[t] = 5.0
    for t in (20, 50, 80, 110):
        failed[t] = 7.0
    m = HourlyMetrics.of(by_status({"200": [CALLS - f for f in failed], "500": failed}))
    assert _usual_error_share(m, failed) == (180 / 16400, 180.0)


def test_the_usual_error_share_is_refitted_three_times() -> None:
    """One failure an hour in 100 calls, with one hour of 100 failures (in 110 calls), four of 7
    and one of 6. The first fit, counting the 100, leaves out only that hour; the second, now
    lower, leaves out the 7s too; the third is the answer: 168 failures over 16,300 calls, the 6
    still in (a fourth fit, lower again, would leave it out)."""
    failed = [1.0] * HOURS
    calls = [CALLS] * HOURS
    failed[1], calls[1] = 100.0, 110.0
    failed[6] = 6.0
    for t in (11, 16, 21, 26):
        failed[t] = 7.0
    ok = [c - f for c, f in zip(calls, failed, strict=True)]
    m = HourlyMetrics.of(by_status({"200": ok, "500": failed}))
    assert _usual_error_share(m, failed) == (168 / 16300, 168.0)


def test_the_lag_after_a_rotation_is_rounded_to_the_nearest_hour() -> None:
    m = HourlyMetrics.of(by_status({"200": [CALLS] * HOURS}))
    begin = from_epoch(m.series.timestamps[AT])
    rotated = replace(rotation("acct", 0), rotated_at=begin - timedelta(hours=2, minutes=40))
    finding = _auth_finding(m, Interval(AT, AT + 2, 40.0, 2.0, 9.0, AT), rotated)
    assert "starting 3 h after Key2 was regenerated" in finding.message


def test_failures_every_day_at_one_hour_are_that_hours_usual() -> None:
    """20 of 100 calls throttled at 10:00 every day, none at other hours: 10:00 is no burst,
    while the same at 11:00 and 12:00 on Thursday is, against the daily share (20 of 2,400)."""
    throttled = [20.0 if t % 24 == 10 else 0.0 for t in range(HOURS)]
    throttled[AT + 1] = throttled[AT + 2] = 20.0
    m = HourlyMetrics.of(by_status({"200": [CALLS - x for x in throttled], "429": throttled}))
    finding = _only(error_rate(m, Sensitivity()))
    stamps = m.series.timestamps
    assert (finding.start.timestamp(), finding.end.timestamp()) == (stamps[AT + 1], stamps[AT + 3])
    assert (finding.observed, finding.expected) == (0.2, round(20 / 2400, 4))


def test_an_hour_exactly_three_sigma_out_is_left_out_of_the_usual_error_share() -> None:
    """One failure an hour in 100 calls, and an hour of 5 failures in 74 calls. Against the
    first fit (172 failures in 16,774 calls: 0.76 expected in that hour) it is z 3.002 with the
    rate noise of 30% (1 / 0.09 as the negative binomial's size; a size of 11 would make it
    2.9998): it is left out, and the usual share is the other hours' 1%."""
    failed = [1.0] * HOURS
    calls = [CALLS] * HOURS
    failed[5], calls[5] = 5.0, 74.0
    ok = [c - f for c, f in zip(calls, failed, strict=True)]
    m = HourlyMetrics.of(by_status({"200": ok, "500": failed}))
    assert _usual_error_share(m, failed) == (0.01, 167.0)


def test_401s_that_follow_the_calls_are_expected_in_proportion_to_them() -> None:
    """2% of the calls get 401 all week (4 an hour by day's 200 calls, 1 by night's 50); three
    day hours at 40: 10x the day's 4, not against the week's typical count of 2.5."""
    calls = [200.0 if 8 <= t % 24 < 20 else 50.0 for t in range(HOURS)]
    auth = [c * 0.02 for c in calls]
    auth[AT : AT + 3] = [40.0] * 3
    m = HourlyMetrics.of(by_status({"200": calls, "401": auth}))
    base = Baseline(tuple(calls), noise=0.1, pooled=20.0, mode="flat")
    finding = _only(auth_surges(m, base, [], Sensitivity()))
    assert (finding.observed, finding.expected) == (40.0, 4.0)
    assert finding.score == _auth_score(120.0, 12.0, 3)


def test_a_slow_burst_of_twelve_hours_is_found_by_the_twelve_hour_window() -> None:
    """Four calls an hour, one failure every two days; then 9 failures in 12 hours (one hour in
    four without): no window of 11 hours or less is surprising enough, the 12 hours are."""
    failed = [1.0 if t % 48 == 3 else 0.0 for t in range(HOURS)]
    failed[100:112] = [1.0, 0.0, 1.0, 1.0] * 3
    m = HourlyMetrics.of(by_status({"200": [4.0 - f for f in failed], "500": failed}))
    finding = _only(error_rate(m, Sensitivity()))
    stamps = m.series.timestamps
    assert (finding.start.timestamp(), finding.end.timestamp()) == (stamps[100], stamps[112])


def test_only_rotations_of_the_same_resource_up_to_the_surges_first_hour_are_tied() -> None:
    m = HourlyMetrics.of(by_status({"200": [CALLS] * HOURS}))
    begin = from_epoch(m.series.timestamps[AT])
    surge = Interval(AT, AT + 2, 40.0, 2.0, 9.0, AT)
    earlier_name = replace(rotation("aaa", 0), rotated_at=begin)  # sorts before "acct"
    assert _rotation_before(surge, m, [earlier_name], 24) is None
    later = replace(rotation("acct", 0), rotated_at=begin + timedelta(hours=2))
    assert _rotation_before(surge, m, [later], 24) is None


def test_hours_and_days_without_calls_count_in_no_share() -> None:
    """The burst week with no calls at all on its first day and from 00:00 to 06:00 every day:
    the same finding. An idle week has none."""
    statuses = _burst(1.0, 30.0)
    idle = [t < 24 or t % 24 < 6 for t in range(HOURS)]
    for code in statuses:
        statuses[code] = [0.0 if i else v for v, i in zip(statuses[code], idle, strict=True)]
    finding = _only(error_rate(HourlyMetrics.of(by_status(statuses)), Sensitivity()))
    assert (finding.observed, finding.expected) == (0.3, 0.01)
    nothing = HourlyMetrics.of(by_status({"200": [0.0] * HOURS, "500": [0.0] * HOURS}))
    assert error_rate(nothing, Sensitivity()) == []


def test_a_baseline_of_other_hours_is_refused() -> None:
    m = HourlyMetrics.of(by_status({"200": [CALLS] * HOURS, "401": [2.0] * HOURS}))
    with pytest.raises(ValueError):
        auth_surges(m, Baseline((CALLS,) * (HOURS - 1), 0.1, 20.0, "flat"), [], Sensitivity())


def test_without_calls_the_usual_error_share_is_its_floor() -> None:
    idle = HourlyMetrics.of(by_status({"200": [0.0] * HOURS}))
    assert _usual_error_share(idle, [0.0] * HOURS) == (0.001, 0.0)


def test_one_call_all_week_that_failed_is_a_usual_share_of_all() -> None:
    failed = [0.0] * HOURS
    failed[30] = 1.0
    m = HourlyMetrics.of(by_status({"200": [0.0] * HOURS, "500": failed}))
    assert _usual_error_share(m, failed) == (1.0, 1.0)


def test_an_hour_just_under_three_sigma_stays_in_the_usual_error_share() -> None:
    """One failure an hour in 100 calls, and an hour of 6 failures in 110 calls: z 2.93 against
    the share counted with it (1.13 expected), with the rate noise of 30% (half that noise would
    make it 3.05): it stays in, and the share is 173 failures over 16,810 calls."""
    failed = [1.0] * HOURS
    calls = [CALLS] * HOURS
    failed[5], calls[5] = 6.0, 110.0
    ok = [c - f for c, f in zip(calls, failed, strict=True)]
    m = HourlyMetrics.of(by_status({"200": ok, "500": failed}))
    assert _usual_error_share(m, failed) == (173 / 16810, 173.0)


def test_an_hour_at_exactly_three_sigma_is_left_out_of_the_usual_error_share() -> None:
    """One failure an hour in 100 calls, and an hour of 62 calls whose failures put it at z 3.0
    to the last bit against the first fit: at the limit is out, so the share is the others' 1%."""
    failed = [1.0] * HOURS
    calls = [CALLS] * HOURS
    failed[5], calls[5] = 4.575397469748897, 62.0
    ok = [c - f for c, f in zip(calls, failed, strict=True)]
    m = HourlyMetrics.of(by_status({"200": ok, "500": failed}))
    first_fit = sum(m.errors) / sum(m.calls)
    assert z_score(surprise(m.errors[5], first_fit * m.calls[5], 1 / NOISE**2)) == 3.0
    assert _usual_error_share(m, m.errors) == (0.01, 167.0)


def _hours(*at: tuple[int, int]) -> list[int]:
    """Epoch seconds of (day, hour of day) from START, a Tuesday in 2025 (UTC)."""
    first = int(START.timestamp())
    return [first + 86400 * day + 3600 * hour for day, hour in at]


def test_the_usual_daily_share_is_a_median_of_utc_calendar_days() -> None:
    """Day 0: none of 10 calls failed at 10:00, all 10 at 20:00 (half); day 1: all 10 at 02:00.
    The median of the days' shares is 0.75. Days cut 5.6 h early or late (86,399 or 86,401
    seconds long since 1970) would put 20:00 or 02:00 with another day's hours."""
    stamps = _hours((0, 10), (0, 20), (1, 2))
    daily, _ = _rates([0.0, 10.0, 10.0], [10.0, 10.0, 10.0], stamps)
    assert daily == 0.75


def test_an_hour_or_a_day_of_one_call_counts_in_the_usual_shares() -> None:
    """A quiet account: one call an hour. Day 0's calls all failed, day 1's at 03:00 only, day
    2's none but at 03:00: the daily shares are 1, 1/24 and 1/24, and 03:00's share is 1."""
    num = [1.0] * 24 + [1.0 if h == 3 else 0.0 for h in range(24)] * 2
    stamps = _hours(*((d, h) for d in range(3) for h in range(24)))
    daily, hourly = _rates(num, [1.0] * 72, stamps)
    assert (daily, hourly[3], hourly[4]) == (1 / 24, 1.0, 0.0)
    one_a_day = _hours((0, 9), (1, 9), (2, 9))
    assert _rates([1.0, 1.0, 0.0], [1.0, 1.0, 5.0], one_a_day)[0] == 1.0


@pytest.mark.parametrize(("hours", "pooled"), [(1, 1.0), (2, 1.0), (3, 1.5), (168, 84.0)])
def test_the_hours_behind_a_usual_share_are_half_of_them_and_at_least_one(
    hours: int, pooled: float
) -> None:
    assert _pooled(list(range(hours))) == pooled


def test_a_steady_stream_of_401s_is_no_surge_when_the_calls_ebb() -> None:
    """A broken job sending 15 401s every hour, day and night, while the other calls drop from
    400 an hour by day to 8 at night: the usual 401 count is that steady count, not a share of
    the calls, so the night is no surge."""
    calls = [400.0 if 8 <= h % 24 < 20 else 8.0 for h in range(HOURS)]
    m = HourlyMetrics.of(by_status({"200": calls, "401": [15.0] * HOURS}))
    usual = Baseline(tuple(calls), noise=0.1, pooled=20.0, mode="flat")
    assert auth_surges(m, usual, [], Sensitivity()) == []
