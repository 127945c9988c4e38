"""Deterministic synthetic usage: seasonal, noisy hourly metrics with planted anomalies.

A spec is a small dataclass, or the same fields as a dict (for world files)::

    {"baseline": 200,          # mean weekday calls per hour at the daily average
     "daily": 0.4,             # amplitude: rate x (1 + daily x cos(2 pi (hour - peak_hour) / 24))
     "peak_hour": 14,          # UTC hour of the daily peak
     "weekly": 0.3,            # weekend dip: Sat/Sun rate x (1 - weekly); Mon-Fri vary +-5-10%
     "noise": 0.15,            # multiplicative noise per hour (log-normal sigma)
     "trend": 0.0,             # growth per day (0.02: +2% a day, compounded)
     "error_rate": 0.005,      # share of calls answered 429/500/400
     "auth_error_rate": 0.0005,  # background 401s as a share of calls
     "tokens_per_request": 1000, # prompt + generated tokens per successful call (75% / 25%)
     "events": [{"kind": "spike", "start_hour": 50, "hours": 2, "factor": 5}]}

Event kinds and what ``factor`` means: ``spike`` calls x factor; ``drop`` calls x factor (e.g.
0.05); ``error_rate`` the share of calls failing with ``status`` (default "500"); ``auth_surge_401``
extra 401s per hour (a consumer left on a regenerated key, on top of normal traffic);
``token_spend`` tokens per call x factor. Counts are Poisson draws around the noisy rate, as real
per-hour totals are, so quiet resources are as lumpy here as in Azure Monitor.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from keyops.usage.model import HOUR, Rotation, UsageSeries, to_epoch_hour

_WEEKDAY_SHAPE = (1.0, 1.05, 1.05, 1.0, 0.9)
_BASE_ERRORS = (("429", 0.5), ("500", 0.6), ("400", 1.0))
_PROMPT_SHARE = 0.75
_PER_CALL_TOKEN_CV = 0.5


@dataclass(frozen=True)
class PlantedEvent:
    """An anomaly written into a synthetic series (see the module docstring for ``factor``)."""

    kind: str
    start_hour: int
    hours: int
    factor: float
    status: str = "500"

    def covers(self, hour: int) -> bool:
        """True when *hour* (index from the series start) is inside the event."""
        return self.start_hour <= hour < self.start_hour + self.hours


@dataclass(frozen=True)
class SeriesSpec:
    """Shape of one synthetic series (see the module docstring)."""

    baseline: float
    daily: float = 0.4
    peak_hour: int = 14
    weekly: float = 0.3
    noise: float = 0.15
    trend: float = 0.0
    error_rate: float = 0.005
    auth_error_rate: float = 0.0005
    tokens_per_request: float = 1000.0
    events: tuple[PlantedEvent, ...] = field(default=())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SeriesSpec:
        """Build a spec from a plain mapping (unknown keys are an error)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown series spec keys: {', '.join(sorted(unknown))}")
        values = dict(data)
        values["events"] = tuple(PlantedEvent(**e) for e in data.get("events", ()))
        return cls(**values)


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (exact below 30, normal approximation above)."""
    if lam <= 0:
        return 0
    if lam >= 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def binomial(rng: random.Random, n: int, p: float) -> int:
    """A binomial draw via its Poisson or normal approximation (n is large, p small or not)."""
    mean = n * p
    if mean * (1 - p) >= 30:
        return min(n, max(0, round(rng.gauss(mean, math.sqrt(mean * (1 - p))))))
    return min(n, poisson(rng, mean))


def _rate(spec: SeriesSpec, epoch: int, hour: int, rng: random.Random) -> float:
    """Expected calls in the hour starting at *epoch* (*hour* into the series), before events."""
    hod = (epoch // HOUR) % 24
    dow = (epoch // 86400 + 3) % 7
    daily = 1 + spec.daily * math.cos(2 * math.pi * (hod - spec.peak_hour) / 24)
    weekly = (1 - spec.weekly) if dow >= 5 else _WEEKDAY_SHAPE[dow]
    trend = math.pow(1 + spec.trend, hour / 24)
    return spec.baseline * daily * weekly * trend * rng.lognormvariate(0.0, spec.noise)


def generate(
    spec: SeriesSpec | Mapping[str, Any],
    start: datetime,
    hours: int,
    seed: int,
    resource_id: str = "/subscriptions/synthetic/accounts/synthetic",
    name: str = "synthetic",
) -> UsageSeries:
    """Generate *hours* of metrics from *start* (aware; floored to the hour), reproducibly."""
    if not isinstance(spec, SeriesSpec):
        spec = SeriesSpec.from_dict(spec)
    rng = random.Random(seed)
    first = to_epoch_hour(start)
    statuses: dict[str, list[float]] = {"200": [], "400": [], "401": [], "429": [], "500": []}
    for e in spec.events:
        statuses.setdefault(e.status, [])
    prompt: list[float] = []
    generated: list[float] = []
    for i in range(hours):
        counts, tokens = _hour(spec, first + HOUR * i, i, rng)
        for code, column in statuses.items():
            column.append(float(counts.get(code, 0)))
        prompt.append(round(tokens * _PROMPT_SHARE))
        generated.append(round(tokens * (1 - _PROMPT_SHARE)))
    by_status = {code: tuple(col) for code, col in statuses.items()}
    total = tuple(sum(col) for col in zip(*by_status.values(), strict=True))
    stamps = tuple(first + HOUR * i for i in range(hours))
    return UsageSeries(resource_id, name, stamps, total, by_status, tuple(prompt), tuple(generated))


def _hour(spec: SeriesSpec, epoch: int, i: int, rng: random.Random) -> tuple[dict[str, int], float]:
    """Status counts and total tokens for one hour."""
    rate = _rate(spec, epoch, i, rng)
    error_rate, token_factor, extra_401, error_status = spec.error_rate, 1.0, 0.0, ""
    for e in spec.events:
        if not e.covers(i):
            continue
        if e.kind in ("spike", "drop"):
            rate *= e.factor
        elif e.kind == "error_rate":
            error_rate, error_status = e.factor, e.status
        elif e.kind == "auth_surge_401":
            extra_401 += e.factor
        elif e.kind == "token_spend":
            token_factor *= e.factor
    calls = poisson(rng, rate)
    counts: dict[str, int] = {}
    failed = binomial(rng, calls, error_rate)
    if error_status:
        counts[error_status] = failed
    else:
        left = failed
        for code, share in _BASE_ERRORS:  # shares of what is left: 50% 429, 30% 500, 20% 400
            counts[code] = binomial(rng, left, share) if share < 1 else left
            left -= counts[code]
    counts["200"] = calls - failed
    counts["401"] = poisson(
        rng, rate * spec.auth_error_rate + extra_401 * rng.lognormvariate(0, 0.15)
    )
    spread = math.sqrt(spec.noise**2 + _PER_CALL_TOKEN_CV**2 / max(counts["200"], 1))
    tokens = counts["200"] * spec.tokens_per_request * token_factor * rng.lognormvariate(0, spread)
    return counts, tokens


def rotations_at(
    hours_from_start: list[int], start: datetime, resource_id: str, slot: str = "Key2"
) -> list[Rotation]:
    """Rotation records at the given hour offsets (with a few minutes past the hour)."""
    base = datetime.fromtimestamp(to_epoch_hour(start), tz=start.tzinfo)
    return [
        Rotation(resource_id, base + timedelta(hours=h, minutes=7), slot, "openai-key", f"v{k + 1}")
        for k, h in enumerate(hours_from_start)
    ]
