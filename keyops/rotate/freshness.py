"""How fresh a fence must be when its write is sent, and the re-fence when it is not.

A fence (:mod:`keyops.rotate.fence`) proves the preconditions of one write: the lease is this
run's, with time left, and the keys are as tested. Its answer is true when it arrives and ages
from then on. A process stopped between the fence and its write (a paused VM, a long garbage
collection, a laptop lid, azure-core sleeping out a ``Retry-After`` before it retries the
write) would otherwise send the write on a proof that no longer holds: a rival that took the
expired lease, ``--break-lease``, or an operator's regenerate in the meantime, and the write kills
or stores a dead key.

So each fence leaves a :class:`FenceMark`: until when its answer may be used (at most
:data:`FRESH_FOR` after its last answer arrived, and never past the lease's end, on Key Vault's
clock, less the write's budget) and how to fence again. The write's SDK call runs under
:func:`fenced_write`: right before each attempt is sent (after every wait, see
:mod:`keyops.azure.writeguard`), a mark past its time stops the attempt unsent, the fence runs
again (it ends the run ``fenced`` exactly as before when the lease or the keys moved on), and the
write is tried once more. Only a stalled write pays: the common path makes no extra request.

What no client can close is the time from this check to the bytes reaching Azure (the socket,
the network), and a stall the machine's clock does not see. The clock counts suspended time
where the platform offers it (``CLOCK_BOOTTIME``); Key Vault has no conditional write to close
the rest. After the store the rotation lists the keys once more and repairs a dead store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from keyops.azure.writeguard import guarded, paced
from keyops.errors import KeyopsError

if TYPE_CHECKING:
    from datetime import timedelta

    from keyops.rotate.steps import AccountRun

T = TypeVar("T")

#: How long a fence's answer may be trusted for a write (seconds, this machine's clock). The
#: common path sends its write microseconds after its fence; a second is far beyond that, and
#: far below any stall that lets a lease pass (a lease has at least 15 s left at each fence).
FRESH_FOR = 1.0
#: How many times one write may fence again before the run gives up (``fenced``).
REFENCES = 3

_CLOCK = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)


def tick() -> float:
    """Seconds on a clock that never steps back and, where it can, counts suspended time."""
    return time.clock_gettime(_CLOCK)


class StaleFenceError(KeyopsError):
    """A write was about to be sent on a fence older than its freshness allows (not sent)."""

    reason_code = "fenced"


@dataclass(frozen=True)
class FenceMark:
    """What the latest fence proved, until when, and how to prove it again.

    ``fresh_until`` is the answer's own age limit, which a wait in keyops' own pacing (its share
    of ARM's and Key Vault's budgets, queued in arrival order) does not use up: a fleet at
    Azure's write budget would otherwise wait longer than :data:`FRESH_FOR` before every write,
    fence again, and wait again. ``lease_until`` (the lease's end less the write's budget) is
    never stretched: no wait of any kind sends a write past it.
    """

    fresh_until: float
    lease_until: float
    redo: Callable[[], object]


def mark(
    run: AccountRun, redo: Callable[[], object], answered: float, left: timedelta | None
) -> None:
    """Record a fence that just passed: its last answer arrived at ``answered`` (:func:`tick`),
    and ``left`` is the lease left beyond the write's budget (None: no lease)."""
    lease_until = tick() + left.total_seconds() if left is not None else float("inf")
    # The check excuses the pacing its guarded block has waited in all (``paced()``); pacing
    # waited before this answer arrived is not a wait after it, so it is taken off here.
    run.fence = FenceMark(answered + FRESH_FOR - paced(), lease_until, redo)


def fenced_write(run: AccountRun, write: Callable[[], T]) -> T:
    """``write()`` (one SDK write), sent only while the run's latest fence is fresh.

    A stale fence is run again (at most :data:`REFENCES` times); a fence that fails raises as it
    always does. Without a fence (no lease, a repair over a dead key) the write is sent as is.
    """
    for attempt in range(REFENCES + 1):
        fence = run.fence
        if fence is None:
            return write()
        try:
            with guarded(lambda: _check(run)):
                return write()
        except StaleFenceError:
            if attempt == REFENCES:
                break
            fence.redo()
    raise StaleFenceError(
        f"account {run.target.account.name}: the write was held up after each of "
        f"{REFENCES + 1} fences (fenced); nothing sent"
    )


def _check(run: AccountRun) -> None:
    fence = run.fence
    now = tick()
    if fence is not None and (now - paced() > fence.fresh_until or now > fence.lease_until):
        raise StaleFenceError(
            f"account {run.target.account.name}: the fence before this write is too old to "
            "trust; fencing again before sending"
        )
