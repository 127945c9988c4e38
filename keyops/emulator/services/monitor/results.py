"""Bodies of the metrics answers: metric values (per resource) and metric definitions."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keyops.emulator.core.context import Emulator
from keyops.emulator.services.arm.models import AccountView
from keyops.emulator.services.monitor import exceptions as exc
from keyops.emulator.services.monitor.catalog import (
    DEFAULT_METRIC,
    METRICS,
    NAMESPACE,
    MetricDef,
    find_metric,
)
from keyops.emulator.services.monitor.models import facts
from keyops.emulator.services.monitor.query import (
    AGGREGATIONS,
    INTERVALS,
    MAX_POINTS,
    Query,
    bucket_start,
    iso_duration,
    parse_filter,
    parse_interval,
    parse_timespan,
    roll_up,
    stamp,
    timeseries,
)

MAX_METRIC_NAMES = 20
RETENTION = "P93D"


@dataclass(frozen=True)
class Window:
    """The time range of a query, its buckets and the interval to echo."""

    start: float
    end: float
    first: int
    stop: int
    size: int
    interval: str


def window(start: float, end: float, interval: str | None, auto_adjust: bool) -> Window:
    """Buckets covering ``[start, end)``, aligned as Azure aligns them (``FULL``: one bucket
    from the timespan's first minute)."""
    if (interval or "").strip().upper() == "FULL":
        first = bucket_start(start, 60)
        size = max(60, math.ceil((end - first) / 60) * 60)
        return Window(start, end, first, first + size, size, iso_duration(size))
    size, echo = parse_interval(interval, auto_adjust)
    first = bucket_start(start, size)
    count = max(1, math.ceil((end - first) / size))
    if count > MAX_POINTS:
        raise exc.bad_request(
            f"The query asks for {count} data points a series; at most "
            f"{MAX_POINTS} are allowed. Use a larger interval."
        )
    return Window(start, end, first, first + count * size, size, echo)


def metric_names(raw: str | None) -> list[str]:
    """The ``metricnames`` list (``%2`` stands for a comma inside a name)."""
    if not raw:
        return [DEFAULT_METRIC.name]
    names = [n.replace("%2", ",").strip() for n in raw.split(",") if n.strip()]
    if len(names) > MAX_METRIC_NAMES:
        raise exc.bad_request(
            f"At most {MAX_METRIC_NAMES} metric names can be requested; got {len(names)}."
        )
    return names


def _aggregations(raw: str | None, metric: MetricDef) -> tuple[str, ...]:
    if not raw:
        return (metric.primary.lower(),)
    wanted = [a.strip().lower() for a in raw.split(",") if a.strip()]
    for a in wanted:
        if a not in AGGREGATIONS:
            raise exc.bad_request(
                f"Invalid aggregation '{a}'. Supported aggregations: "
                "Average,Count,Minimum,Maximum,Total."
            )
    return tuple(dict.fromkeys(wanted))


def _int(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise exc.bad_request(f"Invalid {name} '{raw}': expected an integer.") from None
    if value < 1:
        raise exc.bad_request(f"Invalid {name} '{raw}': must be at least 1.")
    return value


def _orderby(raw: str | None) -> tuple[str, bool] | None:
    if not raw:
        return None
    parts = raw.strip().lower().split()
    agg = {"sum": "total"}.get(parts[0], parts[0])
    if agg not in AGGREGATIONS or len(parts) > 2 or parts[1:] not in ([], ["asc"], ["desc"]):
        raise exc.bad_request(f"Invalid orderby '{raw}'. Example: 'total desc'.")
    return agg, parts[1:] != ["asc"]


def check_namespace(raw: str | None) -> None:
    """A ``metricnamespace``, when given, must be the account's."""
    if raw and raw.strip().lower() != NAMESPACE.lower():
        raise exc.bad_namespace(raw)


def metric_values(
    emu: Emulator,
    account: AccountView,
    names: list[str],
    win: Window,
    params: Mapping[str, str | None],
) -> list[dict[str, Any]]:
    """The ``value`` array: one entry a metric name, computed over ``win``."""
    metrics = []
    for name in names:
        metric = find_metric(name)
        if metric is None:
            raise exc.unknown_metric(name, [m.name for m in METRICS])
        metrics.append(metric)
    fetched = facts(emu, account, win.first, win.stop)
    metadata_only = (params.get("resulttype") or "").lower() == "metadata"
    validate = (params.get("validatedimensions") or "").lower() != "false"
    out = []
    for metric in metrics:
        filters = parse_filter(params.get("filter"), metric, validate)
        roll_up(filters, params.get("rollupby"), metric)
        q = Query(
            metric=metric,
            start=win.first,
            end=win.stop,
            size=win.size,
            filters=filters,
            aggregations=_aggregations(params.get("aggregation"), metric),
            top=_int(params.get("top"), "top", 10),
            orderby=_orderby(params.get("orderby")),
            metadata_only=metadata_only,
        )
        out.append(
            {
                "id": f"{account.id}/providers/Microsoft.Insights/metrics/{metric.name}",
                "type": "Microsoft.Insights/metrics",
                "name": {"value": metric.name, "localizedValue": metric.display},
                "displayDescription": metric.description,
                "unit": metric.unit,
                "timeseries": timeseries(q, fetched),
                "errorCode": "Success",
            }
        )
    return out


def cost(win: Window, metrics: int) -> int:
    """Azure's relative query cost: roughly minutes queried times metrics."""
    return max(1, int((win.end - win.start) // 60)) * metrics


def response(
    emu: Emulator, account: AccountView, params: Mapping[str, str | None], now: float
) -> dict[str, Any]:
    """The Metrics_List answer for an account."""
    check_namespace(params.get("metricnamespace"))
    names = metric_names(params.get("metricnames"))
    start, end = parse_timespan(params.get("timespan"), now)
    win = window(
        start,
        end,
        params.get("interval"),
        (params.get("autoadjusttimegrain") or "").lower() == "true",
    )
    body: dict[str, Any] = {
        "cost": cost(win, len(names)),
        "timespan": f"{stamp(start)}/{stamp(end)}",
        "interval": win.interval,
        "value": metric_values(emu, account, names, win, params),
        "namespace": NAMESPACE,
        "resourceregion": account.location,
    }
    if (params.get("resulttype") or "").lower() == "metadata":
        del body["interval"]
    return body


def definitions(account: AccountView) -> dict[str, Any]:
    """The MetricDefinitions_List answer for an account."""
    availabilities = [{"timeGrain": grain, "retention": RETENTION} for grain in INTERVALS]
    return {
        "value": [
            {
                "isDimensionRequired": False,
                "resourceId": account.id,
                "namespace": NAMESPACE,
                "name": {"value": m.name, "localizedValue": m.display},
                "displayDescription": m.description,
                "category": m.category,
                "metricClass": m.metric_class,
                "unit": m.unit,
                "primaryAggregationType": m.primary,
                "supportedAggregationTypes": (
                    ["None", "Average", "Minimum", "Maximum"]
                    if m.ratio
                    else ["None", "Average", "Count", "Minimum", "Maximum", "Total"]
                ),
                "metricAvailabilities": availabilities,
                "id": f"{account.id}/providers/microsoft.insights/metricdefinitions/{m.name}",
                "dimensions": [{"value": d, "localizedValue": d} for d in m.dims],
            }
            for m in METRICS
        ]
    }
