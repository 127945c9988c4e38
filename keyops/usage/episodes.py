"""Turn raw rule hits into what an operator should read: one finding per account and episode.

* A rise still running at the end of the data, of the size a launch or a new consumer brings
  (under :data:`RUNAWAY_RATIO`), is a **new level** until it ends: info; the recent-level
  baseline takes it over within a day and a half. Data cannot tell it from a runaway client of
  that size before it ends; when it does end, it is a spike, with its whole duration. A rise past
  the ratio is reported at once.
* A drop through most of a day's traffic, or inside a day quiet as a whole, that leaves real
  traffic (above :data:`SILENT_RATIO`) is a **quiet day** (a holiday, a team away): info.
* Findings of one account that overlap or touch (within an hour) are **one episode**: the most
  severe finding speaks for it, spans all of it and names the others (a runaway client shows as
  calls, tokens and 429s at once; one alert, not three).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from keyops.severity import Severity
from keyops.usage import wording as w
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.model import Finding, from_epoch
from keyops.usage.windows import Interval

#: A rise at least this many times usual is a runaway even if it is still going.
RUNAWAY_RATIO = 5.0
#: The recent level at the end this many times the level before a rise: the rise was a step.
SHIFT_RATIO = 1.5
#: Below this share of usual the traffic has stopped: an outage, never a quiet day.
SILENT_RATIO = 0.1
#: A quiet day's drop holds at least this share of the calls expected in the 24 h around it.
QUIET_DAY_SHARE = 0.6
#: ... or sits in 24 h that together ran at most at this share of usual.
QUIET_DAY_RATIO = 0.6
#: A rise under the runaway ratio that ended fewer hours ago than this is still a new level.
SETTLE_HOURS = 3
#: Calls expected after a rise for "still above usual" to mean anything.
_MIN_AFTER = 10.0
_KIND_ORDER = ("auth_surge_401", "drop", "error_rate", "spike", "token_spend")
_GAP = timedelta(hours=1)


def is_new_level(
    m: HourlyMetrics, iv: Interval, level: Sequence[float], expected: Sequence[float]
) -> bool:
    """A rise at a launch's size that is still running at the end (it ended under
    :data:`SETTLE_HOURS` ago, or the hours after it still run well above usual in total), or
    after which the recent level stayed up (the
    baseline took it over; the rise is where it had not yet)."""
    if iv.observed >= RUNAWAY_RATIO * iv.expected:
        return False
    after_x, after_e = sum(m.calls[iv.end :]), sum(expected[iv.end :])
    # Ended less than a few hours ago: one quieter hour does not yet say the rise is over.
    if m.series.hours - iv.end < SETTLE_HOURS:
        return True
    if after_x >= SHIFT_RATIO * max(after_e, _MIN_AFTER):
        return True
    return iv.start > 0 and level[-1] >= SHIFT_RATIO * level[iv.start - 1]


def new_level_finding(m: HourlyMetrics, iv: Interval) -> Finding:
    """Word a new level (info)."""
    hours = iv.end - iv.start
    obs, exp = iv.observed / hours, iv.expected / hours
    first, _ = m.bounds(iv)
    message = (
        f"New level since {w.when(from_epoch(first))}: calls at {w.count(obs)}/h, "
        f"{obs / exp:.1f}x the {w.count(exp)}/h before, for the {hours} h since and still so. "
        "A rise that stays is a launch or a new consumer more often than an anomaly: it becomes "
        "the baseline within a day and a half. If it ends, it is reported as a spike."
    )
    advice = (
        "If nobody launched anything or added a consumer, find the new caller in the "
        "diagnostic logs: a runaway client looks the same until it stops."
    )
    return m.make(iv, "level_shift", Severity.INFO, obs, exp, "calls/h", (message, advice))


def is_quiet_day(m: HourlyMetrics, iv: Interval, expected: Sequence[float]) -> bool:
    """A drop, with traffic carrying on at a lower level, that spans most of the day's traffic
    or sits in a day that is quiet as a whole (the 24 h around it well below usual)."""
    if iv.observed <= SILENT_RATIO * iv.expected or iv.end == m.series.hours:
        return False
    middle = (iv.start + iv.end) // 2
    lo, hi = max(0, middle - 12), middle + 12
    day = sum(expected[lo:hi])
    quiet = sum(m.calls[lo:hi]) <= QUIET_DAY_RATIO * day
    return quiet or iv.expected >= QUIET_DAY_SHARE * day


def quiet_day_finding(m: HourlyMetrics, iv: Interval) -> Finding:
    """Word a quiet day (info)."""
    hours = iv.end - iv.start
    obs, exp = iv.observed / hours, iv.expected / hours
    first, last = m.bounds(iv)
    message = (
        f"A quiet day: calls at {w.count(obs)}/h against a usual {w.count(exp)}/h through the "
        f"busy hours, {w.span(from_epoch(first), from_epoch(last))}, without stopping. Most "
        "often a holiday or a team away; an outage would leave (almost) nothing."
    )
    advice = "Nothing to do unless that day was a working day for this account's users."
    return m.make(iv, "quiet_day", Severity.INFO, obs, exp, "calls/h", (message, advice))


def one_per_episode(findings: Sequence[Finding]) -> list[Finding]:
    """Merge overlapping or touching findings of one account into one (see the module doc)."""
    scored = sorted((f for f in findings if f.kind in _KIND_ORDER), key=lambda f: (f.start, f.end))
    groups: list[list[Finding]] = []
    for f in scored:
        if groups and f.start <= max(g.end for g in groups[-1]) + _GAP:
            groups[-1].append(f)
        else:
            groups.append([f])
    merged = [_merge(g) for g in groups]
    return merged + [f for f in findings if f.kind not in _KIND_ORDER]


def _merge(group: list[Finding]) -> Finding:
    if len(group) == 1:
        return group[0]
    lead = max(group, key=lambda f: (f.severity, -_KIND_ORDER.index(f.kind)))
    others = [f for f in group if f is not lead]
    also = "; ".join(f"{f.kind} {w.span(f.start, f.end)}" for f in others)
    start, end = min(f.start for f in group), max(f.end for f in group)
    return replace(
        lead,
        start=start,
        end=end,
        message=f"{lead.message} Same episode ({w.span(start, end)}): {also}.",
    )
