#!/usr/bin/env python3
"""Generate the usage-anomaly evaluation set, run the detector on it and print precision/recall.

    .venv/bin/python scripts/eval_usage.py                # 1,000 series, report seed
    .venv/bin/python scripts/eval_usage.py -n 200         # the first 200 of them
    .venv/bin/python scripts/eval_usage.py --hard         # exact minimum magnitudes
    .venv/bin/python scripts/eval_usage.py --seed 7 -v    # the tuning seed, with each mistake

1,000 series (500 planted anomalies) by default because 200 (100 anomalies) leave a recall of
0.95 uncertain by +-0.02; the set is the same, only longer.

What the set is and how a finding is matched: see keyops/usage/evaluation.py. The exit status is
1 when overall precision or recall is below --goal (0.95), so the script can gate a pipeline.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from keyops.usage.evaluation import DEV_SEED, REPORT_SEED, EvalResult, run
from keyops.usage.sensitivity import PRESETS, Sensitivity


def _print(result: EvalResult, verbose: bool) -> None:
    print(f"{'kind':<16} {'planted':>7} {'found':>6} {'false+':>6} {'precision':>9} {'recall':>7}")
    for kind, s in [*result.per_kind.items(), ("overall", result.overall)]:
        print(
            f"{kind:<16} {s.tp + s.fn:>7} {s.tp:>6} {s.fp:>6} {s.precision:>9.3f} {s.recall:>7.3f}"
        )
    if not verbose:
        return
    for case in result.misses:
        e = case.event
        assert e is not None
        print(
            f"missed   #{case.index}: {e.kind} at hour {e.start_hour} for {e.hours} h, "
            f"factor {e.factor:.3g}, baseline {case.spec.baseline:.1f}/h"
        )
    for case, f in result.false_alarms:
        hour = (f.start.timestamp() - case.series.timestamps[0]) / 3600
        planted = f"{case.event.kind} at {case.event.start_hour}" if case.event else "clean"
        print(f"false+   #{case.index}: {f.kind} at hour {hour:.0f} ({planted}): {f.message}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="number of series (default 1000)")
    parser.add_argument(
        "--seed", type=int, default=REPORT_SEED, help=f"set seed (tuning used {DEV_SEED})"
    )
    parser.add_argument("--hard", action="store_true", help="plant exactly the minimum magnitudes")
    parser.add_argument("--sensitivity", choices=PRESETS, default="medium")
    parser.add_argument("--goal", type=float, default=0.95)
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("-v", "--verbose", action="store_true", help="list every mistake")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = run(args.n, args.seed, args.hard, Sensitivity.preset(args.sensitivity), args.jobs)
    elapsed = time.perf_counter() - started
    print(
        f"usage eval: {args.n} series x 168 h, seed {args.seed}, "
        f"{'minimum' if args.hard else 'drawn'} magnitudes, sensitivity {args.sensitivity}, "
        f"{elapsed:.1f} s"
    )
    _print(result, args.verbose)
    total = result.overall
    return 0 if min(total.precision, total.recall) >= args.goal else 1


if __name__ == "__main__":
    sys.exit(main())
