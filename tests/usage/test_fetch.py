"""Rotations read back from secret-version tags, and silent history before a resource existed."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from keyops.azure.vault import SecretVersion
from keyops.usage.fetch import rotations_from_versions, trim_leading_silence
from keyops.usage.model import UsageSeries

ACCOUNT = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a"
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _version(version: str, hours: int, tags: dict[str, str]) -> SecretVersion:
    at = T0 + timedelta(hours=hours)
    return SecretVersion(
        name="a-api-key",
        version=version,
        value=None,
        enabled=True,
        created=at,
        updated=at,
        not_before=None,
        expires_on=None,
        content_type=None,
        tags=tags,
    )


def _rotated(slot: str, hours: int, supersedes: str) -> dict[str, str]:
    at = (T0 + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "CredentialId": slot,
        "ProviderAddress": ACCOUNT,
        "RotatedAt": at,
        "Supersedes": supersedes,
        "KeyopsAction": "rotated",
    }


def test_a_rotation_names_the_version_whose_value_it_killed() -> None:
    versions = [
        _version("v1", 0, {"CredentialId": "Key1", "KeyopsAction": "adopted"}),
        _version("v2", 10, _rotated("Key2", 10, "v1")),
        _version("v3", 40, _rotated("Key1", 40, "v2")),
    ]
    rotations = rotations_from_versions(ACCOUNT, reversed(versions))
    assert [(r.slot, r.secret_version, r.previous_version) for r in rotations] == [
        ("Key2", "v2", None),  # Key2 was not stored before: nobody held it
        ("Key1", "v3", "v1"),  # Key1's old value lived in v1 (not v2, which holds Key2)
    ]
    assert rotations[1].rotated_at == T0 + timedelta(hours=40)


def test_versions_of_another_account_are_not_its_rotations() -> None:
    other = _rotated("Key2", 5, "v1") | {"ProviderAddress": ACCOUNT.replace("/a", "/b")}
    assert rotations_from_versions(ACCOUNT, [_version("v2", 5, other)]) == []


def _series(values: list[float]) -> UsageSeries:
    stamps = tuple(int(T0.timestamp()) + 3600 * i for i in range(len(values)))
    return UsageSeries(
        ACCOUNT, "a", stamps, tuple(values), {"200": tuple(values)}, tuple(values), tuple(values)
    )


def test_silence_before_first_traffic_is_dropped_but_never_inside_the_window() -> None:
    series = _series([0, 0, 0, 5, 0, 7, 0, 0])
    trimmed = trim_leading_silence(series, T0 + timedelta(hours=6))
    assert trimmed.requests_total == (5, 0, 7, 0, 0)
    assert trimmed.timestamps[0] == series.timestamps[3]
    quiet = trim_leading_silence(_series([0] * 8), T0 + timedelta(hours=6))
    assert quiet.hours == 2  # the window itself is kept, zeros and all


def test_a_monitor_point_whose_total_is_no_count_is_read_as_no_point() -> None:
    """Azure Monitor's totals are counts; a malformed answer's negative, NaN or infinite total
    is dropped, as an hour without a point is, so the rules only ever see counts."""
    hour = [T0 + timedelta(hours=i) for i in range(5)]
    series = UsageSeries.from_points(
        ACCOUNT,
        "a",
        T0,
        5,
        {"200": {hour[0]: 4.0, hour[1]: -10.0, hour[2]: math.nan}, "500": {hour[1]: 3.0}},
        {hour[3]: math.inf, hour[4]: 7.0},
        {hour[4]: -0.5, hour[0]: 0.0},
    )
    assert series.requests_by_status == {"200": (4.0, 0, 0, 0, 0), "500": (0, 3.0, 0, 0, 0)}
    assert series.requests_total == (4.0, 3.0, 0, 0, 0)
    assert (series.prompt_tokens, series.generated_tokens) == ((0, 0, 0, 0, 7.0), (0,) * 5)


@pytest.mark.parametrize("bad", [-1.0, -0.001, math.nan, math.inf])
def test_a_series_holding_no_count_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match=r"a: requests_by_status\[200\] holds a negative or"):
        UsageSeries(ACCOUNT, "a", (0, 3600), (1.0, 1.0), {"200": (1.0, bad)}, (0, 0), (0, 0))
    assert UsageSeries(ACCOUNT, "a", (0,), (0.0,), {"200": (0.0,)}, (0.0,), (0.0,)).hours == 1
