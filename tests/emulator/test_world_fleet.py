"""A fleet declared compactly: ``count`` accounts from one entry, each with its vault secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from keyops.emulator.world import WorldError, parse_world
from tests.support.emulator import start_emulator


def _world(**account: Any) -> dict[str, Any]:
    return {
        "tenant_id": "6513270e-269e-4d37-b2a7-4de452e6b438",
        "subscriptions": [{"id": "d23f0824-128b-4f33-8c5c-7fd0a6a3a450"}],
        "resource_groups": [{"name": "rg"}],
        "principals": [
            {
                "name": "p",
                "client_id": "9531985d-5d9d-49f8-9818-e811892f902b",
                "object_id": "36f675cc-81e7-4ef5-a8e2-5d940ed90475",
                "secret": "s3cret-for-tests",
            }
        ],
        "accounts": [{"name": "fleet", "resource_group": "rg", "custom_subdomain": "f", **account}],
        "vaults": [{"name": "kv-fleet", "resource_group": "rg"}],
        "role_assignments": [
            {
                "principal": "p",
                "role": "Key Vault Secrets Officer",
                "scope": "/subscriptions/d23f0824-128b-4f33-8c5c-7fd0a6a3a450",
            }
        ],
    }


def test_count_and_vault_secret_expand_to_accounts_and_their_secrets() -> None:
    world = parse_world(_world(count=3, vault_secret="kv-fleet", keys_created="-100d"))
    assert [a.name for a in world.accounts] == ["fleet-0001", "fleet-0002", "fleet-0003"]
    assert [a.custom_subdomain for a in world.accounts] == ["f-0001", "f-0002", "f-0003"]
    [vault] = world.vaults
    assert [(s.name, s.value_from, s.created) for s in vault.secrets] == [
        (f"fleet-000{i}-api-key", f"account:fleet-000{i}:Key1", "-100d") for i in (1, 2, 3)
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"count": 0}, r"accounts\[0\]\.count: expected 1\.\.100000"),
        ({"count": "3"}, r"accounts\[0\]\.count"),
        ({"vault_secret": "kv-nope"}, "vault_secret names no vault called 'kv-nope'"),
    ],
)
def test_a_bad_fleet_declaration_names_the_field(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(WorldError, match=message):
        parse_world(_world(**extra))


def test_the_seeded_secrets_hold_each_accounts_key(tmp_path: Path, tls_dir: Path) -> None:
    h = start_emulator(
        tmp_path / "emu", tls_dir, world=parse_world(_world(count=3, vault_secret="kv-fleet"))
    )
    try:
        with h.secret_client("kv-fleet", principal="p") as secrets:
            values = [secrets.get_secret(f"fleet-000{i}-api-key").value for i in (1, 2, 3)]
        keys = [
            h.server.emulator.store.section("arm")["accounts"][i]["keys"]["Key1"]["value"]
            for i in range(3)
        ]
        assert values == keys and len(set(values)) == 3
    finally:
        h.stop()
