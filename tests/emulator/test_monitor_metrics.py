"""Azure Monitor metrics of the emulated accounts through the real SDKs: served calls counted on
top of generated history, filters, intervals, aggregations, batch queries, RBAC and errors."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from keyops.emulator.core.clock import iso
from keyops.emulator.services.monitor.query import INTERVALS
from tests.emulator.monitor_support import (
    NAMESPACE,
    metrics_call,
    metrics_client,
    monitor_client,
    totals,
)
from tests.emulator.openai_support import (
    ENTRA,
    EUS,
    LEGACY,
    ca,
    call,
    chat,
    endpoint,
    key,
    token,
)
from tests.support.emulator import EmulatorHandle, start_emulator


def _span(handle: EmulatorHandle, hours: float = 48) -> str:
    now = handle.server.emulator.clock.now()
    return f"{iso(now - hours * 3600)}/{iso(now + 60)}"


def _last_hour_by(
    client: object, handle: EmulatorHandle, account: str, metric: str, flt: str
) -> dict[str, float]:
    result = client.metrics.list(  # type: ignore[attr-defined]
        handle.account(account)["id"],
        timespan=_span(handle),
        interval="PT1H",
        metricnames=metric,
        aggregation="Total",
        filter=flt,
    )
    return {ts.metadatavalues[0].value: totals(ts)[-1] for ts in result.value[0].timeseries}


def _serve_some_calls(handle: EmulatorHandle) -> int:
    """3 chat + 1 completion answered 200, one wrong key, one unknown deployment, on EUS."""
    api_key = key(handle, EUS)
    prompt_tokens = 0
    for _ in range(3):
        prompt_tokens += int(chat(handle, EUS, api_key=api_key).json()["usage"]["prompt_tokens"])
    done = call(
        handle,
        endpoint(handle, EUS),
        "openai/deployments/gpt-35-instruct/completions",
        api_key=api_key,
        body={"prompt": "hello world"},
    )
    prompt_tokens += int(done.json()["usage"]["prompt_tokens"])
    assert chat(handle, EUS, api_key="wrong").status_code == 401
    assert chat(handle, EUS, "missing", api_key=api_key).status_code == 404
    return prompt_tokens


def _into_a_new_hour(handle: EmulatorHandle) -> None:
    """Half a minute into the next emulated hour: past the history, so it holds served calls only
    (the history's own last hour, served partly filled until it is over, is now whole)."""
    now = handle.server.emulator.clock.now()
    handle.admin("POST", "clock", {"advance": 3600 - now % 3600 + 30})


def test_served_calls_are_counted_on_top_of_history(emulator: EmulatorHandle) -> None:
    _into_a_new_hour(emulator)
    prompt_tokens = _serve_some_calls(emulator)
    with monitor_client(emulator) as client:
        result = client.metrics.list(
            emulator.account(EUS)["id"],
            timespan=_span(emulator),
            interval="PT1H",
            metricnames="AzureOpenAIRequests",
            aggregation="Total",
            filter="StatusCode eq '*'",
        )
        assert result.interval == "PT1H" and result.resourceregion == "eastus"
        series = {ts.metadatavalues[0].value: totals(ts) for ts in result.value[0].timeseries}
        # The hour being served holds exactly the calls made; earlier hours hold history.
        assert {code: values[-1] for code, values in series.items()} == {
            "200": 4,
            "401": 1,
            "404": 1,
            "429": 0,
            "400": 0,
            "500": 0,
        }
        assert sum(series["200"][:-1]) > 100 * sum(series["429"][:-1]) > 0
        by_deployment = _last_hour_by(
            client,
            emulator,
            EUS,
            "AzureOpenAIRequests",
            "ModelDeploymentName eq '*' and StatusCode eq '200'",
        )
        assert by_deployment == {"gpt-4o-mini": 3, "gpt-35-instruct": 1}
        now = emulator.server.emulator.clock.now()
        origin = emulator.admin("GET", f"metrics/{EUS}")["origin"]  # where history ends
        assert origin < now - now % 3600  # this hour is past the history: served calls only
        this_hour = f"{iso(now - now % 3600)}/{iso(now + 60)}"
        prompt = client.metrics.list(
            emulator.account(EUS)["id"],
            timespan=this_hour,
            interval="PT1M",
            metricnames="ProcessedPromptTokens",
            aggregation="Total",
        )
        assert sum(totals(prompt.value[0].timeseries[0])) == prompt_tokens


def test_throttled_and_regional_calls_are_counted(emulator: EmulatorHandle) -> None:
    _into_a_new_hour(emulator)
    emulator.admin("POST", "throttle", {"surface": "openai", "rate": 0.01, "burst": 1})
    api_key = key(emulator, EUS)
    assert [chat(emulator, EUS, api_key=api_key).status_code for _ in range(3)] == [200, 429, 429]
    emulator.admin("POST", "throttle", {"surface": "openai", "rate": 0})
    regional = endpoint(emulator, LEGACY)
    path = "openai/deployments/gpt-35-turbo/chat/completions"
    assert call(emulator, regional, path, api_key=key(emulator, LEGACY)).status_code == 200
    assert call(emulator, regional, path, api_key="unknown").status_code == 401
    with monitor_client(emulator) as client:
        eus = _last_hour_by(client, emulator, EUS, "AzureOpenAIRequests", "StatusCode eq '*'")
        assert (eus["200"], eus["429"]) == (1, 2)
        legacy = _last_hour_by(client, emulator, LEGACY, "AzureOpenAIRequests", "StatusCode eq '*'")
        # A key no account owns cannot be attributed to any account, as in Azure.
        assert (legacy["200"], legacy.get("401", 0)) == (1, 0)


def test_counters_survive_a_restart(tmp_path: Path, tls_dir: Path) -> None:
    handle = start_emulator(tmp_path / "state", tls_dir)
    try:
        # Early in an hour (the moved clock is state, kept across the restart): a call made in
        # an hour's last seconds would be read from the next hour's bucket after the restart.
        _into_a_new_hour(handle)
        assert chat(handle, ENTRA, api_key=key(handle, ENTRA)).status_code == 403
    finally:
        handle.stop()
    handle = start_emulator(tmp_path / "state", tls_dir)
    try:
        with monitor_client(handle) as client:
            counts = _last_hour_by(
                client, handle, ENTRA, "AzureOpenAIRequests", "StatusCode eq '403'"
            )
        assert counts == {"403": 1}
    finally:
        handle.stop()


def test_batch_query_with_metrics_client(shared_emulator: EmulatorHandle) -> None:
    ids = [shared_emulator.account(a)["id"] for a in (EUS, ENTRA, LEGACY)]
    with metrics_client(shared_emulator) as client:
        results = client.query_resources(
            resource_ids=ids,
            metric_namespace=NAMESPACE,
            metric_names=["AzureOpenAIRequests", "TokenTransaction"],
            timespan=timedelta(days=1),
            granularity=timedelta(hours=1),
            aggregations=["Total"],
            filter="ModelDeploymentName eq '*'",
        )
    assert [r.resource_region for r in results] == ["eastus"] * 3
    for result in results:
        assert result.granularity == timedelta(hours=1)
        requests_metric = result.metrics["AzureOpenAIRequests"]
        assert requests_metric.unit == "Count" and requests_metric.timeseries
        assert sum(sum(totals(ts)) for ts in requests_metric.timeseries) > 0
        assert result.metrics["TokenTransaction"].timeseries


def test_metric_definitions(shared_emulator: EmulatorHandle) -> None:
    with monitor_client(shared_emulator) as client:
        defs = {
            d.name.value: d
            for d in client.metric_definitions.list(shared_emulator.account(EUS)["id"])
        }
    assert {
        "AzureOpenAIRequests",
        "ProcessedPromptTokens",
        "GeneratedTokens",
        "TokenTransaction",
        "AzureOpenAITimeToResponse",
        "TotalCalls",
    } <= set(defs)
    requests_def = defs["AzureOpenAIRequests"]
    assert requests_def.primary_aggregation_type == "Total" and requests_def.unit == "Count"
    assert {d.value for d in requests_def.dimensions} >= {"StatusCode", "ModelDeploymentName"}
    assert "FeatureName" in {d.value for d in defs["TokenTransaction"].dimensions}


def test_reading_metrics_needs_the_insights_action(shared_emulator: EmulatorHandle) -> None:
    rid = shared_emulator.account(EUS)["id"]
    denied = metrics_call(shared_emulator, rid, {}, principal="app-consumer")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "AuthorizationFailed"
    assert "Microsoft.Insights/metrics/read" in denied.json()["error"]["message"]
    assert metrics_call(shared_emulator, rid, {}, principal="ops-reader").status_code == 200
    unsigned = requests.get(
        f"{shared_emulator.url}{rid}/providers/Microsoft.Insights/metrics",
        params={"api-version": "2024-02-01"},
        verify=ca(shared_emulator),
        timeout=10,
    )
    assert unsigned.status_code == 401


@pytest.mark.parametrize(
    ("params", "api_version", "status", "code"),
    [
        ({"metricnames": "NoSuchMetric"}, "2024-02-01", 400, "BadRequest"),
        ({"interval": "PT2M"}, "2024-02-01", 400, "BadRequest"),
        ({"$filter": "Colour eq '*'"}, "2024-02-01", 400, "BadRequest"),
        ({"$filter": "StatusCode eq '200' or ApiName eq 'x'"}, "2024-02-01", 400, "BadRequest"),
        ({"timespan": "yesterday"}, "2024-02-01", 400, "BadRequest"),
        ({"aggregation": "median"}, "2024-02-01", 400, "BadRequest"),
        ({}, None, 400, "MissingApiVersionParameter"),
        ({}, "2099-01-01", 400, "NoRegisteredProviderFound"),
    ],
)
def test_invalid_queries(
    shared_emulator: EmulatorHandle,
    params: dict[str, str],
    api_version: str | None,
    status: int,
    code: str,
) -> None:
    r = metrics_call(
        shared_emulator, shared_emulator.account(EUS)["id"], params, api_version=api_version
    )
    assert r.status_code == status
    body = r.json()
    assert (body["error"]["code"] if "error" in body else body["code"]) == code


def test_unknown_metric_lists_the_valid_ones(shared_emulator: EmulatorHandle) -> None:
    r = metrics_call(
        shared_emulator,
        shared_emulator.account(EUS)["id"],
        {"metricnames": "AzureOpenAIRequests,Bogus"},
    )
    assert r.json()["message"].startswith(
        "Failed to find metric configuration for provider: Microsoft.CognitiveServices, "
        "resource Type: accounts, metric: Bogus, Valid metrics: AzureOpenAIRequests,"
    )


def test_unknown_account_is_not_found(shared_emulator: EmulatorHandle) -> None:
    rid = shared_emulator.account(EUS)["id"].replace(EUS, "nobody")
    r = metrics_call(shared_emulator, rid, {})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "ResourceNotFound")


def test_every_interval_buckets_the_timespan(shared_emulator: EmulatorHandle) -> None:
    rid = shared_emulator.account(EUS)["id"]
    now = shared_emulator.server.emulator.clock.now()
    span = f"{iso(now - 2 * 86400)}/{iso(now)}"
    for interval, size in INTERVALS.items():
        body = metrics_call(shared_emulator, rid, {"interval": interval, "timespan": span}).json()
        data = body["value"][0]["timeseries"][0]["data"]
        first = (now - 2 * 86400) // size * size
        assert len(data) == math.ceil((now - first) / size), interval
        assert body["interval"] == interval
    full = metrics_call(shared_emulator, rid, {"interval": "FULL", "timespan": span}).json()
    assert len(full["value"][0]["timeseries"][0]["data"]) == 1


def test_filters_split_and_select_series(shared_emulator: EmulatorHandle) -> None:
    rid = shared_emulator.account(EUS)["id"]
    span = _span(shared_emulator, 14 * 24)

    def series(flt: str, **extra: str) -> list[tuple[str, ...]]:
        body = metrics_call(
            shared_emulator, rid, {"$filter": flt, "timespan": span, "interval": "P1D", **extra}
        ).json()
        return [
            tuple(m["value"] for m in ts["metadatavalues"]) for ts in body["value"][0]["timeseries"]
        ]

    assert series("StatusCode eq '401'") == [("401",)]
    assert sorted(series("statuscode eq '401' or StatusCode eq '429'")) == [("401",), ("429",)]
    assert len(series("StatusCode eq '*'", top="2")) == 2
    ascending = series("StatusCode eq '*'", orderby="total asc")
    assert ascending[-1] == ("200",)
    assert series("StatusCode ne '200' and StatusCode eq '*'").count(("200",)) == 0
    unfiltered = metrics_call(shared_emulator, rid, {"timespan": span}).json()
    assert unfiltered["value"][0]["timeseries"][0]["metadatavalues"] == []


def test_aggregations_are_consistent(shared_emulator: EmulatorHandle) -> None:
    rid = shared_emulator.account(EUS)["id"]
    body = metrics_call(
        shared_emulator,
        rid,
        {
            "metricnames": "AzureOpenAIRequests,AzureOpenAITimeToResponse,"
            "AzureOpenAIAvailabilityRate",
            "aggregation": "total,count,average,minimum,maximum",
            "interval": "PT6H",
            "timespan": _span(shared_emulator, 48),
        },
    ).json()
    req, ttr, availability = (v["timeseries"][0]["data"] for v in body["value"])
    point = req[1]
    assert 0 < point["count"] <= 360  # minutes with data in six hours
    assert point["minimum"] <= point["average"] <= point["maximum"]
    assert point["average"] == pytest.approx(point["total"] / point["count"])
    assert 200 < ttr[1]["average"] < 2000
    assert 95 < availability[1]["average"] <= 100


def test_batch_errors(shared_emulator: EmulatorHandle) -> None:
    sub = shared_emulator.conn["subscription_id"]
    url = f"{shared_emulator.url}/subscriptions/{sub}/metrics:getBatch"
    params = {
        "api-version": "2024-02-01",
        "metricnamespace": NAMESPACE,
        "metricnames": "AzureOpenAIRequests",
    }
    body = {"resourceids": [shared_emulator.account(EUS)["id"]]}

    def post(principal: str | None, **extra: str) -> requests.Response:
        headers = {}
        if principal:
            bearer = token(shared_emulator, principal, "https://metrics.monitor.azure.com")
            headers["Authorization"] = f"Bearer {bearer}"
        return requests.post(
            url,
            params={**params, **extra},
            json=body,
            headers=headers,
            verify=ca(shared_emulator),
            timeout=10,
        )

    assert post("keyops-rotator").status_code == 200
    assert post(None).status_code == 401
    denied = post("app-consumer")
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "AuthorizationFailed")
    assert post("keyops-rotator", **{"api-version": "2021-05-01"}).status_code == 400
    wrong_audience = requests.post(
        url,
        params=params,
        json=body,
        verify=ca(shared_emulator),
        timeout=10,
        headers={"Authorization": f"Bearer {token(shared_emulator)}"},
    )
    assert wrong_audience.status_code == 401


def test_rollupby_merges_series_and_keeps_the_filter(shared_emulator: EmulatorHandle) -> None:
    """``rollupby`` (any case) stops the named dimension from splitting; its condition still
    filters; a dimension the metric lacks is ignored. The batch API reads it too."""
    rid = shared_emulator.account(EUS)["id"]
    span = _span(shared_emulator, 14 * 24)
    common = {"timespan": span, "interval": "P1D", "aggregation": "Total"}
    both = "StatusCode ne '200' and ModelDeploymentName eq '*'"
    split = metrics_call(shared_emulator, rid, {**common, "$filter": both}).json()
    rolled = metrics_call(
        shared_emulator, rid, {**common, "$filter": both, "rollupby": "statuscode,NoSuchDim"}
    ).json()
    names = [
        [m["name"]["value"] for m in ts["metadatavalues"]]
        for ts in rolled["value"][0]["timeseries"]
    ]
    assert names and all(n == ["modeldeploymentname"] for n in names)

    def grand_total(body: Any) -> float:
        return sum(p.get("total", 0.0) for ts in body["value"][0]["timeseries"] for p in ts["data"])

    assert grand_total(rolled) == pytest.approx(grand_total(split))
    with metrics_client(shared_emulator) as client:
        [result] = client.query_resources(
            resource_ids=[rid],
            metric_namespace=NAMESPACE,
            metric_names=["AzureOpenAIRequests"],
            timespan=timedelta(days=1),
            aggregations=["Total"],
            filter="StatusCode eq '*'",
            roll_up_by="StatusCode",
        )
    assert len(result.metrics["AzureOpenAIRequests"].timeseries) == 1
