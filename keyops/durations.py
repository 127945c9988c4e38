"""Durations as people write them in configuration and flags: ``90m``, ``24h``, ``30d``, ISO 8601.

Accepted forms: a number with a unit (``s``, ``m``, ``h``, ``d``, ``w``; ``1d12h`` combines them)
or an ISO 8601 duration without years or months (``P30D``, ``PT24H``, ``P1DT12H``, ``PT90M``).
Years and months are refused because their length is ambiguous; write days instead.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SHORT = re.compile(r"^(?:(\d+(?:\.\d+)?)([smhdw]))+$")
_SHORT_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_ISO = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


class DurationError(ValueError):
    """A duration string that is not one of the accepted forms."""


def parse_duration(text: str) -> timedelta:
    """Parse ``90m``/``24h``/``30d``/``1d12h`` or ISO 8601 (``P30D``, ``PT24H``) into a timedelta.

    Raises :class:`DurationError` (a ValueError) naming the accepted forms.
    """
    try:
        return _parse(text)
    except OverflowError:
        raise DurationError(f"bad duration {text!r}: too long") from None


def _parse(text: str) -> timedelta:
    raw = text.strip()
    value = raw.lower()
    if value and _SHORT.match(value):
        seconds = sum(float(n) * _UNITS[u] for n, u in _SHORT_PART.findall(value))
        return timedelta(seconds=seconds)
    iso = _ISO.match(raw.upper())
    if iso and raw.upper() not in ("P", "PT") and not raw.upper().endswith("T"):
        parts = {k: float(v) for k, v in iso.groupdict().items() if v is not None}
        if parts:
            return timedelta(
                weeks=parts.get("w", 0),
                days=parts.get("d", 0),
                hours=parts.get("h", 0),
                minutes=parts.get("m", 0),
                seconds=parts.get("s", 0),
            )
    if re.match(r"^P\d[^T]*[YM]", raw.upper()):
        raise DurationError(
            f"bad duration {text!r}: years and months have no fixed length; "
            "write days (e.g. P30D or 30d)"
        )
    raise DurationError(
        f"bad duration {text!r} (expected e.g. 90m, 24h, 30d or ISO 8601 such as P30D, PT24H)"
    )


def format_duration(delta: timedelta) -> str:
    """A short human form: the largest unit and the next one if non-zero (``30d``, ``1d12h``,
    ``23h59m``, ``90s`` -> ``1m30s``); sub-second parts are dropped."""
    total = round(delta.total_seconds())
    if total < 0:
        return "-" + format_duration(-delta)
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    for index, (unit, size) in enumerate(units):
        if total >= size:
            text = f"{total // size}{unit}"
            if index + 1 < len(units):
                next_unit, next_size = units[index + 1]
                rest = (total % size) // next_size
                if rest:
                    text += f"{rest}{next_unit}"
            return text
    return "0s"
