#!/usr/bin/env python3
"""Start-up time: median of N warm runs of ``keyops --help`` (and a subcommand's) against
``python -c "import click"`` in the same venv, interleaved so that machine load hits both alike.

    .venv/bin/python scripts/bench_startup.py            # 30 runs each
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CASES = {
    "import click": [sys.executable, "-c", "import click"],
    "keyops --help": [sys.executable, "-m", "keyops", "--help"],
    "keyops rotate --help": [sys.executable, "-m", "keyops", "rotate", "--help"],
}


#: Warm runs load keyops from its cached bytecode, as an installed keyops does: without it,
#: every run would compile keyops' modules again (PYTHONDONTWRITEBYTECODE is often set in CI).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def once(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=ENV)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=30)
    args = ap.parse_args()
    for cmd in CASES.values():  # warm the page cache and .pyc files
        once(cmd)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.n):
        for name, cmd in CASES.items():
            times[name].append(once(cmd))
    base = statistics.median(times["import click"])
    print(f"load {os.getloadavg()[0]:.2f}; median of {args.n} warm runs")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:24} {1000 * median:7.1f} ms   {median / base:4.2f}x import click")


if __name__ == "__main__":
    main()
