"""Small robust statistics on plain lists (stdlib only, so ``keyops usage`` starts fast)."""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Scale factor that turns a median absolute deviation into a standard deviation (normal data).
MAD_TO_SIGMA = 1.4826


def median(values: Sequence[float]) -> float:
    """Median of *values*; 0.0 for an empty sequence."""
    if not values:
        return 0.0
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def trimmed_mean(values: Sequence[float], trim: float) -> float:
    """Mean after dropping the lowest and highest *trim* fraction (at least one each when n >= 3).

    Used instead of a plain median for count baselines: it is as robust to a few outlying hours,
    but does not snap to integers when counts are small (the median of Poisson(1.5) draws is 1).
    """
    n = len(values)
    if n == 0:
        return 0.0
    cut = math.ceil(trim * n) if n >= 3 else 0
    ordered = sorted(values)
    kept = ordered[cut : n - cut] or ordered
    return sum(kept) / len(kept)


def mad_sigma(values: Sequence[float]) -> float:
    """Robust standard deviation: 1.4826 x the median absolute deviation from the median."""
    centre = median(values)
    return MAD_TO_SIGMA * median([abs(v - centre) for v in values])


def surprise(observed: float, expected: float, size: float) -> float:
    """How unlikely *observed* is under a negative binomial with this mean and size, in nats.

    This is the log-likelihood ratio (the Chernoff bound: ``P <= exp(-surprise)``) for counts with
    variance ``expected + expected**2 / size``: Poisson noise plus multiplicative noise of
    relative variance ``1 / size``. ``size = inf`` gives the plain Poisson bound. It works the same
    for 3 calls an hour and for 30,000, which is why one threshold serves every resource.
    """
    mu = max(expected, 1e-9)
    x = max(observed, 0.0)
    head = x * math.log(x / mu) if x > 0 else 0.0
    if math.isinf(size):
        return max(head - x + mu, 0.0)
    return max(head - (x + size) * math.log((x + size) / (mu + size)), 0.0)


def log_surprise(observed: float, expected: float, rel_var: float) -> float:
    """Surprise in nats of *observed* under log-normal multiplicative noise of relative variance
    *rel_var* around *expected* (no Poisson part): ``z**2 / 2`` on the log scale."""
    if rel_var <= 0:
        return math.inf
    z = math.log((observed + 0.5) / (expected + 0.5)) / math.sqrt(math.log1p(rel_var))
    return z * z / 2


def z_score(nats: float) -> float:
    """A surprise in nats expressed as an equivalent one-sided normal z (``sqrt(2 S)``)."""
    return math.sqrt(2.0 * max(nats, 0.0))
