"""A short run of ``scripts/chaos.py`` (the full proof runs 1,000 schedules by hand)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

CHAOS = Path(__file__).resolve().parents[2] / "scripts" / "chaos.py"


@pytest.mark.slow
def test_a_short_chaos_run_has_no_outage_no_violation_and_converges(
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = importlib.util.spec_from_file_location("keyops_chaos", CHAOS)
    assert spec is not None and spec.loader is not None
    chaos = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(chaos)
    status = chaos.main(["--schedules", "12", "--seed", "0"])
    printed = capsys.readouterr().out
    assert "keyops-caused outages: 0" in printed and "invariant violations: 0" in printed
    assert "converged: 12/12" in printed and status == 0, printed
