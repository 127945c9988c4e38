"""What "usual" means for each rule: recent level, batch hours, and tokens per call by hour.

The seasonal fit (:mod:`keyops.usage.baseline`) knows the hour of week; real accounts also move:

* **Recent level.** Traffic grows, or steps up at a launch and stays. The level of each hour is
  the median ratio of observed to seasonal-expected calls over the 72 hours around it (the past
  36 h only, at the end of the data): a median over three days ignores a runaway of a few hours or
  an outage, but follows growth and, a day and a half after it, a launch step. The shift itself is
  reported once, as info ("new level since ..."), by :func:`level_shift`.
* **Batch hours.** A nightly job is an hour or three far busier than the hours around it. Such
  hours are learned from the expected curve; a run up to :data:`BATCH_LATE_HOURS` late (an hour
  early) or skipped is not a spike or a drop (the batch part of an hour is added to the upper
  bound of the hours it could run in and taken out of its own lower bound).
* **Tokens per call** by hour of week (by hour of day, weekday and weekend apart, where the data
  are too few), since a batch's prompts are far larger than interactive ones; the same slack
  applies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from keyops.usage.stats import median

LEVEL_HALF_WINDOW = 36
#: Hours with fewer expected calls than this say too little about the level to count.
LEVEL_MIN_EXPECTED = 5.0
LEVEL_MIN_HOURS = 12
#: A batch may run up to this many hours late, and this many early (a job scheduled in local
#: time moves an hour in UTC when daylight saving time starts or ends). Schedulers start jobs
#: late (queued, waiting on an upstream job), never hours early: an hour two or three before a
#: batch's time is not one it could run in.
BATCH_LATE_HOURS = 3
BATCH_EARLY_HOURS = 1
#: Tokens per call by hour of week: from this many days of data, for an hour of the week with
#: this many samples (weeks) and calls in total (fewer: its hour of day speaks for it).
WEEK_MIN_DAYS = 21
WEEK_MIN_SAMPLES = 3
WEEK_MIN_CALLS = 100.0
#: An hour is a batch hour when it expects this many times the lower of the two troughs around it.
BATCH_PEAK = 1.5
#: How far each side the trough before and after a batch is looked for (a batch lasts up to 3 h).
_AROUND = 4
#: A level this far (either way) from the level before the window is reported as a new level.
SHIFT_RATIO = 1.5


def local_level(values: Sequence[float], expected: Sequence[float]) -> list[float]:
    """Multiplicative level of each hour against *expected* (1.0 where volume is too low)."""
    n = len(values)
    logs = [
        math.log((x + 0.5) / (e + 0.5)) if e >= LEVEL_MIN_EXPECTED else None
        for x, e in zip(values, expected, strict=True)
    ]
    out = []
    for t in range(n):
        window = [
            v for v in logs[max(0, t - LEVEL_HALF_WINDOW) : t + LEVEL_HALF_WINDOW] if v is not None
        ]
        out.append(math.exp(median(window)) if len(window) >= LEVEL_MIN_HOURS else 1.0)
    return out


@dataclass(frozen=True)
class Shift:
    """A persisting change of level: from hour ``start`` on, ``ratio`` x the level before."""

    start: int
    ratio: float


def level_shift(level: Sequence[float], first: int) -> Shift | None:
    """The level shift inside ``[first, end)`` that lasts to the end, if one is large enough.

    Compared: the level just before *first* and the level at the end; the shift starts at the
    first hour whose level is past the geometric middle of the two.
    """
    if first <= 0 or first >= len(level):
        return None
    before, after = level[first - 1], level[-1]
    if before <= 0 or after <= 0:
        return None
    ratio = after / before
    if 1 / SHIFT_RATIO < ratio < SHIFT_RATIO:
        return None
    middle = math.sqrt(before * after)
    for t in range(first, len(level)):
        if (level[t] >= middle) == (ratio > 1):
            return Shift(t, ratio)
    return None


def batch_part(expected: Sequence[float]) -> list[float]:
    """Per hour, how much of its expected value is a batch peak over the troughs around it.

    A nightly job stands above the hours on *both* sides of it: its value is compared with the
    higher of the lowest hour in the :data:`_AROUND` hours before and the lowest in those after.
    A ramp (the business morning) has one side as high as itself and a smooth daily peak is
    well under :data:`BATCH_PEAK` over either trough, while a job at night on top of an evening-
    heavy consumer curve still stands out (a median of the hours around would include the
    evening and miss it).
    """
    n = len(expected)
    out = [0.0] * n
    # The hours after the data are what the same hours a week (or a day) before expected, so that
    # a batch due in the last hours is known as one: missing, it is a late batch, not an outage.
    period = 168 if n >= 168 + _AROUND else 24
    ahead = [*expected, *(expected[n + k - period] for k in range(_AROUND))] if n >= period else []
    for t in range(n):
        before = expected[max(0, t - _AROUND) : t]
        after = ahead[t + 1 : t + 1 + _AROUND] or expected[t + 1 : t + 1 + _AROUND]
        if not before or not after:
            continue
        trough = max(min(before), min(after))
        if expected[t] > BATCH_PEAK * trough:
            out[t] = expected[t] - trough
    return out


def slack_hours(t: int) -> slice:
    """The hours whose batch could have run in hour *t* (late or early, see the constants)."""
    return slice(max(0, t - BATCH_LATE_HOURS), t + BATCH_EARLY_HOURS + 1)


def with_batch_slack(
    expected: Sequence[float], batch: Sequence[float]
) -> tuple[list[float], list[float]]:
    """(upper, lower) expectations: a batch may run late (or an hour early), or not at all."""
    upper = [expected[t] - batch[t] + max(batch[slack_hours(t)]) for t in range(len(expected))]
    lower = [e - b for e, b in zip(expected, batch, strict=True)]
    return upper, lower


def tokens_per_call(
    tokens: Sequence[float], ok: Sequence[float], timestamps: Sequence[int], slack: bool = True
) -> list[float]:
    """Usual tokens per successful call at each hour, by hour of week where the data allow.

    With :data:`WEEK_MIN_DAYS` of data, an hour of the week that saw :data:`WEEK_MIN_CALLS`
    calls over at least three weeks takes the median of its hours' ratios: a batch that runs on
    (local) weekdays only, or a UTC day that is a weekday here and the weekend there, differs by
    hour of week, and with three or four samples a median keeps one week's anomaly from becoming
    its own usual. Other hours fall back to the hour of day, weekday/weekend apart
    (:func:`_by_hour_of_day`), then to the account's overall ratio. Then each hour takes the
    largest value within the batch slack, so a late batch's large prompts are not an anomaly.
    """
    base = _by_hour_of_day(tokens, ok, timestamps)
    if len(timestamps) >= WEEK_MIN_DAYS * 24:
        weekly = _by_hour_of_week(tokens, ok, timestamps)
        base = [weekly.get(_week_key(ts), b) for ts, b in zip(timestamps, base, strict=True)]
    if not slack:
        return base
    return [max(base[slack_hours(t)]) for t in range(len(base))]


def _week_key(ts: int) -> int:
    return ((ts // 86400 + 3) % 7) * 24 + (ts // 3600) % 24


def _by_hour_of_week(
    tokens: Sequence[float], ok: Sequence[float], timestamps: Sequence[int]
) -> dict[int, float]:
    """Median tokens per call of each hour of the week with enough calls (see the caller)."""
    per_key: dict[int, list[tuple[float, float]]] = {}
    for ts, t, c in zip(timestamps, tokens, ok, strict=True):
        if c >= 1:
            per_key.setdefault(_week_key(ts), []).append((t, c))
    return {
        key: median([t / c for t, c in pairs])
        for key, pairs in per_key.items()
        if len(pairs) >= WEEK_MIN_SAMPLES and sum(c for _, c in pairs) >= WEEK_MIN_CALLS
    }


def _by_hour_of_day(
    tokens: Sequence[float], ok: Sequence[float], timestamps: Sequence[int]
) -> list[float]:
    """Usual tokens per call by hour of day, weekday/weekend (UTC) apart, for every hour.

    Each key's value is the ratio of sums over its hours after dropping the days whose ratio is
    in the top or bottom tenth (a token anomaly must not become its own usual); a key with too
    little traffic falls back to the account's overall ratio.
    """
    keys = [((ts // 3600) % 24, (ts // 86400 + 3) % 7 >= 5) for ts in timestamps]
    per_key: dict[tuple[int, bool], list[tuple[float, float]]] = {}
    for key, t, c in zip(keys, tokens, ok, strict=True):
        if c >= 1:
            per_key.setdefault(key, []).append((t, c))
    total_ok = sum(ok)
    overall = sum(tokens) / total_ok if total_ok else 0.0
    usual: dict[tuple[int, bool], float] = {}
    for key, pairs in per_key.items():
        if sum(c for _, c in pairs) < 20 or len(pairs) < 3:
            continue
        ratios = sorted(pairs, key=lambda p: p[0] / p[1])
        cut = math.ceil(0.1 * len(ratios)) if len(ratios) >= 5 else 0
        kept = ratios[cut : len(ratios) - cut] or ratios
        usual[key] = sum(t for t, _ in kept) / sum(c for _, c in kept)
    return [usual.get(k, overall) for k in keys]


def batch_priced_tokens(
    plain: Sequence[float],
    slacked: Sequence[float],
    ok: Sequence[float],
    expected: Sequence[float],
    batch: Sequence[float],
    noise: float = 0.0,
) -> list[float]:
    """Usual tokens of each hour's successful calls, a batch's calls priced as batch calls.

    *plain* and *slacked* are :func:`tokens_per_call` without and with the slack; *expected* the
    hour's expected calls and *batch* their batch part (:func:`batch_part`). Away from batch
    hours every call costs the slacked usual. Within the slack of a batch hour, the hour's
    regular calls (its expected calls less their batch part) cost the hour's own usual, and only
    calls beyond them cost what one batch call costs: a late batch brings its calls with it,
    while the same calls each costing ten times more is a token anomaly, not a late batch.
    Regular calls are known only to the calls' *noise* (relative, per hour): a late batch in an
    hour whose interactive calls ran a little low hides among them, so the regular calls are
    taken a noise below expected (``exp(-noise)``), and the calls beyond them, at most the
    largest batch that could run in the hour, are priced as batch calls.

    "A batch hour" is an hour of the day with a batch on any day (the series' hours are
    consecutive, so ``t % 24`` is the hour of day): the hour-of-week fit knows a batch only on
    the weekdays it usually ran, and a job skipped the same weekday a few weeks running is still
    the account's job when it runs there again.
    """
    n = len(plain)
    regular = sorted(plain[t] for t in range(n) if batch[t] <= 0) or list(plain)
    rate = regular[len(regular) // 2]
    per_batch_call = [
        (plain[t] * expected[t] - rate * (expected[t] - batch[t])) / batch[t]
        for t in range(n)
        if batch[t] > 0
    ]
    daily = [max(batch[h::24], default=0.0) for h in range(24)]
    near = [max(daily[u % 24] for u in range(n)[slack_hours(t)]) for t in range(n)]
    if not per_batch_call:
        return [c * u for c, u in zip(ok, slacked, strict=True)]
    batch_rate = max(max(per_batch_call), rate)
    out = []
    for t in range(n):
        if not near[t]:
            out.append(ok[t] * slacked[t])
            continue
        known = (expected[t] - batch[t]) * math.exp(-noise)
        extra = min(max(ok[t] - known, 0.0), near[t], ok[t])
        out.append((ok[t] - extra) * plain[t] + extra * max(batch_rate, plain[t]))
    return out
