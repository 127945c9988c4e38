"""A pytest plugin for scripts/mutation: each test's seconds (setup + call + teardown) as JSON.

Loaded with ``-p mutation_timing`` (``scripts/`` on ``PYTHONPATH``) during the coverage run that
scripts/mutation_select.py records; it writes ``{node id: seconds}`` to the file named by
``KEYOPS_MUTATION_TIMES`` when the session ends. A fixture shared by several tests (an emulator
of module or session scope) is charged to the first test that sets it up.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Add one phase's duration to its test's total."""
    _SECONDS[report.nodeid] = _SECONDS.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write every test's total where the recording run asked for it."""
    target = os.environ.get("KEYOPS_MUTATION_TIMES")
    if target:
        Path(target).write_text(json.dumps(_SECONDS, sort_keys=True))
