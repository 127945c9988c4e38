"""Small builders of synthetic usage for the usage tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from keyops.usage.model import Rotation, UsageSeries
from keyops_bench.usage.synth import PlantedEvent, SeriesSpec, generate

#: A Tuesday, so that a week from here crosses one weekend.
START = datetime(2025, 3, 4, 0, 0, tzinfo=timezone.utc)
RID = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/{}"


def series(
    name: str = "acct",
    *,
    baseline: float = 300.0,
    days: int = 7,
    seed: int = 1,
    events: tuple[PlantedEvent, ...] = (),
    start: datetime = START,
    hours: int | None = None,
) -> UsageSeries:
    """Seasonal, 15%-noisy hourly traffic with the given planted events (*days*, or *hours*)."""
    spec = SeriesSpec(baseline=baseline, daily=0.45, weekly=0.35, noise=0.15, events=events)
    length = days * 24 if hours is None else hours
    return generate(spec, start, length, seed, resource_id=RID.format(name), name=name)


def by_status(
    statuses: dict[str, list[float]], name: str = "acct", start: datetime = START
) -> UsageSeries:
    """A series of exactly these calls per status code, and no tokens."""
    hours = len(next(iter(statuses.values())))
    first = int(start.timestamp())
    stamps = tuple(first + 3600 * t for t in range(hours))
    columns = {code: tuple(values) for code, values in statuses.items()}
    total = tuple(sum(col) for col in zip(*columns.values(), strict=True))
    zeros = (0.0,) * hours
    return UsageSeries(RID.format(name), name, stamps, total, columns, zeros, zeros)


def rotation(name: str, hour: int, slot: str = "Key2", start: datetime = START) -> Rotation:
    """A rotation of account *name* at *hour* (plus 7 minutes) after *start*."""
    return Rotation(
        RID.format(name),
        start + timedelta(hours=hour, minutes=7),
        slot,
        secret_name="openai-key",
        secret_version="v8",
        previous_version="v6",
    )


def hour_of(series_: UsageSeries, moment: datetime) -> int:
    """Index of the hour *moment* falls in."""
    return int((moment.timestamp() - series_.timestamps[0]) // 3600)
