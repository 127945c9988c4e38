#!/usr/bin/env python3
"""Score ``keyops usage`` on the second evaluation set (fleets drawn from real-traffic patterns).

    .venv/bin/python scripts/eval_usage_traffic.py                     # the tuning seeds
    .venv/bin/python scripts/eval_usage_traffic.py --seeds A-B -j 2    # an evaluation range
    .venv/bin/python scripts/eval_usage_traffic.py --sensitivity low   # outage recall by volume

What the set is: keyops_bench/usage/traffic.py; scoring rules and the kind-mapping table:
keyops_bench/usage/scoring.py; window-end and hour-by-hour runs: keyops_bench/usage/traffic_eval.py.
The exit status is 1 when the issue's goals are not all met at the window's end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import _bench_path  # noqa: F401  (repo root on sys.path: keyops_bench)

from keyops.usage.model import HOUR
from keyops.usage.sensitivity import PRESETS, Sensitivity
from keyops_bench.usage.scoring import Score, print_score
from keyops_bench.usage.traffic import FLEET, TUNING_SEEDS, build_fleet
from keyops_bench.usage.traffic_eval import at_window_end, planted_window


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def _goals_met(s: Score) -> bool:
    per_kind = [t.recall for t in s.planted.values()] + [t.precision for t in s.found.values()]
    return (
        min(s.precision, s.recall) >= 0.95
        and min(per_kind, default=1.0) >= 0.9
        and s.legit_quiet_share >= 0.98
    )


def outage_recall(seeds: list[int], sens: Sensitivity, min_calls: float) -> tuple[int, int]:
    """(found, planted) outages on accounts averaging above *min_calls* calls/h."""
    from keyops_bench.usage.scoring import score

    found = total = 0
    for seed in seeds:
        for case in build_fleet(seed):
            p = case.planted
            if p is None or p.kind != "outage" or case.account.level <= min_calls:
                continue
            s = score(planted_window(case), at_window_end(case, sens))
            total += 1
            found += s.planted["outage"].tp
    return found, total


def _print_mistakes(s: Score) -> None:
    for p in s.misses:
        at = time.strftime("%a %m-%d %H:00", time.gmtime(p.start))
        name = p.resource_id.rsplit("/", 1)[-1]
        print(f"missed   {name}: {p.kind} {(p.end - p.start) // HOUR} h at {at}")
    for f in s.false_alarms:
        print(f"false+   {f.resource_name}: {f.kind} {f.severity.label}: {f.message[:150]}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = f"{TUNING_SEEDS[0]}-{TUNING_SEEDS[-1]}"
    parser.add_argument("--seeds", default=default, help=f"e.g. 1-20 or 3,5 (default {default})")
    parser.add_argument("-n", type=int, default=FLEET, help=f"accounts per seed ({FLEET})")
    parser.add_argument("--sensitivity", choices=PRESETS, default="medium")
    parser.add_argument("--no-hourly", action="store_true", help="skip the hour-by-hour runs")
    parser.add_argument("-j", "--jobs", type=int, default=min(os.cpu_count() or 1, 2))
    parser.add_argument("-v", "--verbose", action="store_true", help="list every mistake")
    args = parser.parse_args(argv)
    from keyops_bench.usage.traffic_eval import evaluate

    seeds = _seeds(args.seeds)
    sens = Sensitivity.preset(args.sensitivity)
    started = time.perf_counter()
    end, hourly = evaluate(seeds, sens, args.n, not args.no_hourly, args.jobs)
    print(f"usage eval (second set): seeds {args.seeds}, {len(seeds) * args.n} accounts x 28 d, "
          f"sensitivity {args.sensitivity}")  # fmt: skip
    print_score("at the window's end:", end)
    if not args.no_hourly:
        print_score("hour by hour (runaway and launch-step accounts, new alerts):", hourly)
    found, total = outage_recall(seeds, sens, 1000.0)
    print(f"outages on accounts above 1,000 calls/h: {found}/{total} found")
    if args.verbose:
        _print_mistakes(end)
        if not args.no_hourly:
            print("-- hour by hour --")
            _print_mistakes(hourly)
    print(f"{time.perf_counter() - started:.1f} s")
    return 0 if _goals_met(end) else 1


if __name__ == "__main__":
    sys.exit(main())
