"""The second evaluation set (real-traffic patterns) and the issue's scoring rules."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from keyops.severity import Severity
from keyops.usage.model import HOUR, Finding, FindingKind
from keyops_bench.usage.scoring import PlantedWindow, new_alerts, score
from keyops_bench.usage.traffic import ANOMALY_KINDS, HOURS, TUNING_SEEDS, build_fleet, make_case

RID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a"
T0 = datetime(2025, 9, 1, tzinfo=timezone.utc)


def _finding(
    kind: FindingKind, hour: int, hours: int = 1, sev: Severity = Severity.MEDIUM
) -> Finding:
    start = T0 + timedelta(hours=hour)
    end = start + timedelta(hours=hours)
    return Finding(kind, sev, RID, "a", start, end, 1.0, 1.0, 1.0, 9.0, "calls/h", "", "")


def _planted(kind: str, hour: int, hours: int) -> PlantedWindow:
    start = int(T0.timestamp()) + HOUR * hour
    return PlantedWindow(RID, kind, start, start + HOUR * hours)


def test_fleets_are_deterministic_half_anomalous_and_planted_in_the_window() -> None:
    seed = TUNING_SEEDS[0]
    fleet = build_fleet(seed)
    assert make_case(5, seed).series == fleet[5].series
    assert [c.planted is None for c in fleet] == [i % 2 == 0 for i in range(len(fleet))]
    kinds = {c.planted.kind for s in TUNING_SEEDS[:2] for c in build_fleet(s) if c.planted}
    assert kinds == set(ANOMALY_KINDS)
    for case in fleet:
        assert case.series.hours == HOURS
        p = case.planted
        if p is not None:
            assert case.window_start <= p.start < p.end <= HOURS
        if p is not None and p.kind == "rotation_401":
            [rotation] = case.rotations
            lag = case.series.start + timedelta(hours=p.start) - rotation.rotated_at
            assert timedelta(hours=-1) < lag <= timedelta(hours=2)


def test_the_legit_patterns_of_the_description_all_occur() -> None:
    seen = {pat for s in TUNING_SEEDS[:3] for c in build_fleet(s) for pat in c.patterns}
    assert {"business", "consumer", "service", "near_zero", "growth", "launch_step",
            "holiday", "batch", "rotation"} <= seen  # fmt: skip


def test_scoring_overlap_within_an_hour_and_mapped_kinds() -> None:
    planted = [_planted("runaway", 10, 4)]
    # The hour before the anomaly (it ends as the anomaly begins): within the +-1 h tolerance.
    assert score(planted, [_finding("token_spend", 9, 1)]).planted["runaway"].tp == 1
    late = score(planted, [_finding("spike", 16)])
    assert (late.recall, late.precision, len(late.false_alarms)) == (0.0, 0.0, 1)
    wrong_kind = score(planted, [_finding("auth_surge_401", 11)])
    assert (wrong_kind.recall, wrong_kind.precision) == (0.0, 0.0)


def test_info_is_not_scored_and_repeats_are_counted_apart() -> None:
    planted = [_planted("outage", 10, 3)]
    info = score(planted, [_finding("drop", 11, sev=Severity.INFO)], [RID])
    assert (info.recall, info.found, info.legit_accounts) == (0.0, {}, 0)
    twice = score(planted, [_finding("drop", 10), _finding("error_rate", 11)])
    assert (twice.recall, twice.precision, twice.repeats) == (1.0, 1.0, 1)


def test_a_scheduled_run_alerts_once_per_episode() -> None:
    first, grown = _finding("spike", 10, 1), _finding("spike", 10, 2)
    other = _finding("drop", 30, 2)
    alerts = new_alerts([[first], [grown], [grown, other], [], [grown]])
    assert alerts == [first, other, grown]  # gone for a run, then back: alerted again
