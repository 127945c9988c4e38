"""Deterministic hourly usage history for an account, from its metrics spec.

For each hour of the ``days`` days before ``origin``: requests = baseline x daily seasonality
(peak 15:00 UTC, trough 03:00) x weekly seasonality (weekends lower by ``weekly``) x
multiplicative lognormal noise (sigma ``noise``, mean 1) x active spike/drop events. A share
``error_rate`` of them fails (split 429/500/400/401; an ``errors`` event sets its status's share),
``auth_401`` events add rejected calls, and successful calls carry ``tokens_per_request`` tokens
(x noise, x ``tokens`` events), 70% prompt unless the spec sets prompt and generated tokens
apart. The hour holding the origin is served as filled so far (Azure Monitor's current hour).
Every hour draws from its own generator seeded by the world seed, the account name and the hour,
so an hour's value never depends on the window asked for. Requests spread over the account's
deployments with weights 1, 1/2, 1/3, ... This module is the emulator's own; keyops' anomaly
engine must not be imported here.
"""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from keyops.emulator.services.monitor.catalog import Fact, metric_dims

#: How the usual errors split between statuses.
ERROR_SPLIT = (("429", 0.5), ("500", 0.2), ("400", 0.2), ("401", 0.1))
PROMPT_SHARE = 0.7
#: How late platform metrics arrive in Azure Monitor (a few minutes).
INGESTION_LAG_S = 180
BASE_LATENCY_MS = 250.0
LATENCY_PER_TOKEN_MS = 0.9
OPERATIONS = {
    "chat": "ChatCompletions_Create",
    "completions": "Completions_Create",
    "embeddings": "Embeddings_Create",
}

Deployments = tuple[tuple[str, str, str, str], ...]  # (name, model, version, api)


def _round(value: float, rng: random.Random) -> int:
    """Stochastic rounding: unbiased, so small rates still show up over many hours."""
    low = math.floor(value)
    return low + (1 if rng.random() < value - low else 0)


def _split(total: int, parts: int) -> list[int]:
    """``total`` over ``parts`` with weights 1, 1/2, 1/3, ... (largest remainder; exact sum)."""
    weights = [1.0 / (i + 1) for i in range(parts)]
    scale = total / sum(weights)
    shares = [math.floor(w * scale) for w in weights]
    order = sorted(range(parts), key=lambda i: (shares[i] - weights[i] * scale, i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _active(events: list[dict[str, Any]], t: float) -> list[dict[str, Any]]:
    return [e for e in events if e["start"] <= t < e["start"] + e["hours"] * 3600]


def _hour_counts(
    spec: dict[str, Any], t: int, rng: random.Random, fill: float = 1.0
) -> tuple[dict[str, int], tuple[float, float]]:
    """Calls per status in the hour starting at ``t`` (its first *fill* part), and the
    prompt and generated tokens-per-request factors."""
    when = datetime.fromtimestamp(t, tz=timezone.utc)
    daily = 1 + spec["daily"] * math.cos(2 * math.pi * (when.hour - 15) / 24)
    weekly = 1 - spec["weekly"] if when.weekday() >= 5 else 1.0
    sigma = spec["noise"]
    noise = math.exp(rng.gauss(0.0, sigma) - sigma * sigma / 2)
    events = _active(spec["events"], t)
    volume, extra_401 = fill, 0.0
    prompt_factor = generated_factor = 1.0
    rates = {status: spec["error_rate"] * share for status, share in ERROR_SPLIT}
    for e in events:
        if e["kind"] in ("spike", "drop"):
            volume *= e["factor"]
        elif e["kind"] == "tokens":
            part = e.get("part", "both")
            prompt_factor *= e["factor"] if part in ("both", "prompt") else 1.0
            generated_factor *= e["factor"] if part in ("both", "generated") else 1.0
        elif e["kind"] == "errors":
            rates[e["status"]] = e["rate"]
        else:  # auth_401: calls with a stale or wrong key, on top of normal traffic
            extra_401 += e["count"] * fill
    requests = _round(spec["baseline"] * daily * weekly * noise * volume, rng)
    counts: dict[str, int] = {}
    for status, rate in rates.items():
        counts[status] = min(_round(requests * rate, rng), requests - sum(counts.values()))
    counts["200"] = requests - sum(counts.values())
    counts["401"] = counts.get("401", 0) + _round(extra_401, rng)
    return counts, (prompt_factor, generated_factor)


def per_request_tokens(spec: dict[str, Any]) -> tuple[float, float]:
    """Usual (prompt, generated) tokens of a successful request."""
    total = spec["tokens_per_request"]
    prompt = spec.get("prompt_tokens_per_request", total * PROMPT_SHARE)
    generated = spec.get("generated_tokens_per_request", total * (1 - PROMPT_SHARE))
    return prompt, generated


def _hour_facts(
    spec: dict[str, Any],
    t: int,
    rng: random.Random,
    location: str,
    account: str,
    deployments: Deployments,
    fill: float = 1.0,
) -> list[Fact]:
    counts, (prompt_factor, generated_factor) = _hour_counts(spec, t, rng, fill)
    sigma = spec["noise"] / 2
    size = math.exp(rng.gauss(0.0, sigma) - sigma * sigma / 2)
    usual_prompt, usual_generated = per_request_tokens(spec)
    prompt_per, generated_per = (
        usual_prompt * prompt_factor * size,
        usual_generated * generated_factor * size,
    )
    out = []
    for status, total in sorted(counts.items()):
        shares = _split(total, len(deployments))
        for (name, model, version, api), n in zip(deployments, shares, strict=True):
            if n == 0:
                continue
            ok = status == "200"
            prompt = round(n * prompt_per) if ok else 0
            completion = round(n * generated_per) if ok else 0
            latency = BASE_LATENCY_MS + LATENCY_PER_TOKEN_MS * generated_per
            dims = metric_dims(
                operation=OPERATIONS.get(api, "ChatCompletions_Create"),
                region=location,
                stream=False,
                deployment=name,
                model=model,
                version=version,
                status=int(status),
                ratelimit_key=account,
            )
            out.append(
                Fact(
                    t,
                    60,
                    dims,
                    float(n),
                    float(prompt),
                    float(completion),
                    latency * n if status == "200" else 0.0,
                )
            )
    return out


@lru_cache(maxsize=64)
def hourly(
    seed: int, account: str, location: str, spec_json: str, origin: float, deployments: Deployments
) -> tuple[Fact, ...]:
    """Hourly facts for the ``days`` days before ``origin`` (the hour holding ``origin`` is
    :func:`origin_hour`; later hours are left to the served-call counters)."""
    spec = json.loads(spec_json)
    if not deployments:
        deployments = (("", "", "", "chat"),)
    end = int(origin // 3600 * 3600)
    out: list[Fact] = []
    for t in range(end - spec["days"] * 86400, end, 3600):
        rng = random.Random(f"{seed}:{account.lower()}:{t}")
        out.extend(_hour_facts(spec, t, rng, location, account, deployments))
    return tuple(out)


def origin_hour(
    seed: int,
    account: str,
    location: str,
    spec_json: str,
    origin: float,
    now: float,
    deployments: Deployments,
) -> list[Fact]:
    """The hour holding ``origin``, filled as far as Azure Monitor would have it at ``now``.

    Azure Monitor serves the current hour partially: the minutes so far, less the few minutes
    metrics take to arrive (:data:`INGESTION_LAG_S`). Once ``now`` is past the hour it is whole.
    """
    spec = json.loads(spec_json)
    start = int(origin // 3600 * 3600)
    fill = min(max((now - start - INGESTION_LAG_S) / 3600, 0.0), 1.0)
    if fill <= 0:
        return []
    rng = random.Random(f"{seed}:{account.lower()}:{start}")
    return _hour_facts(
        spec, start, rng, location, account, deployments or (("", "", "", "chat"),), fill
    )
