"""The second evaluation set: fleets of accounts generated from a description of real traffic.

Written from how Azure OpenAI accounts behave, not from the detector's rules (its first set,
:mod:`keyops_bench.usage.evaluation`, draws one smooth daily curve with constant tokens per call,
which is what the rules were fitted to). Each seed is a fleet of :data:`FLEET` accounts, 28 days
hourly (21 days of history before a 7-day report window, as ``keyops usage`` reads by default),
ending at a random hour of the week. Half the accounts carry only legitimate patterns, half carry
one planted anomaly as well (on top of their own legitimate patterns).

Legitimate patterns, drawn per account:

* **shape**: business (weekday office hours in the account's time zone, a lunch dip, weekends
  at 5-40%), consumer (a smooth evening-heavy daily curve, weekends as busy or busier) or service
  (24/7, a mild daily curve); day-to-day level noise of 5-12%;
* **volume**: log-uniform 3 to 20,000 calls/h on average; 15% of legit-only accounts are
  near-zero (0.02-1 call/h);
* **steady growth** (35%): 0.5-3% a day, compounded;
* **launch step** (20%): traffic x1.8-4 from one hour on (in the history or the window), reached
  over 0-24 h, and staying;
* **holidays** (40% of business accounts): one or two weekdays whose business hours run at
  10-40% (one of them inside the window half of the time);
* **nightly batch** (30%): 1-3 hours at 01:00-04:00 local time, 0.3-3x the average hourly
  calls, with prompts 5-20x larger (prompt share 95%); on time 85% of nights, 1-3 h late 8%,
  skipped 7%; weekdays only for half of them;
* **heavy-tailed noise**: per-hour log noise from a Student t (3 degrees of freedom) scaled by
  0.08-0.25, Poisson counts on top; call sizes vary per call (CV 0.8);
* **errors**: background 400s (0.1-1%), 5xx (0.02-0.3%), 429s (0-1%, rising at the daily peak
  for accounts near their quota), 401s (0-0.3% of calls, plus a stray probe for some);
* **key rotations** without consequence on 30% of legit-only accounts.

Anomalies, one per anomalous account, inside the window (kinds in turn), at the magnitudes the
issue names: credential-stuffing 401 bursts (30-3,000/h for 1-6 h, any volume, a dormant account
included); 401 surges after a rotation (a consumer holding 10-60% of the calls keeps the dead key
from the rotation on, retrying 1-3x, for 4-48 h; its successful calls drop away); runaway clients
(5-20x the account's average hourly calls for 3-10 h, on top of traffic, 429s past the quota when
the account has one); outages (calls to 0-3% for 2-6 h during busy hours); 5xx and 429 jumps
(10-50% of calls for 1-6 h, over hours expecting 100 calls or more in total: ten failures at the
smallest share); tokens per call x8-12 with flat calls for 2-8 h. Anomalies other than
credential stuffing go to accounts of 20+ calls/h on average: below that a runaway or outage is a
handful of calls that no one could call an anomaly with confidence.

Seeds: tuning uses :data:`TUNING_SEEDS`; evaluation seeds are passed on the command line only.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from keyops.usage.model import HOUR, Rotation, UsageSeries
from keyops_bench.usage.synth import binomial, poisson

#: The default seeds of ``scripts/eval_usage_traffic.py``, tuned on from the start. Tokens per
#: call beside batch hours were analysed on 1-150 as well; every tuning seed is under 1000, and
#: the evaluation seeds (1000-1099) are disjoint from them all.
TUNING_SEEDS = tuple(range(1, 21))
FLEET = 20
HISTORY_DAYS = 21
WINDOW_HOURS = 168
HOURS = HISTORY_DAYS * 24 + WINDOW_HOURS
ANOMALY_KINDS = (
    "credential_stuffing",
    "rotation_401",
    "runaway",
    "outage",
    "error_5xx",
    "error_429",
    "token_x10",
)
_ANCHOR = datetime(2025, 9, 1, tzinfo=timezone.utc)  # a Monday
_RID = "/subscriptions/eval2/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts"
_CALL_SIZE_CV = 0.8
#: Calls an error jump's hours must expect in total: at the smallest share planted (10%), ten
#: failed calls. Fewer (one 429 an hour on a quiet afternoon) is a jump no one could call one;
#: before this, such plants were labelled anomalies that no detector can find.
_NEED_TOTAL = {"error_5xx": 100.0, "error_429": 100.0}


@dataclass(frozen=True)
class Planted:
    """A planted anomaly: kind and hour indexes ``[start, end)`` into the series."""

    kind: str
    start: int
    end: int


@dataclass
class Account:
    """Drawn parameters of one account (legit patterns and the planted anomaly)."""

    shape: str
    tz: int
    level: float
    day_sigma: float
    noise: float
    growth: float = 0.0
    step: tuple[int, float, int] | None = None  # (hour, factor, ramp hours)
    holidays: tuple[int, ...] = ()  # day indexes
    batch: tuple[int, int, float, float, bool] | None = None  # (hour, len, calls x, size x, wkdy)
    tokens_per_call: float = 1000.0
    prompt_share: float = 0.75
    err400: float = 0.003
    err5xx: float = 0.001
    err429: float = 0.002
    quota: bool = False
    auth401: float = 0.0005
    probe401: float = 0.0
    planted: Planted | None = None
    factor: float = 1.0  # the anomaly's magnitude (see the module docstring)
    rotation_hour: int | None = None


@dataclass(frozen=True)
class TrafficCase:
    """One generated account: its series, rotations, and what it carries."""

    index: int
    account: Account
    series: UsageSeries
    rotations: tuple[Rotation, ...]
    window_start: int  # hour index where the report window begins
    patterns: tuple[str, ...] = field(default=())

    @property
    def planted(self) -> Planted | None:
        """The planted anomaly, if any."""
        return self.account.planted


def _log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _student_t(rng: random.Random, df: int = 3) -> float:
    """A Student t draw (heavy tails), scaled to unit variance."""
    chi2 = sum(rng.gauss(0, 1) ** 2 for _ in range(df))
    return float(rng.gauss(0, 1) / math.sqrt(chi2 / df) / math.sqrt(df / (df - 2)))


def _shape(acc: Account, local_hour: int, weekday: int) -> float:
    """Relative interactive traffic at a local hour of a weekday (mean about 1 over a week)."""
    h = local_hour
    if acc.shape == "business":
        if weekday >= 5:
            return 0.15
        office = 1.0 / (1 + math.exp(-(h - 8.5) * 1.5)) / (1 + math.exp((h - 18) * 1.2))
        lunch = 0.8 if h == 12 else 1.0
        return 0.08 + 3.2 * office * lunch
    if acc.shape == "consumer":
        daily = 1 + 0.7 * math.cos(2 * math.pi * (h - 20) / 24)
        return daily * (1.15 if weekday >= 5 else 0.95)
    return (1 + 0.25 * math.cos(2 * math.pi * (h - 14) / 24)) * (0.9 if weekday >= 5 else 1.03)


def _draw_legit(rng: random.Random, anomalous: bool) -> tuple[Account, list[str]]:
    shape = rng.choices(("business", "consumer", "service"), (0.55, 0.25, 0.2))[0]
    near_zero = not anomalous and rng.random() < 0.15
    level = _log_uniform(rng, 0.02, 1) if near_zero else _log_uniform(rng, 3, 20000)
    acc = Account(
        shape=shape,
        tz=rng.choice((-8, -5, -3, 0, 1, 2, 5, 8, 9)),
        level=level,
        day_sigma=rng.uniform(0.05, 0.12),
        noise=rng.uniform(0.08, 0.25),
        tokens_per_call=_log_uniform(rng, 200, 4000),
        prompt_share=rng.uniform(0.6, 0.9),
        err400=rng.uniform(0.001, 0.01),
        err5xx=rng.uniform(0.0002, 0.003),
        err429=rng.uniform(0, 0.01),
        quota=rng.random() < 0.3,
        auth401=rng.uniform(0, 0.003),
        probe401=rng.choice((0.0, 0.0, 0.05, 0.3)),
    )
    patterns = [shape] + (["near_zero"] if near_zero else [])
    if rng.random() < 0.35:
        acc.growth = rng.uniform(0.005, 0.03)
        patterns.append("growth")
    if rng.random() < 0.2:
        acc.step = (rng.randint(14 * 24, HOURS - 12), rng.uniform(1.8, 4), rng.randint(0, 24))
        patterns.append("launch_step")
    if shape == "business" and rng.random() < 0.4:
        days = [rng.randint(0, 27) for _ in range(rng.randint(1, 2))]
        if rng.random() < 0.5:
            days[0] = rng.randint(21, 27)
        acc.holidays = tuple(days)
        patterns.append("holiday")
    if rng.random() < 0.3:
        acc.batch = (
            rng.randint(1, 4),
            rng.randint(1, 3),
            rng.uniform(0.3, 3),
            rng.uniform(5, 20),
            rng.random() < 0.5,
        )
        patterns.append("batch")
    return acc, patterns


def _plant(rng: random.Random, acc: Account, kind: str, usual: list[float], w0: int) -> None:
    """Place *kind* in the window where the account has the traffic it needs."""
    lengths = {"credential_stuffing": (1, 6), "rotation_401": (4, 48), "runaway": (3, 10),
               "outage": (2, 6), "error_5xx": (1, 6), "error_429": (1, 6),
               "token_x10": (2, 8)}  # fmt: skip
    lo, hi = lengths[kind]
    for _ in range(200):
        length = rng.randint(lo, hi)
        start = rng.randint(w0, HOURS - 1 - min(length, 12))
        end = min(start + length, HOURS)
        span = usual[start:end]
        need = {"outage": 5.0, "error_5xx": 6.0, "error_429": 6.0, "token_x10": 3.0,
                "rotation_401": 4.0}.get(kind, 0.0)  # fmt: skip
        if min(span) >= need and sum(span) >= _NEED_TOTAL.get(kind, 0.0):
            break
    acc.planted = Planted(kind, start, end)
    acc.factor = {
        "credential_stuffing": _log_uniform(rng, 30, 3000),
        "rotation_401": rng.uniform(0.1, 0.6),
        "runaway": rng.uniform(5, 20),
        "outage": rng.uniform(0, 0.03),
        "error_5xx": rng.uniform(0.1, 0.5),
        "error_429": rng.uniform(0.1, 0.5),
        "token_x10": rng.uniform(8, 12),
    }[kind]
    if kind == "rotation_401":
        acc.rotation_hour = start - rng.randint(0, 1)


def _interactive(acc: Account, t: int, epoch: int, day_noise: list[float]) -> float:
    """Expected interactive calls in hour *t* (before anomalies)."""
    local = (epoch + acc.tz * HOUR) // HOUR
    hour, weekday, day = local % 24, (local // 24 + 3) % 7, t // 24
    rate = acc.level * _shape(acc, hour, weekday) * day_noise[day]
    if day in acc.holidays and weekday < 5 and acc.shape == "business":
        rate = acc.level * (0.08 + (_shape(acc, hour, weekday) - 0.08) * 0.25)
    rate *= math.pow(1 + acc.growth, (t - HOURS) / 24)
    if acc.step is not None:
        at, factor, ramp = acc.step
        if t >= at:
            rate *= 1 + (factor - 1) * min(1.0, (t - at + 1) / (ramp + 1))
    return rate


def _batch_calls(acc: Account, t: int, epoch: int, nights: list[int]) -> float:
    """Batch calls in hour *t*: the night's run, on time, late or skipped."""
    if acc.batch is None:
        return 0.0
    hour0, length, calls, _, weekdays_only = acc.batch
    local = (epoch + acc.tz * HOUR) // HOUR
    hour, weekday, day = local % 24, (local // 24 + 3) % 7, t // 24
    delay = nights[day]
    if delay < 0 or (weekdays_only and weekday >= 5):
        return 0.0
    return acc.level * calls if hour0 + delay <= hour < hour0 + delay + length else 0.0


def make_case(index: int, seed: int) -> TrafficCase:
    """Account *index* of the fleet for *seed* (independent of how many are generated)."""
    rng = random.Random(f"traffic2:{seed}:{index}")
    anomalous = index % 2 == 1
    acc, patterns = _draw_legit(rng, anomalous)
    kind = ANOMALY_KINDS[(index // 2 + seed) % len(ANOMALY_KINDS)] if anomalous else None
    if kind is not None and kind != "credential_stuffing":
        acc.level = max(acc.level, _log_uniform(rng, 20, 20000))
    first = (_ANCHOR + timedelta(hours=(seed * 37) % 168)).timestamp()
    stamps = [int(first) + HOUR * t for t in range(HOURS)]
    day_noise = [math.exp(rng.gauss(0, acc.day_sigma)) for _ in range(HOURS // 24 + 2)]
    nights = [rng.choices((0, rng.randint(1, 3), -1), (0.85, 0.08, 0.07))[0] for _ in day_noise]
    usual = [_interactive(acc, t, stamps[t], day_noise) for t in range(HOURS)]
    w0 = HOURS - WINDOW_HOURS
    if kind is not None:
        _plant(rng, acc, kind, usual, w0)
    elif rng.random() < 0.3:
        acc.rotation_hour = rng.randint(w0 - 48, HOURS - 2)
        patterns.append("rotation")
    series = _series(rng, acc, stamps, usual, nights, index)
    rotations: tuple[Rotation, ...] = ()
    if acc.rotation_hour is not None:
        at = datetime.fromtimestamp(stamps[acc.rotation_hour], tz=timezone.utc)
        rotations = (
            Rotation(series.resource_id, at + timedelta(minutes=rng.randint(0, 59)), "Key1",
                     "openai-key", f"v{index}b", f"v{index}a"),
        )  # fmt: skip
    return TrafficCase(index, acc, series, rotations, w0, tuple(patterns))


def _series(
    rng: random.Random,
    acc: Account,
    stamps: list[int],
    usual: list[float],
    nights: list[int],
    index: int,
) -> UsageSeries:
    cols: dict[str, list[float]] = {c: [] for c in ("200", "400", "401", "429", "500", "503")}
    prompt: list[float] = []
    generated: list[float] = []
    for t, epoch in enumerate(stamps):
        counts, p, g = _hour(rng, acc, t, usual[t], _batch_calls(acc, t, epoch, nights))
        for code, column in cols.items():
            column.append(float(counts.get(code, 0)))
        prompt.append(p)
        generated.append(g)
    by_status = {c: tuple(v) for c, v in cols.items()}
    total = tuple(sum(col) for col in zip(*by_status.values(), strict=True))
    return UsageSeries(
        f"{_RID}/t{index}", f"t{index}", tuple(stamps), total, by_status, tuple(prompt),
        tuple(generated),
    )  # fmt: skip


def _hour(
    rng: random.Random, acc: Account, t: int, usual: float, batch: float
) -> tuple[dict[str, int], float, float]:
    """Counts per status and prompt/generated tokens of one hour."""
    p = acc.planted
    active = p is not None and p.start <= t < p.end
    kind = p.kind if p is not None and active else None
    rate = usual * math.exp(acc.noise * _student_t(rng))
    if kind == "runaway":
        rate += acc.level * (acc.factor - 1)
    if kind == "outage":
        rate, batch = rate * acc.factor, batch * acc.factor
    interactive, batch_calls = poisson(rng, rate), poisson(rng, batch)
    stale = 0
    if kind == "rotation_401":
        stale = binomial(rng, interactive, acc.factor)
        interactive -= stale
    calls = interactive + batch_calls
    share429 = acc.err429 * (3 * min(rate / (2 * acc.level), 1.5) ** 2 if acc.quota else 1)
    if kind == "runaway" and acc.quota:
        share429 = max(share429, 1 - 2.5 * acc.level / max(rate, 1e-9))
    shares = {"400": acc.err400, "500": acc.err5xx, "429": min(share429, 0.9)}
    if kind in ("error_5xx", "error_429"):
        shares["503" if kind == "error_5xx" and rng.random() < 0.5 else
               ("500" if kind == "error_5xx" else "429")] = acc.factor  # fmt: skip
    counts: dict[str, int] = {}
    left = calls
    for code, share in shares.items():
        counts[code] = binomial(rng, left, min(share, 1.0))
        left -= counts[code]
    counts["200"] = left
    extra = acc.factor if kind == "credential_stuffing" else 0.0
    counts["401"] = poisson(rng, rate * acc.auth401 + acc.probe401 + extra) + stale * rng.randint(
        1, 3
    )
    ok_batch = round(batch_calls * counts["200"] / calls) if calls else 0
    size = acc.tokens_per_call * (acc.factor if kind == "token_x10" else 1.0)
    tokens_i = _tokens(rng, counts["200"] - ok_batch, size)
    tokens_b = _tokens(rng, ok_batch, acc.tokens_per_call * (acc.batch[3] if acc.batch else 1))
    prompt = tokens_i * acc.prompt_share + tokens_b * 0.95
    return counts, float(round(prompt)), float(round(tokens_i + tokens_b - prompt))


def _tokens(rng: random.Random, calls: int, size: float) -> float:
    """Tokens of *calls* calls of mean *size*, each call's size varying (CV 0.8)."""
    if calls <= 0:
        return 0.0
    spread = math.sqrt(math.log(1 + _CALL_SIZE_CV**2 / calls))
    return calls * size * math.exp(rng.gauss(-spread * spread / 2, spread))


def build_fleet(seed: int, n: int = FLEET) -> list[TrafficCase]:
    """The fleet of *n* accounts for *seed*."""
    return [make_case(i, seed) for i in range(n)]
