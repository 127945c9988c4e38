#!/usr/bin/env python3
"""Benchmark ``keyops scan`` against detect-secrets on the same generated tree.

Generates a tree of mixed text with planted Azure OpenAI keys (``keyops.scan.corpus``), runs
``keyops scan -o json`` and ``detect-secrets scan --all-files`` on it, and reports for each:
recall on the planted keys (the right file, line and key), the other results it reported, the
wall time and MB/s. Optionally compares executors in-process (serial / thread / process) and
times ``keyops scan --history`` on a generated repository (detect-secrets has no history mode).

    .venv/bin/python scripts/bench_scan.py --size-mb 50 --history-mb 20 --executors

Prints a Markdown summary for the issue note. Never prints a key.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from keyops_bench.corpus import Corpus, generate_repo, generate_tree

from keyops.scan import ScanOptions, scan_paths

VENV_BIN = Path(sys.executable).parent


def _timed(args: list[str], cwd: Path) -> tuple[float, str]:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    started = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{args[0]} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed, done.stdout


def _row(
    tool: str, found: tuple[int, int], planted: int, other: int, seconds: float, size: int
) -> str:
    """A table row; ``found`` is (exact key on its line, any result on the key's line)."""
    exact, on_line = found
    return (
        f"| {tool} | {exact}/{planted} ({exact / planted:.1%}) | {on_line}/{planted} "
        f"| {other} | {seconds:.2f} s | {size / 1e6 / seconds:.2f} MB/s |"
    )


def bench_keyops(corpus: Corpus) -> str:
    """Run the CLI on the tree and score it against the planted keys."""
    seconds, out = _timed([sys.executable, "-m", "keyops", "scan", "-o", "json", "."], corpus.root)
    findings = json.loads(out)["findings"]
    expected = {(p.path, p.line, p.key.fingerprint) for p in corpus.planted}
    reported = {(f["path"], f["line"], f["key_fingerprint"]) for f in findings}
    lines = {(f["path"], f["line"]) for f in findings}
    found = (len(expected & reported), sum(1 for p in corpus.planted if (p.path, p.line) in lines))
    return _row(
        "keyops scan", found, len(expected), len(reported - expected), seconds, corpus.size_bytes
    )


def bench_detect_secrets(corpus: Corpus) -> str:
    """Run detect-secrets on the same tree; a hit is a result with the key's SHA-1 on its line."""
    tool = shutil.which("detect-secrets", path=str(VENV_BIN)) or "detect-secrets"
    seconds, out = _timed([tool, "scan", "--all-files", "."], corpus.root)
    results: dict[str, list[dict[str, Any]]] = json.loads(out)["results"]
    reported = {
        (path, item["line_number"], item["hashed_secret"])
        for path, items in results.items()
        for item in items
    }
    expected = {
        (p.path, p.line, hashlib.sha1(p.key.reveal().encode(), usedforsecurity=False).hexdigest())
        for p in corpus.planted
    }
    planted_lines = {(path, line) for path, line, _ in expected}
    result_lines = {(path, line) for path, line, _ in reported}
    found = (len(expected & reported), len(planted_lines & result_lines))
    other = sum(1 for path, line, _ in reported if (path, line) not in planted_lines)
    return _row("detect-secrets 1.5", found, len(expected), other, seconds, corpus.size_bytes)


def bench_executors(corpus: Corpus, rounds: int) -> list[str]:
    """In-process throughput of each executor (best of ``rounds``)."""
    lines = ["| executor | best time | MB/s |", "|---|---|---|"]
    for executor in ("serial", "thread", "process"):
        best = min(
            scan_paths([corpus.root], ScanOptions(executor=executor)).stats.seconds
            for _ in range(rounds)
        )
        lines.append(f"| {executor} | {best:.2f} s | {corpus.size_bytes / 1e6 / best:.1f} |")
    return lines


def bench_history(root: Path, size_mb: float, seed: int) -> list[str]:
    """Time ``keyops scan --history`` on a generated repository."""
    corpus = generate_repo(root, size_bytes=int(size_mb * 1e6), seed=seed, commits=12)
    seconds, out = _timed(
        [sys.executable, "-m", "keyops", "scan", "--history", "-o", "json", "."], root
    )
    document = json.loads(out)
    expected = {(p.path, p.line, p.commit, p.key.fingerprint) for p in corpus.planted}
    reported = {
        (f["path"], f["line"], f["commit"], f["key_fingerprint"])
        for f in document["findings"]
        if f["kind"] != "env-file"
    }
    summary = document["summary"]
    return [
        f"History: {summary['commits']} commits, {summary['blobs']} blobs + "
        f"{summary['files']} files, {summary['bytes'] / 1e6:.1f} MB read in {seconds:.2f} s "
        f"({summary['bytes'] / 1e6 / seconds:.1f} MB/s); planted occurrences found "
        f"{len(expected & reported)}/{len(expected)}, other findings {len(reported - expected)}.",
    ]


def main() -> None:
    """Parse options, generate, measure, print the Markdown summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=50.0, help="working tree size")
    parser.add_argument("--history-mb", type=float, default=0.0, help="0: skip the history run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--executors", action="store_true", help="compare executors in-process")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-detect-secrets", action="store_true")
    parser.add_argument("--workdir", type=Path, help="keep generated data here")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="keyops-bench-"))
    tree = workdir / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    started = time.perf_counter()
    corpus = generate_tree(tree, size_bytes=int(args.size_mb * 1e6), seed=args.seed)
    print(
        f"Tree: {corpus.size_bytes / 1e6:.1f} MB, {sum(1 for _ in tree.rglob('*.*'))} files, "
        f"{len(corpus.planted)} planted keys; generated in {time.perf_counter() - started:.1f} s. "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}.",
        flush=True,
    )
    print(
        "\n| tool | planted keys found | any result on a key's line | other results "
        "| wall time | throughput |"
    )
    print("|---|---|---|---|---|---|")
    print(bench_keyops(corpus), flush=True)
    if not args.no_detect_secrets:
        print(bench_detect_secrets(corpus), flush=True)
    if args.executors:
        print()
        print("\n".join(bench_executors(corpus, args.rounds)), flush=True)
    if args.history_mb > 0:
        repo = workdir / "repo"
        shutil.rmtree(repo, ignore_errors=True)
        print()
        print("\n".join(bench_history(repo, args.history_mb, args.seed)))
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
