"""Terminal table (with sparklines) and JSON for a :class:`~keyops.usage.detect.UsageReport`."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from keyops.usage import wording as w
from keyops.usage.detect import UsageReport
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.model import Finding, Rotation, UsageSeries, from_epoch, worst_severity

#: v2: ``notes`` (what the report leaves out, e.g. the current hour) and, with ``--series``, each
#: resource's hourly ``series``.
SCHEMA = "keyops.usage/v2"
BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 42) -> str:
    """Unicode bars of *values* averaged into at most *width* buckets (blank when all zero)."""
    if not values:
        return ""
    buckets = min(width, len(values))
    size = len(values) / buckets
    means = []
    for b in range(buckets):
        chunk = values[round(b * size) : round((b + 1) * size)] or [0.0]
        means.append(sum(chunk) / len(chunk))
    top = max(means)
    if top <= 0:
        return " " * buckets
    return "".join(BARS[min(int(v / top * (len(BARS) - 1) + 0.5), len(BARS) - 1)] for v in means)


def _by_resource(report: UsageReport) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in report.findings:
        out.setdefault(f.resource_id, []).append(f)
    return out


#: Metric rows of the terminal table: label, HourlyMetrics attribute.
METRICS = (("calls", "calls"), ("failed", "errors"), ("401", "auth_401"), ("tokens", "tokens"))


def summary_rows(report: UsageReport, width: int = 28) -> list[dict[str, str]]:
    """One row per resource and metric: a sparkline over the window and the total."""
    findings = _by_resource(report)
    rows = []
    for s in report.series:
        m = HourlyMetrics.of(s)
        mine = findings.get(s.resource_id, [])
        worst = worst_severity(mine)
        note = f"{len(mine)} ({worst.label})" if worst is not None else "-"
        for i, (label, attr) in enumerate(METRICS):
            values: list[float] = getattr(m, attr)
            rows.append(
                {
                    "resource": s.name if i == 0 else "",
                    "metric": label,
                    "sparkline": sparkline(values, width),
                    "total": w.count(sum(values)),
                    "findings": note if i == 0 else "",
                }
            )
    return rows


def finding_rows(report: UsageReport) -> list[dict[str, str]]:
    """One row per finding, most severe first."""
    return [
        {
            "severity": f.severity.label,
            "resource": f.resource_name,
            "kind": f.kind,
            "when": w.span(f.start, f.end),
            "how_far": f"{f.ratio:.1f}x usual, score {f.score:.1f}"
            if math.isfinite(f.ratio)
            else "none expected",
            "message": f.message,
            "recommendation": f.recommendation,
        }
        for f in report.findings
    ]


def print_table(report: UsageReport, output: str = "table", width: int = 28) -> None:
    """Print a sparkline per resource and metric, then each finding as a short block wrapped
    between words to the terminal (``keyops.render`` fits, escapes and colours)."""
    import shutil
    import sys
    import textwrap

    from keyops.render import Layout, escape_control, is_tty, severity_label
    from keyops.render import print_table as table

    hours = max((s.hours for s in report.series), default=0)
    rows = [
        [r["resource"], r["metric"], r["sparkline"], r["total"], r["findings"]]
        for r in summary_rows(report, width)
    ]
    table(
        ["resource", "metric", "per hour", "total", "findings"],
        rows,
        title=None if output == "tsv" else f"Usage per resource ({hours} h)",
        layout=Layout(drop=("findings", "total")),
        output=output,
    )
    if output == "tsv":
        return
    columns = shutil.get_terminal_size().columns if is_tty() and output != "wide" else None

    def say(text: str, indent: str = "") -> None:
        text = escape_control(text)
        if columns is None:
            sys.stdout.write(indent + text + "\n")
            return
        for line in textwrap.wrap(
            text,
            columns,
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        ):
            sys.stdout.write(line + "\n")

    for note in report.notes:
        say(note)
    print()
    if not report.findings:
        print("No anomalies found.")
        return
    print(f"Findings ({len(report.findings)})")
    for r in finding_rows(report):
        print()
        label = r["severity"].upper()
        head = f"{r['resource']}  {r['kind']}  {r['when']}  ({r['how_far']})"
        if columns is None or len(label) + 1 + len(head) <= columns:
            sys.stdout.write(f"{severity_label(label)} {escape_control(head)}\n")
        else:
            sys.stdout.write(severity_label(label) + "\n")
            say(head, "  ")
        say(r["message"], "  ")
        say(f"Next: {r['recommendation']}", "  ")
    sys.stdout.flush()


def _number(value: float) -> float | None:
    """JSON has no infinity: a ratio against nothing expected becomes null."""
    return value if math.isfinite(value) else None


def rotation_record(r: Rotation) -> dict[str, Any]:
    """A rotation as JSON."""
    return {
        "resource_id": r.resource_id,
        "rotated_at": w.iso(r.rotated_at),
        "slot": r.slot,
        "secret_name": r.secret_name,
        "secret_version": r.secret_version,
        "previous_version": r.previous_version,
    }


def finding_record(f: Finding) -> dict[str, Any]:
    """A finding as JSON."""
    return {
        "kind": f.kind,
        "severity": f.severity.label,
        "resource_id": f.resource_id,
        "resource_name": f.resource_name,
        "start": w.iso(f.start),
        "end": w.iso(f.end),
        "hours": f.hours,
        "observed": f.observed,
        "expected": f.expected,
        "ratio": _number(f.ratio),
        "score": f.score,
        "unit": f.unit,
        "message": f.message,
        "recommendation": f.recommendation,
        "rotation": rotation_record(f.rotation) if f.rotation else None,
    }


def _series_record(s: UsageSeries) -> dict[str, Any]:
    return {
        "timestamps": [w.iso(from_epoch(t)) for t in s.timestamps],
        "requests_total": list(s.requests_total),
        "requests_by_status": {k: list(v) for k, v in s.requests_by_status.items()},
        "prompt_tokens": list(s.prompt_tokens),
        "generated_tokens": list(s.generated_tokens),
    }


def to_json(report: UsageReport, include_series: bool = False) -> dict[str, Any]:
    """The report as one JSON document (``schema: keyops.usage/v2``)."""
    findings = _by_resource(report)
    resources = []
    for s in report.series:
        m = HourlyMetrics.of(s)
        worst = worst_severity(findings.get(s.resource_id, []))
        record: dict[str, Any] = {
            "resource_id": s.resource_id,
            "name": s.name,
            "totals": {
                "calls": sum(s.requests_total),
                "failed": sum(m.errors),
                "401": sum(m.auth_401),
                "403": sum(m.auth_403),
                "prompt_tokens": sum(s.prompt_tokens),
                "generated_tokens": sum(s.generated_tokens),
            },
            "findings": len(findings.get(s.resource_id, [])),
            "worst_severity": worst.label if worst is not None else None,
        }
        if include_series:
            record["series"] = _series_record(s)
        resources.append(record)
    starts = [s.start for s in report.series if s.hours]
    ends = [s.end for s in report.series if s.hours]
    worst_all = worst_severity(report.findings)
    return {
        "schema": SCHEMA,
        "window": {
            "start": w.iso(min(starts)) if starts else None,
            "end": w.iso(max(ends)) if ends else None,
            "interval": "PT1H",
        },
        "summary": {
            "resources": len(report.series),
            "findings": len(report.findings),
            "worst_severity": worst_all.label if worst_all is not None else None,
            "by_kind": dict(Counter(f.kind for f in report.findings)),
        },
        "notes": list(report.notes),
        "resources": resources,
        "findings": [finding_record(f) for f in report.findings],
        "rotations": [rotation_record(r) for r in report.rotations],
    }


def dumps(report: UsageReport, include_series: bool = False) -> str:
    """:func:`to_json` serialised (indented, UTF-8 safe)."""
    return json.dumps(to_json(report, include_series), indent=2, ensure_ascii=False)
