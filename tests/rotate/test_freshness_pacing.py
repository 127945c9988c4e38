"""A wait in keyops' own pacing does not age a fence; the lease's end is never stretched.

A fleet at ARM's write budget queues each write for longer than a fence's freshness
(FRESH_FOR); counting that queue as a stall made every write fence again, queue again, and
fail ``fenced`` after the last re-fence (a fleet of 50 lost its last 11 accounts under load).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from keyops.azure.writeguard import guarded, note_pacing
from keyops.rotate import freshness
from keyops.rotate.freshness import FRESH_FOR, FenceMark, StaleFenceError, tick


def _run(fresh_age: float, lease_left: float) -> Any:
    now = tick()
    mark = FenceMark(now - fresh_age, now + lease_left, redo=lambda: None)
    return SimpleNamespace(fence=mark, target=SimpleNamespace(account=SimpleNamespace(name="a")))


def test_a_stale_fence_without_pacing_is_refused() -> None:
    run = _run(fresh_age=2.0, lease_left=60.0)
    with guarded(lambda: None), pytest.raises(StaleFenceError):
        freshness._check(run)


def test_time_spent_in_keyops_own_pacing_does_not_age_the_fence() -> None:
    run = _run(fresh_age=2.0, lease_left=60.0)
    with guarded(lambda: None):
        note_pacing(2.5)
        freshness._check(run)  # 2 s past freshness, 2.5 s of it queued by keyops: fresh


def test_pacing_never_stretches_the_lease_end() -> None:
    run = _run(fresh_age=0.0, lease_left=-0.5)
    with guarded(lambda: None), pytest.raises(StaleFenceError):
        note_pacing(10 * FRESH_FOR)
        freshness._check(run)


def test_pacing_outside_a_guarded_write_is_not_counted() -> None:
    note_pacing(100.0)  # no guarded block: nothing to excuse
    run = _run(fresh_age=2.0, lease_left=60.0)
    with guarded(lambda: None), pytest.raises(StaleFenceError):
        freshness._check(run)


def test_pacing_before_the_fence_answered_is_not_excused_after_it() -> None:
    # A fence made inside a guarded block, after that block had already queued 5 s: only
    # pacing after the fence's answer may be excused, so 2 s later it is stale.
    with guarded(lambda: None), pytest.raises(StaleFenceError):
        note_pacing(5.0)
        run = SimpleNamespace(target=SimpleNamespace(account=SimpleNamespace(name="a")))
        freshness.mark(run, lambda: None, tick() - 2.0, None)  # type: ignore[arg-type]
        freshness._check(run)  # type: ignore[arg-type]
