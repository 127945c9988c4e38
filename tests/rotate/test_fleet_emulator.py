"""Fleets: bounded concurrency, one failure isolated, ARM throttling waited out, shards."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from keyops.rotate import (
    Action,
    RotationRecord,
    RotationServices,
    exit_status,
    rotate_fleet,
    select_shard,
)
from keyops.secret import SecretValue
from keyops.targets import Selection, Target
from tests.rotate.conftest import Rig, options

FLEET = 50


def add_fleet(rig: Rig, count: int, group: str) -> None:
    rig.emu.admin(
        "POST",
        "accounts",
        {
            "name": "fleet",
            "resource_group": group,
            "kind": "OpenAI",
            "count": count,
            "keys_created": "-100d",
            "deployments": [
                {
                    "name": "gpt-4o-mini",
                    "model": "gpt-4o-mini",
                    "version": "2024-07-18",
                    "api": "chat",
                }
            ],
        },
    )


def test_fleet_of_50_with_one_failing_account_finishes_the_other_49(rig: Rig) -> None:
    add_fleet(rig, FLEET, "rg-fleet")
    targets = rig.targets(Selection(resource_group="rg-fleet"))
    assert len(targets) == FLEET
    vault = rig.services.vault(rig.vault_url)

    def seed(target: Target) -> None:  # each account's Key1, stored 40 days ago
        vault.set_secret(target.secret_name, rig.keys(target).key1)
        rig.backdate(target.secret_name, "-40d")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(seed, targets))
    # A resource lock on one account: ARM refuses its key regeneration.
    rig.emu.fault(
        {
            "operation": "Accounts_RegenerateKey",
            "kind": "status",
            "status": 409,
            "code": "ScopeLocked",
            "message": "The scope is locked.",
            "match": "fleet-017",
            "times": None,
        }
    )
    started = time.perf_counter()
    records = rotate_fleet(targets, rig.services, options(), concurrency=12)
    print(f"fleet of {FLEET}: {time.perf_counter() - started:.1f}s")  # shown with -s
    by_action: dict[Action, list[str]] = {}
    for record in records:
        by_action.setdefault(record.action, []).append(record.account)
    assert by_action[Action.FAILED] == ["fleet-017"]
    assert len(by_action[Action.ROTATED]) == FLEET - 1
    failed = next(r for r in records if r.action is Action.FAILED)
    assert "ScopeLocked" in failed.reason and "fleet-017" in failed.reason
    assert exit_status(records) == 1
    assert [r.account for r in records] == [t.account.name for t in targets]  # order kept


def test_arm_throttling_is_waited_out(rig: Rig) -> None:
    add_fleet(rig, 6, "rg-throttled")
    targets = rig.targets(Selection(resource_group="rg-throttled"))
    seq = rig.emu.last_seq
    # Burst = workers: after a Retry-After pause all four pass at once (no 429 chain long
    # enough to use up the retries); 3 a second still throttles a fleet of ~30 ARM calls.
    rig.emu.admin("POST", "throttle", {"surface": "arm", "rate": 3, "burst": 4})
    records = rotate_fleet(targets, rig.services, options(), concurrency=4)
    failed = [(r.account, r.reason) for r in records if r.action is not Action.ADOPTED]
    assert not failed, failed
    throttled = [e for e in rig.emu.log_since(seq) if e["status"] == 429]
    assert throttled, "the throttle never fired"
    assert rig.services.arm_gate.throttled >= 1  # the whole fleet paused on Retry-After


def test_shards_partition_the_fleet_deterministically(rig: Rig) -> None:
    add_fleet(rig, 20, "rg-sharded")
    targets = rig.targets(Selection(resource_group="rg-sharded"))
    shards = [select_shard(targets, (i, 3)) for i in (1, 2, 3)]
    names = [t.account.name for shard in shards for t in shard]
    assert sorted(names) == sorted(t.account.name for t in targets)
    assert len(set(names)) == len(names)
    again = [select_shard(list(reversed(targets)), (i, 3)) for i in (1, 2, 3)]
    assert [{t.account.name for t in s} for s in again] == [
        {t.account.name for t in s} for s in shards
    ]


def test_connections_are_reused_across_accounts(rig: Rig) -> None:
    """12 workers over 24 accounts: each emulated host sees at most one connection per worker
    (plus the spare the pool keeps), never one per account or per request."""
    add_fleet(rig, 24, "rg-reuse")
    targets = rig.targets(Selection(resource_group="rg-reuse"))
    rotate_fleet(targets, rig.services, options(), concurrency=12)  # adopt: secrets exist now
    services = RotationServices(rig.env, rig.services.credential, concurrency=12)
    rig.emu.admin("DELETE", "connections")
    try:
        records = rotate_fleet(
            targets, services, options(force=True, confirm_breaking_consumers=True), concurrency=12
        )
    finally:
        services.close()
    assert {r.action for r in records} == {Action.ROTATED}, [r.reason for r in records]
    counts = rig.emu.admin("GET", "connections")["connections"]
    for surface in ("arm", "keyvault", "openai"):
        assert any(k.startswith(f"{surface}@") for k in counts), counts
    assert all(n <= 12 + 2 for n in counts.values()), counts


def _secret_of(path: str) -> str:
    parts = path.split("/")
    return parts[parts.index("secrets") + 1]


def _rotate_again(rig: Rig, targets: list[Target], concurrency: int) -> list[RotationRecord]:
    """A second run over adopted accounts (Key1 stored): each regenerates Key2."""
    services = RotationServices(rig.env, rig.services.credential, concurrency=concurrency)
    try:
        return rotate_fleet(
            targets,
            services,
            options(force=True, confirm_breaking_consumers=True),
            concurrency=concurrency,
        )
    finally:
        services.close()


def test_the_vault_index_is_read_once_by_the_accounts_waiting_for_it(rig: Rig) -> None:
    """16 workers need the vault's index at once: it is listed once and each secret read once,
    and a second app's copy of one account's Key2 still stops that account alone."""
    add_fleet(rig, 16, "rg-index")
    targets = rig.targets(Selection(resource_group="rg-index"))
    rotate_fleet(targets, rig.services, options(), concurrency=4)  # adopt: Key1 stored
    victim = targets[5]
    vault = rig.services.vault(rig.vault_url)
    vault.set_secret("other-app-key", rig.keys(victim).key2)
    seq = rig.emu.last_seq
    records = _rotate_again(rig, targets, concurrency=16)
    by_account = {r.account: r for r in records}
    refused = by_account.pop(victim.account.name)
    assert refused.action is Action.REFUSED and "other-app-key" in refused.reason
    assert {r.action for r in by_account.values()} == {Action.ROTATED}
    reads = Counter(_secret_of(e["path"]) for e in rig.calls(seq, "GetSecret"))
    assert reads["other-app-key"] == 1, reads  # read for the index once, not per account


def test_a_failed_index_read_fails_its_waiting_accounts_and_the_next_reads_again(
    rig: Rig,
) -> None:
    """One read of the index answers 403: no account regenerates on a partial index; those that
    were waiting for it fail with the reason, and the next account to need it reads it whole."""
    add_fleet(rig, 6, "rg-index-fault")
    targets = rig.targets(Selection(resource_group="rg-index-fault"))
    rotate_fleet(targets, rig.services, options(), concurrency=4)
    rig.services.vault(rig.vault_url).set_secret("other-app-key", SecretValue("x" * 32))
    rig.emu.fault(
        {
            "operation": "GetSecret",
            "kind": "status",
            "status": 403,
            "code": "Forbidden",
            "message": "Access denied.",
            "match": "other-app-key",
            "times": 1,
        }
    )
    seq = rig.emu.last_seq
    records = _rotate_again(rig, targets, concurrency=3)
    failed = [r for r in records if r.action is Action.FAILED]
    assert failed and all("other-app-key" in r.reason or "403" in r.reason for r in failed), [
        r.reason for r in failed
    ]
    assert all(r.action in (Action.FAILED, Action.ROTATED) for r in records)
    regenerated = {e["target"] for e in rig.calls(seq, "Accounts_RegenerateKey")}
    assert len(regenerated) == len(records) - len(failed)
    reads = Counter(_secret_of(e["path"]) for e in rig.calls(seq, "GetSecret"))
    assert reads["other-app-key"] == 2, reads  # the failed reading, then a whole one
