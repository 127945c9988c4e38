"""A self-contained HTML usage report: inline SVG charts per resource, anomalies marked.

No script, no external asset (fonts, styles, images): the page renders offline and in locked-down
viewers. Every text from the data is escaped. Anomaly markers are ``<rect class="anomaly ...">``
with ``data-kind``, ``data-severity`` and ``data-resource`` attributes (stable for tests and for
anyone post-processing the page); rotations are ``<line class="rotation">``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from html import escape

from keyops.usage import wording as w
from keyops.usage.detect import UsageReport
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.model import HOUR, Finding, Rotation, UsageSeries, to_epoch_hour, worst_severity

WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 760, 128, 56, 12, 18, 22
#: Which panel a finding is drawn on.
PANEL_OF = {
    "spike": "calls",
    "drop": "calls",
    "error_rate": "calls",
    "unexpected_key_use": "calls",
    "level_shift": "calls",
    "quiet_day": "calls",
    "throttling": "calls",
    "auth_surge_401": "auth",
    "token_spend": "tokens",
}

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2330;
background:#fff}h1{font-size:22px}h2{font-size:17px;margin:28px 0 2px}
code{font-size:12px;color:#555}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #d5d9e0;padding:4px 8px;
vertical-align:top;text-align:left}th{background:#f2f4f7}.sev{font-weight:600;text-transform:uppercase;
font-size:12px}.sev-critical,.sev-high{color:#b3261e}.sev-medium{color:#b26a00}.sev-low{color:#2f6f3e}
.sev-info{color:#51607a}svg{display:block;background:#fbfcfd;border:1px solid #e3e6eb;margin:4px 0}
.axis{stroke:#9aa3b2;stroke-width:1}.grid{stroke:#e7eaee;stroke-width:1}.label{font-size:10px;fill:#5b6474}
.panel-title{font-size:11px;fill:#1d2330;font-weight:600}.line{fill:none;stroke-width:1.4}
.calls{stroke:#2563eb}.failed{stroke:#dc2626}.auth401{stroke:#7c3aed}.auth403{stroke:#db2777}
.tokens{stroke:#059669}.anomaly{fill:#f59e0b;fill-opacity:.28;stroke:#d97706;stroke-width:1}
.anomaly[data-severity=high],.anomaly[data-severity=critical]{fill:#ef4444;stroke:#b91c1c}
.rotation{stroke:#111827;stroke-width:1.2;stroke-dasharray:4 3}.legend span{margin-right:14px;
font-size:12px}.swatch{display:inline-block;width:12px;height:3px;vertical-align:middle;margin-right:4px}
.none{color:#2f6f3e}
"""


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _fmt_axis(value: float) -> str:
    return w.count(value) if value < 1e6 else f"{value / 1e6:.1f}M"


class _Panel:
    """One SVG chart over the series' hours with a linear y axis from zero."""

    def __init__(
        self, series: UsageSeries, title: str, lines: Sequence[tuple[str, Sequence[float]]]
    ):
        self.series, self.title, self.lines = series, title, lines
        self.top = max((max(v, default=0.0) for _, v in lines), default=0.0) or 1.0
        self.n = max(series.hours, 1)

    def x(self, hour: float) -> float:
        return PAD_L + (WIDTH - PAD_L - PAD_R) * hour / self.n

    def y(self, value: float) -> float:
        return PAD_T + (HEIGHT - PAD_T - PAD_B) * (1 - value / (self.top * 1.08))

    def hour_of(self, moment: datetime) -> float:
        return (moment.timestamp() - self.series.timestamps[0]) / HOUR

    def svg(self, markers: Sequence[str], panel: str) -> str:
        parts = [
            f'<svg class="chart" data-panel="{panel}" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(self.title)}">',
            *self._axes(),
            *markers,
        ]
        # Whole pixels: a week is ~4 px per hour, and a 1,000-resource page stays quick to build.
        xs = [str(round(self.x(i + 0.5))) for i in range(self.n)]
        for css, values in self.lines:
            points = " ".join(f"{x},{round(self.y(v))}" for x, v in zip(xs, values, strict=True))
            parts.append(f'<polyline class="line {css}" points="{points}"/>')
        title = escape(self.title)
        parts.append(f'<text class="panel-title" x="{PAD_L}" y="{PAD_T - 5}">{title}</text>')
        parts.append("</svg>")
        return "\n".join(parts)

    def _axes(self) -> list[str]:
        bottom, left, right = HEIGHT - PAD_B, PAD_L, WIDTH - PAD_R
        out = [
            f'<line class="axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>',
            f'<line class="axis" x1="{left}" y1="{PAD_T}" x2="{left}" y2="{bottom}"/>',
            f'<text class="label" x="{left - 4}" y="{self.y(self.top) + 3:.1f}" '
            f'text-anchor="end">{_fmt_axis(self.top)}</text>',
            f'<text class="label" x="{left - 4}" y="{bottom}" text-anchor="end">0</text>',
        ]
        first = self.series.timestamps[0] if self.series.hours else 0
        day = 86400
        step = max(1, self.n // 24 // 10)  # at most ~10 day labels
        midnight = first + (-first) % day
        for k, ts in enumerate(range(midnight, first + self.n * HOUR, day)):
            x = self.x((ts - first) / HOUR)
            out.append(f'<line class="grid" x1="{x:.1f}" y1="{PAD_T}" x2="{x:.1f}" y2="{bottom}"/>')
            if k % step == 0:
                label = datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%a %m-%d")
                out.append(f'<text class="label" x="{x + 2:.1f}" y="{HEIGHT - 7}">{label}</text>')
        return out


def _marker(panel: _Panel, f: Finding, index: int) -> str:
    x0, x1 = panel.x(panel.hour_of(f.start)), panel.x(panel.hour_of(f.end))
    tip = escape(f"{f.severity.label.upper()} {f.kind}: {f.message}")
    return (
        f'<rect class="anomaly anomaly-{f.kind}" data-kind="{f.kind}" '
        f'data-severity="{f.severity.label}" data-resource="{escape(f.resource_id)}" '
        f'data-finding="{index}" data-start="{w.iso(f.start)}" x="{x0:.1f}" y="{PAD_T}" '
        f'width="{max(x1 - x0, 2):.1f}" height="{HEIGHT - PAD_T - PAD_B}">'
        f"<title>{tip}</title></rect>"
    )


def _rotation_line(panel: _Panel, r: Rotation) -> str:
    x = panel.x(panel.hour_of(r.rotated_at))
    tip = escape(f"{r.slot} regenerated at {w.when(r.rotated_at)}")
    return (
        f'<line class="rotation" data-slot="{escape(r.slot)}" x1="{x:.1f}" y1="{PAD_T}" '
        f'x2="{x:.1f}" y2="{HEIGHT - PAD_B}"><title>{tip}</title></line>'
    )


def _resource_section(
    s: UsageSeries, idx: int, findings: Sequence[tuple[int, Finding]], rotations: Sequence[Rotation]
) -> str:
    m = HourlyMetrics.of(s)
    panels = {
        "calls": _Panel(s, "Calls (blue) and failed calls (red) per hour",
                        [("calls", m.calls), ("failed", m.errors)]),
        "auth": _Panel(s, "401 (purple) and 403 (pink) per hour",
                       [("auth401", m.auth_401), ("auth403", m.auth_403)]),
        "tokens": _Panel(s, "Tokens per hour", [("tokens", m.tokens)]),
    }  # fmt: skip
    lo, hi = s.timestamps[0], s.timestamps[-1] + HOUR
    mine = [r for r in rotations if r.resource_id.lower() == s.resource_id.lower()]
    mine = [r for r in mine if lo <= to_epoch_hour(r.rotated_at) < hi]
    charts = []
    for name, panel in panels.items():
        marks = [_marker(panel, f, i) for i, f in findings if PANEL_OF[f.kind] == name]
        marks += [_rotation_line(panel, r) for r in mine]
        charts.append(panel.svg(marks, name))
    worst = worst_severity([f for _, f in findings])
    badge = (
        f'<span class="sev sev-{worst.label}">{worst.label}</span>'
        if worst is not None
        else '<span class="none">no findings</span>'
    )
    return (
        f'<section class="resource" id="r{idx}" data-resource="{escape(s.resource_id)}">'
        f"<h2>{escape(s.name)} {badge}</h2><code>{escape(s.resource_id)}</code>\n"
        + "\n".join(charts)
        + "</section>"
    )


def _findings_table(report: UsageReport, anchors: dict[str, int]) -> str:
    if not report.findings:
        return '<p class="none">No anomalies found.</p>'
    rows = []
    for f in report.findings:
        link = f'<a href="#r{anchors.get(f.resource_id, 0)}">{escape(f.resource_name)}</a>'
        rows.append(
            f'<tr class="finding" data-kind="{f.kind}"><td class="sev sev-{f.severity.label}">'
            f"{f.severity.label}</td><td>{link}</td><td>{f.kind}</td>"
            f"<td>{escape(w.span(f.start, f.end))}</td><td>{escape(f.message)}<br><em>Next:</em> "
            f"{escape(f.recommendation)}</td></tr>"
        )
    head = (
        "<tr><th>severity</th><th>resource</th><th>kind</th><th>when</th><th>what and why</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def render_html(
    report: UsageReport, title: str = "keyops usage report", only_with_findings: bool = False
) -> str:
    """The whole page. Resources with findings come first (most severe first)."""
    indexed = list(enumerate(report.findings))
    by_res: dict[str, list[tuple[int, Finding]]] = {}
    for i, f in indexed:
        by_res.setdefault(f.resource_id, []).append((i, f))

    def order(s: UsageSeries) -> tuple[int, str]:
        worst = worst_severity([f for _, f in by_res.get(s.resource_id, [])])
        return (-(int(worst) + 1) if worst is not None else 0, s.name)

    series = sorted(report.series, key=order)
    if only_with_findings:
        series = [s for s in series if s.resource_id in by_res]
    anchors = {s.resource_id: i for i, s in enumerate(series)}
    sections = [
        _resource_section(
            s, anchors[s.resource_id], by_res.get(s.resource_id, []), report.rotations
        )
        for s in series
        if s.hours
    ]
    legend = (
        '<p class="legend"><span><i class="swatch" style="background:#f59e0b"></i>anomaly</span>'
        '<span><i class="swatch" style="background:#111827"></i>key rotation (dashed)</span></p>'
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>{_plural(len(report.series), 'resource')}, "
        f"{_plural(len(report.findings), 'finding')}.</p>"
        + "".join(f'<p class="note">{escape(n)}</p>' for n in report.notes)
        + f"{legend}<h2>Findings</h2>"
        f"{_findings_table(report, anchors)}" + "\n".join(sections) + "</body></html>\n"
    )
