"""Metrics queries: timespan, interval and ``$filter`` parsing, and bucket aggregation.

Buckets start at the interval boundary at or before the timespan's start (as Azure aligns
them) and cover the timespan. An hourly history fact spread over a bucket smaller than an hour
gives each minute an integer share (the shares add up to the hour exactly). ``count`` is the
number of minutes with data, ``minimum``/``maximum`` range over per-minute values.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from keyops.emulator.core.clock import parse_iso
from keyops.emulator.services.monitor import exceptions as exc
from keyops.emulator.services.monitor.catalog import Fact, MetricDef

INTERVALS = {
    "PT1M": 60,
    "PT5M": 300,
    "PT15M": 900,
    "PT30M": 1800,
    "PT1H": 3600,
    "PT6H": 21600,
    "PT12H": 43200,
    "P1D": 86400,
}
AGGREGATIONS = ("average", "count", "minimum", "maximum", "total")
MAX_POINTS = 100_000
_DURATION = re.compile(
    r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE
)
_CLAUSE = re.compile(r"^\s*([^\s']+)\s+(eq|ne)\s+'([^']*)'\s*$", re.IGNORECASE)
_OFFSET_SPACE = re.compile(r"(?<=\d) (?=\d{2}:?\d{2}$)")
_CONNECTOR = re.compile(r"\s+(and|or)\s+(?=(?:[^']*'[^']*')*[^']*$)", re.IGNORECASE)


def parse_duration(text: str) -> float | None:
    """An ISO 8601 duration in seconds, or None when ``text`` is not one."""
    m = _DURATION.match(text.strip())
    if not m or text.strip().upper() in ("P", "PT"):
        return None
    w, d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return (((w * 7 + d) * 24 + h) * 60 + mi) * 60 + s


def iso_duration(seconds: float) -> str:
    """Seconds as the ISO 8601 duration Azure echoes (``PT4H``, ``P1D``)."""
    s = int(seconds)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if v)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "" if days else "T0S")


def stamp(ts: float) -> str:
    """Unix seconds as ``2021-04-20T09:00:00Z``."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _client_encoding_undone(text: str) -> str:
    """The timespan as written, whatever encoding the client added on top of the query's own.

    The Azure CLI encodes ``timespan`` twice (``16%253A42``) and Azure accepts it; an offset's
    ``+`` sent unencoded arrives as a space (form decoding). Azure accepts both.
    """
    for _ in range(2):
        if "%" not in text:
            break
        text = unquote(text)
    return "/".join(_OFFSET_SPACE.sub("+", part.strip()) for part in text.split("/"))


def parse_timespan(text: str | None, now: float) -> tuple[float, float]:
    """``start/end``, ``start/duration``, ``duration/end`` or a duration ending now.

    Times without an offset are UTC, as Azure reads them; any encoding the client added is
    undone first.
    """
    if not text:
        return now - 3600, now
    written = _client_encoding_undone(text)
    try:
        if "/" not in written:
            duration = parse_duration(written)
            if duration is None:
                raise ValueError(text)
            start, end = now - duration, now
        else:
            a, b = written.split("/", 1)
            da, db = parse_duration(a), parse_duration(b)
            start = parse_iso(a) if da is None else parse_iso(b) - da
            end = parse_iso(b) if db is None else start + db
    except ValueError:
        raise exc.bad_request(
            f"Invalid timespan '{text}'. Expected 'startDateTime_ISO/endDateTime_ISO'."
        ) from None
    if end <= start:
        raise exc.bad_request(
            f"Invalid timespan '{text}': the end time must be after the start time."
        )
    return start, end


def parse_interval(text: str | None, auto_adjust: bool) -> tuple[int, str]:
    """The bucket size in seconds and the interval to echo (``FULL`` is handled by the caller).

    With ``AutoAdjustTimegrain=true`` an unsupported grain becomes the next supported one.
    """
    value = (text or "PT1M").strip().upper()
    if value in INTERVALS:
        return INTERVALS[value], value
    seconds = parse_duration(value)
    if auto_adjust and seconds is not None:
        name = next((k for k, v in INTERVALS.items() if v >= seconds), "P1D")
        return INTERVALS[name], name
    raise exc.bad_request(
        f"Invalid interval '{text}'. Supported intervals: {','.join(INTERVALS)},FULL."
    )


@dataclass
class DimFilter:
    """The conditions on one dimension: values it may take (``eq``), must not take (``ne``)."""

    name: str
    eq: set[str] = field(default_factory=set)
    ne: set[str] = field(default_factory=set)
    split: bool = False

    def allows(self, value: str) -> bool:
        """Whether a fact with ``value`` for this dimension passes."""
        v = value.lower()
        return (not self.eq or v in self.eq) and v not in self.ne


def roll_up(filters: list[DimFilter], rollupby: str | None, metric: MetricDef) -> None:
    """``rollupby``: the named dimensions (comma-separated, any case) still filter but no
    longer split the results into one series per value (common-types RollUpByParameter)."""
    names = {metric.dimension(n.strip()) for n in (rollupby or "").split(",") if n.strip()}
    for group in filters:
        if group.name in names:
            group.split = False


def parse_filter(text: str | None, metric: MetricDef, validate: bool = True) -> list[DimFilter]:
    """``A eq 'a1' and B eq 'b1' or B eq 'b2' and C eq '*'``: one :class:`DimFilter` a dimension.

    ``or`` may only join conditions on the same dimension, as the API requires. With
    ``validate`` false (``ValidateDimensions=false``) a dimension the metric lacks is ignored.
    """
    if not text or not text.strip():
        return []
    parts = _CONNECTOR.split(text.strip())
    clauses, connectors = parts[0::2], [c.lower() for c in parts[1::2]]
    groups: dict[str, DimFilter] = {}
    previous: str | None = None
    for i, clause in enumerate(clauses):
        m = _CLAUSE.match(clause)
        if m is None:
            raise exc.bad_request(f"Invalid $filter '{text}': cannot parse '{clause.strip()}'.")
        name = metric.dimension(m.group(1))
        if name is None and not validate:
            continue
        if name is None:
            raise exc.bad_request(
                f"Metric: {metric.name} does not support requested dimension combination: "
                f"{m.group(1)}, supported ones are: {','.join(metric.dims)}"
            )
        if i and connectors[i - 1] == "or" and name != previous:
            raise exc.bad_request(
                f"Invalid $filter '{text}': the or operator cannot separate "
                "two different metadata names."
            )
        group = groups.setdefault(name, DimFilter(name, split=True))
        value = m.group(3).lower()
        if value != "*":
            (group.eq if m.group(2).lower() == "eq" else group.ne).add(value)
        previous = name
    return list(groups.values())


@dataclass(frozen=True)
class Query:
    """What to compute for one metric."""

    metric: MetricDef
    start: int  # first bucket's start
    end: int
    size: int
    filters: list[DimFilter]
    aggregations: tuple[str, ...]
    top: int
    orderby: tuple[str, bool] | None  # (aggregation, descending)
    metadata_only: bool = False

    @property
    def buckets(self) -> range:
        """The bucket start times."""
        return range(self.start, self.end, self.size)

    def bucket_of(self, ts: float) -> int:
        """The start of the bucket holding ``ts``."""
        return self.start + int((ts - self.start) // self.size) * self.size


def bucket_start(ts: float, size: int) -> int:
    """The boundary of a ``size``-second bucket at or before ``ts``."""
    return int(ts // size * size)


Span = tuple[int, int]  # (start, minutes) of merged facts


def _merged(q: Query, facts: Iterable[Fact]) -> dict[Span, list[float]]:
    """One series' facts summed per time span (``[numerator, denominator]``).

    History has one fact per status and deployment an hour; merging them first means each
    hour is spread over minutes or buckets once, not once per dimension combination.
    """
    spans: dict[Span, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for f in facts:
        num, den = q.metric.measure(f)
        cell = spans[(f.start, f.minutes)]
        cell[0] += num
        cell[1] += den
    return spans


def _share(span: Span, value: float, lo: int, hi: int) -> float:
    """The part of ``value`` (spread evenly over the span's minutes) falling in ``[lo, hi)``;
    whole numbers are split in whole shares that add up exactly."""
    start, m = span
    a = max(0, (lo - start) // 60)
    b = min(m, (hi - start) // 60)
    if b <= a:
        return 0.0
    if float(value).is_integer():
        return float(math.floor(value * b / m) - math.floor(value * a / m))
    return value * (b - a) / m


def _minute_values(q: Query, spans: dict[Span, list[float]]) -> dict[int, list[float]]:
    minutes: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for (start, m), (num, den) in spans.items():
        for t in range(max(start, q.start), min(start + m * 60, q.end), 60):
            cell = minutes[t]
            cell[0] += _share((start, m), num, t, t + 60)
            cell[1] += _share((start, m), den, t, t + 60)
    return minutes


def _point(q: Query, values: list[tuple[float, float]]) -> dict[str, float]:
    """Aggregations of one bucket from its per-minute (numerator, denominator) values."""
    ratio = q.metric.ratio
    samples = [n / d for n, d in values if d > 0] if ratio else [n for n, _ in values]
    out: dict[str, float] = {}
    for agg in q.aggregations:
        if agg == "total" and (samples or not ratio):
            out["total"] = float(sum(samples))
        elif agg == "count" and (samples or not ratio):
            out["count"] = float(len(samples))
        elif agg == "average" and samples:
            den = sum(d for _, d in values) if ratio else len(samples)
            out["average"] = float(sum(n for n, _ in values) / den)
        elif agg == "minimum" and samples:
            out["minimum"] = float(min(samples))
        elif agg == "maximum" and samples:
            out["maximum"] = float(max(samples))
    return out


def _data(q: Query, facts: list[Fact]) -> list[dict[str, Any]]:
    spans = _merged(q, facts)
    if not q.metric.ratio and set(q.aggregations) <= {"total"}:
        totals = dict.fromkeys(q.buckets, 0.0)
        for (start, m), (num, _) in spans.items():
            for b in range(q.bucket_of(max(start, q.start)), min(start + m * 60, q.end), q.size):
                totals[b] += _share((start, m), num, b, b + q.size)
        return [
            {"timeStamp": stamp(b), **({"total": t} if q.aggregations else {})}
            for b, t in totals.items()
        ]
    per_bucket: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for t, (n, d) in _minute_values(q, spans).items():
        if n or d:
            per_bucket[q.bucket_of(t)].append((n, d))
    return [{"timeStamp": stamp(b), **_point(q, per_bucket.get(b, []))} for b in q.buckets]


def _rank(series: dict[str, Any], agg: str) -> float:
    return float(sum(p.get(agg, 0.0) for p in series.get("data", [])))


def timeseries(q: Query, facts: list[Fact]) -> list[dict[str, Any]]:
    """The ``timeseries`` of one metric: one series, or one per split dimension value."""
    # Every condition filters; only the dimensions not rolled up split the series.
    split = [g.name for g in q.filters if g.split]
    groups: dict[tuple[str, ...], list[Fact]] = defaultdict(list)
    for f in facts:
        if not all(g.allows(f.dim(g.name)) for g in q.filters):
            continue
        if q.metric.measure(f) == (0.0, 0.0):
            continue
        groups[tuple(f.dim(name) for name in split)].append(f)
    if not split:
        groups.setdefault((), [])
    out = []
    for key, members in groups.items():
        series: dict[str, Any] = {
            "metadatavalues": [
                {"name": {"value": n.lower(), "localizedValue": n.lower()}, "value": v}
                for n, v in zip(split, key, strict=True)
            ]
        }
        if not q.metadata_only:
            series["data"] = _data(q, members)
        out.append(series)
    if split:
        agg, descending = q.orderby or (q.metric.primary.lower(), True)
        out.sort(key=lambda s: _rank(s, agg), reverse=descending)
        out = out[: q.top]
    return out
