"""The fleet benchmark: its world (N accounts over K subscriptions) and its bound."""

from __future__ import annotations

import sys

from keyops.emulator.world import parse_world
from keyops_bench.fleet import fleet_config, fleet_world
from keyops_bench.fleet_bound import summarise

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]


def test_fleet_spread_over_subscriptions_is_one_world_and_one_config() -> None:
    """11 accounts over 3 subscriptions (4/4/3), each with its seeded secret, the rotator holding
    its roles in each subscription, and a configuration naming each account by its id."""
    doc = fleet_world(11, 3, idle=2)
    world = parse_world(doc)
    fleet = [a for a in world.accounts if a.name.startswith("fleet-")]
    per_sub: dict[str, int] = {}
    for a in fleet:
        per_sub[a.subscription_id] = per_sub.get(a.subscription_id, 0) + 1
    assert sorted(per_sub.values()) == [3, 4, 4]
    vault = next(v for v in world.vaults if v.name == "kv-keyops-prod")
    assert {s.name for s in vault.secrets} >= {f"{a.name}-api-key" for a in fleet}
    rotator = {r.scope for r in world.role_assignments if r.principal == "keyops-rotator"}
    assert {f"/subscriptions/{s}" for s in per_sub} <= rotator
    targets = tomllib.loads(fleet_config(doc))["targets"]
    assert sorted(t["resource_id"] for t in targets) == sorted(a.id for a in fleet)


def test_one_subscription_keeps_the_discovery_names() -> None:
    """One subscription: rg-fleet and fleet-0001..., as runs before subscriptions were spread."""
    world = parse_world(fleet_world(3))
    assert [a.name for a in world.accounts] == ["fleet-0001", "fleet-0002", "fleet-0003"]
    assert {a.resource_group for a in world.accounts} == {"rg-fleet"}


def _entry(path: str, operation: str, method: str = "POST", status: int = 200) -> dict[str, object]:
    surface = "keyvault" if path.startswith("/secrets") else "arm"
    return {
        "surface": surface,
        "operation": operation,
        "method": method,
        "path": path,
        "status": status,
    }


def test_the_write_budget_bound_is_per_subscription() -> None:
    """600 ARM writes in one subscription take (600 - 200)/10 = 40 s at least; the same writes
    over two subscriptions only (300 - 200)/10 = 10 s; reads and 429s are counted apart."""
    one = [_entry("/subscriptions/A/x/listKeys", "Accounts_ListKeys") for _ in range(600)]
    two = [
        _entry(f"/subscriptions/{s}/x/listKeys", "Accounts_ListKeys")
        for s in "AB"
        for _ in range(300)
    ]
    extra = [_entry("/subscriptions/A/x", "Accounts_Get", "GET", 429)]
    slow = summarise(one + extra, n=600, c=600)
    fast = summarise(two, n=600, c=600)
    assert slow["bound_s"] == 40.0 and slow["busiest_subscription_writes"] == 600
    assert fast["bound_s"] == 10.0 and fast["arm_writes"] == 600
    assert slow["answered_429"] == 1 and fast["answered_429"] == 0
