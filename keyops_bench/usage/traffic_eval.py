"""Run ``detect`` on the second evaluation set, at the window's end and hour by hour.

*At the window's end*: each account's 28 days go to ``detect`` with ``since`` at the window's
start, as one ``keyops usage`` run would see them (the current hour is not in the series: it is
left out by default). *Hour by hour*: for runaway and launch-step accounts, ``detect`` runs on the
series cut at every hour from 6 h before the event to 48 h after it (within the window), with the
window ending there, as an hourly scheduled run would; :func:`~keyops_bench.usage.scoring.
new_alerts` keeps what each run adds to the run before, and those alerts are scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from keyops.usage.detect import detect
from keyops.usage.model import HOUR, Finding, UsageSeries, from_epoch
from keyops.usage.sensitivity import Sensitivity
from keyops_bench.usage.scoring import PlantedWindow, Score, new_alerts, score
from keyops_bench.usage.traffic import FLEET, WINDOW_HOURS, TrafficCase, build_fleet

_BEFORE, _AFTER = 6, 48


def planted_window(case: TrafficCase) -> list[PlantedWindow]:
    """The case's planted anomaly as epoch seconds (none for a legit-only account)."""
    p = case.planted
    if p is None:
        return []
    stamps = case.series.timestamps
    return [PlantedWindow(case.series.resource_id, p.kind, stamps[p.start], stamps[p.start]
                          + HOUR * (p.end - p.start))]  # fmt: skip


def cut(series: UsageSeries, hours: int) -> UsageSeries:
    """The first *hours* hours of *series*."""
    return replace(
        series,
        timestamps=series.timestamps[:hours],
        requests_total=series.requests_total[:hours],
        requests_by_status={k: v[:hours] for k, v in series.requests_by_status.items()},
        prompt_tokens=series.prompt_tokens[:hours],
        generated_tokens=series.generated_tokens[:hours],
    )


def at_window_end(case: TrafficCase, sens: Sensitivity) -> list[Finding]:
    """Findings of one run at the end of the window."""
    since = from_epoch(case.series.timestamps[case.window_start])
    return detect([case.series], case.rotations, sensitivity=sens, since=since)


def hourly_focus(case: TrafficCase) -> range | None:
    """Hours after which a scheduled run is simulated (runaway and launch-step accounts only)."""
    if case.planted is not None and case.planted.kind == "runaway":
        at = case.planted.start
    elif case.account.step is not None and case.account.step[0] >= case.window_start:
        at = case.account.step[0]
    else:
        return None
    first = max(at - _BEFORE, case.window_start + 1)
    return range(first, min(at + _AFTER, case.series.hours) + 1)


def hour_by_hour(case: TrafficCase, sens: Sensitivity) -> list[Finding]:
    """New alerts of hourly scheduled runs around the case's runaway or launch step."""
    focus = hourly_focus(case)
    if focus is None:
        return []
    runs = []
    for end in range(focus.start - 1, focus.stop):
        series = cut(case.series, end)
        since = from_epoch(series.timestamps[max(end - WINDOW_HOURS, 0)])
        runs.append(detect([series], case.rotations, sensitivity=sens, since=since))
    # The run just before the focus hours is what an operator already knew.
    return new_alerts(runs[1:], known=runs[0])


def _fleet_scores(args: tuple[int, int, Sensitivity, bool]) -> tuple[Score, Score]:
    """Worker: (window-end score, hour-by-hour score) of one seed's fleet."""
    seed, n, sens, hourly = args
    fleet = build_fleet(seed, n)
    planted = [p for c in fleet for p in planted_window(c)]
    names = [c.series.resource_id for c in fleet]
    end = score(planted, [f for c in fleet for f in at_window_end(c, sens)], names)
    if not hourly:
        return end, Score()
    focused = [c for c in fleet if hourly_focus(c) is not None]
    alerts = [f for c in focused for f in hour_by_hour(c, sens)]
    ids = [c.series.resource_id for c in focused]
    return end, score([p for c in focused for p in _in_focus(c)], alerts, ids)


def _in_focus(case: TrafficCase) -> list[PlantedWindow]:
    """The planted anomaly if the hourly runs see it begin (they cover only the focus hours)."""
    focus, p = hourly_focus(case), case.planted
    if focus is None or p is None or not focus.start <= p.start < focus.stop:
        return []
    return planted_window(case)


def evaluate(
    seeds: Sequence[int],
    sens: Sensitivity,
    n: int = FLEET,
    hourly: bool = True,
    jobs: int = 1,
) -> tuple[Score, Score]:
    """Scores over all *seeds*: at the window's end, and hour by hour."""
    tasks = [(s, n, sens, hourly) for s in seeds]
    if jobs <= 1:
        parts = [_fleet_scores(t) for t in tasks]
    else:
        with ProcessPoolExecutor(jobs) as pool:
            parts = list(pool.map(_fleet_scores, tasks))
    end, by_hour = Score(), Score()
    for e, h in parts:
        end.merge(e)
        by_hour.merge(h)
    return end, by_hour
