#!/usr/bin/env python3
"""Time ``keyops demo`` end to end: the README promises the whole job in under 30 s.

    .venv/bin/python scripts/bench_demo.py            # 3 runs
    .venv/bin/python scripts/bench_demo.py --runs 5 --limit 30

Each run is a fresh process (``python -m keyops demo``) with its output discarded; the script
prints wall and CPU seconds per run, the median, the machine's load average before and after,
and exits 1 when the median is over ``--limit`` seconds or a run failed. A benchmark, not a
test: the suite never asserts on time (a busy CI machine is not a slow product).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once() -> tuple[float, float, int]:
    """One demo in a fresh process: (wall seconds, CPU seconds, exit status)."""
    cpu0, t0 = _child_cpu(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "keyops", "demo"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - t0, _child_cpu() - cpu0, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit", type=float, default=30.0, help="seconds the median may take")
    args = parser.parse_args()
    print(f"load before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    walls: list[float] = []
    failed = 0
    for i in range(args.runs):
        wall, cpu, status = run_once()
        walls.append(wall)
        failed += status != 0
        print(f"run {i + 1}: {wall:6.2f} s wall, {cpu:6.2f} s CPU, exit {status}")
    median = statistics.median(walls)
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    verdict = "within" if median <= args.limit else "OVER"
    print(f"median {median:.2f} s: {verdict} the {args.limit:.0f} s promise; {failed} failed")
    return 0 if median <= args.limit and not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
