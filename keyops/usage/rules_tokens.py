"""Token spend jumps: more tokens than usual for these hours, or than these calls usually cost."""

from __future__ import annotations

from keyops.severity import Severity
from keyops.usage import wording as w
from keyops.usage.baseline import Baseline, fit_baseline, measure_noise
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.model import Finding, from_epoch
from keyops.usage.sensitivity import Sensitivity
from keyops.usage.stats import mad_sigma, median, trimmed_mean
from keyops.usage.windows import Interval, WindowRule, find_intervals

WINDOWS = (1, 2, 3, 4, 6)
#: Where the volume is too low to measure it, token totals are assumed noisier than call counts:
#: call sizes vary between consumers and from hour to hour.
TOKEN_NOISE_FACTOR = 1.5
#: Bounds on the squared coefficient of variation of tokens per call. The floor is there because
#: a heavy tail (the odd 100k-token prompt) hides from a trimmed estimate.
CV2_BOUNDS = (0.5, 4.0)
CV2_DEFAULT = 1.0


def _tokens_per_call(m: HourlyMetrics) -> float:
    """Typical tokens per successful call (median over hours that had calls)."""
    return median([t / c for t, c in zip(m.tokens, m.ok, strict=True) if c >= 1])


def call_size_cv2(m: HourlyMetrics, per_call: float) -> float:
    """How much call sizes vary (squared coefficient of variation of tokens per call).

    An hour's tokens per call is the mean of ``ok`` call sizes, so its relative variance is
    ``cv2 / ok`` plus hour-to-hour drift (measured on busy hours, where ``cv2 / ok`` vanishes).
    Each quieter hour then gives ``(deviation**2 - drift) x ok`` as an estimate of ``cv2``; a
    trimmed mean of those is the answer. Too few quiet hours: it hardly matters, use 1.
    """
    dev = [(t / (c * per_call) - 1, c) for t, c in zip(m.tokens, m.ok, strict=True) if c >= 1]
    busy = [d for d, c in dev if c >= 50]
    drift = (mad_sigma(busy) ** 2) if len(busy) >= 24 else 0.0
    quiet = [(d * d - drift) * c for d, c in dev if c < 50]
    if len(quiet) < 24:
        return CV2_DEFAULT
    return min(max(trimmed_mean(quiet, 0.05), CV2_BOUNDS[0]), CV2_BOUNDS[1])


def token_spend(
    m: HourlyMetrics, calls: Baseline, spike_ivs: list[Interval], sens: Sensitivity
) -> list[Finding]:
    """Token jumps by either test, merged; a call spike alone does not count as one.

    *Volume*: tokens against their own seasonal baseline (someone else's traffic on the key).
    *Intensity*: tokens against this hour's successful calls x the usual tokens per call (much
    bigger requests); it is unaffected by call noise, and a call spike does not trip it.
    Tokens are counted in units chosen so that their noise is Poisson-like again: a sum of a
    Poisson number of calls of varying size has variance ``(1 + cv2) x size x mean``; with the
    number of calls known (intensity) it is ``cv2 x size x mean``.
    """
    per_call = _tokens_per_call(m)
    if per_call <= 0:
        return []
    cv2 = call_size_cv2(m, per_call)
    default = sens.default_noise * TOKEN_NOISE_FACTOR
    found: list[Interval] = []
    for unit, test in ((per_call * (1 + cv2), "volume"), (per_call * cv2, "intensity")):
        effective = [t / unit for t in m.tokens]
        rule = WindowRule(
            up=True,
            ratio=sens.token_ratio,
            min_score=sens.min_score,
            windows=WINDOWS,
            min_excess_per_hour=sens.token_min_excess / unit,
        )
        if test == "volume":
            volume = fit_baseline(effective, m.series.timestamps, default_noise=default)
            ivs = find_intervals(effective, volume.expected, volume.noise, volume.pooled, rule)
            found += [iv for iv in ivs if not _explained_by_spike(iv, m, calls, spike_ivs, sens)]
            usual = [e * unit for e in volume.expected]
        else:
            by_calls = [ok * per_call / unit for ok in m.ok]
            noise = measure_noise(effective, by_calls, default, 0.08)
            found += find_intervals(effective, by_calls, noise, max(m.series.hours / 24, 1.0), rule)
    return [_finding(m, iv, usual, per_call) for iv in _union(found, m.tokens)]


def _explained_by_spike(
    iv: Interval, m: HourlyMetrics, calls: Baseline, spikes: list[Interval], sens: Sensitivity
) -> bool:
    """A token rise that a call spike over the same hours accounts for (same tokens per call)."""
    if not any(s.start < iv.end and iv.start < s.end for s in spikes):
        return False
    call_ratio = sum(m.calls[iv.start : iv.end]) / max(sum(calls.expected[iv.start : iv.end]), 1e-9)
    token_ratio = iv.observed / max(iv.expected, 1e-9)
    return token_ratio / max(call_ratio, 1e-9) < sens.token_ratio


def _union(intervals: list[Interval], tokens: list[float]) -> list[Interval]:
    """Overlapping intervals from the two tests become one (best score, widest span)."""
    out: list[Interval] = []
    for iv in sorted(intervals, key=lambda v: v.start):
        if out and iv.start < out[-1].end:
            last = out[-1]
            start, end = last.start, max(last.end, iv.end)
            peak = max(last.peak, iv.peak, key=lambda t: tokens[t])
            out[-1] = Interval(start, end, 0.0, 0.0, max(last.score, iv.score), peak)
        else:
            out.append(iv)
    return out


def _finding(m: HourlyMetrics, iv: Interval, usual: list[float], per_call: float) -> Finding:
    """Word a token-spend interval, in tokens."""
    hours = iv.end - iv.start
    obs = sum(m.tokens[iv.start : iv.end]) / hours
    exp = sum(usual[iv.start : iv.end]) / hours
    ratio = obs / max(exp, 1e-9)
    ok = sum(m.ok[iv.start : iv.end])
    call_size = (obs * hours / ok) / per_call if ok else 0.0
    first, last = m.bounds(iv)
    message = (
        f"Tokens rose to {w.count(obs)}/h, {ratio:.1f}x the usual {w.count(exp)}/h for these "
        f"hours, with {call_size:.1f}x the usual {w.count(per_call)} tokens per call, from "
        f"{w.span(from_epoch(first), from_epoch(last))} (score {iv.score:.1f}). Why it matters: "
        "token spend is what a leaked key costs; a jump no known consumer explains suggests "
        "someone else is using the key, or a consumer is looping or sending huge prompts."
    )
    advice = (
        "Compare with consumers' releases and prompts; if unexplained, rotate the key "
        "(keyops rotate) and set a tokens-per-minute quota on the deployments."
    )
    severity = Severity.HIGH if max(ratio, call_size) >= 5 else Severity.MEDIUM
    return m.make(iv, "token_spend", severity, obs, exp, "tokens/h", (message, advice))
