"""Business patterns of real accounts stay quiet (or info); the anomalies among them are found.

Four weeks hourly (three of history, a week reported), built hour by hour here so that each test
shows exactly the pattern it is about; counts are Poisson around a noisy rate.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from keyops.severity import Severity
from keyops.usage import UsageSeries, detect
from keyops.usage.model import Finding
from keyops_bench.usage.synth import poisson
from tests.usage.factory import RID, rotation

START = datetime(2025, 9, 1, tzinfo=timezone.utc)  # a Monday
DAYS = 28
WINDOW = START + timedelta(days=21)
Rate = Callable[[int], float]


def office(t: int, level: float = 400.0) -> float:
    """Weekday office hours 08-18 UTC, a little traffic at night and at weekends."""
    hour, weekday = t % 24, (t // 24) % 7
    if weekday >= 5:
        return level * 0.1
    return level * (1.0 if 8 <= hour < 18 else 0.08)


def traffic(
    calls: Rate,
    *,
    tokens_per_call: Rate = lambda t: 800.0,
    throttled: Rate = lambda t: 0.0,
    seed: int = 1,
    hours: int = DAYS * 24,
) -> UsageSeries:
    rng = random.Random(seed)
    ok, limited, prompt, generated = [], [], [], []
    for t in range(hours):
        n = poisson(rng, calls(t) * math.exp(rng.gauss(0, 0.1)))
        failed = min(n, poisson(rng, n * throttled(t)))
        tokens = (n - failed) * tokens_per_call(t) * math.exp(rng.gauss(0, 0.05))
        ok.append(float(n - failed))
        limited.append(float(failed))
        prompt.append(float(round(tokens * 0.8)))
        generated.append(float(round(tokens * 0.2)))
    stamps = tuple(int(START.timestamp()) + 3600 * t for t in range(hours))
    total = tuple(a + b for a, b in zip(ok, limited, strict=True))
    by_status = {"200": tuple(ok), "429": tuple(limited)}
    return UsageSeries(
        RID.format("acct"), "acct", stamps, total, by_status, tuple(prompt), tuple(generated)
    )


def scored(found: list[Finding]) -> list[tuple[str, int]]:
    """(kind, hour index) of findings that would count (low and above)."""
    start = START.timestamp()
    return [
        (f.kind, int((f.start.timestamp() - start) // 3600))
        for f in found
        if f.severity >= Severity.LOW
    ]


def test_a_launch_step_that_stays_is_one_info_and_then_the_baseline() -> None:
    step = 23 * 24 + 9  # Wednesday 09:00 of the reported week

    def launched(t: int) -> float:
        return office(t) * (3.0 if t >= step else 1.0)

    s = traffic(launched)
    found = detect([s], since=WINDOW)
    assert scored(found) == []
    assert [f.kind for f in found] in ([], ["level_shift"])
    # As an hourly scheduled run sees it: never a scored finding, from the step on.
    for end in (step + 3, step + 8, step + 30):
        cut = traffic(launched, hours=end)
        assert scored(detect([cut], since=WINDOW)) == [], end


def test_growth_of_three_percent_a_day_is_followed() -> None:
    s = traffic(lambda t: office(t) * 1.03 ** (t / 24))
    assert scored(detect([s], since=WINDOW)) == []


def test_a_nightly_batch_on_time_late_or_skipped_is_not_an_anomaly() -> None:
    late_night, skipped_night = 24, 26

    def batch_hour(t: int) -> int | None:
        day = t // 24
        if day == skipped_night:
            return None
        return 4 if day == late_night else 2

    def calls(t: int) -> float:
        return office(t) + (600.0 if t % 24 == batch_hour(t) else 0.0)

    def size(t: int) -> float:
        return 9000.0 if t % 24 == batch_hour(t) else 800.0

    s = traffic(calls, tokens_per_call=size)
    assert scored(detect([s], since=WINDOW)) == []


def test_a_quiet_business_day_is_info_but_an_outage_is_found() -> None:
    holiday = 24  # Thursday of the reported week

    def quiet(t: int) -> float:
        return office(t) * (0.15 if t // 24 == holiday and 8 <= t % 24 < 18 else 1.0)

    found = detect([traffic(quiet)], since=WINDOW)
    assert scored(found) == []
    assert [f.kind for f in found] == ["quiet_day"]
    outage = holiday * 24 + 10

    def down(t: int) -> float:
        return office(t) * (0.0 if outage <= t < outage + 3 else 1.0)

    assert scored(detect([traffic(down)], since=WINDOW)) == [("drop", outage)]


def test_tokens_per_call_ten_times_with_flat_calls_is_token_spend() -> None:
    at = 22 * 24 + 13

    def size(t: int) -> float:
        return 8000.0 if at <= t < at + 3 else 800.0

    found = detect([traffic(office, tokens_per_call=size)], since=WINDOW)
    assert scored(found) == [("token_spend", at)]


def test_a_runaway_client_is_one_finding_for_calls_tokens_and_429s() -> None:
    at = 25 * 24 + 20  # at night, when the office is quiet

    def calls(t: int) -> float:
        return office(t) + (4000.0 if at <= t < at + 5 else 0.0)

    def throttled(t: int) -> float:
        return 0.4 if at <= t < at + 5 else 0.002

    found = detect([traffic(calls, throttled=throttled)], since=WINDOW)
    assert [kind for kind, _ in scored(found)] in (["spike"], ["error_rate"])
    [finding] = found
    assert "Same episode" in finding.message and finding.hours >= 5


def test_calls_where_none_are_usual_are_not_a_ratio_against_zero() -> None:
    at = 24 * 24 + 3

    def calls(t: int) -> float:
        return 0.0 if t != at else 60.0

    [finding] = detect([traffic(calls)], since=WINDOW)
    assert finding.kind == "spike"
    assert "where none are usual" in finding.message and "x the usual" not in finding.message


def test_rotation_alone_raises_nothing() -> None:
    s = traffic(office)
    rotated = replace(rotation("acct", 0), rotated_at=WINDOW + timedelta(days=2, minutes=7))
    assert scored(detect([s], [rotated], since=WINDOW)) == []
