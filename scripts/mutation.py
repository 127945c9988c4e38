#!/usr/bin/env python3
"""Mutation score of keyops's core modules, measured with cosmic-ray.

    scripts/mutation                       # every module in scripts/mutation.toml
    scripts/mutation --quick               # a seeded sample of 30 mutants per module
    scripts/mutation keyops/secret.py      # one module (or a folder: each file in it)

For each module, cosmic-ray mutates the file in place, one mutant at a time, and runs the tests
that scripts/mutation.toml names for it; a mutant is *killed* when those tests fail. The score
is killed / (killed + survived). Left out of the score, each with its reason printed:

- mutants inside annotations: with ``from __future__ import annotations`` (every keyops module)
  an annotation is never evaluated, so ``str | None`` -> ``str // None`` cannot change behaviour;
- equivalent mutants listed in scripts/mutation.toml ``[[equivalent]]``, each with a one-line
  reason (a mutant no test could kill because behaviour is the same);
- with ``--quick``, the mutants outside the sample.

Survivors are printed as file:line, operator and the changed line. Exit 1 when a module scores
below ``--threshold`` (default 0.90). Files are restored from a copy when a run is interrupted.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "scripts" / "mutation.toml"


@dataclass
class Score:
    """What one module's run found."""

    module: str
    killed: int = 0
    survivors: list[str] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    incompetent: int = 0

    @property
    def scored(self) -> int:
        return self.killed + len(self.survivors)

    @property
    def rate(self) -> float:
        return self.killed / self.scored if self.scored else 1.0


Span = tuple[tuple[int, int], tuple[int, int]]


def annotation_spans(path: Path) -> list[Span]:
    """Source ranges ((line, col), (end line, end col)) of every annotation in a module."""
    tree = ast.parse(path.read_text())
    spans: list[Span] = []

    def cover(node: ast.expr | None) -> None:
        if node is not None and node.end_lineno is not None and node.end_col_offset is not None:
            spans.append(((node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)))

    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            cover(node.returns)
            a = node.args
            for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
                if arg is not None:
                    cover(arg.annotation)
        elif isinstance(node, ast.AnnAssign):
            cover(node.annotation)
    return spans


def in_annotation(spans: list[Span], start: tuple[int, int]) -> bool:
    """Whether a mutation at ``start`` (1-based line, 0-based column) lies in an annotation."""
    return any(lo <= start < hi for lo, hi in spans)


def _cr(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "cosmic-ray"
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True, check=False)


def _equivalents(config: dict[str, Any], module: str) -> dict[tuple[int, str, str], str]:
    """Listed equivalent mutants of ``module``: (line, operator, mutated line) -> reason."""
    return {
        (int(item["line"]), str(item["operator"]), str(item["mutant"]).strip()): str(item["reason"])
        for item in config.get("equivalent", [])
        if item["module"] == module
    }


def _mutated_line(diff: str | None) -> str:
    return next(
        (
            ln[1:].strip()
            for ln in (diff or "").splitlines()
            if ln.startswith("+") and not ln.startswith("+++")
        ),
        "?",
    )


def run_module(
    module: str, tests: list[str], args: argparse.Namespace, config: dict[str, Any]
) -> Score:
    """Mutate one file, run its tests per mutant, and score it."""
    path = ROOT / module
    backup = path.read_bytes()
    score = Score(module)
    with tempfile.TemporaryDirectory() as tmp:
        session = Path(tmp) / "session.sqlite"
        cfg = Path(tmp) / "cr.toml"
        command = shlex.join(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
        )
        cfg.write_text(
            "[cosmic-ray]\n"
            f'module-path = "{module}"\n'
            f"timeout = {args.timeout}\n"
            "excluded-modules = []\n"
            f"test-command = {json.dumps(command)}\n"
            '[cosmic-ray.distributor]\nname = "local"\n'
        )
        done = _cr("init", str(cfg), str(session))
        if done.returncode != 0:
            raise SystemExit(f"mutation: cosmic-ray init failed for {module}: {done.stderr}")
        _mark_excluded(session, path, args, score)
        try:
            _cr("exec", str(cfg), str(session))
        finally:
            if path.read_bytes() != backup:
                path.write_bytes(backup)
        _collect(session, score, _equivalents(config, module))
    return score


def _mark_excluded(session: Path, path: Path, args: argparse.Namespace, score: Score) -> None:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    spans = annotation_spans(path)
    with use_db(str(session), WorkDB.Mode.open) as db:
        items = list(db.work_items)
        rng = random.Random(args.seed)
        sample = (
            {i.job_id for i in rng.sample(items, min(args.quick, len(items)))}
            if args.quick
            else None
        )
        for item in items:
            mutation = item.mutations[0]
            reason = None
            if in_annotation(spans, (mutation.start_pos[0], mutation.start_pos[1])):
                reason = "annotation"
            elif sample is not None and item.job_id not in sample:
                reason = "outside the quick sample"
            if reason:
                score.excluded[reason] = score.excluded.get(reason, 0) + 1
                db.set_result(item.job_id, WorkResult(WorkerOutcome.SKIPPED, output=reason))


def _collect(session: Path, score: Score, equivalent: dict[tuple[int, str, str], str]) -> None:
    from cosmic_ray.work_db import WorkDB, use_db

    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == "skipped":
                continue
            if result.test_outcome == "killed":
                score.killed += 1
            elif result.test_outcome == "incompetent":
                score.incompetent += 1
            else:
                mutation = item.mutations[0]
                changed = _mutated_line(result.diff)
                where = (mutation.start_pos[0], mutation.operator_name, changed)
                if where in equivalent:
                    score.excluded["equivalent"] = score.excluded.get("equivalent", 0) + 1
                    continue
                score.survivors.append(
                    f"{score.module}:{mutation.start_pos[0]} {mutation.operator_name}: {changed}"
                )


def _targets(config: dict, wanted: list[str]) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for entry in config["module"]:
        paths = [entry["path"]]
        if (ROOT / entry["path"]).is_dir():
            paths = sorted(
                str(p.relative_to(ROOT))
                for p in (ROOT / entry["path"]).glob("*.py")
                if p.name != "__init__.py"
            )
        for p in paths:
            if not wanted or any(p.startswith(w.rstrip("/")) for w in wanted):
                found.append((p, list(entry["tests"])))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="files or folders (default: all configured)")
    parser.add_argument(
        "--quick", type=int, nargs="?", const=30, default=0, help="sample N mutants per module"
    )
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--threshold", type=float, default=0.90)
    args = parser.parse_args()
    if shutil.which("cosmic-ray", path=str(Path(sys.executable).parent)) is None:
        raise SystemExit("mutation: cosmic-ray is not installed (scripts/mutation installs it)")
    config = tomllib.loads(CONFIG.read_text())
    os.environ.setdefault("KEYOPS_TEST_WORKERS", "1")
    low = 0
    for module, tests in _targets(config, args.modules):
        score = run_module(module, tests, args, config)
        excluded = ", ".join(f"{n} {why}" for why, n in sorted(score.excluded.items()))
        print(
            f"{module}: {score.rate:.0%} killed ({score.killed}/{score.scored}); "
            f"{score.incompetent} incompetent; left out: {excluded or 'none'}",
            flush=True,
        )
        for line in score.survivors:
            print(f"  survived {line}", flush=True)
        low += score.rate < args.threshold
    return 1 if low else 0


if __name__ == "__main__":
    raise SystemExit(main())
