"""The lease a write needs (keyops.rotate.fence.write_budget): twice the slowest of the read,
lease and store steps so far, never under 15 s, never over half the lease's TTL (a renewed lease
always has that much left, so a fence never refuses for want of budget it could have renewed)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from keyops.rotate.fence import write_budget
from keyops.rotate.records import RotationRecord


def _run(ttl_seconds: float, **timings: float) -> Any:
    record = RotationRecord("t", "a", "/a")
    record.timings.update(timings)
    return SimpleNamespace(
        record=record, options=SimpleNamespace(lease_ttl=timedelta(seconds=ttl_seconds))
    )


@pytest.mark.parametrize(
    ("timings", "budget"),
    [
        ({}, 15.0),  # nothing timed yet: the floor
        ({"read": 7.4}, 15.0),
        ({"read": 7.5}, 15.0),  # exactly at the floor
        ({"read": 7.6}, 15.2),  # one step past it: twice the step
        ({"read": 1.0, "lease": 10.0, "store": 3.0}, 20.0),  # the slowest of the three counts
        ({"store": 12.5}, 25.0),
        ({"regenerate": 40.0, "test": 90.0}, 15.0),  # other steps are not writes' measure
    ],
)
def test_a_write_needs_twice_its_slowest_step_and_at_least_15_seconds(
    timings: dict[str, float], budget: float
) -> None:
    assert write_budget(_run(600, **timings)) == timedelta(seconds=budget)


@pytest.mark.parametrize(
    ("slowest", "budget"),
    [(29.9, 59.8), (30.0, 60.0), (30.1, 60.0), (400.0, 60.0)],
)
def test_a_write_never_needs_more_than_half_the_lease(slowest: float, budget: float) -> None:
    assert write_budget(_run(120, lease=slowest)) == timedelta(seconds=budget)


def test_half_a_short_lease_caps_even_the_floor() -> None:
    assert write_budget(_run(20)) == timedelta(seconds=10)


def test_half_the_lease_is_rounded_to_the_nearest_microsecond() -> None:
    """A TTL of 60.000003 s (durations take decimals): half is 30.0000015 s, and timedelta
    rounds it to the even microsecond, 30.000002 s (a floor would give 30.000001 s)."""
    ttl = timedelta(seconds=60, microseconds=3)
    run = _run(0, lease=40.0)
    run.options.lease_ttl = ttl
    assert write_budget(run) == timedelta(seconds=30, microseconds=2)
