#!/usr/bin/env python3
"""How one file's scan grows with what is dense in it: keys, and key names on one long line.

Times ``scan_bytes`` (the whole per-file work: rules, forms, excerpts) on three shapes, for a
doubling count N, and prints each time with its ratio to the previous N (about 2 when linear):

- ``keys, one per line``: N 32-hex keys, ``AZURE_OPENAI_API_KEY_<i>=<key>``;
- ``keys, one line``: the same N keys as ``api_key=<key>`` on one line (a minified config);
- ``names, one line``: a minified bundle with N ``apiKey:""`` (firebase-style configs), no key.

    .venv/bin/python scripts/bench_scan_dense.py --counts 2000 4000 8000 16000

Keys come from ``random.Random(seed)``. Prints a Markdown table; never a key.
"""

from __future__ import annotations

import argparse
import os
import random
import time

import _bench_path  # noqa: F401  (repo root on sys.path)

from keyops.scan.detectors import scan_bytes

_BUNDLE = (
    "function f{i}(a){{return a.map(function(x){{return x*2+{i}}}).filter(Boolean)}};"
    'var o{i}={{apiKey:"",url:u}};'
)


def shapes(n: int, rng: random.Random) -> dict[str, bytes]:
    """The three files for ``n``."""
    keys = ["%032x" % rng.getrandbits(128) for _ in range(n)]
    return {
        "keys, one per line": "\n".join(
            f"AZURE_OPENAI_API_KEY_{i}={k}" for i, k in enumerate(keys)
        ).encode(),
        "keys, one line": ("x=1 " + " ".join(f"api_key={k}" for k in keys)).encode(),
        "names, one line": "".join(_BUNDLE.format(i=i) for i in range(n)).encode(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[2000, 4000, 8000, 16000])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, seed {args.seed}.\n")
    print("| shape | N | size | findings | time | vs previous N |")
    print("|---|---|---|---|---|---|")
    previous: dict[str, float] = {}
    for n in args.counts:
        for shape, data in shapes(n, rng).items():
            started = time.perf_counter()
            hits = scan_bytes(data)
            seconds = time.perf_counter() - started
            ratio = f"{seconds / previous[shape]:.1f}" if shape in previous else "—"
            previous[shape] = seconds
            print(
                f"| {shape} | {n} | {len(data) / 1e6:.2f} MB | {len(hits)} | {seconds:.2f} s "
                f"| {ratio} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
