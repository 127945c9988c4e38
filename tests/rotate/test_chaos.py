"""``scripts/chaos.py``: its judge on logs that must and must not count, and a short run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
KEYOPS = "keyops-principal"
OPERATOR = "operator-principal"


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"keyops_{name}", SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


judge_module = _load("chaos_judge")


def regen(t: float, old: str, new: str, who: str = KEYOPS, slot: str = "Key2") -> dict[str, Any]:
    return {
        "operation": "Accounts_RegenerateKey",
        "changed": True,
        "path": "/subscriptions/s/resourceGroups/rg/providers/x/accounts/acct/regenerateKey",
        "detail": f"{slot} {old}>{new}",
        "time": t,
        "principal": who,
        "status": 200,
    }


def store(t: float, version: str, who: str = KEYOPS) -> dict[str, Any]:
    return {
        "operation": "SetSecret",
        "status": 200,
        "path": "/secrets/acct-api-key",
        "detail": version,
        "time": t,
        "principal": who,
    }


def verdict(log: list[dict[str, Any]], versions: dict[str, str]) -> Any:
    return judge_module.judge(
        log, versions, "A", account="acct", secret="acct-api-key", keyops=KEYOPS
    )


def test_a_clean_rotation_is_no_outage_and_no_violation() -> None:
    # The vault holds A (Key1); keyops regenerates Key2 (B -> C), tests and stores C.
    found = verdict([regen(1000, "B", "C"), store(1002, "v2")], {"v2": "C"})
    assert (found.violations, found.outages, found.regenerations) == ([], [], 1)


def test_regenerating_the_vaults_latest_key_is_a_violation_and_an_outage_for_all() -> None:
    found = verdict([regen(1000, "A", "C", slot="Key1")], {})
    assert found.violations == ["keyops regenerated the vault's latest key at 1000"]
    assert len(found.outages) == 3


def test_storing_a_dead_key_is_a_violation() -> None:
    log = [regen(1000, "B", "C"), regen(1001, "C", "D", who=OPERATOR), store(1002, "v2")]
    assert verdict(log, {"v2": "C"}).violations == ["keyops stored a dead key at 1002"]


def test_a_key_superseded_a_minute_ago_is_an_outage_for_slow_consumers_only() -> None:
    log = [regen(1000, "B", "C"), store(1001, "v2"), regen(1061, "A", "E", slot="Key1")]
    found = verdict(log, {"v2": "C"})
    assert found.violations == []
    assert [o.split(":")[0] for o in found.outages] == ["refresh 120s", "refresh 86400s"]


def test_an_operators_regenerate_is_not_keyops_caused() -> None:
    found = verdict([regen(1000, "A", "C", who=OPERATOR, slot="Key1")], {})
    assert (found.violations, found.outages, found.regenerations) == ([], [], 0)


@pytest.mark.slow
def test_a_short_chaos_run_has_no_outage_no_violation_and_converges(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = _load("chaos").main(["--schedules", "12", "--seed", "0"])
    printed = capsys.readouterr().out
    assert "keyops-caused outages: 0" in printed and "invariant violations: 0" in printed
    assert "converged: 12/12" in printed and status == 0, printed
