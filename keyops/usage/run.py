"""One ``keyops usage`` run as a library call: fetch, analyse, keep the window, note what is left.

The CLI resolves targets and builds clients; everything after that lives here, so that a
scheduled job or a test gets the same report as the command without going through click.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from keyops.errors import KeyopsError
from keyops.usage import wording as w
from keyops.usage.detect import UsageReport, analyze
from keyops.usage.fetch import clip_to_window, gather, window
from keyops.usage.sensitivity import Sensitivity

if TYPE_CHECKING:
    from keyops.targets import Target


@dataclass(frozen=True)
class UsageRequest:
    """What to report on: window and history in days, sensitivity, key-use expectations."""

    days: float
    history_days: float
    sensitivity: str = "medium"
    keys_unused: tuple[str, ...] = ()
    include_current_hour: bool = False
    workers: int = 8
    now: datetime | None = None


@dataclass(frozen=True)
class UsageRun:
    """The report and the accounts that could not be read (each one a line for the user)."""

    report: UsageReport
    problems: tuple[KeyopsError, ...]
    hours: int


def current_hour_note(start: datetime, hours: int) -> str:
    """The line saying the current hour was left out, and why."""
    end = start + timedelta(hours=hours)
    return (
        f"The current hour ({w.when(end)} on) is left out: Azure Monitor serves it partially "
        "filled and late. Use --include-current-hour to show it anyway."
    )


def run_usage(
    request: UsageRequest,
    targets: Sequence[Target],
    metrics_for: Callable[[str], Any],
    vault_for: Callable[[str], Any],
    on_done: Callable[[], None] | None = None,
) -> UsageRun:
    """Fetch window plus history for *targets*, detect, and keep only the window in the report.

    Raises the first problem when no account could be read at all (with its exit status).
    *on_done* is called as each account has been read (progress).
    """
    start, hours = window(request.days, request.now, request.include_current_hour)
    fetch_start, fetch_hours = window(
        request.days + request.history_days, request.now, request.include_current_hour
    )
    inputs = gather(
        targets,
        metrics_for,
        vault_for,
        start=fetch_start,
        hours=fetch_hours,
        keys_unused=request.keys_unused,
        workers=request.workers,
        report_from=start,
        on_done=on_done,
    )
    if inputs.problems and not inputs.series:
        first = inputs.problems[0]
        raise type(first)(f"no account could be read: {first.message}")
    analysed = analyze(
        list(inputs.series),
        list(inputs.rotations),
        inputs.policy,
        Sensitivity.preset(request.sensitivity),
        since=start,
    )
    notes: Iterable[str] = (
        () if request.include_current_hour else (current_hour_note(start, hours),)
    )
    # The history before the window taught the baselines; show only the window itself.
    report = replace(
        analysed,
        series=tuple(clip_to_window(s, start) for s in analysed.series),
        notes=tuple(notes),
    )
    return UsageRun(report, inputs.problems, hours)
