"""Failure rules at their limits, on hand-made hours: the error-rate severity cut-off, which
rotation a 401 surge is tied to (window edges, resource, latest), and key use counted from an
hour on."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from keyops.severity import Severity
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.model import KeyUsagePolicy, Rotation, from_epoch
from keyops.usage.rules_errors import (
    _auth_finding,
    _error_finding,
    _rotation_before,
    unexpected_key_use,
)
from keyops.usage.windows import Interval
from tests.usage.factory import RID, rotation, series

HOURS = 48


def _metrics(**lists: list[float]) -> HourlyMetrics:
    return replace(HourlyMetrics.of(series(days=2)), **lists)


@pytest.mark.parametrize(
    ("failed", "severity"),
    [(50.0, Severity.HIGH), (49.99, Severity.MEDIUM), (60.0, Severity.HIGH)],
)
def test_an_error_rate_is_high_from_half_of_the_calls(failed: float, severity: Severity) -> None:
    m = _metrics(calls=[50.0] * HOURS)
    finding = _error_finding(m, Interval(10, 12, failed, 1.0, 9.0, 10))
    assert (finding.severity, finding.observed, finding.expected) == (
        severity,
        round(failed / 100.0, 4),
        0.01,
    )


def test_an_error_rate_over_hours_without_calls_counts_against_one_call() -> None:
    m = _metrics(calls=[0.0] * HOURS)
    finding = _error_finding(m, Interval(10, 12, 3.0, 0.5, 9.0, 10))
    assert (finding.observed, finding.expected) == (3.0, 0.5)


START_HOUR = 30


def _tied(*offsets: timedelta, name: str = "acct") -> str | None:
    """Slot of the rotation tied to a surge starting at START_HOUR, with one rotation per offset
    from that hour (slots Key1, Key2, ... in order)."""
    m = _metrics()
    begin = from_epoch(m.series.timestamps[START_HOUR])
    rotations = [
        replace(rotation(name, 0), rotated_at=begin + off, slot=f"Key{i + 1}")
        for i, off in enumerate(offsets)
    ]
    found = _rotation_before(Interval(START_HOUR, START_HOUR + 2, 9, 1, 9, 0), m, rotations, 24)
    return None if found is None else found.slot


@pytest.mark.parametrize(
    ("offset", "tied"),
    [
        (timedelta(hours=-24), True),
        (timedelta(hours=-24, seconds=-1), False),
        (timedelta(0), True),
        (timedelta(minutes=59, seconds=59), True),
        (timedelta(hours=1), False),
    ],
)
def test_a_surge_is_tied_to_a_rotation_from_24_h_before_to_its_first_hour(
    offset: timedelta, tied: bool
) -> None:
    assert _tied(offset) == ("Key1" if tied else None)


def test_the_latest_rotation_of_the_same_resource_is_the_one_tied() -> None:
    assert _tied(timedelta(hours=-5), timedelta(hours=-2), timedelta(hours=-9)) == "Key2"
    assert _tied(timedelta(hours=-2), name="other") is None


def test_a_rotation_is_matched_whatever_the_case_of_its_resource_id() -> None:
    m = _metrics()
    begin = from_epoch(m.series.timestamps[START_HOUR])
    upper = replace(rotation("acct", 0), resource_id=RID.format("acct").upper(), rotated_at=begin)
    found = _rotation_before(Interval(START_HOUR, START_HOUR + 1, 9, 1, 9, 0), m, [upper], 24)
    assert found is upper


def test_key_use_is_counted_from_the_given_hour_over_its_busy_span() -> None:
    ok = [0.0] * HOURS
    ok[3], ok[20], ok[21], ok[25] = 7.0, 1.0, 4.0, 3.0
    m = _metrics(ok=ok)
    rid = m.series.resource_id
    policy = KeyUsagePolicy(keys_expected_unused=frozenset({rid.lower()}))
    (finding,) = unexpected_key_use(m, policy, first=20)
    stamps = m.series.timestamps
    assert (finding.start, finding.end) == (from_epoch(stamps[20]), from_epoch(stamps[25] + 3600))
    assert (finding.observed, finding.severity) == (round(8.0 / 6, 4), Severity.INFO)
    # Nothing is expected and no score measures it: a policy, not a statistic.
    assert (finding.expected, finding.score, finding.ratio) == (0.0, 0.0, float("inf"))
    assert unexpected_key_use(m, policy, first=26) == []
    (whole,) = unexpected_key_use(m, policy)
    assert whole.observed == round(15.0 / 23, 4)


def _auth(rotated: Rotation | None) -> str:
    m = _metrics()
    finding = _auth_finding(m, Interval(START_HOUR, START_HOUR + 2, 40.0, 2.0, 9.0, 30), rotated)
    assert (finding.observed, finding.expected) == (20.0, 1.0)
    return f"{finding.severity.name} {finding.message} {finding.recommendation}"


def test_a_surge_after_a_rotation_names_the_slot_the_lag_and_the_versions() -> None:
    m = _metrics()
    begin = from_epoch(m.series.timestamps[START_HOUR])
    text = _auth(replace(rotation("acct", 0), rotated_at=begin - timedelta(hours=3)))
    assert text.startswith("HIGH ")
    assert "starting 3 h after Key2 was regenerated" in text
    assert "old Key2 value from version v6" in text and "(new version v8)" in text
    assert "re-read openai-key" in text


def test_a_rotation_recorded_just_after_the_surge_began_is_no_negative_lag() -> None:
    m = _metrics()
    begin = from_epoch(m.series.timestamps[START_HOUR])
    late = replace(
        rotation("acct", 0),
        rotated_at=begin + timedelta(minutes=30),
        slot="primary",
        secret_name=None,
        secret_version=None,
        previous_version=None,
    )
    text = _auth(late)
    assert "starting 0 h after primary was regenerated" in text
    assert "old key value;" in text and "re-read the Key Vault secret" in text
    assert "new version" not in text and "from version" not in text


def test_a_surge_without_a_rotation_is_a_wrong_or_leaked_key() -> None:
    text = _auth(None)
    assert text.startswith("MEDIUM ") and "no key rotation in the day before" in text
