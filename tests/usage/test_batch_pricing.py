"""Calls near batch hours: a late batch's calls cost what batch calls cost, other calls do not.

Plain lists in: a day with a 02:00 batch of 100 calls at 1,000 tokens over 10 regular calls at
100 tokens each.
"""

from __future__ import annotations

import pytest

from keyops.usage.expect import BATCH_LATE_HOURS, batch_priced_tokens

RATE, BATCH_RATE, REGULAR, BATCH_CALLS, AT = 100.0, 1000.0, 10.0, 100.0, 2


def _day() -> tuple[list[float], list[float], list[float]]:
    """Plain tokens per call, expected calls and their batch part."""
    expected = [REGULAR] * 24
    batch = [0.0] * 24
    plain = [RATE] * 24
    expected[AT] += BATCH_CALLS
    batch[AT] = BATCH_CALLS
    plain[AT] = (REGULAR * RATE + BATCH_CALLS * BATCH_RATE) / (REGULAR + BATCH_CALLS)
    return plain, expected, batch


def _usual(ok: list[float]) -> list[float]:
    plain, expected, batch = _day()
    slacked = [max(plain[max(0, t - 3) : t + 4]) for t in range(24)]
    return batch_priced_tokens(plain, slacked, ok, expected, batch)


def test_a_late_batch_costs_what_the_batch_costs() -> None:
    late = AT + BATCH_LATE_HOURS
    ok = [REGULAR] * 24
    ok[late] += BATCH_CALLS
    usual = _usual(ok)
    assert usual[late] == pytest.approx(REGULAR * RATE + BATCH_CALLS * BATCH_RATE)


def test_flat_calls_near_a_batch_hour_cost_the_hour_s_own_rate() -> None:
    ok = [REGULAR] * 24
    ok[AT] += BATCH_CALLS  # on time
    usual = _usual(ok)
    assert usual[AT + 1] == pytest.approx(REGULAR * RATE)  # not the batch hour's blended rate
    assert usual[AT] >= REGULAR * RATE + BATCH_CALLS * BATCH_RATE


def test_away_from_batch_hours_calls_cost_the_slacked_usual() -> None:
    far = AT + BATCH_LATE_HOURS + 1
    usual = _usual([REGULAR] * 24)
    assert usual[far] == pytest.approx(REGULAR * RATE)


def test_without_batch_hours_every_call_costs_the_slacked_usual() -> None:
    plain = [RATE] * 24
    slacked = [RATE * 2] * 24
    out = batch_priced_tokens(plain, slacked, [REGULAR] * 24, [REGULAR] * 24, [0.0] * 24)
    assert out == [REGULAR * RATE * 2] * 24
