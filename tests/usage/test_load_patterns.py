"""Boundaries of the rules about load: throttling, 429s against 5xx, sustained rises, few calls.

Four weeks hourly from :mod:`tests.usage.test_real_patterns`'s builder; each test puts one pattern
on either side of the boundary it is about.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from keyops.usage import UsageSeries, detect
from keyops.usage.episodes import SETTLE_HOURS
from keyops.usage.rules_tokens import MIN_CALLS
from keyops.usage.rules_traffic import SUSTAINED_LEVELS
from keyops.usage.throttling import MILD_SHARE, THROTTLE_MAX_SHARE
from keyops_bench.usage.synth import binomial, poisson
from tests.usage.factory import RID
from tests.usage.test_real_patterns import DAYS, START, WINDOW, office, scored, traffic

Share = Callable[[int], float]


def with_failures(
    calls: Callable[[int], float], s429: Share, s5xx: Share, seed: int = 3
) -> UsageSeries:
    """Calls with a share of 429s and of 500s per hour (Poisson counts, binomial failures)."""
    rng = random.Random(seed)
    ok, c429, c500 = [], [], []
    for t in range(DAYS * 24):
        n = poisson(rng, calls(t))
        a = binomial(rng, n, s429(t))
        b = binomial(rng, n - a, s5xx(t))
        ok.append(float(n - a - b))
        c429.append(float(a))
        c500.append(float(b))
    stamps = tuple(int(START.timestamp()) + 3600 * t for t in range(DAYS * 24))
    total = tuple(x + y + z for x, y, z in zip(ok, c429, c500, strict=True))
    tokens = tuple(x * 500.0 for x in ok)
    status = {"200": tuple(ok), "429": tuple(c429), "500": tuple(c500)}
    return UsageSeries(RID.format("acct"), "acct", stamps, total, status, tokens, tokens)


def peak_429(t: int) -> float:
    """A quota-bound account: 6% throttled in office hours, none at night."""
    return 0.06 if office(t) > 100 else 0.0


def test_a_night_of_5xx_is_found_under_a_quota_bound_accounts_peak_429s() -> None:
    night = 23 * 24 + 19  # Wednesday 19:00-01:00, after the office has gone home

    def s5xx(t: int) -> float:
        return 0.17 if night <= t < night + 6 else 0.001

    s = with_failures(lambda t: office(t, 2000.0), peak_429, s5xx)
    assert scored(detect([s], since=WINDOW)) == [("error_rate", night)]


def test_429s_at_the_same_hours_every_day_since_a_launch_are_throttling_not_an_error_jump() -> None:
    launch = 22 * 24

    def s429(t: int) -> float:
        return 0.15 if t >= launch and 10 <= t % 24 < 16 and office(t) > 100 else 0.001

    found = detect([with_failures(lambda t: office(t, 2000.0), s429, lambda t: 0.001)],
                   since=WINDOW)  # fmt: skip
    assert scored(found) == []
    assert {f.kind for f in found} == {"throttling"}


def test_a_one_off_429_jump_with_calls_as_usual_is_an_error_rate_finding() -> None:
    at = 23 * 24 + 11

    def one_off(t: int) -> float:
        return 0.15 if at <= t < at + 4 else 0.001

    s = with_failures(lambda t: office(t, 2000.0), one_off, lambda t: 0.001)
    assert scored(detect([s], since=WINDOW)) == [("error_rate", at)]


def test_429s_with_load_on_a_quota_bound_account_are_throttling_until_most_calls_fail() -> None:
    at = 23 * 24 + 11

    def busy(t: int) -> float:
        return office(t, 2000.0) * (2.0 if at <= t < at + 4 else 1.0)

    def refused(share: float) -> Share:
        return lambda t: share if at <= t < at + 4 else peak_429(t)

    under = detect([with_failures(busy, refused(THROTTLE_MAX_SHARE - 0.2), lambda t: 0.001)],
                   since=WINDOW)  # fmt: skip
    over = detect([with_failures(busy, refused(THROTTLE_MAX_SHARE + 0.2), lambda t: 0.001)],
                  since=WINDOW)  # fmt: skip
    assert "throttling" in {f.kind for f in under}
    assert all(kind != "error_rate" for kind, _ in scored(under))
    assert ("error_rate", at) in scored(over)


def test_a_runaway_at_the_daily_peak_is_a_spike_when_it_adds_enough_for_long_enough() -> None:
    at = 23 * 24 + 10  # office hours: 400/h usual, the average is about 144/h
    average = sum(office(t) for t in range(168)) / 168
    extra = 480.0  # 2.2x the hour (under the spike ratio), over the sustained floor
    assert SUSTAINED_LEVELS * average < extra < 2 * office(at)

    def runaway(hours: int) -> Callable[[int], float]:
        return lambda t: office(t) + (extra if at <= t < at + hours else 0.0)

    assert scored(detect([traffic(runaway(4))], since=WINDOW)) == [("spike", at)]
    assert scored(detect([traffic(runaway(2))], since=WINDOW)) == []


def test_token_spend_needs_enough_calls() -> None:
    at = 22 * 24 + 13

    def size(t: int) -> float:
        return 8000.0 if at <= t < at + 2 else 800.0

    def calls(per_hour: float) -> Callable[[int], float]:
        return lambda t: per_hour if at <= t < at + 2 else 3.0

    few, enough = (
        traffic(calls(2.0), tokens_per_call=size),
        traffic(calls(4.0), tokens_per_call=size),
    )
    assert (
        sum(few.requests_total[at : at + 2]) < MIN_CALLS <= sum(enough.requests_total[at : at + 2])
    )
    assert all(kind != "token_spend" for kind, _ in scored(detect([few], since=WINDOW)))
    assert ("token_spend", at) in scored(detect([enough], since=WINDOW))


def test_a_few_percent_429s_with_a_launchs_load_are_throttling_even_never_throttled_before() -> (
    None
):
    launch = 23 * 24 + 9

    def busy(t: int) -> float:
        return office(t, 2000.0) * (2.5 if t >= launch else 1.0)

    def s429(share: float) -> Share:
        return lambda t: share if launch <= t < launch + 6 else 0.001

    mild = detect([with_failures(busy, s429(MILD_SHARE - 0.04), lambda t: 0.001)], since=WINDOW)
    jump = detect([with_failures(busy, s429(MILD_SHARE + 0.1), lambda t: 0.001)], since=WINDOW)
    assert "throttling" in {f.kind for f in mild}
    assert all(kind != "error_rate" for kind, _ in scored(mild))
    assert "error_rate" in {kind for kind, _ in scored(jump)}


def test_a_launch_rise_that_paused_for_an_hour_is_still_a_new_level() -> None:
    step = 23 * 24 + 8

    def launched(t: int) -> float:
        dip = t == step + 6  # one quiet hour inside the first launch day
        return office(t) * (2.4 if t >= step and not dip else 1.0)

    s = traffic(launched)
    for hours in range(step + 4, step + 6 + SETTLE_HOURS):
        cut_ = replace(s, timestamps=s.timestamps[:hours], requests_total=s.requests_total[:hours],
                       requests_by_status={k: v[:hours] for k, v in s.requests_by_status.items()},
                       prompt_tokens=s.prompt_tokens[:hours],
                       generated_tokens=s.generated_tokens[:hours])  # fmt: skip
        assert scored(detect([cut_], since=WINDOW)) == [], hours
