"""Anomaly rules: planted patterns are found with the right kind and time, normal traffic isn't."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from keyops.severity import Severity
from keyops.usage import KeyUsagePolicy, Sensitivity, UsageSeries, detect
from keyops.usage.baseline import fit_baseline
from keyops.usage.windows import WindowRule, find_intervals
from keyops_bench.usage.synth import PlantedEvent
from tests.usage.factory import RID, hour_of, rotation, series

PLANTED = [
    PlantedEvent("spike", 80, 2, 5.0),
    PlantedEvent("drop", 60, 4, 0.05),
    PlantedEvent("error_rate", 100, 2, 0.2, status="503"),
    PlantedEvent("auth_surge_401", 130, 3, 60.0),
    PlantedEvent("token_spend", 40, 3, 4.0),
]


@pytest.mark.parametrize("event", PLANTED, ids=lambda e: e.kind)
@pytest.mark.parametrize("baseline", [40.0, 3000.0])
def test_each_planted_pattern_is_found_with_its_kind_and_time(
    event: PlantedEvent, baseline: float
) -> None:
    s = series(baseline=baseline, events=(event,), seed=11)
    rotations = [rotation("acct", event.start_hour - 5)] if event.kind == "auth_surge_401" else []
    findings = detect([s], rotations)
    assert [f.kind for f in findings] == [event.kind]
    found = findings[0]
    assert hour_of(s, found.start) == event.start_hour
    assert abs(hour_of(s, found.end) - (event.start_hour + event.hours)) <= 1
    assert found.message and found.recommendation
    assert found.score >= _bar(event.kind)


def _bar(kind: str) -> float:
    """The score a finding of *kind* must clear by default."""
    sens = Sensitivity()
    bars = {"drop": sens.drop_min_score, "error_rate": sens.error_min_score}
    return bars.get(kind, sens.min_score)


@pytest.mark.parametrize("baseline", [5.0, 60.0, 800.0, 5000.0])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_seasonal_noisy_traffic_with_rotations_gives_no_finding(baseline: float, seed: int) -> None:
    s = series(baseline=baseline, seed=seed)
    assert detect([s], [rotation("acct", 30), rotation("acct", 100, slot="Key1")]) == []


def test_weeks_of_history_use_hour_of_week_baselines_and_since_hides_old_findings() -> None:
    events = (PlantedEvent("spike", 100, 2, 6.0), PlantedEvent("drop", 600, 5, 0.0))
    s = series(days=28, events=events, seed=4)
    assert fit_baseline(list(s.requests_total), s.timestamps).mode == "hour-of-week"
    assert [(f.kind, hour_of(s, f.start)) for f in detect([s])] == [("spike", 100), ("drop", 600)]
    since = s.end - timedelta(days=7)
    assert [f.kind for f in detect([s], since=since)] == ["drop"]


def test_quiet_resources_do_not_alarm_on_a_few_calls() -> None:
    # 1 call/h with the odd burst of a few calls, and a night without any: too little to matter.
    events = (PlantedEvent("spike", 50, 1, 4.0), PlantedEvent("drop", 90, 4, 0.0))
    assert detect([series(baseline=1.0, events=events, seed=5)]) == []


def _with_failures(s: UsageSeries, hour: int, failed: int) -> UsageSeries:
    """*s* with *failed* of hour *hour*'s successful calls turned into 500s."""
    by_status = {code: list(v) for code, v in s.requests_by_status.items()}
    by_status["500"][hour] += failed
    by_status["200"][hour] -= failed
    return replace(s, requests_by_status={k: tuple(v) for k, v in by_status.items()})


@pytest.mark.parametrize("seed", [2, 3, 6])
def test_on_a_quiet_resource_a_few_failed_calls_in_an_hour_are_an_error_rate_jump(
    seed: int,
) -> None:
    # About 10 calls/h with background errors under 1%: 2 failures in an hour happen by chance,
    # 4 (a 30-40% rate) do not, and the hour is found although no day has errors to count.
    s = series(baseline=8.0, seed=seed)
    assert detect([_with_failures(s, 38, 2)]) == []
    [finding] = detect([_with_failures(s, 38, 4)])
    assert finding.kind == "error_rate"
    assert abs(hour_of(s, finding.start) - 38) <= 1


@pytest.mark.parametrize("seed", [1, 2])
def test_on_a_quiet_resource_three_silent_hours_are_a_drop(seed: int) -> None:
    # 5 calls/h at the daily average: about 20 calls missing over three hours.
    s = series(baseline=5.0, seed=seed, events=(PlantedEvent("drop", 37, 3, 0.0),))
    assert [(f.kind, hour_of(s, f.start), f.hours) for f in detect([s])] == [("drop", 37, 3)]


def test_minimum_volume_is_configurable() -> None:
    s = series(baseline=6.0, events=(PlantedEvent("spike", 80, 2, 6.0),), seed=3)
    assert [f.kind for f in detect([s])] == ["spike"]
    quiet = replace(Sensitivity(), spike_min_excess=60, token_min_excess=1e6)
    assert detect([s], sensitivity=quiet) == []


def test_401_surge_after_rotation_names_the_rotation_and_the_cause() -> None:
    s = series(events=(PlantedEvent("auth_surge_401", 90, 4, 80.0),), seed=2)
    rot = rotation("acct", 87, slot="Key1")
    [finding] = detect([s], [rotation("acct", 20), rot])
    assert finding.kind == "auth_surge_401"
    assert finding.rotation == rot
    assert finding.severity == Severity.HIGH
    assert "3 h after Key1 was regenerated" in finding.message
    assert "still hold the old Key1 value from version v6" in finding.message
    assert "openai-key" in finding.recommendation


def test_401_surge_without_a_recent_rotation_is_a_wrong_or_leaked_key() -> None:
    s = series(events=(PlantedEvent("auth_surge_401", 90, 4, 80.0),), seed=2)
    [finding] = detect([s], [rotation("acct", 90 - 30)])  # a day and more before: not the cause
    assert finding.rotation is None
    assert finding.severity == Severity.MEDIUM
    assert "no key rotation" in finding.message


def test_a_consumer_whose_calls_turn_into_401s_is_one_finding_not_a_drop_too() -> None:
    # The only consumer keeps calling with the regenerated key for 30 h: its calls become 401s.
    s = series(baseline=200.0, seed=6)
    broken = range(100, 130)
    by_status = {code: list(v) for code, v in s.requests_by_status.items()}
    prompt, generated = list(s.prompt_tokens), list(s.generated_tokens)
    for t in broken:
        for code, values in by_status.items():
            if code != "401":
                by_status["401"][t] += values[t]
                values[t] = 0.0
        prompt[t] = generated[t] = 0.0
    s = replace(
        s,
        requests_by_status={k: tuple(v) for k, v in by_status.items()},
        prompt_tokens=tuple(prompt),
        generated_tokens=tuple(generated),
    )
    [finding] = detect([s], [rotation("acct", broken.start)])
    assert (finding.kind, hour_of(s, finding.start), finding.hours) == ("auth_surge_401", 100, 30)
    assert finding.rotation is not None


def test_a_call_spike_is_not_also_a_token_or_401_finding() -> None:
    s = series(baseline=2000.0, events=(PlantedEvent("spike", 70, 3, 8.0),), seed=8)
    assert [f.kind for f in detect([s])] == ["spike"]


def test_findings_are_sorted_most_severe_first_across_resources() -> None:
    quiet = series("quiet", seed=1)
    spiky = series("spiky", events=(PlantedEvent("spike", 30, 2, 15.0),), seed=2)
    broken = series("broken", events=(PlantedEvent("drop", 50, 6, 0.0),), seed=3)
    findings = detect([quiet, spiky, broken])
    assert [(f.resource_name, f.kind) for f in findings] == [
        ("spiky", "spike"),
        ("broken", "drop"),
    ]
    assert findings[0].severity == Severity.HIGH  # 15x
    assert findings[1].severity == Severity.HIGH  # to zero for 6 h


def test_rotations_match_resource_ids_case_insensitively() -> None:
    s = series(events=(PlantedEvent("auth_surge_401", 90, 3, 50.0),), seed=2)
    rot = replace(rotation("acct", 88), resource_id=RID.format("acct").upper())
    assert detect([s], [rot])[0].rotation == rot


@pytest.mark.parametrize(
    ("policy", "severity", "phrase"),
    [
        (KeyUsagePolicy.of([RID.format("ACCT")], no_token_callers=[RID.format("acct")]),
         Severity.HIGH, "used an account key"),
        (KeyUsagePolicy.of([RID.format("acct")]), Severity.INFO, "not proof of key use"),
    ],
)  # fmt: skip
def test_calls_on_a_resource_whose_keys_should_be_unused(
    policy: KeyUsagePolicy, severity: Severity, phrase: str
) -> None:
    [finding] = detect([series(seed=3)], policy=policy)
    assert (finding.kind, finding.severity) == ("unexpected_key_use", severity)
    assert phrase in finding.message


def test_403s_with_local_auth_disabled_are_someone_trying_a_key() -> None:
    s = series(seed=3)
    calls_403 = [0.0] * s.hours
    calls_403[120] = 14.0
    s = replace(s, requests_by_status={**s.requests_by_status, "403": tuple(calls_403)})
    policy = KeyUsagePolicy.of(local_auth_disabled=[RID.format("acct")])
    [finding] = detect([s], policy=policy)
    assert (finding.kind, finding.severity, hour_of(s, finding.start)) == (
        "unexpected_key_use",
        Severity.MEDIUM,
        120,
    )
    assert "AuthenticationTypeDisabled" in finding.message
    assert detect([series(seed=3)], policy=policy) == []  # no 403, nothing to say


def test_sensitivity_presets() -> None:
    s = series(baseline=500.0, events=(PlantedEvent("spike", 80, 1, 4.0),), seed=9)
    assert [f.kind for f in detect([s], sensitivity=Sensitivity.preset("high"))] == ["spike"]
    assert detect([s], sensitivity=Sensitivity.preset("low")) == []
    with pytest.raises(ValueError, match="unknown sensitivity"):
        Sensitivity.preset("paranoid")


def test_series_must_be_whole_consecutive_hours() -> None:
    s = series(days=2)
    with pytest.raises(ValueError, match="consecutive"):
        replace(s, timestamps=(*s.timestamps[:-1], s.timestamps[-1] + 3600))
    with pytest.raises(ValueError, match="aligned"):
        replace(s, timestamps=tuple(t + 60 for t in s.timestamps))
    with pytest.raises(ValueError, match="expected 48"):
        replace(s, prompt_tokens=(1.0,))


def test_from_points_fills_missing_hours_with_zeros() -> None:
    t0 = datetime(2025, 3, 4, 10, tzinfo=timezone.utc)
    s = UsageSeries.from_points(
        RID.format("a"),
        "a",
        t0,
        4,
        {"200": {t0: 5, t0 + timedelta(hours=2, minutes=30): 7}, "429": {t0: 1}},
        {t0 + timedelta(hours=3): 100},
        {},
    )
    assert s.requests_total == (6.0, 0.0, 7.0, 0.0)
    assert s.prompt_tokens == (0.0, 0.0, 0.0, 100.0)
    assert s.start == t0 and s.end == t0 + timedelta(hours=4)
    with pytest.raises(ValueError, match="naive"):
        UsageSeries.from_points("r", "a", datetime(2025, 3, 4), 1, {}, {}, {})


def test_a_day_of_data_is_too_little_to_judge() -> None:
    s = series(days=7)
    short = replace(
        s,
        timestamps=s.timestamps[:12],
        requests_total=s.requests_total[:12],
        requests_by_status={k: v[:12] for k, v in s.requests_by_status.items()},
        prompt_tokens=s.prompt_tokens[:12],
        generated_tokens=s.generated_tokens[:12],
    )
    assert detect([short]) == []


def test_key_use_is_counted_from_since_only() -> None:
    s = series(days=14, seed=3)
    policy = KeyUsagePolicy.of([RID.format("acct")], no_token_callers=[RID.format("acct")])
    since = s.end - timedelta(days=7)
    [finding] = detect([s], policy=policy, since=since)
    assert finding.start == since
    assert finding.observed * finding.hours == pytest.approx(sum(s.status("200")[7 * 24 :]))


def test_a_steady_stream_of_401s_is_not_a_nightly_surge() -> None:
    # A forgotten job retries with a dead key every minute, day and night, all week.
    s = series(baseline=400.0, seed=7)
    steady = tuple(v + 60.0 for v in s.status("401"))
    total = tuple(t + 60.0 for t in s.requests_total)
    s = replace(s, requests_total=total, requests_by_status={**s.requests_by_status, "401": steady})
    assert detect([s]) == []


def test_a_share_counted_from_few_failures_is_less_sure_than_one_from_many() -> None:
    # Ten failures in an hour expecting one: surprising if the usual share rests on 500 failed
    # calls, less so if it rests on two (then the share itself could well be several times higher).
    failed = [0.0] * 24
    failed[10] = 10.0
    rule = WindowRule(up=True, ratio=4.0, min_score=0.0, windows=(1,))
    found = [find_intervals(failed, [1.0] * 24, 0.3, 84.0, rule, events=n) for n in (500, 20, 2)]
    assert [[(iv.start, iv.end) for iv in f] for f in found] == [[(10, 11)]] * 3
    scores = [f[0].score for f in found]
    assert scores == sorted(scores, reverse=True)
    assert scores[2] < scores[0] - 0.5
