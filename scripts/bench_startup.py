#!/usr/bin/env python3
"""Start-up time: median of N warm runs of ``keyops --help`` and of every subcommand's
``--help`` against ``python -c "import click"`` in the same venv, interleaved so that machine
load hits all alike. The target (issue 14): each at most 1.3x ``import click``.

    .venv/bin/python scripts/bench_startup.py                  # 30 runs each, every command
    .venv/bin/python scripts/bench_startup.py -n 10 rotate     # only `keyops rotate --help`
    .venv/bin/python scripts/bench_startup.py --instructions   # also instructions (valgrind)

keyops runs as users run it: the venv's ``keyops`` console script (``python -m keyops`` where
the script is missing). ``--instructions`` also counts each case's instructions with valgrind's
callgrind (median of 3, fixed hash seed): a figure that machine load does not move, unlike time.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: Warm runs load keyops from its cached bytecode, as an installed keyops does: without it,
#: every run would compile keyops' modules again (PYTHONDONTWRITEBYTECODE is often set in CI).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
TARGET = 1.3


def _keyops() -> list[str]:
    script = Path(sys.executable).parent / "keyops"
    return [str(script)] if script.exists() else [sys.executable, "-m", "keyops"]


def cases(commands: list[str]) -> dict[str, list[str]]:
    from keyops.cli.main import COMMANDS

    unknown = sorted(set(commands) - set(COMMANDS))
    if unknown:
        raise SystemExit(f"bench_startup: no such command: {', '.join(unknown)}")
    keyops = _keyops()
    found = {"import click": [sys.executable, "-c", "import click"]}
    found["keyops --help"] = [*keyops, "--help"]
    for name in commands or sorted(COMMANDS):
        found[f"keyops {name} --help"] = [*keyops, name, "--help"]
        for sub in _subcommands(name):
            found[f"keyops {name} {sub} --help"] = [*keyops, name, sub, "--help"]
    return found


def _subcommands(name: str) -> list[str]:
    """A command group's own subcommands (``keyops emulator serve``)."""
    import click

    from keyops.cli.main import cli

    command = cli.get_command(click.Context(cli), name)
    return sorted(command.commands) if isinstance(command, click.Group) else []


def once(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=ENV)
    return time.perf_counter() - start


def instructions(cmd: list[str]) -> int:
    """Instructions one run executes (callgrind), the median of three."""
    counts = []
    for _ in range(3):
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=True,
            env={**ENV, "PYTHONHASHSEED": "0"},
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise SystemExit("bench_startup: valgrind printed no instruction count")
        counts.append(int(found.group(1)))
    return int(statistics.median(counts))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("commands", nargs="*", help="subcommands (default: every one)")
    ap.add_argument("-n", type=int, default=30, help="warm runs of each case")
    ap.add_argument(
        "--instructions", action="store_true", help="also count instructions (valgrind)"
    )
    args = ap.parse_args()
    todo = cases(args.commands)
    for cmd in todo.values():  # warm the page cache and .pyc files
        once(cmd)
    times: dict[str, list[float]] = {name: [] for name in todo}
    load = [os.getloadavg()[0]]
    for _ in range(args.n):
        for name, cmd in todo.items():
            times[name].append(once(cmd))
    load.append(os.getloadavg()[0])
    base = statistics.median(times["import click"])
    print(
        f"load {load[0]:.2f} -> {load[1]:.2f}; median of {args.n} warm runs of "
        f"{todo['keyops --help'][0]}"
    )
    counts: dict[str, int] = {}
    if args.instructions:
        if shutil.which("valgrind") is None:
            raise SystemExit(
                "bench_startup: --instructions needs valgrind (apt-get install valgrind)"
            )
        counts = {name: instructions(cmd) for name, cmd in todo.items()}
    worst = 0.0
    for name, values in times.items():
        ratio = statistics.median(values) / base
        worst = max(worst, ratio)
        extra = (
            f"   {counts[name] / counts['import click']:4.2f}x its instructions" if counts else ""
        )
        print(
            f"{name:30} {1000 * statistics.median(values):7.1f} ms   "
            f"{ratio:4.2f}x import click{extra}"
        )
    verdict = "within" if worst <= TARGET else "OVER"
    print(f"slowest {worst:.2f}x: {verdict} the {TARGET}x target")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
