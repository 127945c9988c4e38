"""scripts/mutation_select.py: which tests a mutant runs (the score's speed-up must not drop a
test that executes the mutated statement)."""

from __future__ import annotations

import ast
import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"

SOURCE = """\
LIMIT = 3


def check(value, bound=LIMIT):
    if (value
            > bound):
        return "over"
    return "ok"


class Holder:
    size = 2

    def grow(self):
        self.size += 1


def declared(value, *, flag):
    '''A Protocol's method: no test runs its body.'''
"""


def _load() -> Any:
    spec = importlib.util.spec_from_file_location(
        "keyops_mutation_select", SCRIPTS / "mutation_select.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _selection() -> Any:
    by_line = {
        1: frozenset(),
        5: frozenset({"t::over", "t::ok"}),
        7: frozenset({"t::over"}),
        8: frozenset({"t::ok"}),
        15: frozenset({"t::grow"}),
    }
    touched = frozenset({"t::over", "t::ok", "t::grow"})
    return _load().Selection(by_line, touched, ast.parse(SOURCE))


def test_a_mutant_in_a_function_runs_the_tests_that_execute_its_statement() -> None:
    selection = _selection()
    assert selection.tests_for(7, 7) == ["t::over"]
    assert selection.tests_for(8, 8) == ["t::ok"]
    assert selection.tests_for(15, 15) == ["t::grow"]


def test_a_mutant_on_a_continuation_line_runs_the_tests_of_the_statement_head() -> None:
    """Coverage reports a multi-line condition on its first line."""
    assert _selection().tests_for(6, 6) == ["t::ok", "t::over"]


def test_import_time_code_runs_every_test_that_touches_the_module() -> None:
    selection = _selection()
    assert selection.tests_for(1, 1) == ["t::grow", "t::ok", "t::over"]
    assert selection.tests_for(12, 12) == ["t::grow", "t::ok", "t::over"]
    # A default argument is evaluated at import: a caller may depend on it without running
    # the body, so every test runs (fastest first, in stages).
    assert selection.tests_for(4, 4) == ["t::grow", "t::ok", "t::over"]
    assert selection.tests_for(18, 18) == ["t::grow", "t::ok", "t::over"]


def test_import_time_code_also_runs_tests_that_never_execute_a_line_of_the_module() -> None:
    """``frozen=True`` is checked by generated code: the test asserting it touches no line."""
    timed = {"t::over": 0.1, "t::ok": 0.1, "t::grow": 0.1, "t::frozen": 0.1}
    selection = replace(_selection(), seconds=timed)
    assert selection.tests_for(11, 11) == ["t::frozen", "t::grow", "t::ok", "t::over"]
    assert selection.tests_for(7, 7) == ["t::over"]  # a body line: its coverage decides


def test_a_selection_runs_its_fastest_tests_first_and_the_rest_only_after() -> None:
    """Fastest first; a file's tests stay together within a stage (one fixture set-up each)."""
    seconds = {"a.py::slow": 9.0, "b.py::quick": 0.1, "a.py::quick": 0.2, "b.py::mid": 3.0}
    selection = _load().Selection({}, frozenset(), ast.parse(""), seconds)
    tests = sorted(seconds)
    assert selection.stages(tests, 2) == (
        ["b.py::quick", "a.py::quick"],
        ["b.py::mid", "a.py::slow"],
    )
    assert selection.stages(tests, 3) == (
        ["b.py::quick", "b.py::mid", "a.py::quick"],
        ["a.py::slow"],
    )
    assert selection.stages(tests, 4)[1] == []
    # A test with no recorded time (it never finished a phase) runs last, not never.
    assert selection.stages([*tests, "c.py::untimed"], 4)[1] == ["c.py::untimed"]


def test_the_timing_plugin_records_each_tests_seconds(tmp_path: Path) -> None:
    """The recording run writes a node id -> seconds map the stages are ordered by."""
    import json
    import os
    import subprocess

    (tmp_path / "test_two.py").write_text(
        "import time\n\n\ndef test_quick():\n    pass\n\ndef test_slower():\n    time.sleep(0.05)\n"
    )
    out = tmp_path / "seconds.json"
    env = {**os.environ, "PYTHONPATH": str(SCRIPTS), "KEYOPS_MUTATION_TIMES": str(out)}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "mutation_timing",
        "-p",
        "no:cacheprovider",
    ]
    done = subprocess.run([*command, str(tmp_path)], cwd=tmp_path, env=env, capture_output=True)
    assert done.returncode == 0, done.stdout
    seconds = json.loads(out.read_text())
    assert set(seconds) == {"test_two.py::test_quick", "test_two.py::test_slower"}
    assert seconds["test_two.py::test_slower"] >= 0.05 > seconds["test_two.py::test_quick"]
