"""scripts/mutation.py: what it leaves out of a score, how it names a mutant, and the timeout it
gives a stage of tests."""

from __future__ import annotations

import argparse
import ast
import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"

SOURCE = """\
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

if FLAG:
    x: int = 1
"""


def _load() -> Any:
    sys.path.insert(0, str(SCRIPTS))
    try:
        return importlib.import_module("mutation")
    finally:
        sys.path.remove(str(SCRIPTS))


def test_a_type_checking_test_is_left_out_like_an_annotation(tmp_path: Path) -> None:
    module = _load()
    source = tmp_path / "m.py"
    source.write_text(SOURCE)
    spans = module.annotation_spans(source)
    # 'if TYPE_CHECKING' from the keyword to the end of its test; not its body, not another if.
    assert module.in_annotation(spans, (3, 0)) and module.in_annotation(spans, (3, 3))
    assert not module.in_annotation(spans, (4, 4))
    assert not module.in_annotation(spans, (6, 3))
    assert module.in_annotation(spans, (7, 7))  # the annotation 'int'
    assert not module.in_annotation(spans, (7, 13))  # its value


def test_a_mutant_is_named_by_the_line_it_adds_or_else_removes() -> None:
    module = _load()
    changed = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    removed = "--- a/m.py\n+++ b/m.py\n@@ -1,4 +1 @@\n-\n-\n-@lru_cache(maxsize=512)\n def f():\n"
    assert module._mutated_line(changed) == "x = 2"
    assert module._mutated_line(removed) == "(removed) @lru_cache(maxsize=512)"
    assert module._mutated_line(None) == "?"


def test_a_stage_timeout_scales_with_its_recorded_seconds_within_bounds() -> None:
    module = _load()
    selection = module.Selection({}, frozenset(), ast.parse(""), {"a": 1.0, "b": 30.0})
    args = argparse.Namespace(
        timeout=120.0, min_timeout=20.0, timeout_factor=5.0, full_timeout=900.0
    )
    assert module._timeout(selection, ["a"], args) == 20.0  # 5 x 1 + 5 is under the floor
    assert module._timeout(selection, ["a", "a", "a", "a"], args) == 25.0
    assert module._timeout(selection, ["b"], args) == 120.0  # 5 x 30 + 5 is over the cap
    # A test with no recorded time gets the whole cap.
    assert module._timeout(selection, ["unknown"], args) == 120.0
    # Only where the cap is below the allowance does a timeout get the whole-list allowance.
    assert module._capped(selection, ["b"], args)  # 155 s allowed, capped at 120
    assert not module._capped(selection, ["a"] * 23, args)  # 5 x 23 + 5 = 120: not cut
    assert module._capped(selection, ["a"] * 24, args)  # 125 > 120
    # A rerun with no more time than the cap would only run the same stage twice.
    args.full_timeout = 120.0
    assert not module._capped(selection, ["b"], args)


def test_the_parts_of_a_run_score_each_mutant_once() -> None:
    mutation = _load()
    scored = [f"job-{n}" for n in range(10)]
    kept = [set(scored) - set(mutation._other_parts(scored, (i, 3))) for i in (1, 2, 3)]
    assert kept == [
        {"job-0", "job-3", "job-6", "job-9"},
        {"job-1", "job-4", "job-7"},
        {"job-2", "job-5", "job-8"},
    ]
    assert set(mutation._other_parts(scored, (1, 3)).values()) == {"in another part of 3"}
    assert mutation._other_parts(scored, (1, 1)) == {}
    for bad in ("0/3", "4/3", "1", "a/b"):
        with pytest.raises(argparse.ArgumentTypeError):
            mutation._part(bad)
    assert mutation._part("2/3") == (2, 3)
