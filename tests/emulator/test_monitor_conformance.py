"""Conformance with the official Monitor metrics spec (2024-02-01): our answer to the GetMetric
example's query has every example field with the same JSON type, and every field we emit is
defined by the spec (walking into the monitoring common types)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from keyops.emulator.core.clock import iso
from tests.emulator.arm_support import (
    SPECS,
    SpecWalker,
    load_json,
    missing_fields,
    undefined_fields,
)
from tests.emulator.monitor_support import metrics_call
from tests.emulator.openai_support import EUS
from tests.support.emulator import EmulatorHandle
from tests.support.specs import needs

METRICS = SPECS / "monitor-metrics"
pytestmark = needs(METRICS)
_LOCAL = {
    "common-types/v2/commonMonitoringTypes.json": METRICS
    / "common-types/v2/commonMonitoringTypes.json",
    "common-types/resource-management/v1/types.json": SPECS
    / "common-types/resource-management/v1/types.json",
}


class MonitorSpecWalker(SpecWalker):
    """Maps the spec's repository-relative ``$ref`` files onto the local snapshot."""

    def _file(self, base: Path, ref_file: str) -> Path:
        for suffix, local in _LOCAL.items():
            if ref_file.endswith(suffix):
                return local
        return super()._file(base, ref_file)


def _ours(handle: EmulatorHandle, example: dict[str, Any]) -> dict[str, Any]:
    params = example["parameters"]
    now = handle.server.emulator.clock.now()
    r = metrics_call(
        handle,
        handle.account(EUS)["id"],
        {
            "metricnames": "AzureOpenAIRequests,TokenTransaction",
            "metricnamespace": "Microsoft.CognitiveServices/accounts",
            "timespan": f"{iso(now - 30 * 3600)}/{iso(now - 25 * 3600)}",  # inside the history
            "$filter": "ModelDeploymentName eq '*'",
            "top": params["top"],
            "orderby": params["orderby"],
            "aggregation": params["aggregation"],
            "interval": "PT1H",
            "AutoAdjustTimegrain": "true",
            "ValidateDimensions": "false",
        },
        api_version=params["api-version"],
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_get_metric_example(shared_emulator: EmulatorHandle) -> None:
    spec = METRICS / "2024-02-01/metrics_API.json"
    walker = MonitorSpecWalker(spec)
    example = load_json(METRICS / "2024-02-01/examples/GetMetric.json")
    ours = _ours(shared_emulator, example)
    schema, base = walker.operation_schema("Metrics_List")
    assert missing_fields(walker, example["responses"]["200"]["body"], ours, schema, base) == []
    assert undefined_fields(walker, ours, schema, base) == []
    series = ours["value"][0]["timeseries"]
    assert series and all(
        set(p) == {"timeStamp", "average", "minimum", "maximum"} for p in series[0]["data"]
    )


def test_the_checker_walks_into_the_common_types() -> None:
    spec = METRICS / "2024-02-01/metrics_API.json"
    walker = MonitorSpecWalker(spec)
    schema, base = walker.operation_schema("Metrics_List")
    example = load_json(METRICS / "2024-02-01/examples/GetMetric.json")["responses"]["200"]["body"]
    broken = dict(example, value=[dict(example["value"][0], unit=3, extra=True)])
    assert undefined_fields(walker, broken, schema, base) == [
        "$.value[0].unit: number where the spec says string",
        "$.value[0].extra: not defined by the spec",
    ]
