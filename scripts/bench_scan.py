#!/usr/bin/env python3
"""Benchmark ``keyops scan`` against detect-secrets on the same generated tree.

Generates a tree of mixed text with planted Azure OpenAI keys (``keyops_bench.corpus``), runs
``keyops scan -o json`` and ``detect-secrets scan --all-files`` on it, and reports for each:
recall on the planted keys (the right file, line and key), the other results it reported, the
wall time and MB/s. Optionally compares executors in-process (serial / thread / process) and
times ``keyops scan --history`` on a generated repository (detect-secrets has no history mode).

    .venv/bin/python scripts/bench_scan.py --size-mb 50 --history-mb 20 --executors

With ``--forms`` (default on), also writes the forms corpus (``keyops_bench.forms_corpus``: keys
in base64, joined literals, name/value pairs, URL query parameters, HCL defaults, plus
look-alikes) and reports recall per form and false positives per look-alike category for both
tools. ``--notebooks-mb`` adds notebooks with base64 images to the throughput tree; the
throughput run is repeated (the first run warms the page cache) and reports wall time, MB/s,
the CPU time of keyops and its workers (single-core seconds) and the load average.

    .venv/bin/python scripts/bench_scan.py --size-mb 140 --notebooks-mb 60 --no-detect-secrets

Prints a Markdown summary for the issue note. Never prints a key.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _bench_path  # noqa: F401  (repo root on sys.path: keyops_bench)

from keyops.scan import ScanOptions, scan_paths
from keyops_bench.scan.corpus import Corpus, generate_repo, generate_tree
from keyops_bench.scan.forms_corpus import FORMS, FormsCorpus, generate_forms, write_notebooks

VENV_BIN = Path(sys.executable).parent


#: CPU seconds (user + system) of the last _timed command and the processes it waited for.
LAST_CPU = [0.0]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(args: list[str], cwd: Path) -> tuple[float, str]:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    LAST_CPU[0] = _children_cpu() - cpu
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


def _keyops_forms(corpus: FormsCorpus) -> tuple[set[tuple[str, str]], set[str]]:
    """keyops' findings on the forms corpus: {(path, key fingerprint)} and the paths."""
    _, out = _timed([sys.executable, "-m", "keyops", "scan", "-o", "json", "."], corpus.root)
    findings = json.loads(out)["findings"]
    return {(f["path"], f["key_fingerprint"]) for f in findings}, {f["path"] for f in findings}


def _detect_secrets_paths(root: Path) -> set[str]:
    tool = shutil.which("detect-secrets", path=str(VENV_BIN)) or "detect-secrets"
    _, out = _timed([tool, "scan", "--all-files", "."], root)
    return set(json.loads(out)["results"])


def bench_forms(root: Path, seed: int, per_form: int, detect_secrets: bool) -> list[str]:
    """Recall per form and false positives per look-alike category, for both tools.

    keyops must report the planted key itself (its fingerprint, in its file); detect-secrets
    is given any result in the planted key's file (it cannot decode or join).
    """
    corpus = generate_forms(root, per_form=per_form, per_lookalike=per_form, seed=seed)
    exact, keyops_paths = _keyops_forms(corpus)
    ds_paths = _detect_secrets_paths(root) if detect_secrets else set()
    lines = ["| form | keyops recall | detect-secrets (any result in the file) |", "|---|---|---|"]
    for form in FORMS:
        plants = [p for p in corpus.planted if p.form == form]
        ours = sum(1 for p in plants if (p.path, p.key.fingerprint) in exact)
        theirs = sum(1 for p in plants if p.path in ds_paths)
        lines.append(
            f"| {form} | {ours}/{len(plants)} ({ours / len(plants):.2f}) "
            f"| {theirs}/{len(plants)} ({theirs / len(plants):.2f}) |"
        )
    lines += ["", "| look-alike | files | keyops false positives | detect-secrets |"]
    lines.append("|---|---|---|---|")
    files = collections.Counter(corpus.lookalikes.values())
    ours_fp = collections.Counter(
        corpus.lookalikes[p] for p in keyops_paths if p in corpus.lookalikes
    )
    theirs_fp = collections.Counter(
        corpus.lookalikes[p] for p in ds_paths if p in corpus.lookalikes
    )
    for category, count in files.items():
        lines.append(f"| {category} | {count} | {ours_fp[category]} | {theirs_fp[category]} |")
    return lines


def bench_throughput(corpus: Corpus, rounds: int) -> str:
    """``keyops scan`` on the tree, best of ``rounds`` after a warm-up run."""
    args = [sys.executable, "-m", "keyops", "scan", "-o", "json", "."]
    _timed(args, corpus.root)  # warms the page cache
    runs = []
    for _ in range(rounds):
        seconds, _ = _timed(args, corpus.root)
        runs.append((seconds, LAST_CPU[0], os.getloadavg()[0]))
    seconds, cpu, load = min(runs)
    mb = corpus.size_bytes / 1e6
    return (
        f"Throughput: {mb:.0f} MB in {seconds:.2f} s wall = {mb / seconds:.0f} MB/s "
        f"(best of {rounds}, warm cache; load average {load:.2f} on {os.cpu_count()} CPUs); "
        f"CPU time {cpu:.2f} s = {mb / cpu:.0f} MB/s per core."
    )


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
    parser.add_argument("--notebooks-mb", type=float, default=0.0, help="base64-image notebooks")
    parser.add_argument("--no-forms", action="store_true", help="skip the forms corpus")
    parser.add_argument("--per-form", type=int, default=60, help="leaks per form, look-alikes")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="keyops-bench-"))
    tree = workdir / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    started = time.perf_counter()
    corpus = generate_tree(tree, size_bytes=int(args.size_mb * 1e6), seed=args.seed)
    if args.notebooks_mb > 0:
        write_notebooks(tree, size_bytes=int(args.notebooks_mb * 1e6), seed=args.seed)
        corpus.size_bytes = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
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
    print("\n" + bench_throughput(corpus, args.rounds), flush=True)
    if not args.no_forms:
        forms = workdir / "forms"
        shutil.rmtree(forms, ignore_errors=True)
        print()
        print("\n".join(bench_forms(forms, args.seed, args.per_form, not args.no_detect_secrets)))
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
