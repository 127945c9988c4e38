"""Generated metrics history: deterministic, seasonal, with planted events; its spec validated
in the world file (at seed time) and through the admin API."""

from __future__ import annotations

import re
import statistics
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from keyops.emulator.core.clock import iso
from keyops.emulator.core.context import Emulator
from keyops.emulator.services.monitor import history
from keyops.emulator.services.monitor.catalog import Fact
from keyops.emulator.services.monitor.models import seed
from keyops.emulator.services.monitor.spec import parse_spec
from keyops.emulator.world import WorldError, load_world, parse_world
from tests.emulator.monitor_support import metrics_call
from tests.emulator.openai_support import EUS, LEGACY, ca
from tests.support.emulator import EmulatorHandle

DEPLOYMENTS = (
    ("gpt-4o-mini", "gpt-4o-mini", "2024-07-18", "chat"),
    ("gpt-35-instruct", "gpt-35-turbo-instruct", "0914", "completions"),
)
FLAT = {
    "baseline": 100,
    "daily": 0,
    "weekly": 0,
    "noise": 0,
    "error_rate": 0,
    "tokens_per_request": 10,
    "days": 3,
}


def _hourly(seed_value: int, account: str = EUS, **spec: Any) -> list[Fact]:
    import json

    full = parse_spec({"baseline": 400, **spec}, 1_790_000_000.0)
    return list(
        history.hourly(
            seed_value,
            account,
            "eastus",
            json.dumps(full, sort_keys=True),
            1_790_000_000.0,
            DEPLOYMENTS,
        )
    )


def test_history_is_deterministic_per_seed_and_account() -> None:
    assert _hourly(7) == _hourly(7)
    assert _hourly(7) != _hourly(8)
    assert _hourly(7) != _hourly(7, account=LEGACY)


def test_history_covers_the_days_before_it_ends() -> None:
    facts = _hourly(7, days=2)
    hours = sorted({f.start for f in facts})
    assert len(hours) == 48 and hours[-1] + 3600 <= 1_790_000_000


def _hour_series(handle: EmulatorHandle, account: str, hours: int, **params: str) -> Any:
    now = handle.server.emulator.clock.now()
    return metrics_call(
        handle,
        handle.account(account)["id"],
        {"timespan": f"{iso(now - hours * 3600)}/{iso(now)}", "interval": "PT1H", **params},
    ).json()


def test_world_history_has_daily_and_weekly_seasons(shared_emulator: EmulatorHandle) -> None:
    body = _hour_series(shared_emulator, EUS, 14 * 24)
    points = body["value"][0]["timeseries"][0]["data"][:-1]  # the last hour is served calls
    by_hour: dict[int, list[float]] = {}
    by_weekend: dict[bool, list[float]] = {True: [], False: []}
    for p in points:
        when = datetime.strptime(p["timeStamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        by_hour.setdefault(when.hour, []).append(p["total"])
        by_weekend[when.weekday() >= 5].append(p["total"])
    afternoon = statistics.mean(v for h in (13, 14, 15, 16, 17) for v in by_hour[h])
    night = statistics.mean(v for h in (1, 2, 3, 4, 5) for v in by_hour[h])
    assert afternoon > 2.5 * night  # daily amplitude 0.6: peak 1.6 vs trough 0.4
    assert statistics.mean(by_weekend[True]) < 0.85 * statistics.mean(by_weekend[False])
    assert 250 < statistics.mean(v for values in by_hour.values() for v in values) < 550


def _series_by_status(body: dict[str, Any]) -> dict[str, list[float]]:
    return {
        ts["metadatavalues"][0]["value"]: [p.get("total", 0.0) for p in ts["data"]]
        for ts in body["value"][0]["timeseries"]
    }


def test_planted_events_show_where_they_were_put(emulator: EmulatorHandle) -> None:
    spec = dict(
        FLAT,
        events=[
            {"kind": "spike", "start": "-30h", "hours": 2, "factor": 10},
            {"kind": "drop", "start": "-40h", "hours": 3, "factor": 0},
            {"kind": "auth_401", "start": "-10h", "hours": 1, "count": 40},
            {"kind": "errors", "start": "-5h", "hours": 1, "rate": 0.5, "status": "503"},
            {"kind": "tokens", "start": "-20h", "hours": 1, "factor": 3},
        ],
    )
    view = emulator.admin("POST", f"metrics/{LEGACY}", {"history": spec})
    assert view["history"]["events"][0]["start"] == pytest.approx(view["origin"] - 30 * 3600)
    body = _hour_series(emulator, LEGACY, 72, **{"$filter": "StatusCode eq '*'"})
    status = _series_by_status(body)
    requests_ = [a + b for a, b in zip(status["200"], status.get("503", [0.0] * 72), strict=True)]
    assert sorted(requests_).count(1000) == 2 and sorted(requests_).count(0) >= 3
    assert status["401"].count(40) == 1 and sum(status["401"]) == 40
    assert status["503"].count(50) == 1 and sum(status["503"]) == 50
    tokens = _hour_series(emulator, LEGACY, 72, metricnames="TokenTransaction")
    values = [p["total"] for p in tokens["value"][0]["timeseries"][0]["data"][:-1]]
    assert values.count(3000) == 1 and values.count(1000) > 40  # 100 calls x 10 tokens


def _current_fill(emulator: EmulatorHandle) -> float:
    """How much of the current hour Azure Monitor would serve now (minutes so far, less lag)."""
    now = emulator.server.emulator.clock.now()
    return min(max((now % 3600 - history.INGESTION_LAG_S) / 3600, 0.0), 1.0)


def test_history_ends_when_it_is_set_with_the_current_hour_partly_filled(
    emulator: EmulatorHandle,
) -> None:
    # An hour into the emulated past and 33 minutes past it: the current hour is 30 minutes in.
    clock = emulator.server.emulator.clock
    emulator.admin("POST", "clock", {"advance": -3600 - clock.now() % 3600 + 33 * 60})
    emulator.admin("POST", f"metrics/{LEGACY}", {"history": dict(FLAT, days=1)})
    body = _hour_series(emulator, LEGACY, 72)
    totals = [p["total"] for p in body["value"][0]["timeseries"][0]["data"]]
    assert totals[-25:-1] == [100] * 24 and set(totals[:-25]) == {0}
    assert _current_fill(emulator) == pytest.approx(0.5, abs=0.01)
    assert totals[-1] in (50, 51)  # 100 x 0.5, rounded either way; never a whole hour
    emulator.admin("POST", "clock", {"advance": 3600})
    later = _hour_series(emulator, LEGACY, 72)
    totals = [p["total"] for p in later["value"][0]["timeseries"][0]["data"]]
    assert totals[-2] == 100 and totals[-1] == 0  # the hour is whole once it is over


def test_prompt_and_generated_tokens_are_set_apart(emulator: EmulatorHandle) -> None:
    spec = dict(
        FLAT,
        prompt_tokens_per_request=50,
        generated_tokens_per_request=5,
        events=[{"kind": "tokens", "start": "-10h", "hours": 1, "factor": 10, "part": "prompt"}],
    )
    emulator.admin("POST", f"metrics/{LEGACY}", {"history": spec})

    def totals(metric: str) -> list[float]:
        body = _hour_series(emulator, LEGACY, 48, metricnames=metric)
        return [p["total"] for p in body["value"][0]["timeseries"][0]["data"][:-1]]

    prompt, generated = totals("ProcessedPromptTokens"), totals("GeneratedTokens")
    assert prompt.count(50 * 100) > 40 and prompt.count(500 * 100) == 1
    assert set(generated[-30:]) == {5 * 100.0}  # the event scaled the prompt only


def test_admin_adds_events_later(emulator: EmulatorHandle) -> None:
    emulator.admin("POST", f"metrics/{LEGACY}", {"history": FLAT})
    emulator.admin("POST", "clock", {"advance": 6 * 3600})
    view = emulator.admin(
        "POST",
        f"metrics/{LEGACY}",
        {"events": [{"kind": "spike", "start": "-3h", "hours": 1, "factor": 5}]},
    )
    assert len(view["history"]["events"]) == 1
    totals = [
        p["total"] for p in _hour_series(emulator, LEGACY, 12)["value"][0]["timeseries"][0]["data"]
    ]
    assert totals.count(500) == 1  # the history now reaches the advanced clock


@pytest.mark.parametrize(
    ("history_spec", "field"),
    [
        ({"daily": 2}, "history.daily"),
        ({"noise": "a lot"}, "history.noise"),
        ({"days": 0}, "history.days"),
        ({"colour": 1}, "history.colour"),
        ({"events": [{"kind": "meteor", "start": "-1h"}]}, "history.events[0].kind"),
        ({"events": [{"kind": "spike"}]}, "history.events[0].start"),
        ({"events": [{"kind": "errors", "start": "-1h", "rate": 2}]}, "history.events[0].rate"),
        ({"events": [{"kind": "spike", "start": "-1h", "count": 3}]}, "history.events[0].count"),
    ],
)
def test_admin_rejects_bad_specs(
    shared_emulator: EmulatorHandle, history_spec: dict[str, Any], field: str
) -> None:
    r = requests.post(
        f"{shared_emulator.url}/_emulator/metrics/{LEGACY}",
        json={"history": history_spec},
        verify=ca(shared_emulator),
        timeout=10,
        headers={"Authorization": f"Bearer {shared_emulator.server.emulator.admin_token}"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith(field + ":")


def test_admin_needs_a_known_account_and_the_admin_token(shared_emulator: EmulatorHandle) -> None:
    base = f"{shared_emulator.url}/_emulator/metrics"
    auth = {"Authorization": f"Bearer {shared_emulator.server.emulator.admin_token}"}
    unknown = requests.get(f"{base}/nobody", headers=auth, verify=ca(shared_emulator), timeout=10)
    assert unknown.status_code == 404
    anonymous = requests.get(f"{base}/{EUS}", verify=ca(shared_emulator), timeout=10)
    assert anonymous.status_code == 401


def _world_with(metrics: Any) -> Any:
    data = {
        "tenant_id": "6513270e-269e-4d37-b2a7-4de452e6b438",
        "subscriptions": [{"id": "d23f0824-128b-4f33-8c5c-7fd0a6a3a450"}],
        "resource_groups": [{"name": "rg"}],
        "accounts": [
            {"name": "ok-account", "resource_group": "rg", "metrics": {"baseline": 5}},
            {"name": "bad-account", "resource_group": "rg", "metrics": metrics},
        ],
        "principals": [
            {
                "name": "p",
                "client_id": "9531985d-5d9d-49f8-9818-e811892f902b",
                "object_id": "36f675cc-81e7-4ef5-a8e2-5d940ed90475",
            }
        ],
    }
    return parse_world(data)


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({"baseline": -1}, "accounts[1].metrics.baseline: -1 must be >= 0"),
        ({"weekly": 1.5}, "accounts[1].metrics.weekly: 1.5 must be between 0 and 1"),
        (
            {"events": [{"kind": "drop", "start": "someday"}]},
            "accounts[1].metrics.events[0].start: 'someday' is neither",
        ),
        ({"events": {}}, "accounts[1].metrics.events: expected a list"),
    ],
)
def test_world_metrics_are_validated_at_seed(
    bare_emulator: Emulator, metrics: dict[str, Any], message: str
) -> None:
    bare_emulator.world = _world_with(metrics)
    with pytest.raises(WorldError, match=re.escape(message)):
        seed(bare_emulator)


@pytest.fixture(scope="module")
def bare_emulator() -> Emulator:
    """An emulator object without a server (its RSA key costs ~0.5 s to make)."""
    return Emulator(load_world(), None, "https://127.0.0.1:1")


def test_default_world_seeds_every_account_history(bare_emulator: Emulator) -> None:
    emu = bare_emulator
    emu.world = load_world()
    emu.store.data.pop("monitor", None)
    seed(emu)
    accounts = emu.store.section("monitor")["accounts"]
    assert set(accounts) == {a.name.lower() for a in emu.world.accounts}
    assert accounts[EUS]["spec"]["baseline"] == 400 and accounts[EUS]["spec"]["days"] == 35
