"""The per-hour quantities the rules look at, derived once from a :class:`UsageSeries`."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from keyops.severity import Severity
from keyops.usage.model import Finding, FindingKind, Rotation, UsageSeries, from_epoch
from keyops.usage.windows import Interval


@dataclass(frozen=True)
class HourlyMetrics:
    """Derived per-hour arrays of one series.

    ``calls`` are requests that got past key checking (everything but 401), the volume spikes and
    drops are judged on, so that a consumer hammering with a dead key is a 401 surge rather than a
    "spike". ``errors`` are the failed ones among them (non-2xx, including 403 and 429).
    """

    series: UsageSeries
    calls: list[float]
    ok: list[float]
    errors: list[float]
    auth_401: list[float]
    auth_403: list[float]
    tokens: list[float]

    @classmethod
    def of(cls, series: UsageSeries) -> HourlyMetrics:
        """Derive the arrays; without a StatusCode split every call counts as a success."""
        n = series.hours
        ok = [0.0] * n
        by_status = series.requests_by_status
        for code, values in by_status.items():
            if code.startswith("2"):
                ok = [a + b for a, b in zip(ok, values, strict=True)]
        a401 = list(series.status("401"))
        if not by_status:
            ok = list(series.requests_total)
        calls = [t - u for t, u in zip(series.requests_total, a401, strict=True)]
        errors = [max(c - s, 0.0) for c, s in zip(calls, ok, strict=True)]
        return cls(series, calls, ok, errors, a401, list(series.status("403")), series.tokens)

    def error_codes(self, start: int, end: int) -> dict[str, float]:
        """Failed calls per status code (not 2xx, not 401) between two hour indexes."""
        out: dict[str, float] = {}
        for code, values in self.series.requests_by_status.items():
            if code.startswith("2") or code == "401":
                continue
            total = sum(values[start:end])
            if total:
                out[code] = total
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def hours_of(self, finding: Finding) -> tuple[int, int]:
        """Hour indexes ``[start, end)`` a finding on this series covers."""
        stamps = self.series.timestamps
        start = bisect.bisect_left(stamps, finding.start.timestamp())
        return start, max(bisect.bisect_left(stamps, finding.end.timestamp()), start + 1)

    def bounds(self, interval: Interval) -> tuple[int, int]:
        """Epoch seconds of an interval's first hour and its (exclusive) end."""
        stamps = self.series.timestamps
        return stamps[interval.start], stamps[interval.end - 1] + 3600

    def make(
        self,
        interval: Interval,
        kind: FindingKind,
        severity: Severity,
        observed: float,
        expected: float,
        unit: str,
        text: tuple[str, str],
        rotation: Rotation | None = None,
    ) -> Finding:
        """A Finding on this series over *interval*; *text* is (message, recommendation)."""
        first, last = self.bounds(interval)
        return Finding(
            kind=kind,
            severity=severity,
            resource_id=self.series.resource_id,
            resource_name=self.series.name,
            start=from_epoch(first),
            end=from_epoch(last),
            observed=round(observed, 4),
            expected=round(expected, 4),
            # A ratio against (almost) nothing expected is no measure: JSON shows null.
            ratio=round(observed / expected, 2) if expected >= 0.01 else float("inf"),
            score=round(interval.score, 2),
            unit=unit,
            message=text[0],
            recommendation=text[1],
            rotation=rotation,
        )
