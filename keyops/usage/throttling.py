"""429s that are the quota doing its job: throttling at a busy time is info, not an anomaly.

Azure OpenAI answers 429 when a deployment's tokens- or requests-per-minute quota is exceeded, so
a quota-bound account throttles a few percent at its daily peak, more after a launch, and during
any burst of its own traffic. An error-rate jump made mostly of 429s, with most calls still
served (under :data:`THROTTLE_MAX_SHARE` failing), is **throttling** (info) when

* it recurs at the same hours on a neighbouring day (:func:`recurs_daily`): the daily peak since
  a launch, not a one-off jump; or
* calls ran at :data:`THROTTLE_LOAD` x the account's level before it, and either under
  :data:`MILD_SHARE` failed or the account's 429s rise with load day after day
  (:func:`throttles_under_load`).

A runaway client behind the load is reported by the spike rule; a jump of 429s with calls as
usual, or half the calls refused, stays an error-rate finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from keyops.severity import Severity
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.model import Finding
from keyops.usage.stats import median

#: Calls at least this many times the level before an error-rate jump: the 429s come with load.
THROTTLE_LOAD = 1.5
#: At or above this share failing, most calls are not served: not "the quota doing its job".
THROTTLE_MAX_SHARE = 0.5
#: Under this share failing, 429s with load are throttling even on an account never throttled
#: before (a launch outgrowing its quota).
MILD_SHARE = 0.1
#: An account throttles under load when its busiest hours' 429 share is this many times its
#: quiet hours' (the median over days).
THROTTLE_PEAK_RATIO = 2.0
#: A 429 share matched to this part at the same hours of a neighbouring day recurs daily.
RECUR_SHARE = 0.5
#: The level before a jump is the lowest over this many hours before it (a launch's ramp).
_LOAD_LOOKBACK = 48


def is_throttling(
    m: HourlyMetrics, f: Finding, expected: Sequence[float], level: Sequence[float]
) -> bool:
    """An error-rate finding that is throttling (see the module docstring); *expected* calls
    per hour and the recent *level* are :func:`keyops.usage.detect.calls_baseline`'s."""
    if f.kind != "error_rate" or f.observed >= THROTTLE_MAX_SHARE:
        return False
    start, end = m.hours_of(f)
    codes = m.error_codes(start, end)
    if codes.get("429", 0.0) < 0.5 * sum(codes.values()):
        return False
    if recurs_daily(m, start, end):
        return True
    before = min(level[max(0, start - _LOAD_LOOKBACK) : start + 1])
    usual = sum(
        e / lv * before for e, lv in zip(expected[start:end], level[start:end], strict=True)
    )
    if sum(m.calls[start:end]) < THROTTLE_LOAD * usual:
        return False
    return f.observed < MILD_SHARE or throttles_under_load(m, expected)


def recurs_daily(m: HourlyMetrics, start: int, end: int) -> bool:
    """The 429 share of ``[start, end)`` is matched (:data:`RECUR_SHARE` of it or more) at the
    same hours the day before or the day after."""
    s429 = m.series.status("429")

    def share(a: int, b: int) -> float:
        calls = sum(m.calls[a:b])
        return sum(s429[a:b]) / calls if calls > 0 else 0.0

    here = share(start, end)
    days = [(start + d, end + d) for d in (-24, 24) if start + d >= 0 and end + d <= m.series.hours]
    return here > 0 and any(share(a, b) >= RECUR_SHARE * here for a, b in days)


def throttles_under_load(m: HourlyMetrics, expected: Sequence[float]) -> bool:
    """True when this account's 429 share is, day after day, well higher at its busiest hours.

    Per day, the share in its busiest quarter of hours (by expected calls) against the share in
    its quieter half; the median over days must be :data:`THROTTLE_PEAK_RATIO` x, so that one
    day's 429 storm does not make an account "quota-bound".
    """
    s429 = m.series.status("429")
    days: dict[int, list[int]] = {}
    for t, ts in enumerate(m.series.timestamps):
        days.setdefault(ts // 86400, []).append(t)
    ratios = []
    for hours in days.values():
        if len(hours) < 24:
            continue
        ranked = sorted(hours, key=lambda t: expected[t])
        quiet, busy = ranked[: len(ranked) // 2], ranked[-len(ranked) // 4 :]
        b429, b_calls = sum(s429[t] for t in busy), sum(m.calls[t] for t in busy)
        q429, q_calls = sum(s429[t] for t in quiet), sum(m.calls[t] for t in quiet)
        if b429 < 5 or b_calls <= 0 or q_calls <= 0:
            ratios.append(0.0)
            continue
        ratios.append((b429 / b_calls) / max((q429 + 1) / q_calls, 1e-6))
    return bool(ratios) and median(ratios) >= THROTTLE_PEAK_RATIO


def throttling_finding(m: HourlyMetrics, f: Finding) -> Finding:
    """Reword an error-rate finding as throttling (info)."""
    message = (
        f"Throttled: {f.message.split(' (score')[0]}, at a busy time for this account (calls "
        "well above its level before, or the same hours of a neighbouring day throttled too). "
        "429 is the quota doing its job; callers that retry with back-off lose nothing."
    )
    advice = (
        "If this recurs at busy hours or since a launch, raise the deployment's tokens-per-minute "
        "quota or spread the load; if the load itself is unexplained, see the spike finding."
    )
    return replace(f, kind="throttling", severity=Severity.INFO, message=message,
                   recommendation=advice)  # fmt: skip
