"""Validation of an account's metrics history spec (world file ``metrics`` or the admin API).

A spec is ``{baseline, daily, weekly, noise, error_rate, tokens_per_request, days, events}``,
optionally with ``prompt_tokens_per_request`` and ``generated_tokens_per_request`` to set the two
apart (otherwise 70% of ``tokens_per_request`` is prompt); each event is ``{kind, start, hours,
factor | rate | count, status}`` with ``start`` relative to now (``-30h``) or ISO 8601, and a
``tokens`` event may say which ``part`` it scales (``prompt``, ``generated`` or ``both``).
Errors are :class:`ValueError` whose message starts with the field's path inside the spec
(``events[1].kind: ...``), for the caller to prefix.
"""

from __future__ import annotations

from typing import Any

from keyops.emulator.world import relative_time

EVENT_KINDS = ("spike", "drop", "errors", "auth_401", "tokens")
MAX_DAYS = 93  # Azure Monitor keeps platform metrics 93 days
DEFAULT_DAYS = 35

#: field -> (default, minimum, maximum or None)
_FIELDS: dict[str, tuple[float, float, float | None]] = {
    "baseline": (0.0, 0.0, None),
    "daily": (0.5, 0.0, 1.0),
    "weekly": (0.3, 0.0, 1.0),
    "noise": (0.15, 0.0, 3.0),
    "error_rate": (0.005, 0.0, 1.0),
    "tokens_per_request": (400.0, 0.0, None),
}
#: Optional: prompt and generated tokens per successful request, set apart.
SPLIT_FIELDS = ("prompt_tokens_per_request", "generated_tokens_per_request")
TOKEN_PARTS = ("both", "prompt", "generated")
#: event kind -> (its magnitude field, default)
_MAGNITUDE = {
    "spike": ("factor", 5.0),
    "drop": ("factor", 0.1),
    "tokens": ("factor", 3.0),
    "errors": ("rate", 0.2),
    "auth_401": ("count", 50.0),
}


def _number(
    data: dict[str, Any], key: str, default: float, low: float, high: float | None, where: str = ""
) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}{key}: expected a number, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bounds = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
        raise ValueError(f"{where}{key}: {value!r} must be {bounds}")
    return float(value)


def parse_spec(raw: Any, now: float) -> dict[str, Any]:
    """A validated, normalised spec (event starts made absolute against ``now``)."""
    if not isinstance(raw, dict):
        raise ValueError("metrics: expected a table/object") from None
    unknown = sorted(set(raw) - set(_FIELDS) - set(SPLIT_FIELDS) - {"days", "events"})
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown field")
    spec: dict[str, Any] = {k: _number(raw, k, *v) for k, v in _FIELDS.items()}
    for key in SPLIT_FIELDS:
        if key in raw:
            spec[key] = _number(raw, key, 0.0, 0.0, None)
    # Five weeks: enough for a 7-day report over 21 days of same-hour-of-week baseline.
    days = raw.get("days", DEFAULT_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days: {days!r} must be a whole number of days from 1 to {MAX_DAYS}")
    spec["days"] = days
    spec["events"] = parse_events(raw.get("events", []), now)
    return spec


def parse_events(raw: Any, now: float) -> list[dict[str, Any]]:
    """Validated events with absolute ``start`` times."""
    if not isinstance(raw, list):
        raise ValueError("events: expected a list")
    return [_event(item, f"events[{i}].", now) for i, item in enumerate(raw)]


def _event(item: Any, where: str, now: float) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValueError(f"{where[:-1]}: expected a table/object")
    kind = item.get("kind")
    if kind not in EVENT_KINDS:
        raise ValueError(f"{where}kind: {kind!r} is not one of {', '.join(EVENT_KINDS)}")
    field, default = _MAGNITUDE[kind]
    allowed = {"kind", "start", "hours", field} | {"errors": {"status"}, "tokens": {"part"}}.get(
        kind, set()
    )
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise ValueError(f"{where}{unknown[0]}: unknown field for a {kind} event")
    start = item.get("start")
    if not isinstance(start, str):
        raise ValueError(f"{where}start: required, a relative time (-30h) or ISO 8601")
    event: dict[str, Any] = {
        "kind": kind,
        "start": relative_time(start, now, f"{where}start"),
        "hours": _number(item, "hours", 1.0, 0.0, 24.0 * MAX_DAYS, where),
        field: _number(item, field, default, 0.0, 1.0 if field == "rate" else None, where),
    }
    if kind == "errors":
        status = str(item.get("status", "500"))
        if not status.isdigit() or not 400 <= int(status) <= 599:
            raise ValueError(f"{where}status: {status!r} is not an HTTP error status")
        event["status"] = status
    if kind == "tokens":
        part = item.get("part", "both")
        if part not in TOKEN_PARTS:
            raise ValueError(f"{where}part: {part!r} is not one of {', '.join(TOKEN_PARTS)}")
        event["part"] = part
    return event
