"""Failure rules: error-rate jumps, 401 surges tied to rotations, key use where none is expected.

Error rate, at any volume: failed calls (not 2xx, not 401) are counted in windows of 1 to 12 hours
against the calls of those hours times the usual share, so that a quiet resource accumulates
evidence over a few hours (at 10 calls/h a 20% rate is two failed calls an hour) while the window
that starts the anomaly still places it to the hour. The usual share is pooled over the week's
normal hours (a median of daily shares says 0 at a few calls an hour, and then any error
"surprises"), at least the median daily and hour-of-day shares. A window passes when it has at
least ``error_min_count`` failures, ``error_rate_min`` of its calls failed, ``error_ratio`` x the
usual count, and the count is unlikely: a Poisson tail on the count given the calls, widened by
the usual share's own uncertainty (a share counted from N failures is known to ``1 / (N + 1)``:
a negative binomial) and by ``RATE_NOISE`` for bursty retries. Because these are counts of
discrete events against a well-defined null, with those hard gates on top, the bar is
``error_min_score`` (4.5), a little below the volume rules' (see ``sensitivity``).

Limit: at 5 calls/h a 10% error rate for an hour is half a failed call; no test can tell that from
background errors. What is found is what the counts allow: about three failures in the hour or two
the anomaly starts with.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from keyops.severity import Severity
from keyops.usage import wording as w
from keyops.usage.baseline import Baseline
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.model import Finding, KeyUsagePolicy, Rotation, from_epoch
from keyops.usage.sensitivity import Sensitivity
from keyops.usage.stats import median, surprise, z_score
from keyops.usage.windows import Interval, WindowRule, find_intervals

ERROR_WINDOWS = (1, 2, 3, 4, 6, 8, 12)
#: Error and 401 rates wander more than call volume does (retries come in bursts).
RATE_NOISE = 0.3
#: Floors on the expected share so that a resource with no errors all week is not "infinitely"
#: surprised by its first few.
ERROR_RATE_FLOOR = 0.001
AUTH_PER_HOUR_FLOOR = 0.05
#: Hours whose error count is this surprising are left out of the usual error share.
_MASK_SCORE = 3.0


def _rates(
    num: Sequence[float], den: Sequence[float], stamps: Sequence[int]
) -> tuple[float, list[float]]:
    """Usual share ``num/den``: the median daily share, and the median share per hour of day."""
    days: dict[int, list[float]] = {}
    by_hod: list[list[float]] = [[] for _ in range(24)]
    for x, n, ts in zip(num, den, stamps, strict=True):
        sums = days.setdefault(ts // 86400, [0.0, 0.0])
        sums[0] += x
        sums[1] += n
        if n > 0:
            by_hod[(ts // 3600) % 24].append(x / n)
    daily = median([a / b for a, b in days.values() if b > 0])
    return daily, [median(v) for v in by_hod]


def _usual_error_share(m: HourlyMetrics, errors: Sequence[float]) -> tuple[float, float]:
    """Usual share of *errors* in the calls, pooled over the hours that look normal, and its count.

    A median of daily shares works when every day has errors to count, but at a few calls an
    hour most days have none and the median says 0 (then any error "surprises"). Pooling all
    hours counts every error; hours whose errors are themselves surprising are left out (three
    refits), so that an anomaly does not raise its own baseline. The share is then known to a
    relative variance of about ``1 / errors``, which the scan adds to its noise.
    """
    share, kept = ERROR_RATE_FLOOR, 0.0
    usual = [True] * len(m.calls)
    for _ in range(3):
        calls = sum(c for c, u in zip(m.calls, usual, strict=True) if u)
        kept = sum(x for x, u in zip(errors, usual, strict=True) if u)
        share = max(kept / calls if calls > 0 else 0.0, ERROR_RATE_FLOOR)
        usual = [
            z_score(surprise(x, share * c, 1 / RATE_NOISE**2)) < _MASK_SCORE
            for x, c in zip(errors, m.calls, strict=True)
        ]
    return share, kept


def _pooled(stamps: Sequence[int]) -> float:
    """Hours behind a usual share: all of them, discounted because it is a median of days."""
    return max(len(stamps) * 0.5, 1.0)


def _expected(
    counts: Sequence[float], share: Sequence[float], volume: Sequence[float], floor: float
) -> list[float]:
    """Usual count per hour: a usual share of the calls, or the usual steady count if higher.

    Failures of a share of every caller scale with traffic; a broken job retrying every minute
    does not, and must not look like a nightly surge when traffic ebbs.
    """
    steady = median(counts)
    return [max(p * v, steady, floor) for p, v in zip(share, volume, strict=True)]


def error_rate(m: HourlyMetrics, sens: Sensitivity) -> list[Finding]:
    """Hours where the share of failed calls jumped: 429s and other failures each on their own.

    They have different usuals: 429s follow load (a quota-bound account throttles a few percent
    at its daily peak, none at night), 5xx and 4xx are a flat share; pooled together, the peak's
    429s would hide a night of 5xx.
    """
    s429 = list(m.series.status("429"))
    other = [max(e - x, 0.0) for e, x in zip(m.errors, s429, strict=True)]
    found = [iv for errors in (s429, other) for iv in _error_intervals(m, errors, sens)]
    return [_error_finding(m, iv) for iv in found]


def _error_intervals(m: HourlyMetrics, errors: list[float], sens: Sensitivity) -> list[Interval]:
    stamps = m.series.timestamps
    pooled_share, count = _usual_error_share(m, errors)
    daily, hourly = _rates(errors, m.calls, stamps)
    share = [max(pooled_share, daily, hourly[(ts // 3600) % 24]) for ts in stamps]
    expected = _expected(errors, share, m.calls, 0.0)
    rule = WindowRule(
        up=True,
        ratio=sens.error_ratio,
        min_score=sens.error_min_score,
        windows=ERROR_WINDOWS,
        min_observed=sens.error_min_count,
        min_share=sens.error_rate_min,
    )
    return find_intervals(errors, expected, RATE_NOISE, _pooled(stamps), rule, m.calls, count)


def _error_finding(m: HourlyMetrics, iv: Interval) -> Finding:
    """Word an error-rate interval, naming the status codes."""
    calls = max(sum(m.calls[iv.start : iv.end]), 1.0)
    rate, usual = iv.observed / calls, iv.expected / calls
    codes = ", ".join(f"{w.count(v)} x {k}" for k, v in m.error_codes(iv.start, iv.end).items())
    first, last = m.bounds(iv)
    message = (
        f"{rate:.0%} of calls failed ({codes}) against a usual {usual:.1%}, from "
        f"{w.span(from_epoch(first), from_epoch(last))} (score {iv.score:.1f}). Why it "
        "matters: 429 means quota exhausted (a runaway or unknown caller), 5xx a service "
        "problem, 400/403/404 a consumer that broke or lost its access."
    )
    advice = (
        "Look at the status codes: for 429 find who is using the quota; for 403 check role "
        "assignments and disableLocalAuth; for 400/404 check deployment names and API versions."
    )
    severity = Severity.HIGH if rate >= 0.5 else Severity.MEDIUM
    return m.make(iv, "error_rate", severity, rate, usual, "share of calls", (message, advice))


def auth_surges(
    m: HourlyMetrics, calls: Baseline, rotations: Sequence[Rotation], sens: Sensitivity
) -> list[Finding]:
    """Hours with far more 401s than usual, each tied to the rotation just before, if any."""
    stamps = m.series.timestamps
    daily, _ = _rates(m.auth_401, m.calls, stamps)
    # 401s scale with traffic (a share of any caller's calls fail auth), so a call spike brings
    # proportionally more of them; only 401s beyond that are a surge.
    volume = [max(c, e) for c, e in zip(m.calls, calls.expected, strict=True)]
    expected = _expected(m.auth_401, [daily] * len(volume), volume, AUTH_PER_HOUR_FLOOR)
    rule = WindowRule(
        up=True,
        ratio=sens.auth_ratio,
        min_score=sens.min_score,
        windows=ERROR_WINDOWS,
        min_excess_per_hour=sens.auth_min_per_hour,
    )
    pooled = _pooled(stamps)
    return [
        _auth_finding(m, iv, _rotation_before(iv, m, rotations, sens.rotation_window_hours))
        for iv in find_intervals(m.auth_401, expected, RATE_NOISE, pooled, rule)
    ]


def _rotation_before(
    iv: Interval, m: HourlyMetrics, rotations: Sequence[Rotation], window_hours: int
) -> Rotation | None:
    """The latest rotation of this resource at most *window_hours* before the surge began."""
    begin = from_epoch(m.series.timestamps[iv.start])
    lo, hi = begin - timedelta(hours=window_hours), begin + timedelta(hours=1)
    rid = m.series.resource_id.lower()
    near = [r for r in rotations if r.resource_id.lower() == rid and lo <= r.rotated_at < hi]
    return max(near, key=lambda r: r.rotated_at, default=None)


def _auth_finding(m: HourlyMetrics, iv: Interval, rotation: Rotation | None) -> Finding:
    """Word a 401 surge, naming the rotation that likely caused it."""
    hours = iv.end - iv.start
    obs, exp = iv.observed / hours, iv.expected / hours
    first, last = m.bounds(iv)
    what = (
        f"401 responses rose to {w.count(obs)}/h, {w.against_usual(obs, exp)}, from "
        f"{w.span(from_epoch(first), from_epoch(last))} (score {iv.score:.1f})"
    )
    if rotation is None:
        message = (
            f"{what}, with no key rotation in the day before. Why it matters: someone is "
            "calling with a wrong or revoked key: a misconfigured consumer, or a leaked old key "
            "being tried."
        )
        advice = "Find the caller in the diagnostic logs; if it is not yours, rotate both keys."
        return m.make(iv, "auth_surge_401", Severity.MEDIUM, obs, exp, "401/h", (message, advice))
    lag = (from_epoch(first) - rotation.rotated_at) / timedelta(hours=1)
    slot = rotation.slot
    key = slot if slot.lower() in ("key1", "key2") else "key"
    secret = rotation.secret_name or "the Key Vault secret"
    version = f" (new version {rotation.secret_version})" if rotation.secret_version else ""
    held = f" from version {rotation.previous_version}" if rotation.previous_version else ""
    message = (
        f"{what}, starting {max(lag, 0):.0f} h after {slot} was regenerated at "
        f"{w.when(rotation.rotated_at)}{version}. Likely cause: consumers still hold the old "
        f"{key} value{held}; they never re-read {secret} (a cached value, a hard-coded "
        "or copied key). Why it matters: their requests are failing now."
    )
    advice = (
        f"Find the callers still on the old {key} value and point them at {secret} "
        "(or move them to Entra ID); the old value cannot be restored. Next time keep the "
        "previous key valid for the consumers' refresh interval before regenerating it."
    )
    return m.make(
        iv, "auth_surge_401", Severity.HIGH, obs, exp, "401/h", (message, advice), rotation
    )


def unexpected_key_use(m: HourlyMetrics, policy: KeyUsagePolicy, first: int = 0) -> list[Finding]:
    """Traffic from hour *first* on a resource whose keys should be unused, as far as metrics tell.

    Metrics carry no authentication method, so the evidence depends on what else is known
    (see :class:`~keyops.usage.model.KeyUsagePolicy`): 403s with local auth disabled, any success
    when no principal could call with a token, otherwise only an unverifiable *info* note.
    """
    rid = m.series.resource_id.lower()
    if rid in policy.local_auth_disabled:
        return _key_use(m, m.auth_403, first, Severity.MEDIUM, _DISABLED)
    if rid not in policy.keys_expected_unused:
        return []
    if rid in policy.no_token_callers:
        return _key_use(m, m.ok, first, Severity.HIGH, _NO_TOKEN_CALLERS)
    return _key_use(m, m.ok, first, Severity.INFO, _UNVERIFIABLE)


_DISABLED = (
    "{n} calls were refused with 403 between {a} and {b} although local auth is disabled. "
    "Why it matters: a key call gets 403 AuthenticationTypeDisabled here, so someone still holds "
    "and tries a key (or a token whose principal lacks a role).",
    "Find the caller in the diagnostic logs and move it to Entra ID, or grant the missing role.",
)
_NO_TOKEN_CALLERS = (
    "{n} calls succeeded between {a} and {b} although keys should be unused and no principal "
    "holds an inference role here, so these calls used an account key. Why it matters: a key "
    "you believe retired is in use, by a forgotten consumer or by someone who copied it.",
    "Rotate both keys (keyops rotate); set disableLocalAuth once the caller is on Entra ID.",
)
_UNVERIFIABLE = (
    "{n} calls succeeded between {a} and {b} on a resource whose keys should be unused. Azure "
    "Monitor does not say whether they used a key or a token, so this is not proof of key use.",
    "To verify, set disableLocalAuth: any remaining key caller then shows up here as 403s.",
)


def _key_use(
    m: HourlyMetrics, counts: list[float], first: int, severity: Severity, text: tuple[str, str]
) -> list[Finding]:
    """One finding spanning the first to last hour (from *first*) with *counts*."""
    busy = [t for t in range(first, len(counts)) if counts[t] > 0]
    if not busy:
        return []
    total = sum(counts[first:])
    iv = Interval(busy[0], busy[-1] + 1, total, 0.0, 0.0, max(busy, key=lambda t: counts[t]))
    begin, end = m.bounds(iv)
    message = text[0].format(
        n=w.count(total), a=w.when(from_epoch(begin)), b=w.when(from_epoch(end))
    )
    per_hour = total / (iv.end - iv.start)
    return [
        m.make(iv, "unexpected_key_use", severity, per_hour, 0.0, "calls/h", (message, text[1]))
    ]
