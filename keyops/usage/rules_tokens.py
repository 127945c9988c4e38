"""Token spend jumps: calls that cost far more tokens than calls at that hour usually do."""

from __future__ import annotations

from collections.abc import Sequence

from keyops.severity import Severity
from keyops.usage import wording as w
from keyops.usage.baseline import measure_noise
from keyops.usage.expect import batch_priced_tokens, slack_hours, tokens_per_call
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
#: A token finding needs this many successful calls, and this many an hour on average: two calls
#: of a heavy-tailed size say nothing about what calls usually cost (one long prompt is 6x).
MIN_CALLS = 5.0
MIN_CALLS_PER_HOUR = 1.5
#: ... and calls at this share of their usual at least. In an outage the few calls left are
#: whichever consumer still gets through (a batch's large prompts, say): what they cost says
#: nothing about call sizes, and the drop is the finding that matters.
MIN_CALL_SHARE = 0.25


def call_size_cv2(m: HourlyMetrics, usual: list[float]) -> float:
    """How much call sizes vary (squared coefficient of variation of tokens per call).

    An hour's tokens per call is the mean of ``ok`` call sizes, so its relative variance is
    ``cv2 / ok`` plus hour-to-hour drift (measured on busy hours, where ``cv2 / ok`` vanishes).
    Each quieter hour then gives ``(deviation**2 - drift) x ok`` as an estimate of ``cv2``; a
    trimmed mean of those is the answer. Too few quiet hours: it hardly matters, use 1.
    """
    dev = [
        (t / (c * u) - 1, c)
        for t, c, u in zip(m.tokens, m.ok, usual, strict=True)
        if c >= 1 and u > 0
    ]
    busy = [d for d, c in dev if c >= 50]
    drift = (mad_sigma(busy) ** 2) if len(busy) >= 24 else 0.0
    quiet = [(d * d - drift) * c for d, c in dev if c < 50]
    if len(quiet) < 24:
        return CV2_DEFAULT
    return min(max(trimmed_mean(quiet, 0.05), CV2_BOUNDS[0]), CV2_BOUNDS[1])


def token_spend(
    m: HourlyMetrics,
    sens: Sensitivity,
    expected: Sequence[float] | None = None,
    batch: Sequence[float] | None = None,
    calls_noise: float = 0.0,
) -> list[Finding]:
    """Hours whose successful calls cost far more tokens than calls at that hour usually do.

    The usual is tokens per call by hour of week (:func:`keyops.usage.expect.tokens_per_call`),
    so nightly batches with large prompts are their own usual. Only the intensity counts: more
    tokens because of more calls is a spike of calls, which the call rules report. Tokens are
    counted in units chosen so that their noise is Poisson-like again: with the number of calls
    known, a sum of calls of varying size has variance ``cv2 x size x mean``. With the calls'
    *expected* curve and its *batch* part, calls near batch hours are priced by
    :func:`keyops.usage.expect.batch_priced_tokens`, and an interval whose calls fell under
    :data:`MIN_CALL_SHARE` of *expected* is left to the drop rule.
    """
    usual = tokens_per_call(m.tokens, m.ok, m.series.timestamps)
    per_call = median([u for u, c in zip(usual, m.ok, strict=True) if c >= 1])
    if per_call <= 0:
        return []
    cv2 = call_size_cv2(m, usual)
    unit = per_call * cv2
    effective = [t / unit for t in m.tokens]
    plain = tokens_per_call(m.tokens, m.ok, m.series.timestamps, slack=False)
    if expected is None or batch is None:
        usual_tokens = [ok * u for ok, u in zip(m.ok, usual, strict=True)]
    else:
        usual_tokens = batch_priced_tokens(plain, usual, m.ok, expected, batch, calls_noise)
    by_calls = [u / unit for u in usual_tokens]
    lowest = [ok * u / unit for ok, u in zip(m.ok, lowest_per_call(plain), strict=True)]
    rule = WindowRule(
        up=True,
        ratio=sens.token_ratio,
        min_score=sens.min_score,
        windows=WINDOWS,
        min_excess_per_hour=sens.token_min_excess / unit,
    )
    noise = measure_noise(
        effective,
        batch_band(effective, lowest, by_calls),
        sens.default_noise * TOKEN_NOISE_FACTOR,
        0.08,
    )
    found = find_intervals(effective, by_calls, noise, max(m.series.hours / 24, 1.0), rule)
    priced = [e * unit for e in by_calls]
    return [
        _finding(m, iv, priced)
        for iv in _union(found, m.tokens)
        if _enough_calls(m, iv) and (expected is None or _calls_as_usual(m, iv, expected))
    ]


def lowest_per_call(plain: Sequence[float]) -> list[float]:
    """Per hour, the lowest usual tokens per call (*plain*: no slack) within the batch slack.

    Near a batch hour the usual is a batch call's cost (a batch may run late); the calls of an
    hour whose batch ran elsewhere, or not at all, cost what the hours around usually do.
    """
    return [min(plain[slack_hours(t)]) for t in range(len(plain))]


def batch_band(
    observed: Sequence[float], lower: Sequence[float], upper: Sequence[float]
) -> list[float]:
    """*observed* moved into ``[lower, upper]``: what to measure the token noise against.

    Near batch hours the usual is a band (a batch's large prompts may come up to the slack late,
    or not at all); measured against its top, every skipped or moved batch and every ordinary
    hour beside one reads as an eight-fold deviation. Those hours made a busy account's noise
    100% and hid a real ten-fold jump. Inside the band the residual is 0, as for calls.
    """
    return [min(max(x, lo), max(lo, up)) for x, lo, up in zip(observed, lower, upper, strict=True)]


def _calls_as_usual(m: HourlyMetrics, iv: Interval, calls: Sequence[float]) -> bool:
    """The interval's calls are at least :data:`MIN_CALL_SHARE` of their usual (*calls*)."""
    return sum(m.calls[iv.start : iv.end]) >= MIN_CALL_SHARE * sum(calls[iv.start : iv.end])


def _enough_calls(m: HourlyMetrics, iv: Interval) -> bool:
    ok = sum(m.ok[iv.start : iv.end])
    return ok >= max(MIN_CALLS, MIN_CALLS_PER_HOUR * (iv.end - iv.start))


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


def _finding(m: HourlyMetrics, iv: Interval, usual: list[float]) -> Finding:
    """Word a token-spend interval, in tokens."""
    hours = iv.end - iv.start
    obs = sum(m.tokens[iv.start : iv.end]) / hours
    exp = sum(usual[iv.start : iv.end]) / hours
    ratio = obs / max(exp, 1e-9)
    ok = sum(m.ok[iv.start : iv.end])
    per_call = exp * hours / ok if ok else 0.0
    first, last = m.bounds(iv)
    message = (
        f"Tokens rose to {w.count(obs)}/h, {ratio:.1f}x what these calls usually cost "
        f"({w.count(exp)}/h): {ratio:.1f}x the usual {w.count(per_call)} tokens per call at "
        "these hours, with calls as usual, from "
        f"{w.span(from_epoch(first), from_epoch(last))} (score {iv.score:.1f}). Why it matters: "
        "token spend is what a leaked key costs; a jump no known consumer explains suggests "
        "someone else is using the key, or a consumer is looping or sending huge prompts."
    )
    advice = (
        "Compare with consumers' releases and prompts; if unexplained, rotate the key "
        "(keyops rotate) and set a tokens-per-minute quota on the deployments."
    )
    severity = Severity.HIGH if ratio >= 5 else Severity.MEDIUM
    return m.make(iv, "token_spend", severity, obs, exp, "tokens/h", (message, advice))
