"""Azure Monitor metrics as a client written from metrics_API.json 2024-02-01 sees it.

Sources: azure-specs/monitor-metrics/2024-02-01/metrics_API.json (Metrics_List parameters
``timespan``, ``interval`` incl. ``FULL``, ``metricnames``, ``aggregation``, ``top``, ``orderby``,
``$filter``, ``resultType``, ``metricnamespace``, ``AutoAdjustTimegrain``, ``rollupby``; the
``Response`` definition; the default error is common-types v1 ``ErrorResponse``, a flat
``{code, message}``), its GetMetric.json example (lower-cased dimension names in
``metadatavalues``, ``errorCode: Success``), and 2023-10-01/GetMetricError.json. Timespans are
ISO 8601 intervals: ``start/end``, ``start/duration``, ``duration/end``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from tests.emulator.test_rest_peers_common import (
    assert_valid,
    bearer,
    mint_token,
    needs_specs,
    session,
)
from tests.support.emulator import EmulatorHandle

METRICS = "monitor-metrics/2024-02-01/metrics_API.json"
ERROR_V1 = "common-types/resource-management/v1/types.json"
EUS = "contoso-openai-eus"
REQUESTS = "AzureOpenAIRequests"

pytestmark = needs_specs


class Metrics:
    """``GET {resourceUri}/providers/Microsoft.Insights/metrics`` with a management token."""

    def __init__(self, handle: EmulatorHandle) -> None:
        self.handle = handle
        self.url = f"{handle.url}{handle.account(EUS)['id']}/providers/Microsoft.Insights/metrics"
        self.headers = bearer(mint_token(handle))

    def get(self, **params: Any) -> requests.Response:
        params.setdefault("api-version", "2024-02-01")
        with session(self.handle) as s:
            return s.get(self.url, params=params, headers=self.headers, timeout=10)

    def ok(self, **params: Any) -> dict[str, Any]:
        r = self.get(**params)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        assert_valid(METRICS, "/definitions/Response", body)
        return body


@pytest.fixture(scope="module")
def metrics(shared_emulator: EmulatorHandle) -> Metrics:
    return Metrics(shared_emulator)


@pytest.fixture(scope="module")
def day(metrics: Metrics) -> datetime:
    """Midnight (UTC) of yesterday on the emulator's clock: a window with settled data."""
    end = metrics.ok(metricnames=REQUESTS)["timespan"].split("/")[1]
    now = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return (now - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def _z(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _assert_flat_error(r: requests.Response, status: int = 400) -> None:
    assert r.status_code == status, r.text
    assert_valid(ERROR_V1, "/definitions/ErrorResponse", r.json())
    assert r.json()["code"] and r.json()["message"]
    assert "error" not in r.json()


def _totals(series: dict[str, Any]) -> list[float]:
    return [p.get("total", 0.0) for p in series["data"]]


@pytest.mark.parametrize(
    "form",
    ["start/end", "start/duration", "duration/end", "offset", "fractional"],
)
def test_timespan_interval_forms(metrics: Metrics, day: datetime, form: str) -> None:
    start, end = day, day + timedelta(hours=6)
    timespan = {
        "start/end": f"{_z(start)}/{_z(end)}",
        "start/duration": f"{_z(start)}/PT6H",
        "duration/end": f"PT6H/{_z(end)}",
        "offset": (
            f"{start.astimezone(timezone(timedelta(hours=2))).isoformat()}/"
            f"{end.astimezone(timezone(timedelta(hours=2))).isoformat()}"
        ),
        "fractional": f"{_z(start)[:-1]}.000Z/{_z(end)[:-1]}.000Z",
    }[form]
    body = metrics.ok(timespan=timespan, interval="PT1H", metricnames=REQUESTS)
    assert body["timespan"] == f"{_z(start)}/{_z(end)}"
    assert body["interval"] == "PT1H"
    stamps = [p["timeStamp"] for p in body["value"][0]["timeseries"][0]["data"]]
    assert stamps == [_z(start + timedelta(hours=h)) for h in range(6)]


def test_interval_full_and_invalid(metrics: Metrics, day: datetime) -> None:
    span = f"{_z(day)}/{_z(day + timedelta(hours=6))}"
    full = metrics.ok(timespan=span, interval="FULL", metricnames=REQUESTS)
    assert full["interval"] == "PT6H"
    assert len(full["value"][0]["timeseries"][0]["data"]) == 1
    _assert_flat_error(metrics.get(timespan=span, interval="PT7M", metricnames=REQUESTS))
    adjusted = metrics.ok(
        timespan=span, interval="PT7M", metricnames=REQUESTS, AutoAdjustTimegrain="true"
    )
    assert adjusted["interval"] != "PT7M"


def test_aggregation_list(metrics: Metrics, day: datetime) -> None:
    body = metrics.ok(
        timespan=f"{_z(day)}/PT2H",
        interval="PT1H",
        metricnames=REQUESTS,
        aggregation="average,minimum,maximum,total,count",
    )
    for point in body["value"][0]["timeseries"][0]["data"]:
        assert {"timeStamp", "average", "minimum", "maximum", "total", "count"} <= set(point)
        assert point["minimum"] <= point["average"] <= point["maximum"]


def test_filter_forms(metrics: Metrics, day: datetime) -> None:
    common = {
        "timespan": f"{_z(day)}/PT3H",
        "interval": "PT1H",
        "metricnames": REQUESTS,
        "aggregation": "Total",
    }
    whole = metrics.ok(**common)["value"][0]["timeseries"]
    split = metrics.ok(**common, **{"$filter": "StatusCode eq '*'"})["value"][0]["timeseries"]
    assert len(split) > 1
    for series in split:
        [meta] = series["metadatavalues"]
        assert meta["name"]["value"] == "statuscode"  # lower-cased, as in GetMetric.json
    # The split series add up to the unsplit one, point by point.
    sums = [sum(v) for v in zip(*(_totals(s) for s in split), strict=True)]
    assert sums == pytest.approx(_totals(whole[0]))
    chosen = metrics.ok(
        **common,
        **{
            "$filter": "ModelDeploymentName eq 'gpt-4o-mini' or ModelDeploymentName eq "
            "'gpt-35-instruct'"
        },
    )["value"][0]["timeseries"]
    assert sorted(s["metadatavalues"][0]["value"] for s in chosen) == [
        "gpt-35-instruct",
        "gpt-4o-mini",
    ]
    both = metrics.ok(
        **common, **{"$filter": "ModelDeploymentName eq 'gpt-4o-mini' and StatusCode eq '*'"}
    )["value"][0]["timeseries"]
    assert all(len(s["metadatavalues"]) == 2 for s in both)
    _assert_flat_error(
        metrics.get(**common, **{"$filter": "StatusCode eq '200' or ModelDeploymentName eq 'x'"})
    )
    _assert_flat_error(metrics.get(**common, **{"$filter": "NoSuchDimension eq '*'"}))


def test_top_and_orderby(metrics: Metrics, day: datetime) -> None:
    common = {
        "timespan": f"{_z(day)}/PT3H",
        "interval": "PT1H",
        "metricnames": REQUESTS,
        "aggregation": "Total",
        "$filter": "StatusCode eq '*'",
    }
    everything = metrics.ok(**common)["value"][0]["timeseries"]
    ranked = sorted((sum(_totals(s)) for s in everything), reverse=True)
    top = metrics.ok(**common, top=2, orderby="Total desc")["value"][0]["timeseries"]
    assert [sum(_totals(s)) for s in top] == ranked[:2]
    bottom = metrics.ok(**common, top=1, orderby="total asc")["value"][0]["timeseries"]
    assert [sum(_totals(s)) for s in bottom] == ranked[-1:]


def test_result_type_metadata(metrics: Metrics, day: datetime) -> None:
    body = metrics.ok(
        timespan=f"{_z(day)}/PT3H",
        metricnames=REQUESTS,
        resultType="Metadata",
        **{"$filter": "StatusCode eq '*'"},
    )
    series = body["value"][0]["timeseries"]
    assert series
    assert all("data" not in s and s["metadatavalues"] for s in series)


def test_every_defined_metric_is_queryable(
    shared_emulator: EmulatorHandle, metrics: Metrics
) -> None:
    with session(shared_emulator) as s:
        r = s.get(
            metrics.url.replace("/metrics", "/metricDefinitions"),
            params={"api-version": "2018-01-01"},
            headers=metrics.headers,
            timeout=10,
        )
    assert r.status_code == 200, r.text
    definitions = r.json()["value"]
    names = [d["name"]["value"] for d in definitions]
    assert REQUESTS in names
    for d in definitions:
        assert d["primaryAggregationType"] in d["supportedAggregationTypes"]
        assert d["metricAvailabilities"]
    body = metrics.ok(metricnames=",".join(names[:20]))
    assert [m["name"]["value"] for m in body["value"]] == names[:20]
    assert all(m["errorCode"] == "Success" for m in body["value"])


def test_errors(metrics: Metrics) -> None:
    _assert_flat_error(metrics.get(metricnames="NoSuchMetric"))
    _assert_flat_error(metrics.get(timespan="yesterday", metricnames=REQUESTS))
    _assert_flat_error(metrics.get(metricnames=REQUESTS, metricnamespace="Microsoft.Foo/bars"))
    unpublished = metrics.get(metricnames=REQUESTS, **{"api-version": "2099-01-01"})
    assert unpublished.status_code == 400
    assert unpublished.json()["error"]["code"] == "NoRegisteredProviderFound"


def test_rollupby_merges_the_named_dimension(metrics: Metrics, day: datetime) -> None:
    """RollUpByParameter: "if you only want to see metric values with a filter like 'City eq
    Seattle or City eq Tacoma' but don't want to see separate values for each city, you can
    specify 'RollUpBy=City' to see the results for Seattle and Tacoma rolled up into one
    timeseries"."""
    common = {
        "timespan": f"{_z(day)}/PT3H",
        "interval": "PT1H",
        "metricnames": REQUESTS,
        "aggregation": "Total",
        "$filter": "StatusCode eq '200' or StatusCode eq '429'",
    }
    separate = metrics.ok(**common)["value"][0]["timeseries"]
    rolled = metrics.ok(**common, rollupby="StatusCode")["value"][0]["timeseries"]
    assert len(rolled) == 1
    assert rolled[0]["metadatavalues"] == []
    sums = [sum(v) for v in zip(*(_totals(s) for s in separate), strict=True)]
    assert _totals(rolled[0]) == pytest.approx(sums)
