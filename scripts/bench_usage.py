#!/usr/bin/env python3
"""Time and memory of ``keyops usage`` analysis for a fleet: N resources x D days hourly.

    .venv/bin/python scripts/bench_usage.py                  # 1,000 resources x 7 days
    .venv/bin/python scripts/bench_usage.py -n 1000 --days 28 --html /tmp/usage.html

Series come from the evaluation generator (keyops_bench/usage/evaluation.py: half clean, half
with one planted anomaly). Timed stages: detect (all rules), JSON rendering (``keyops.usage/v2``)
and, with --html, the HTML page. Wall and CPU times are measured without tracing (CPU time is the
steadier figure on a busy machine); the peak memory those stages allocate on top of the loaded
series is measured in a second pass under tracemalloc, and the process's maximum resident set size
(series and all) is printed at the end. Not a test: no assertion on speed.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import _bench_path  # noqa: F401  (repo root on sys.path: keyops_bench)

from keyops.usage.detect import analyze
from keyops.usage.html import render_html
from keyops.usage.model import Rotation, UsageSeries
from keyops.usage.render import dumps
from keyops_bench.usage.evaluation import REPORT_SEED, make_case


def _fleet(n: int, hours: int) -> tuple[list[UsageSeries], list[Rotation]]:
    series, rotations = [], []
    for i in range(n):
        case = make_case(i, REPORT_SEED, hours=hours)
        series.append(replace(case.series, name=f"acct-{i:04d}"))
        rotations.extend(case.rotations)
    return series, rotations


def _timed(label: str, fn: Callable[[], Any]) -> Any:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<16} {wall:8.2f} s wall {cpu:8.2f} s cpu")
    return out


def _traced_peak(series: list[UsageSeries], rotations: list[Rotation], html: bool) -> int:
    """Bytes allocated at the peak of detect + render, on top of what was already live."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    report = analyze(series, rotations)
    dumps(report)
    if html:
        render_html(report)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="resources (default 1000)")
    parser.add_argument("--days", type=int, default=7, help="days of hourly data (default 7)")
    parser.add_argument("--html", metavar="FILE", help="also render the HTML page to FILE")
    args = parser.parse_args(argv)
    hours = args.days * 24
    print(f"usage bench: {args.n} resources x {args.days} days hourly ({args.n * hours:,} points)")
    series, rotations = _timed("generate", lambda: _fleet(args.n, hours))
    report = _timed("detect", lambda: analyze(series, rotations))
    text = _timed("render json", lambda: dumps(report))
    if args.html:
        page = _timed("render html", lambda: render_html(report))
        with open(args.html, "w", encoding="utf-8") as fh:
            fh.write(page)
        print(f"html: {len(page) / 1e6:.1f} MB -> {args.html}")
    print(f"findings: {len(report.findings)}, json: {len(text) / 1e6:.1f} MB")
    peak = _traced_peak(series, rotations, bool(args.html))
    print(f"peak traced memory of detect + render (series excluded): {peak / 2**20:.1f} MiB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"max RSS of the whole run (series included): {rss / 1024:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
