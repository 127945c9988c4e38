"""Which tests can kill a mutant: per-test line coverage, recorded once per test list.

scripts/mutation runs, for each mutant, only the tests that execute the mutated statement, so a
module of a few hundred mutants costs minutes instead of hours. The map comes from one run of the
module's test list under coverage.py with pytest-cov's per-test contexts (``--cov-context=test``):
for every line, the node ids of the tests (setup, call or teardown) that executed it.

A statement that runs at import (a module constant, a signature, a decorator) executes before
any test starts, so no test context holds it, and a test can depend on it without executing a
line of the module (``frozen=True`` is checked by code the dataclass generates; a keyword-only
parameter by the call itself). Such a mutant gets every test of the recorded list. A selection
can still miss a test that reaches the line only in a child process (the CLI run as a real
process); ``scripts/mutation --confirm`` therefore reruns each survivor against the module's
whole test list before calling it a survivor.

The same run records each test's seconds (scripts/mutation_timing.py), so a mutant's selection
runs in two stages: the fastest few first, and the rest only when those all pass. Most mutants
die in the first stage, and a test that needs its own emulator runs only for the few that the
quick tests cannot kill.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Selection:
    """For one module: test node ids by executed line, every test that touched the module, and
    each test's recorded seconds."""

    by_line: dict[int, frozenset[str]]
    any_line: frozenset[str]
    tree: ast.Module
    seconds: dict[str, float] = field(default_factory=dict)

    def tests_for(self, start: int, end: int) -> list[str]:
        """Node ids of the tests that execute the statement holding lines ``start``..``end``."""
        owner = _innermost_statement(self.tree, start)
        if owner is None or _is_import_time(self.tree, owner):
            # Every test the recording ran (timed), or that touched the module (untimed maps).
            return sorted(self.any_line | self.seconds.keys())
        return self._lines(range(owner.lineno, max(end, start) + 1))

    def stages(self, tests: list[str], first: int) -> tuple[list[str], list[str]]:
        """``tests`` split into the ``first`` fastest and the rest, each fastest first.

        A stage keeps a file's tests together (files in the order of their fastest test), so a
        fixture of module scope is set up once per stage, not once per interleaved test.
        """
        by_speed = sorted(tests, key=lambda t: (self.seconds.get(t, float("inf")), t))
        return _grouped(by_speed[:first]), _grouped(by_speed[first:])

    def _lines(self, lines: Iterable[int]) -> list[str]:
        found: set[str] = set()
        for line in lines:
            found |= self.by_line.get(line, frozenset())
        return sorted(found)


def _grouped(tests: list[str]) -> list[str]:
    """Tests in the given order, each file's tests moved up to its first one."""
    files: dict[str, list[str]] = {}
    for test in tests:
        files.setdefault(test.split("::", 1)[0], []).append(test)
    return [test for group in files.values() for test in group]


def _seconds_file(data_file: Path) -> Path:
    return data_file.with_name(data_file.name + ".seconds.json")


#: pytest in this interpreter, quiet, with no cache written and no xdist: every run of the tests,
#: the recording and each mutant's, starts the same way.
PYTEST = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist")


def record(sources: list[str], tests: list[str], data_file: Path) -> None:
    """Run ``tests`` once under coverage with per-test contexts, writing ``data_file`` (and each
    test's seconds beside it)."""
    command = [
        *PYTEST,
        "-p",
        "mutation_timing",
        *(f"--cov={s}" for s in sources),
        "--cov-context=test",
        "--cov-report=",
        *tests,
    ]
    scripts = str(Path(__file__).resolve().parent)
    env = {
        **os.environ,
        "COVERAGE_FILE": str(data_file),
        "KEYOPS_MUTATION_TIMES": str(_seconds_file(data_file)),
        "PYTHONPATH": os.pathsep.join(filter(None, [scripts, os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-15:])
        raise SystemExit(f"mutation: the unmutated tests fail, so no score means anything:\n{tail}")


def load(data_file: Path, module: Path) -> Selection:
    """The selection map of one source file from a recorded coverage data file."""
    from coverage import CoverageData

    data = CoverageData(basename=str(data_file))
    data.read()
    path = str(module.resolve())
    by_line: dict[int, frozenset[str]] = {}
    for line, contexts in data.contexts_by_lineno(path).items():
        tests = frozenset(c.rsplit("|", 1)[0] for c in contexts if c)
        if tests:
            by_line[line] = tests
    every = frozenset().union(*by_line.values()) if by_line else frozenset()
    timed = _seconds_file(data_file)
    seconds = json.loads(timed.read_text()) if timed.exists() else {}
    return Selection(by_line, every, ast.parse(module.read_text()), seconds)


def _end(node: ast.AST) -> int:
    return int(getattr(node, "end_lineno", None) or getattr(node, "lineno", 0))


def _innermost_statement(tree: ast.Module, line: int) -> ast.stmt | None:
    """The deepest statement whose header or body spans ``line``."""
    best: ast.stmt | None = None
    for node in ast.walk(tree):
        spans = isinstance(node, ast.stmt) and node.lineno <= line <= _end(node)
        if spans and (best is None or (node.lineno, -_end(node)) >= (best.lineno, -_end(best))):
            best = node  # type: ignore[assignment]
    return best


def _is_import_time(tree: ast.Module, owner: ast.stmt) -> bool:
    """Whether ``owner`` runs when the module is imported (not inside a function body)."""
    return not any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node is not owner
        and node.body[0].lineno <= owner.lineno
        and any(child is owner for child in ast.walk(node))
        for node in ast.walk(tree)
    )
