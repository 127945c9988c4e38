"""Volume rules: call spikes and calls dropping to (near) zero.

A drop is judged on the total of a window of 2 to 24 hours against its expected total, so that a
quiet resource can show one: at 5 calls/h, three hours down to 10% are ~15 expected calls against
1 or 2 seen, which only the window's total (Poisson counts, widened by the hourly noise and the
baseline's own estimation error) can tell from noise. The window must be at most ``drop_ratio`` of
usual with ``drop_min_expected`` calls expected, and clear ``drop_min_score``, a little below the
spike bar: a count falling to a fifth of a sizeable expectation is a discrete, well-modelled event,
while a spike's total has the heavier real-world tail (batch jobs, load tests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from keyops.severity import Severity
from keyops.usage import wording as w
from keyops.usage.baseline import Baseline
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.model import Finding, from_epoch
from keyops.usage.sensitivity import Sensitivity
from keyops.usage.stats import surprise, z_score
from keyops.usage.windows import Interval, WindowRule, find_intervals

SPIKE_WINDOWS = (1, 2, 3, 4, 6)
#: On a bursty account a spike resting on a single hour needs this many times usual.
SINGLE_HOUR_RATIO = 20.0
#: An isolated hour at least this many times usual (and clearly so for Poisson counts) with both
#: neighbours under :data:`BURST_NEIGHBOUR_RATIO` is a burst; :data:`BURSTY_MIN` of them in the
#: data make the account bursty.
BURST_RATIO = 2.0
BURST_NEIGHBOUR_RATIO = 1.5
BURST_MIN_Z = 3.0
BURSTY_MIN = 1
#: A sustained rise: this share of the spike ratio for this many hours in a row or more, adding
#: this many times the account's average hourly calls each hour (see :func:`sustained`).
SUSTAINED_SHARE = 2 / 3
SUSTAINED_HOURS = 3
SUSTAINED_LEVELS = 2.0
SUSTAINED_WINDOWS = (3, 4, 6)
DROP_WINDOWS = (2, 3, 4, 6, 8, 12, 24)
#: A lone burst (see :func:`is_lone_burst`) is still an alarm when its tokens per call are this
#: many times the account's recent ones or fewer by the same factor (on :data:`BURST_MIN_CALLS`
#: calls or more), or when its failed share rose by :data:`BURST_ERROR_RISE` on
#: :data:`BURST_MIN_ERRORS` failures or more.
BURST_TOKEN_FACTOR = 2.0
BURST_MIN_CALLS = 5.0
BURST_ERROR_RISE = 0.1
BURST_MIN_ERRORS = 10.0
#: Tokens per call are compared with the median of the hours in this many hours before the burst.
BURST_TOKEN_HISTORY = 168


def spikes(m: HourlyMetrics, base: Baseline, sens: Sensitivity) -> list[Interval]:
    """Runs of hours with far more authenticated calls than usual.

    Multi-hour confirmation: the hours of a spike must themselves be past the ratio, at least two
    of them, or it rests on one hour (a window of several hours can pass on one huge hour's
    total). A spike resting on one hour is judged as a single hour, and on a bursty account
    (:func:`bursty`: its own data hold lone hours far over usual) a single hour must be extreme:
    a bursty agent's hour looks the same as a one-hour abuse until it is that large, while a
    runaway client or a leaked key runs for hours.
    """
    rule = WindowRule(
        up=True,
        ratio=sens.spike_ratio,
        min_score=sens.min_score,
        windows=SPIKE_WINDOWS,
        min_excess_per_hour=sens.spike_min_excess,
    )
    found = find_intervals(
        m.calls, base.expected, base.noise, base.pooled, rule, hour_noise=base.hour_noise
    )
    out = []
    for iv in found:
        past = [t for t in range(iv.start, iv.end) if _past(m, base, t, sens.spike_ratio)]
        extreme = any(_past(m, base, t, SINGLE_HOUR_RATIO) for t in past)
        if len(past) >= 2 or extreme or not _wild(m, base, iv):
            out.append(iv)
    more = [iv for iv in sustained(m, base, sens) if not any(_overlap(iv, o) for o in out)]
    return sorted(out + more, key=lambda iv: iv.start)


def sustained(m: HourlyMetrics, base: Baseline, sens: Sensitivity) -> list[Interval]:
    """Runs of :data:`SUSTAINED_HOURS` or more at :data:`SUSTAINED_SHARE` of the spike ratio,
    each hour past it, adding :data:`SUSTAINED_LEVELS` x the account's average hourly calls.

    A runaway client adds calls in proportion to the account's size, not to the hour's: at the
    daily peak, five times the average on top of the peak's traffic is only twice the hour's
    usual. Hours of it in a row, each that far up, are what no bursty hour or noisy day makes.
    """
    average = sum(base.expected) / max(len(base.expected), 1)
    ratio = sens.spike_ratio * SUSTAINED_SHARE
    rule = WindowRule(
        up=True,
        ratio=ratio,
        min_score=sens.min_score,
        windows=SUSTAINED_WINDOWS,
        min_excess_per_hour=max(sens.spike_min_excess, SUSTAINED_LEVELS * average),
        min_hours=SUSTAINED_HOURS,
    )
    found = find_intervals(m.calls, base.expected, base.noise, base.pooled, rule)
    return [
        iv
        for iv in found
        if sum(_past(m, base, t, ratio) for t in range(iv.start, iv.end)) >= SUSTAINED_HOURS
    ]


def is_lone_burst(m: HourlyMetrics, base: Baseline, iv: Interval, sens: Sensitivity) -> bool:
    """True when a spike is a lone burst on a bursty account: information, not an alarm.

    It rests on one hour past the spike ratio, the account's own data already hold such lone
    hours (:func:`_wild`), it is no part of a :func:`sustained` rise, and nothing but the volume
    moved: tokens per call and the failed share are what they usually are. A bursty client
    sends more of its ordinary calls for an hour; a leaked key or a broken client shows in what
    the calls are or in how they fail, or lasts.
    """
    past = [t for t in range(iv.start, iv.end) if _past(m, base, t, sens.spike_ratio)]
    if len(past) >= 2 or not _wild(m, base, iv):
        return False
    if any(_overlap(iv, run) for run in sustained(m, base, sens)):
        return False
    return not _tokens_moved(m, iv) and not _errors_moved(m, iv)


def _tokens_moved(m: HourlyMetrics, iv: Interval) -> bool:
    calls = sum(m.calls[iv.start : iv.end])
    tokens = sum(m.tokens[iv.start : iv.end])
    lo = max(iv.start - BURST_TOKEN_HISTORY, 0)
    before = sorted(
        m.tokens[t] / m.calls[t] for t in range(lo, iv.start) if m.calls[t] >= BURST_MIN_CALLS
    )
    if calls < BURST_MIN_CALLS or not before or before[len(before) // 2] <= 0:
        return False
    ratio = (tokens / calls) / before[len(before) // 2]
    return ratio >= BURST_TOKEN_FACTOR or ratio <= 1 / BURST_TOKEN_FACTOR


def _errors_moved(m: HourlyMetrics, iv: Interval) -> bool:
    calls = sum(m.calls[iv.start : iv.end])
    errors = sum(m.errors[iv.start : iv.end])
    usual_calls = sum(m.calls) - calls
    usual = (sum(m.errors) - errors) / usual_calls if usual_calls > 0 else 0.0
    if errors < BURST_MIN_ERRORS or calls <= 0:
        return False
    return errors / calls >= usual + BURST_ERROR_RISE


def burst_finding(m: HourlyMetrics, iv: Interval) -> Finding:
    """Word a lone burst (severity info)."""
    hours = iv.end - iv.start
    obs, exp = iv.observed / hours, iv.expected / hours
    first, last = m.bounds(iv)
    message = (
        f"Calls rose to {w.count(obs)}/h, {w.against_usual(obs, exp)} for "
        f"{w.span(from_epoch(first), from_epoch(last))}, in one hour (peak "
        f"{w.count(m.calls[iv.peak])} at {w.when(from_epoch(m.series.timestamps[iv.peak]))}), "
        "with the usual tokens per call and failure rate. This account's history already holds "
        "such lone bursts; reported for information."
    )
    advice = "Nothing to do unless bursts like this are new to you or keep coming back."
    return m.make(iv, "spike", Severity.INFO, obs, exp, "calls/h", (message, advice))


def _overlap(a: Interval, b: Interval) -> bool:
    return a.start < b.end and b.start < a.end


def _wild(m: HourlyMetrics, base: Baseline, iv: Interval) -> bool:
    if base.heavy_tailed:
        return True
    return bursty(m.calls, base.expected, range(iv.start - 1, iv.end + 1))


def _past(m: HourlyMetrics, base: Baseline, t: int, ratio: float) -> bool:
    return m.calls[t] >= ratio * base.expected[t] and m.calls[t] > base.expected[t]


def bursty(calls: Sequence[float], expected: Sequence[float], skip: range = range(0)) -> bool:
    """True when the data outside *skip* hold :data:`BURSTY_MIN` lone hours far over usual.

    This is the tail measured where :func:`keyops.usage.baseline.heavy_tailed` cannot (it needs
    hundreds of busy hours): a quiet account's bursty client shows as lone hours at 2-4x usual
    that Poisson counts cannot explain. A runaway of several hours
    is not a lone hour and does not count; the hours under judgement (*skip*) do not either.
    """
    n, lone = len(calls), 0
    for t in range(1, n - 1):
        x, e = calls[t], expected[t]
        if t in skip or x < BURST_RATIO * e or z_score(surprise(x, e, math.inf)) < BURST_MIN_Z:
            continue
        if all(calls[u] < BURST_NEIGHBOUR_RATIO * expected[u] + 1 for u in (t - 1, t + 1)):
            lone += 1
    return lone >= BURSTY_MIN


def spike_finding(m: HourlyMetrics, iv: Interval) -> Finding:
    """Word a spike interval."""
    hours = iv.end - iv.start
    obs, exp = iv.observed / hours, iv.expected / hours
    peak = m.calls[iv.peak]
    ratio = obs / max(exp, 1e-9)
    first, last = m.bounds(iv)
    message = (
        f"Calls rose to {w.count(obs)}/h, {w.against_usual(obs, exp)} for these hours, "
        f"from {w.span(from_epoch(first), from_epoch(last))} (peak {w.count(peak)} at "
        f"{w.when(from_epoch(m.series.timestamps[iv.peak]))}; score {iv.score:.1f}). "
        "Why it matters: an unexplained jump in calls is how a leaked key usually shows up, "
        "before the bill does."
    )
    advice = (
        "Check whether a known consumer explains it (batch job, load test, release). If not, "
        "rotate the key (keyops rotate) and review the resource's diagnostic logs for callers."
    )
    severity = Severity.HIGH if ratio >= 10 else Severity.MEDIUM
    return m.make(iv, "spike", severity, obs, exp, "calls/h", (message, advice))


def drops(m: HourlyMetrics, base: Baseline, sens: Sensitivity) -> list[Interval]:
    """Runs of hours where authenticated calls fell to (near) zero."""
    rule = WindowRule(
        up=False,
        ratio=sens.drop_ratio,
        min_score=sens.drop_min_score,
        windows=DROP_WINDOWS,
        min_expected=sens.drop_min_expected,
        min_hours=sens.drop_min_hours,
    )
    return find_intervals(m.calls, base.expected, base.noise, base.pooled, rule)


def drop_finding(m: HourlyMetrics, iv: Interval) -> Finding:
    """Word a drop interval."""
    hours = iv.end - iv.start
    obs, exp = iv.observed / hours, iv.expected / hours
    ratio = obs / max(exp, 1e-9)
    first, last = m.bounds(iv)
    ongoing = iv.end == m.series.hours
    message = (
        f"Calls fell to {w.count(obs)}/h, {ratio:.0%} of the usual {w.count(exp)}/h, from "
        f"{w.span(from_epoch(first), from_epoch(last))}"
        f"{' and still at the end of the window' if ongoing else ''} (score {iv.score:.1f}). "
        "Why it matters: a consumer probably broke (a stale key after a rotation, a renamed "
        "deployment, a network change); its users are getting errors, not answers."
    )
    advice = (
        "Find the consumer that normally calls at these hours and check its logs; if it started "
        "right after a rotation, make it re-read the Key Vault secret."
    )
    severe = ongoing or (ratio <= 0.05 and hours >= 6)
    severity = Severity.HIGH if severe else Severity.MEDIUM
    return m.make(iv, "drop", severity, obs, exp, "calls/h", (message, advice))
