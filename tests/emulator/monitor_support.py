"""Helpers for the Monitor tests: real metrics clients (closed after use) and raw ARM calls."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from tests.emulator.openai_support import ca, token
from tests.support.emulator import EmulatorHandle

ARM = "https://management.azure.com"
NAMESPACE = "Microsoft.CognitiveServices/accounts"


@contextmanager
def monitor_client(handle: EmulatorHandle, principal: str = "keyops-rotator") -> Iterator[Any]:
    """A real MonitorManagementClient signed in as ``principal``.

    Closed (with its credential) on exit: an idle keep-alive connection would hold the
    emulator's shutdown for its grace period.
    """
    from azure.mgmt.monitor import MonitorManagementClient

    credential = handle.credential(principal)
    client = MonitorManagementClient(
        credential,
        handle.conn["subscription_id"],
        base_url=handle.url,
        connection_verify=handle.ca_bundle,
        retry_total=0,
    )
    with credential, client:
        yield client


@contextmanager
def metrics_client(handle: EmulatorHandle, principal: str = "keyops-rotator") -> Iterator[Any]:
    """A real azure-monitor-querymetrics MetricsClient for the batch API."""
    from azure.monitor.querymetrics import MetricsClient

    credential = handle.credential(principal)
    client = MetricsClient(
        handle.url, credential, connection_verify=handle.ca_bundle, retry_total=0
    )
    with credential, client:
        yield client


def metrics_call(
    handle: EmulatorHandle,
    resource_id: str,
    params: dict[str, Any],
    *,
    principal: str = "keyops-rotator",
    what: str = "metrics",
    api_version: str | None = "2024-02-01",
) -> requests.Response:
    """A raw ``GET {resource}/providers/Microsoft.Insights/{what}`` with an ARM token."""
    sent = dict(params)
    if api_version:
        sent["api-version"] = api_version
    return requests.get(
        f"{handle.url}{resource_id}/providers/Microsoft.Insights/{what}",
        params=sent,
        verify=ca(handle),
        timeout=10,
        headers={"Authorization": f"Bearer {token(handle, principal, ARM)}"},
    )


def totals(series: Any) -> list[float]:
    """The ``total`` of each data point of an SDK time series (0 where absent)."""
    return [p.total or 0.0 for p in series.data]
