"""Robust seasonal baselines: what each hour "should" look like, and how noisy that is.

The model is multiplicative, ``expected[t] = profile[key(t)] x level[group(t)]``:

* with 21 days or more of history, ``key`` is the hour of the week (same hour, same weekday) and
  there is one level;
* with less, ``key`` is the hour of day and the level is per day-of-week class: each weekday
  when there are 14+ days, otherwise weekdays vs. weekend (Saturday/Sunday, UTC).

Both factors are trimmed means (robust like a median, but not snapped to integers at low counts)
refitted three times with outlying hours masked out, so an anomaly does not become its own
baseline; a first fit with one level for all days decides which hours start out masked, so that an
outage covering most of a weekend does not become the weekend's level. At low volume the profile is
smoothed over neighbouring hours unless the data clearly say an hour differs (a nightly batch job
keeps its own peak). The per-hour noise left over is measured from the residuals (robust MAD of log
ratios, minus the Poisson part) where the volume allows, else a default is assumed.

Limits: with under two weeks of data, an outage covering most of a weekend cannot be told from a
weekday-only workload (it is taken for the latter), and one covering most of the window becomes the
baseline. Fetch more history (three or four weeks) to get hour-of-week baselines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from keyops.usage.stats import mad_sigma, median, trimmed_mean

_DAY = 86400
_MASK_LOG = 1.0  # hours more than e (2.7x) away from the fit are left out of the next refit
_ITERATIONS = 3
_SMOOTH_SIGMAS = 2.0
#: A day class whose hours are mostly "off" the all-days pattern is itself the pattern (weekends
#: of a weekday-only workload), not an outage: its level then comes from all its hours.
_CLASS_MIN_USABLE = 0.25
_SHAPE_MIN_LEVEL = 0.1
#: Noise is measured only where Poisson noise (1/e in relative variance) is small next to it.
_NOISE_MIN_EXPECTED = 50
_TAIL_MIN_HOURS = 200
_TAIL_QUANTILE = 0.95
_TAIL_Z = 1.96
_HOUR_TAIL_MIN_HOURS = 400
_HOUR_TAIL_QUANTILE = 0.995
_HOUR_TAIL_Z = 2.81
_HEAVY_TAIL = 1.5


@dataclass(frozen=True)
class Baseline:
    """Expected value per hour, and the noise around it.

    ``noise`` is the independent, multiplicative per-hour noise (relative standard deviation);
    ``hour_noise``, when larger, is the noise a *single* hour is judged with (heavy tails, see
    :func:`measure_hour_noise`); ``pooled`` is roughly how many hours each expected value was
    estimated from (``heavy_tailed``: see :func:`heavy_tailed`), so the
    estimate's own relative variance for an hour expecting ``e`` is about ``1 / (pooled x e)``.
    """

    expected: tuple[float, ...]
    noise: float
    pooled: float
    mode: str
    hour_noise: float = 0.0
    heavy_tailed: bool = False


def _keys(timestamps: Sequence[int]) -> tuple[list[int], list[int], int, int, str]:
    """Profile key, level group, their counts and the mode name for each hour."""
    days = [ts // _DAY for ts in timestamps]
    hods = [(ts // 3600) % 24 for ts in timestamps]
    dows = [(d + 3) % 7 for d in days]  # 1970-01-01 was a Thursday; Monday = 0
    n_days = len(timestamps) / 24
    if n_days >= 21:
        return (
            [dw * 24 + h for dw, h in zip(dows, hods, strict=True)],
            [0] * len(days),
            168,
            1,
            "hour-of-week",
        )
    if n_days >= 14:
        return hods, dows, 24, 7, "hour-of-day x weekday"
    groups = [1 if dw >= 5 else 0 for dw in dows]
    if min(groups.count(0), groups.count(1)) < 24:
        return hods, [0] * len(days), 24, 1, "hour-of-day"
    return hods, groups, 24, 2, "hour-of-day x weekday/weekend"


def _smooth(profile: list[float], exposure: list[float], samples: list[int], noise: float) -> bool:
    """Smooth *profile* in place over neighbouring hours where the data allow; True if any was.

    ``exposure[k]`` is the sum of the levels behind key *k*, so ``value x exposure`` is a count:
    an hour keeps its own value when its count is clearly off the smoothed one (a cliff at the
    start of the weekend, a nightly job), judged as Poisson plus multiplicative noise.
    """
    size = len(profile)
    raw = profile[:]
    smoothed_any = False
    for k in range(size):
        if samples[k] == 0:
            continue
        s = (raw[k - 1] + 2 * raw[k] + raw[(k + 1) % size]) / 4
        if s <= 0:
            continue
        count, smooth_count = raw[k] * exposure[k], s * exposure[k]
        sd = math.sqrt(smooth_count + (noise * smooth_count) ** 2 / samples[k])
        if abs(count - smooth_count) <= _SMOOTH_SIGMAS * max(sd, 1.0):
            profile[k] = s
            smoothed_any = True
    return smoothed_any


def _spread(logs: list[float]) -> float:
    """Standard deviation of log ratios, measured in the middle (MAD) and in the tails.

    Real hourly traffic is heavy-tailed: a robust MAD describes the middle well and makes 3x
    hours look like 6-sigma events. Where there are enough hours, the 95th percentile of the
    absolute deviations (as a normal would have it, 1.96 sigma) is a second estimate, and the
    larger one is used. At that percentile one in twenty hours may be anomalous (a holiday's ten
    business hours in four weeks of them) without the estimate noticing.
    """
    middle = mad_sigma(logs)
    if len(logs) < _TAIL_MIN_HOURS:
        return middle
    centre = median(logs)
    deviations = sorted(abs(v - centre) for v in logs)
    tail = deviations[int(_TAIL_QUANTILE * (len(deviations) - 1))] / _TAIL_Z
    return max(middle, tail)


def measure_hour_noise(values: Sequence[float], expected: Sequence[float], noise: float) -> float:
    """Noise for judging one hour alone, from the far tail of this account's own hours.

    Hourly traffic has heavy tails (retries, a client's burst): its most extreme hours are far
    beyond what the noise of a typical hour predicts, while a run of several hours averages them
    out. With four weeks of busy hours, the 99.5th percentile of absolute log deviations (2.81
    sigma for a normal) says how wild a single hour gets here; it is used for one-hour windows.
    """
    busy = [(x, e) for x, e in zip(values, expected, strict=True) if e >= _NOISE_MIN_EXPECTED]
    if len(busy) < _HOUR_TAIL_MIN_HOURS:
        return noise
    logs = [math.log((x + 0.5) / (e + 0.5)) for x, e in busy]
    centre = median(logs)
    deviations = sorted(abs(v - centre) for v in logs)
    tail = deviations[int(_HOUR_TAIL_QUANTILE * (len(deviations) - 1))] / _HOUR_TAIL_Z
    var = tail * tail - median([1 / e for _, e in busy])
    return min(max(math.sqrt(max(var, 0.0)), noise), 1.0)


def heavy_tailed(values: Sequence[float], expected: Sequence[float]) -> bool:
    """True when this account's far-tail hours stray much further than a normal tail would.

    Compares the 99.5th percentile of absolute log deviations with what the median absolute
    deviation predicts for it (2.81 sigma): about 1 for normal noise, 2.3 for a Student t with
    three degrees of freedom. Needs :data:`_HOUR_TAIL_MIN_HOURS` busy hours; False otherwise.
    """
    busy = [(x, e) for x, e in zip(values, expected, strict=True) if e >= _NOISE_MIN_EXPECTED]
    if len(busy) < _HOUR_TAIL_MIN_HOURS:
        return False
    logs = [math.log((x + 0.5) / (e + 0.5)) for x, e in busy]
    centre = median(logs)
    deviations = sorted(abs(v - centre) for v in logs)
    tail = deviations[int(_HOUR_TAIL_QUANTILE * (len(deviations) - 1))]
    return tail > _HEAVY_TAIL * _HOUR_TAIL_Z * mad_sigma(logs)


def measure_noise(
    values: Sequence[float], expected: Sequence[float], default: float, floor: float
) -> float:
    """Multiplicative noise left after the fit (relative standard deviation per hour).

    Measured where Poisson noise does not swamp it (expected >= 50); where too few hours are that
    busy it is measured on hours expecting 10 or more but never taken below *default*, since a
    low-volume estimate is too rough to trust when it says "quieter than usual".
    """
    for min_expected, lower in ((_NOISE_MIN_EXPECTED, floor), (10.0, default)):
        busy = [(x, e) for x, e in zip(values, expected, strict=True) if e >= min_expected]
        if len(busy) >= 24:
            logs = [math.log((x + 0.5) / (e + 0.5)) for x, e in busy]
            var = _spread(logs) ** 2 - median([1 / e for _, e in busy])
            return min(max(math.sqrt(max(var, 0.0)), lower), 1.0)
    return default


@dataclass
class _Fit:
    """State of one iterative fit."""

    values: Sequence[float]
    pkey: list[int]
    group: list[int]
    n_keys: int
    n_groups: int
    noise: float
    trim: float


def _levels(fit: _Fit, profile: list[float], usable: list[bool]) -> list[float]:
    """Level per day class, from its usable hours unless too few of them are (its own pattern)."""
    kept: list[list[float]] = [[] for _ in range(fit.n_groups)]
    every: list[list[float]] = [[] for _ in range(fit.n_groups)]
    for t, x in enumerate(fit.values):
        p = profile[fit.pkey[t]]
        if p > 0:
            every[fit.group[t]].append(x / p)
            if usable[t]:
                kept[fit.group[t]].append(x / p)
    return [
        trimmed_mean(k if len(k) >= _CLASS_MIN_USABLE * len(e) else e, 0.25)
        for k, e in zip(kept, every, strict=True)
    ]


def _iterate(fit: _Fit, usable: list[bool]) -> tuple[list[float], float, list[bool]]:
    """Refit levels and profile a few times, masking outlying hours; (expected, pooled, usable)."""
    n = len(fit.values)
    profile = [1.0] * fit.n_keys
    expected, pooled = [0.0] * n, 1.0
    for _ in range(_ITERATIONS):
        level = _levels(fit, profile, usable)
        # A class far quieter than the others (weekends of a weekday-only workload) says little
        # about the daily shape, and dividing its few calls by its tiny level makes wild values.
        shaping = [lv > 0 and lv >= _SHAPE_MIN_LEVEL * max(level) for lv in level]
        by_key: list[list[tuple[float, float]]] = [[] for _ in range(fit.n_keys)]
        masked: list[list[tuple[float, float]]] = [[] for _ in range(fit.n_keys)]
        for t, x in enumerate(fit.values):
            lv = level[fit.group[t]]
            if shaping[fit.group[t]]:
                (by_key if usable[t] else masked)[fit.pkey[t]].append((x / lv, lv))
        # Every sample of a key masked: that hour moved for good, so take what it is now.
        by_key = [v or m for v, m in zip(by_key, masked, strict=True)]
        profile = [trimmed_mean([r for r, _ in v], fit.trim) for v in by_key]
        exposure = [sum(lv for _, lv in v) for v in by_key]
        samples = [len(v) for v in by_key]
        smoothed = _smooth(profile, exposure, samples, fit.noise)
        pooled = max(median([float(s) for s in samples if s]), 1.0) * (2.5 if smoothed else 1.0)
        expected = [profile[fit.pkey[t]] * level[fit.group[t]] for t in range(n)]
        usable = [
            abs(math.log((x + 1) / (e + 1))) <= _MASK_LOG
            for x, e in zip(fit.values, expected, strict=True)
        ]
    return expected, pooled, usable


def fit_baseline(
    values: Sequence[float],
    timestamps: Sequence[int],
    *,
    default_noise: float = 0.2,
    min_noise: float = 0.08,
    trim: float = 0.1,
) -> Baseline:
    """Fit the seasonal baseline of one hourly metric (see the module docstring)."""
    pkey, group, n_keys, n_groups, mode = _keys(timestamps)
    usable = [True] * len(values)
    if n_groups > 1:
        # A first fit with a single level marks the hours far off the daily pattern (an outage
        # of a day or more), so that they cannot become their day class's level.
        one = _Fit(values, pkey, [0] * len(values), n_keys, 1, default_noise, trim)
        usable = _iterate(one, usable)[2]
    fit = _Fit(values, pkey, group, n_keys, n_groups, default_noise, trim)
    expected, pooled, _ = _iterate(fit, usable)
    noise = measure_noise(values, expected, default_noise, min_noise)
    return Baseline(tuple(expected), noise, pooled, mode)
