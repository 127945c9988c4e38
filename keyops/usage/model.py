"""Frozen data for usage analysis: hourly metric series, rotations, policy hints and findings.

Time convention: a :class:`UsageSeries` carries its hours as **epoch seconds (UTC), aligned to the
hour, one per hour with no gaps** (``timestamps[i] == timestamps[0] + 3600 * i``). Epoch integers
are cheap for 1,000 resources x weeks of hours, unambiguous about time zones and trivially
JSON-friendly; an hour with no data point in Azure Monitor is a zero, which
:meth:`UsageSeries.from_points` fills in. Everything a user reads (rotations, findings) uses aware
UTC ``datetime`` values instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

from keyops.severity import Severity

HOUR = 3600

#: The kinds of finding ``detect`` reports.
FindingKind = Literal[
    "spike",
    "drop",
    "error_rate",
    "auth_surge_401",
    "token_spend",
    "unexpected_key_use",
    "level_shift",
    "quiet_day",
    "throttling",
]
FINDING_KINDS: tuple[FindingKind, ...] = (
    "spike",
    "drop",
    "error_rate",
    "auth_surge_401",
    "token_spend",
    "unexpected_key_use",
    "level_shift",
    "quiet_day",
    "throttling",
)


def to_epoch_hour(moment: datetime) -> int:
    """Epoch seconds of the UTC hour containing *moment* (which must be timezone-aware)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware (UTC) datetime")
    epoch = int(moment.timestamp())
    return epoch - epoch % HOUR


def from_epoch(epoch: int) -> datetime:
    """The aware UTC datetime of an epoch second."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def count_of(total: float | None) -> float:
    """A Monitor total as a count: 0 for none, and for one no count can be (negative, NaN or
    infinite: a malformed answer), which is read as no point, as an hour without one is."""
    count = float(total or 0.0)
    return count if 0.0 <= count < math.inf else 0.0


@dataclass(frozen=True)
class UsageSeries:
    """Hourly Azure Monitor metrics of one account (``Microsoft.CognitiveServices/accounts``).

    ``requests_by_status`` maps the ``StatusCode`` dimension value of ``AzureOpenAIRequests``
    ("200", "401", "429", "500", ...) to per-hour totals; ``requests_total`` is their sum (or the
    undivided metric when the split was not available, in which case the mapping is empty).
    ``prompt_tokens``/``generated_tokens`` are ``ProcessedPromptTokens``/``GeneratedTokens``.
    All arrays have one value per timestamp. Treat the mapping as read-only.
    """

    resource_id: str
    name: str
    timestamps: tuple[int, ...]
    requests_total: tuple[float, ...]
    requests_by_status: Mapping[str, tuple[float, ...]]
    prompt_tokens: tuple[float, ...]
    generated_tokens: tuple[float, ...]

    def __post_init__(self) -> None:
        n = len(self.timestamps)
        if n and self.timestamps[0] % HOUR:
            raise ValueError(f"{self.name}: timestamps must be aligned to the hour")
        for i in range(1, n):
            if self.timestamps[i] - self.timestamps[i - 1] != HOUR:
                raise ValueError(f"{self.name}: timestamps must be consecutive hours")
        arrays = {
            "requests_total": self.requests_total,
            "prompt_tokens": self.prompt_tokens,
            "generated_tokens": self.generated_tokens,
            **{f"requests_by_status[{k}]": v for k, v in self.requests_by_status.items()},
        }
        for label, values in arrays.items():
            if len(values) != n:
                raise ValueError(f"{self.name}: {label} has {len(values)} values, expected {n}")
            # In C: a NaN or an infinity makes the sum not finite.
            if min(values, default=0.0) < 0 or not math.isfinite(sum(values)):
                raise ValueError(f"{self.name}: {label} holds a negative or non-finite count")

    @property
    def hours(self) -> int:
        """Number of hourly points."""
        return len(self.timestamps)

    @property
    def start(self) -> datetime:
        """Start of the first hour (aware UTC)."""
        return from_epoch(self.timestamps[0])

    @property
    def end(self) -> datetime:
        """End of the last hour (exclusive, aware UTC)."""
        return from_epoch(self.timestamps[-1] + HOUR)

    def status(self, code: str) -> tuple[float, ...]:
        """Per-hour requests answered with *code*; zeros when that code never occurred."""
        return self.requests_by_status.get(code, (0.0,) * self.hours)

    @property
    def tokens(self) -> list[float]:
        """Prompt plus generated tokens per hour."""
        return [p + g for p, g in zip(self.prompt_tokens, self.generated_tokens, strict=True)]

    @classmethod
    def from_points(
        cls,
        resource_id: str,
        name: str,
        start: datetime,
        hours: int,
        requests_by_status: Mapping[str, Mapping[datetime, float]],
        prompt_tokens: Mapping[datetime, float],
        generated_tokens: Mapping[datetime, float],
    ) -> UsageSeries:
        """Build a gap-free series from sparse points keyed by (aware) hour start.

        This is the shape an adapter gets from Azure Monitor (``timeseries[].data[].timeStamp``
        with ``total``); hours without a point, and points outside the window, are zeros/ignored,
        and so are points whose total is negative or not finite (no count can be).
        """
        first = to_epoch_hour(start)
        stamps = tuple(first + HOUR * i for i in range(hours))

        def grid(points: Mapping[datetime, float]) -> tuple[float, ...]:
            values = [0.0] * hours
            for moment, value in points.items():
                i = (to_epoch_hour(moment) - first) // HOUR
                if 0 <= i < hours:
                    values[i] += count_of(value)
            return tuple(values)

        by_status = {str(code): grid(points) for code, points in requests_by_status.items()}
        total = (
            tuple(sum(col) for col in zip(*by_status.values(), strict=True))
            if by_status
            else (0.0,) * hours
        )
        return cls(
            resource_id,
            name,
            stamps,
            total,
            by_status,
            grid(prompt_tokens),
            grid(generated_tokens),
        )


@dataclass(frozen=True)
class Rotation:
    """One key regeneration, as recorded by a Key Vault secret version.

    ``slot`` is the key slot that was *regenerated* at ``rotated_at`` (``Key1``/``Key2``): its old
    value died then, so any consumer still holding it gets 401s. ``secret_version`` is the new
    version written by that rotation; ``previous_version``, when known, is the older version that
    held the now-dead value (the one left-behind consumers still use).
    """

    resource_id: str
    rotated_at: datetime
    slot: str
    secret_name: str | None = None
    secret_version: str | None = None
    previous_version: str | None = None


@dataclass(frozen=True)
class KeyUsagePolicy:
    """What the audit says about key (local auth) use, per resource id (case-insensitive).

    Azure Monitor does **not** split ``AzureOpenAIRequests`` by authentication method, so traffic
    alone never proves a key was used. What the metrics can honestly show:

    * ``keys_expected_unused``: resources whose consumers should all use Entra ID. Successful
      calls there are reported at *info* level only, saying that metrics cannot tell key from
      token, unless one of the sets below turns them into evidence.
    * ``no_token_callers``: the audit found no principal holding an inference data action (for
      example Cognitive Services OpenAI User) on the resource. Then successful calls cannot have
      come with a token, so they used a key: *high*.
    * ``local_auth_disabled``: ``disableLocalAuth`` is true, so a key call is answered 403
      (``AuthenticationTypeDisabled``). 403s there are someone still trying a key (or a token
      whose principal lacks a role): *medium*.
    """

    keys_expected_unused: frozenset[str] = frozenset()
    no_token_callers: frozenset[str] = frozenset()
    local_auth_disabled: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        keys_expected_unused: Iterable[str] = (),
        no_token_callers: Iterable[str] = (),
        local_auth_disabled: Iterable[str] = (),
    ) -> KeyUsagePolicy:
        """Build a policy from any iterables of resource ids (normalised to lower case)."""
        return cls(
            frozenset(r.lower() for r in keys_expected_unused),
            frozenset(r.lower() for r in no_token_callers),
            frozenset(r.lower() for r in local_auth_disabled),
        )


@dataclass(frozen=True)
class Finding:
    """One anomaly: what happened, when, how far from normal, and why it matters.

    ``start``/``end`` bound the anomalous hours (``end`` exclusive, aware UTC). ``observed`` and
    ``expected`` are per-hour averages over that interval in ``unit`` (for ``error_rate`` they are
    fractions of calls); ``ratio`` is observed/expected and ``score`` a z-like distance from normal
    that accounts for Poisson and seasonal noise (``sqrt(2 x surprise)``; the default bar is 5,
    4.5 for drops and error rates: see :class:`~keyops.usage.sensitivity.Sensitivity`).
    ``rotation`` is the rotation a 401 surge was tied to, if any.
    """

    kind: FindingKind
    severity: Severity
    resource_id: str
    resource_name: str
    start: datetime
    end: datetime
    observed: float
    expected: float
    ratio: float
    score: float
    unit: str
    message: str
    recommendation: str
    rotation: Rotation | None = field(default=None)

    @property
    def hours(self) -> int:
        """Length of the interval in hours."""
        return int((self.end - self.start).total_seconds()) // HOUR


def worst_severity(findings: Sequence[Finding]) -> Severity | None:
    """The highest severity among *findings*, or None when there are none."""
    return max((f.severity for f in findings), default=None)


def fails(findings: Sequence[Finding], threshold: Severity) -> bool:
    """True when any finding is at least *threshold* severe (for ``--fail-on``)."""
    return any(f.severity >= threshold for f in findings)
