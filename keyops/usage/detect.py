"""Run every anomaly rule over hourly usage series and return explained findings.

History: ``detect`` uses all hours it is given as the baseline (robust fits ignore the anomalous
hours themselves), and reports only findings that overlap ``since`` onwards when that is set. So a
caller may fetch exactly the report window (7 days: hour-of-day baselines, in-window) or the window
plus a few weeks of history (21+ days in total: hour-of-week baselines) and pass ``since``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from keyops.usage import episodes as ep
from keyops.usage import rules_errors, rules_tokens, rules_traffic
from keyops.usage.baseline import (
    Baseline,
    fit_baseline,
    heavy_tailed,
    measure_hour_noise,
    measure_noise,
)
from keyops.usage.expect import batch_part, local_level, with_batch_slack
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.model import Finding, KeyUsagePolicy, Rotation, UsageSeries
from keyops.usage.sensitivity import Sensitivity
from keyops.usage.throttling import is_throttling, throttling_finding
from keyops.usage.windows import Interval


@dataclass(frozen=True)
class UsageReport:
    """Everything the renderers need: the series, the rotations and the findings."""

    series: tuple[UsageSeries, ...]
    findings: tuple[Finding, ...]
    rotations: tuple[Rotation, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    def findings_for(self, resource_id: str) -> list[Finding]:
        """Findings of one resource, most severe first."""
        return [f for f in self.findings if f.resource_id == resource_id]


def detect(
    series: Iterable[UsageSeries],
    rotations: Sequence[Rotation] = (),
    policy: KeyUsagePolicy | None = None,
    sensitivity: Sensitivity | None = None,
    since: datetime | None = None,
) -> list[Finding]:
    """Findings for every series, most severe first, then by time and resource name."""
    sens = sensitivity or Sensitivity()
    pol = policy or KeyUsagePolicy()
    by_resource: dict[str, list[Rotation]] = {}
    for r in rotations:
        by_resource.setdefault(r.resource_id.lower(), []).append(r)
    found: list[Finding] = []
    for s in series:
        found.extend(detect_one(s, by_resource.get(s.resource_id.lower(), []), pol, sens, since))
    return sort_findings(found)


def analyze(
    series: Sequence[UsageSeries],
    rotations: Sequence[Rotation] = (),
    policy: KeyUsagePolicy | None = None,
    sensitivity: Sensitivity | None = None,
    since: datetime | None = None,
) -> UsageReport:
    """``detect`` wrapped into a :class:`UsageReport` for the renderers."""
    findings = detect(series, rotations, policy, sensitivity, since)
    return UsageReport(tuple(series), tuple(findings), tuple(rotations))


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then earliest, then by resource name and kind."""
    return sorted(findings, key=lambda f: (-f.severity, f.start, f.resource_name, f.kind))


def detect_one(
    series: UsageSeries,
    rotations: Sequence[Rotation],
    policy: KeyUsagePolicy,
    sens: Sensitivity,
    since: datetime | None = None,
) -> list[Finding]:
    """All rules on one series (rotations should be this resource's)."""
    if series.hours < 24:
        return []  # not enough to know what "usual" is
    m = HourlyMetrics.of(series)
    calls, level = calls_baseline(m.calls, series.timestamps, sens.default_noise)
    batch = batch_part(calls.expected)
    upper, lower = with_batch_slack(calls.expected, batch)
    calls = _batch_aware_noise(m.calls, calls, upper, lower, sens.default_noise)
    spike_base = replace(calls, expected=tuple(upper))
    spike_ivs = rules_traffic.spikes(m, spike_base, sens)
    auth = rules_errors.auth_surges(m, calls, rotations, sens)
    drop_ivs = rules_traffic.drops(m, replace(calls, expected=tuple(lower)), sens)
    drops = [iv for iv in drop_ivs if not _explained_by_401(iv, m, auth)]
    found = [
        ep.new_level_finding(m, iv)
        if ep.is_new_level(m, iv, level, upper)
        else rules_traffic.burst_finding(m, iv)
        if rules_traffic.is_lone_burst(m, spike_base, iv, sens)
        else rules_traffic.spike_finding(m, iv)
        for iv in spike_ivs
    ]
    found += [
        ep.quiet_day_finding(m, iv)
        if ep.is_quiet_day(m, iv, lower)
        else rules_traffic.drop_finding(m, iv)
        for iv in drops
    ]
    found += [
        throttling_finding(m, f) if is_throttling(m, f, calls.expected, level) else f
        for f in rules_errors.error_rate(m, sens)
    ]
    found += auth
    found += rules_tokens.token_spend(m, sens, calls.expected, batch, calls.noise)
    found = ep.one_per_episode(found)
    if since is None:
        return found + rules_errors.unexpected_key_use(m, policy)
    first = bisect.bisect_left(series.timestamps, since.timestamp())
    found = [f for f in found if f.end > since]
    return found + rules_errors.unexpected_key_use(m, policy, first)


def calls_baseline(
    calls: list[float], timestamps: Sequence[int], default_noise: float
) -> tuple[Baseline, list[float]]:
    """Hour-of-week baseline times the recent level (see :mod:`keyops.usage.expect`); and level.

    Two rounds: the level is measured against the seasonal fit, the seasonal fit is redone on
    calls divided by the level (so that growth or a launch does not bend the weekly profile).
    """
    base = fit_baseline(calls, timestamps, default_noise=default_noise)
    level = [1.0] * len(calls)
    for _ in range(2):
        level = [a * b for a, b in zip(level, local_level(calls, base.expected), strict=True)]
        flat = [c / lv for c, lv in zip(calls, level, strict=True)]
        seasonal = fit_baseline(flat, timestamps, default_noise=default_noise)
        expected = [e * lv for e, lv in zip(seasonal.expected, level, strict=True)]
        noise = measure_noise(calls, expected, default_noise, 0.08)
        hour_noise = measure_hour_noise(calls, expected, noise)
        heavy = heavy_tailed(calls, expected)
        base = replace(
            seasonal,
            expected=tuple(expected),
            noise=noise,
            hour_noise=hour_noise,
            heavy_tailed=heavy,
        )
    return base, level


def _batch_aware_noise(
    values: list[float],
    base: Baseline,
    upper: Sequence[float],
    lower: Sequence[float],
    default_noise: float,
) -> Baseline:
    """*base* with its noise measured on what batch hours leave unexplained.

    A batch that runs late or is skipped is a large deviation from the hour-of-week fit twice
    (the hour it should have run, the hour it did) but lies inside the batch slack; measured
    against the fit, a few late nights make an account look far noisier than its traffic is, and
    then a real runaway passes for noise. Inside the band ``[lower, upper]`` the residual is 0.
    """
    near = [min(max(x, lo), up) for x, lo, up in zip(values, lower, upper, strict=True)]
    noise = measure_noise(values, near, default_noise, 0.08)
    return replace(
        base,
        noise=noise,
        hour_noise=measure_hour_noise(values, near, noise),
        heavy_tailed=heavy_tailed(values, near),
    )


def _explained_by_401(iv: Interval, m: HourlyMetrics, auth: list[Finding]) -> bool:
    """A drop is the same event as an overlapping 401 surge that accounts for most missing calls.

    When a consumer's key dies its calls turn into 401s, so authenticated calls drop at the same
    time; one finding (the 401 surge, which names the cause) says it better than two.
    """
    first, last = m.bounds(iv)
    missing = iv.expected - iv.observed
    for f in auth:
        if f.start.timestamp() < last and first < f.end.timestamp():
            overlap = sum(m.auth_401[iv.start : iv.end])
            if overlap >= 0.5 * missing:
                return True
    return False
