"""The world and configuration of a fleet benchmark (``scripts/bench_fleet.py``).

A fleet of N accounts, declared compactly (``count`` + ``vault_secret``), spread evenly over K
subscriptions: real fleets of thousands span subscriptions, and ARM's request buckets are per
subscription and principal, so one subscription's write budget (200 burst, 10/s) would make a
5,000-account run last most of an hour whatever the emulator or keyops do. Each subscription
has its own resource group ``rg-fleet-<k>`` and accounts ``fleet-<k>-<i>``; every account's key
is kept in the one vault ``kv-keyops-prod`` (as ``<account>-api-key``).
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

DEFAULT_WORLD = Path(__file__).resolve().parent.parent / "keyops/emulator/data/default-world.toml"
VAULT = "kv-keyops-prod"
#: Roles the rotating principal holds in every subscription of the fleet.
ROTATOR_ROLES = ("Cognitive Services Contributor", "Cognitive Services OpenAI User")


def subscription_ids(doc: dict[str, Any], count: int) -> list[str]:
    """The default world's subscription, then ``count - 1`` more (stable ids)."""
    first = str(doc["subscriptions"][0]["id"])
    return [first] + [
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"keyops-bench/{k}")) for k in range(1, count)
    ]


def split(total: int, parts: int) -> list[int]:
    """``total`` spread over ``parts`` as evenly as can be (earlier parts get the remainder)."""
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


def fleet_world(accounts: int, subscriptions: int = 1, idle: int = 0) -> dict[str, Any]:
    """The default world's tenant, principals and roles with an N-account fleet over K
    subscriptions and its vault, plus ``idle`` accounts (with secrets, in their own vault and
    group) that are not rotated: the world grows, the work not."""
    if not 1 <= subscriptions <= accounts:
        raise ValueError("subscriptions must be between 1 and the number of accounts")
    doc: dict[str, Any] = tomllib.loads(DEFAULT_WORLD.read_text(encoding="utf-8"))
    subs = subscription_ids(doc, subscriptions)
    doc["subscriptions"] = [{"id": s, "name": f"Fleet {k + 1}"} for k, s in enumerate(subs)]
    doc["resource_groups"] = [{"name": "rg-keyops", "location": "eastus"}]
    doc["accounts"] = []
    for k, (sub, n) in enumerate(zip(subs, split(accounts, subscriptions), strict=True)):
        if n == 0:
            continue
        group = group_name(k, subscriptions)
        doc["resource_groups"].append({"name": group, "location": "eastus", "subscription": sub})
        doc["accounts"].append(_fleet_entry(account_prefix(k, subscriptions), group, n, VAULT))
    doc["vaults"] = [{"name": VAULT, "resource_group": "rg-keyops"}]
    if idle:
        # Their own vault: the run reads every secret of the vault it writes to (the
        # other-holder index), so idle secrets there would be work, not just world.
        doc["resource_groups"].append({"name": "rg-idle", "location": "eastus"})
        doc["accounts"].append(_fleet_entry("idle", "rg-idle", idle, "kv-idle"))
        doc["vaults"].append({"name": "kv-idle", "resource_group": "rg-idle"})
    doc["role_assignments"] += [
        {"principal": "keyops-rotator", "role": role, "scope": f"/subscriptions/{sub}"}
        for sub in subs[1:]
        for role in ROTATOR_ROLES
    ]
    return doc


def group_name(k: int, subscriptions: int) -> str:
    """The fleet's resource group in subscription ``k`` (``rg-fleet`` when there is one)."""
    return "rg-fleet" if subscriptions == 1 else f"rg-fleet-{k + 1:02d}"


def account_prefix(k: int, subscriptions: int) -> str:
    """The name the accounts of subscription ``k`` start with (``fleet`` when there is one)."""
    return "fleet" if subscriptions == 1 else f"fleet-{k + 1:02d}"


def _fleet_entry(name: str, group: str, count: int, vault: str) -> dict[str, Any]:
    return {
        "name": name,
        "resource_group": group,
        "kind": "OpenAI",
        "custom_subdomain": name,
        "keys_created": "-100d",
        "count": count,
        "vault_secret": vault,
        "deployments": [{"name": "gpt-4o-mini", "model": "gpt-4o-mini", "api": "chat"}],
    }


def fleet_config(doc: dict[str, Any]) -> str:
    """A ``keyops.toml`` naming every fleet account as a target (by resource id): the way to
    give one run accounts of several subscriptions (discovery searches one)."""
    subs = {
        g["name"]: g.get("subscription", doc["subscriptions"][0]["id"])
        for g in doc["resource_groups"]
    }
    lines = []
    for entry in doc["accounts"]:
        if entry["vault_secret"] != VAULT:
            continue
        group = entry["resource_group"]
        for i in range(1, entry["count"] + 1):
            name = f"{entry['name']}-{i:04d}"
            rid = (
                f"/subscriptions/{subs[group]}/resourceGroups/{group}"
                f"/providers/Microsoft.CognitiveServices/accounts/{name}"
            )
            lines += ["[[targets]]", f'name = "{name}"', f'resource_id = "{rid}"', ""]
    return "\n".join(lines)
