"""The bound a fleet run is measured against, from the emulator's request log of the run.

bound = max(one account's chain of round trips x ceil(N/c), the busiest subscription's ARM
writes beyond the burst at ARM's refill rate, Key Vault operations at the vault's limit): the
run cannot be faster than any of them. The chain is priced with the benchmark's latency model.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

#: Modelled latency per surface (ms) and the extra of slower ARM operations on top of ARM's.
SURFACE_MS = {"arm": 100, "keyvault": 60, "openai": 300, "entra": 100}
OPERATION_EXTRA_MS = {"Accounts_RegenerateKey": 200, "Accounts_ListKeys": 50}
#: The key test's first back-off (keyops.rotate.smoke): a refused first attempt waits this long.
TEST_BACKOFF_S = 0.5
KV_PER_S = 400.0
ARM_WRITE_BURST, ARM_WRITE_RATE = 200, 10.0


def chain_seconds(per_account: dict[str, float]) -> float:
    """The modelled time of one account's sequential round trips, plus the key test's back-off
    between its attempts (the first test of a new key meets propagation and is refused)."""
    total = 0.0
    for op, n in per_account.items():
        surface, name = op.split(":", 1)
        total += n * (SURFACE_MS.get(surface, 0) + OPERATION_EXTRA_MS.get(name, 0)) / 1000
    retries = per_account.get("openai:ChatCompletions_Create", 1.0) - 1
    return total + TEST_BACKOFF_S * max(0.0, retries)


_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)


def summarise(log: list[dict[str, Any]], n: int, c: int) -> dict[str, Any]:
    ops = Counter(f"{e['surface']}:{e['operation']}" for e in log if e["surface"] != "admin")
    per_account = {op: k / n for op, k in ops.items()}
    # Token requests and per-run reads are not on an account's chain: count what scales with N.
    chain_ops = {op: k for op, k in per_account.items() if k >= 0.5 and not op.startswith("entra")}
    chain = chain_seconds(chain_ops)
    # ARM's write bucket is per subscription (and principal: one run has one).
    writes: Counter[str] = Counter()
    for e in log:
        if e["surface"] == "arm" and e["method"] not in ("GET", "HEAD"):
            m = _SUBSCRIPTION.match(e["path"])
            writes[m.group(1).lower() if m else "tenant"] += 1
    busiest = max(writes.values(), default=0)
    kv_ops = sum(1 for e in log if e["surface"] == "keyvault")
    bound = max(
        chain * math.ceil(n / c),
        (busiest - ARM_WRITE_BURST) / ARM_WRITE_RATE,
        kv_ops / KV_PER_S,
    )
    answered_429 = sum(1 for e in log if e["status"] == 429)
    return {
        "requests": len(log),
        "per_account": dict(sorted(per_account.items())),
        "round_trips_per_account": sum(chain_ops.values()),
        "chain_s": chain,
        "bound_s": bound,
        "answered_429": answered_429,
        "arm_writes": sum(writes.values()),
        "busiest_subscription_writes": busiest,
    }
