"""Number and time formatting shared by findings and renderers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def count(value: float) -> str:
    """A count for people: ``0.05``, ``3.4``, ``86``, ``12,400``, ``3.2M``."""
    if 0 < value < 1:
        return f"{value:.2g}"
    if value >= 1e6:
        return f"{value / 1e6:.1f}M"
    if value >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.1f}"


#: Below this many per hour, "usual" is none: a ratio against it would be a meaningless number.
NONE_USUAL = 0.5


def against_usual(observed: float, expected: float, unit: str = "/h") -> str:
    """``3.2x the usual 40/h``, or ``where none are usual`` when almost nothing is expected."""
    if expected < NONE_USUAL:
        return f"where none are usual ({count(expected)}{unit} expected)"
    return f"{observed / expected:.1f}x the usual {count(expected)}{unit}"


def when(moment: datetime) -> str:
    """``Tue 2025-03-04 14:00 UTC``."""
    return moment.astimezone(timezone.utc).strftime("%a %Y-%m-%d %H:%M UTC")


def span(start: datetime, end: datetime) -> str:
    """``Tue 2025-03-04 14:00 UTC for 3 h``."""
    hours = round((end - start) / timedelta(hours=1))
    return f"{when(start)} for {hours} h"


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, as JSON output uses."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
