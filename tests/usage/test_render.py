"""Table, JSON and HTML output of a usage report."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from keyops.severity import Severity
from keyops.usage import KeyUsagePolicy, analyze
from keyops.usage.detect import UsageReport
from keyops.usage.html import render_html
from keyops.usage.render import SCHEMA, dumps, finding_rows, print_table, sparkline, summary_rows
from keyops_bench.usage.synth import PlantedEvent
from tests.usage.factory import RID, rotation, series


def _report() -> UsageReport:
    spiky = series("spiky", events=(PlantedEvent("spike", 30, 2, 15.0),), seed=2)
    left = series("left-behind", events=(PlantedEvent("auth_surge_401", 90, 3, 60.0),), seed=4)
    quiet = series("quiet", seed=1)
    policy = KeyUsagePolicy.of([RID.format("quiet")])
    return analyze([spiky, left, quiet], [rotation("left-behind", 88)], policy)


def test_sparkline_scales_to_the_maximum_and_buckets_long_series() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([0.0] * 5) == "     "
    assert len(sparkline([1.0] * 168, width=42)) == 42
    assert sparkline([]) == ""
    spike = sparkline([1.0] * 167 + [100.0], width=42)
    assert spike.endswith("█") and set(spike[:-1]) == {"▁"}


def test_json_document_carries_schema_resources_and_explained_findings() -> None:
    report = _report()
    doc = json.loads(dumps(report))
    assert doc["schema"] == SCHEMA == "keyops.usage/v2"
    assert doc["window"]["interval"] == "PT1H"
    assert doc["summary"]["resources"] == 3
    assert doc["summary"]["by_kind"] == {"spike": 1, "auth_surge_401": 1, "unexpected_key_use": 1}
    kinds = {f["kind"]: f for f in doc["findings"]}
    assert kinds["spike"]["severity"] == "high" and kinds["spike"]["start"].endswith("Z")
    assert kinds["auth_surge_401"]["rotation"]["slot"] == "Key2"
    assert kinds["unexpected_key_use"]["ratio"] is None  # nothing expected: no infinity in JSON
    assert "series" not in doc["resources"][0]
    with_series = json.loads(dumps(report, include_series=True))["resources"][0]["series"]
    assert len(with_series["timestamps"]) == 168 and "200" in with_series["requests_by_status"]


def test_table_shows_a_sparkline_per_metric_and_every_finding(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = _report()
    rows = summary_rows(report)
    assert [r["resource"] for r in rows if r["resource"]] == ["spiky", "left-behind", "quiet"]
    assert [r["metric"] for r in rows[:4]] == ["calls", "failed", "401", "tokens"]
    assert all(set(r["sparkline"]) <= set("▁▂▃▄▅▆▇█ ") for r in rows)
    assert all(len(r["sparkline"]) == 28 for r in rows if r["metric"] == "calls")
    assert next(r["kind"] for r in finding_rows(report)) == "spike"
    print_table(report)
    text = capsys.readouterr().out
    assert "left-behind" in text and "auth_surge_401" in text and "▁" in text
    assert "regenerated" in text and "Next:" in text


def test_html_is_self_contained_escaped_and_marks_each_finding() -> None:
    report = _report()
    hostile = replace(report.series[0], name='<script>alert("x")</script>')
    page = render_html(replace(report, series=(hostile, *report.series[1:])))
    assert "<script" not in page and "&lt;script&gt;" in page
    assert not re.search(r"(src|href)=\"(?!#)", page)  # no external asset, only in-page links
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    markers = re.findall(r'<rect class="anomaly anomaly-(\w+)" data-kind="(\w+)"', page)
    assert sorted(k for k, _ in markers) == sorted(f.kind for f in report.findings)
    assert page.count('class="rotation"') == 3  # one per panel of the rotated resource
    assert page.count("<svg") == 9


def test_html_can_chart_only_resources_with_findings() -> None:
    report = _report()
    page = render_html(report, only_with_findings=True, title="fleet & co")
    assert page.count('<section class="resource"') == 3  # all three have a finding
    assert "<title>fleet &amp; co</title>" in page
    clean = analyze([series("a", seed=1), series("b", seed=2)])
    assert render_html(clean, only_with_findings=True).count("<section") == 0
    assert "No anomalies found." in render_html(clean)


@pytest.mark.parametrize("kind", ["level_shift", "quiet_day", "throttling"])
def test_html_charts_info_findings_too(kind: str) -> None:
    report = _report()
    info = replace(report.findings[0], kind=kind, severity=Severity.INFO)
    page = render_html(replace(report, findings=(info,)))
    assert f'data-kind="{kind}"' in page
