"""Azure Monitor metrics for Azure OpenAI accounts, as hourly :class:`UsageSeries`.

Uses azure-mgmt-monitor's ``metrics.list`` (``GET {resourceUri}/providers/Microsoft.Insights/
metrics``, api-version 2024-02-01): ``AzureOpenAIRequests`` split by ``StatusCode`` — the legacy
TotalCalls family is marked "do not use" for Azure OpenAI — plus ``ProcessedPromptTokens`` and
``GeneratedTokens``, all with the ``Total`` aggregation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from keyops.azure.tls import sdk_transport
from keyops.cloud import AzureEnvironment
from keyops.usage.model import UsageSeries, count_of

REQUESTS = "AzureOpenAIRequests"
PROMPT = "ProcessedPromptTokens"
GENERATED = "GeneratedTokens"


class MetricsClient:
    """Reads hourly usage metrics of Cognitive Services accounts."""

    def __init__(self, env: AzureEnvironment, credential: Any, subscription_id: str) -> None:
        from azure.mgmt.monitor import MonitorManagementClient

        self._client = MonitorManagementClient(
            credential,
            subscription_id,
            base_url=env.resource_manager,
            credential_scopes=[env.management_scope],
            transport=sdk_transport(env.verify),
            retry_total=4,
        )

    def hourly_usage(self, resource_id: str, name: str, start: datetime, hours: int) -> UsageSeries:
        """Hourly requests by status code and token counts for ``hours`` hours from ``start``."""
        from keyops.azure.errors import azure_errors

        end = start + timedelta(hours=hours)
        timespan = f"{_iso(start)}/{_iso(end)}"
        with azure_errors("read metrics", name):
            split = self._client.metrics.list(
                resource_id,
                timespan=timespan,
                interval="PT1H",
                metricnames=REQUESTS,
                aggregation="Total",
                filter="StatusCode eq '*'",
            )
            tokens = self._client.metrics.list(
                resource_id,
                timespan=timespan,
                interval="PT1H",
                metricnames=f"{PROMPT},{GENERATED}",
                aggregation="Total",
            )
        by_status: dict[str, dict[datetime, float]] = {}
        for metric in split.value:
            for series in metric.timeseries or []:
                code = _dimension(series, "statuscode") or "unknown"
                points = by_status.setdefault(code, {})
                for point in series.data or []:
                    points[point.time_stamp] = points.get(point.time_stamp, 0.0) + _count(point)
        token_points: dict[str, dict[datetime, float]] = {PROMPT: {}, GENERATED: {}}
        for metric in tokens.value:
            bucket = token_points.setdefault(metric.name.value, {})
            for series in metric.timeseries or []:
                for point in series.data or []:
                    bucket[point.time_stamp] = bucket.get(point.time_stamp, 0.0) + _count(point)
        return UsageSeries.from_points(
            resource_id,
            name,
            start,
            hours,
            by_status,
            token_points[PROMPT],
            token_points[GENERATED],
        )

    def requests_by_status(
        self, resource_id: str, name: str, start: datetime, end: datetime
    ) -> dict[str, int]:
        """Requests answered between ``start`` and ``end`` (minute grain), by status code."""
        from keyops.azure.errors import azure_errors

        with azure_errors("read metrics", name):
            split = self._client.metrics.list(
                resource_id,
                timespan=f"{_iso(start)}/{_iso(end)}",
                interval="PT1M",
                metricnames=REQUESTS,
                aggregation="Total",
                filter="StatusCode eq '*'",
            )
        totals: dict[str, int] = {}
        for metric in split.value:
            for series in metric.timeseries or []:
                code = _dimension(series, "statuscode") or "unknown"
                counted = sum(_count(point) for point in series.data or [])
                totals[code] = totals.get(code, 0) + round(counted)
        return totals

    def close(self) -> None:
        """Close the underlying HTTP pipeline."""
        self._client.close()


def _dimension(series: Any, name: str) -> str | None:
    for meta in series.metadatavalues or []:
        if meta.name and (meta.name.value or "").lower() == name:
            return str(meta.value)
    return None


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _count(point: Any) -> float:
    """A point's total as a count (:func:`keyops.usage.model.count_of`), read before an hour's
    points are added: one bad point spoils neither its hour nor the sum."""
    return count_of(point.total)
