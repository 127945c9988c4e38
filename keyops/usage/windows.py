"""Find runs of hours that are too high (or too low) against a baseline, at any volume.

Every window of a few chosen lengths is tested on its totals, which is what lets a quiet resource
accumulate evidence over several hours while a busy one is judged hour by hour. A window passes
when it is far enough from normal in *ratio* (the "how far" a user reads), carries enough
*volume* (so that 3 calls against 1 does not alarm) and is *unlikely* under the noise model:
Poisson counts times multiplicative noise (hourly noise plus the baseline's own estimation error),
judged both as a negative binomial and, for the multiplicative part alone, as log-normal, taking
the less surprising of the two (a negative binomial's tail is too light for heavy noise, a
log-normal one ignores Poisson noise at low counts). An expected *share* counted from N events
(the usual error rate) is uncertain by a Gamma-shaped ``1 / (N + 1)``, which the negative binomial
models exactly and the log-normal test leaves out. Overlapping passing windows merge into a
group, in which the strongest passing window is reported, so that the reported start is the hour
the anomaly began.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from keyops.usage.stats import log_surprise, surprise, z_score

#: How surprising (Poisson z) a neighbouring hour must be to join an anomaly it borders.
EXTEND_SCORE = 1.5


@dataclass(frozen=True)
class WindowRule:
    """Thresholds of one window search.

    ``up``: look for excess (``X >= ratio x E``) or, if False, for shortfall (``X <= ratio x E``).
    ``min_excess_per_hour`` and ``min_observed`` (up) and ``min_expected`` (down, on the window's
    total) are the minimum volume; ``min_share`` asks ``X`` to be that share of a ``share_of``
    total (an error rate). ``min_score`` is the z-like bar on the window's surprise, and
    ``windows`` the window lengths tried (hours).
    """

    up: bool
    ratio: float
    min_score: float
    windows: tuple[int, ...]
    min_excess_per_hour: float = 0.0
    min_expected: float = 0.0
    min_hours: int = 1
    min_observed: float = 0.0
    min_share: float = 0.0


@dataclass(frozen=True)
class Interval:
    """A run of anomalous hours ``[start, end)`` with its totals and strength."""

    start: int
    end: int
    observed: float
    expected: float
    score: float
    peak: int


def _extra(e_sum: float, e2_sum: float, hours: int, noise: float, pooled: float) -> float:
    """Relative variance of a window total beyond Poisson: hourly noise plus estimation error."""
    estimate = 1.0 / (pooled * max(e_sum / hours, 0.5)) + noise * noise / pooled
    return noise * noise * e2_sum / (e_sum * e_sum) + estimate


def _cumulative(values: Sequence[float]) -> list[float]:
    out = [0.0]
    for v in values:
        out.append(out[-1] + v)
    return out


class _Windows:
    """Window totals in O(1) from cumulative sums, and the window test of a rule."""

    def __init__(
        self,
        observed: Sequence[float],
        expected: Sequence[float],
        noise: float,
        pooled: float,
        rule: WindowRule,
        share_of: Sequence[float] | None,
        events: float | None = None,
        hour_noise: float | None = None,
    ) -> None:
        self.observed, self.expected, self.rule = observed, expected, rule
        self.hour_noise = hour_noise
        self.noise, self.pooled, self.events = noise, pooled, events
        self.share_of = share_of
        self.co, self.ce = _cumulative(observed), _cumulative(expected)
        self.ce2 = _cumulative([e * e for e in expected])
        self.cd = _cumulative(share_of) if share_of is not None else None

    def score(self, i: int, j: int) -> float | None:
        """The window ``[i, j)``'s z-like score if it passes the rule, else None."""
        rule, w = self.rule, j - i
        x, e = self.co[j] - self.co[i], self.ce[j] - self.ce[i]
        if w < rule.min_hours:
            return None
        if rule.up:
            if x < rule.ratio * e or x - e < rule.min_excess_per_hour * w or x < rule.min_observed:
                return None
            if self.cd is not None and x < rule.min_share * (self.cd[j] - self.cd[i]):
                return None
        elif x > rule.ratio * e or e < rule.min_expected:
            return None
        z = self.strength(i, j)
        return z if z >= rule.min_score else None

    def strength(self, i: int, j: int) -> float:
        """The z-like surprise of window ``[i, j)``, whatever the rule's other conditions."""
        x, e = self.co[j] - self.co[i], self.ce[j] - self.ce[i]
        if e <= 0:
            return z_score(surprise(x, e, math.inf))
        e2 = self.ce2[j] - self.ce2[i]
        if self.events is None:
            noise = self.noise
            if j - i == 1 and self.hour_noise is not None:
                noise = max(noise, self.hour_noise)
            extra = _extra(e, e2, j - i, noise, self.pooled)
            return z_score(min(surprise(x, e, 1 / extra), log_surprise(x, e, extra)))
        # A share counted from N events is known to a Gamma-shaped 1 / (N + 1): exactly what a
        # negative binomial adds to Poisson, so the log-normal test covers only the hourly noise.
        multiplicative = self.noise * self.noise * (e2 / (e * e) + 1 / self.pooled)
        extra = multiplicative + 1 / (self.events + 1)
        return z_score(min(surprise(x, e, 1 / extra), log_surprise(x, e, multiplicative)))

    def poisson_surprise(self, i: int, j: int) -> float:
        """Poisson-only surprise of ``[i, j)``: the sharper statistic for *where* an anomaly is.

        With multiplicative noise a longer window averages more hours, so its negative-binomial
        surprise can grow by taking in normal hours next to a huge burst; the Poisson one cannot.
        """
        return surprise(self.co[j] - self.co[i], self.ce[j] - self.ce[i], math.inf)

    def hour_passes(self, t: int) -> bool:
        """Hour *t* alone is past the rule's ratio and per-hour volume, and a little surprising."""
        rule, x, e = self.rule, self.observed[t], self.expected[t]
        if rule.up:
            if x < rule.ratio * e or x - e < rule.min_excess_per_hour:
                return False
            if self.share_of is not None and x < rule.min_share * self.share_of[t]:
                return False
        elif x > rule.ratio * e:
            return False
        return z_score(surprise(x, e, math.inf)) >= EXTEND_SCORE

    def hour_leans(self, t: int) -> bool:
        """Hour *t* is at least on the anomaly's side of normal."""
        x, e = self.observed[t], self.expected[t]
        return x > e if self.rule.up else x < e

    def interval(self, i: int, j: int, z: float) -> Interval:
        """Total up ``[i, j)``; the peak is the most extreme hour."""

        def ratio(t: int) -> float:
            return (self.observed[t] + 0.5) / (self.expected[t] + 0.5)

        hours = range(i, j)
        peak = max(hours, key=ratio) if self.rule.up else min(hours, key=ratio)
        x, e = self.co[j] - self.co[i], self.ce[j] - self.ce[i]
        return Interval(i, j, x, e, z, peak)


def find_intervals(
    observed: Sequence[float],
    expected: Sequence[float],
    noise: float,
    pooled: float,
    rule: WindowRule,
    share_of: Sequence[float] | None = None,
    events: float | None = None,
    hour_noise: float | None = None,
) -> list[Interval]:
    """Intervals where *observed* departs from *expected* as *rule* demands.

    *events*, when given, says that *expected* is a share pooled from that many events (failed
    calls), which is how well it is known; otherwise ``pooled`` hours of each value's volume.
    """
    n = len(observed)
    win = _Windows(observed, expected, noise, pooled, rule, share_of, events, hour_noise)
    hits: list[tuple[int, int]] = []
    co, ce, ratio, up = win.co, win.ce, rule.ratio, rule.up
    for w in rule.windows:
        for i in range(n - w + 1):
            # The ratio test inline first: it rejects nearly every window, and cheaply.
            x, e = co[i + w] - co[i], ce[i + w] - ce[i]
            if (x < ratio * e) if up else (x > ratio * e):
                continue
            if win.score(i, i + w) is not None:
                hits.append((i, i + w))
    return [iv for group in _merge(hits) for iv in _core(group, win)]


def _merge(hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of overlapping or touching windows."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(hits):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _core(group: tuple[int, int], win: _Windows) -> list[Interval]:
    """The anomalies inside a merged group: its strongest passing window, then again in the rest.

    A long window that passes because of one strong hour also covers normal hours around it;
    reporting the whole group would put the start too early. The passing window with the largest
    (Poisson) surprise is the likeliest extent of the anomaly (adding a normal hour dilutes it,
    adding an anomalous one strengthens it); what is left on either side may hold another one.
    """
    start, end = group
    best: tuple[float, int, int] | None = None
    for i in range(start, end):
        for j in range(i + 1, end + 1):
            if win.score(i, j) is not None:
                nats = win.poisson_surprise(i, j)
                if best is None or nats > best[0]:
                    best = (nats, i, j)
    if best is None:
        return []
    _, i, j = best
    i, j = _extend(win, i, j, start, end)
    z = win.strength(i, j)
    return [*_core((start, i), win), win.interval(i, j, z), *_core((j, end), win)]


def _extend(win: _Windows, i: int, j: int, start: int, end: int) -> tuple[int, int]:
    """Grow ``[i, j)`` over neighbouring hours that are anomalous on their own.

    The strongest window can be shorter than the anomaly when its hours vary (one hour at 2.9x
    inside a 4x burst dilutes the total); without this the rest would become a second finding.
    One hour that is merely on the anomaly's side of normal is bridged when the next one is
    anomalous again.
    """
    while i > start:
        if win.hour_passes(i - 1):
            i -= 1
        elif i - 2 >= start and win.hour_leans(i - 1) and win.hour_passes(i - 2):
            i -= 2
        else:
            break
    while j < end:
        if win.hour_passes(j):
            j += 1
        elif j + 1 < end and win.hour_leans(j) and win.hour_passes(j + 1):
            j += 2
        else:
            break
    return i, j
