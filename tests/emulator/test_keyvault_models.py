"""Vault models and paging without a server: determinism, seeding errors, stable paging."""

from __future__ import annotations

import re
from typing import Any

import pytest

from keyops.emulator.core.context import Emulator
from keyops.emulator.core.errors import EmulatorHTTPError
from keyops.emulator.services.keyvault import models, wire
from keyops.emulator.services.keyvault.seeding import seed
from keyops.emulator.world import WorldError, parse_world

TENANT = "6513270e-269e-4d37-b2a7-4de452e6b438"
SUB = "d23f0824-128b-4f33-8c5c-7fd0a6a3a450"
PRINCIPAL = {
    "name": "p",
    "client_id": "9531985d-5d9d-49f8-9818-e811892f902b",
    "object_id": "36f675cc-81e7-4ef5-a8e2-5d940ed90475",
}


def world(
    secrets: list[dict[str, Any]], vaults: tuple[str, ...] = ("kv-one",), seed_value: int = 7
) -> Emulator:
    doc = {
        "tenant_id": TENANT,
        "seed": seed_value,
        "subscriptions": [{"id": SUB}],
        "resource_groups": [{"name": "rg", "location": "westeurope"}],
        "accounts": [{"name": "acct", "resource_group": "rg"}],
        "vaults": [{"name": v, "resource_group": "rg", "secrets": secrets} for v in vaults],
        "principals": [PRINCIPAL],
    }
    return Emulator(parse_world(doc), None, "https://emulator.test")


def test_version_ids_repeat_per_world_seed_and_differ_per_vault() -> None:
    runs = []
    for _ in range(2):
        emu = world([], vaults=("kv-one", "kv-two"))
        one, two = emu.world.vaults
        runs.append(
            [models.set_secret(emu, v, "s", models.NewSecret("x")).version for v in (one, two, one)]
        )
    assert runs[0] == runs[1]
    assert len(set(runs[0])) == 3
    other = world([], seed_value=8)
    assert (
        models.set_secret(other, other.world.vaults[0], "s", models.NewSecret("x")).version
        != runs[0][0]
    )


def test_seed_makes_versions_in_order_with_relative_times() -> None:
    emu = world(
        [
            {"name": "s", "value": "a", "created": "-40d"},
            {
                "name": "s",
                "value": "second-value",
                "created": "-1d",
                "expires": "+29d",
                "tags": {"CredentialId": "Key2"},
                "enabled": False,
            },
        ]
    )
    seed(emu)
    vault = emu.world.vaults[0]
    latest = models.get_version(emu, vault, "s", "")
    assert latest.value == "second-value"
    assert (latest.enabled, latest.tags) == (False, {"CredentialId": "Key2"})
    now = emu.clock.now()
    assert latest.exp is not None and abs(latest.exp - (now + 29 * 86400)) < 5
    assert abs(latest.created - (now - 86400)) < 5
    assert len(models.list_versions(emu, vault, "s")) == 2
    assert "second-value" not in repr(latest)


@pytest.mark.parametrize(
    ("secret", "field"),
    [
        ({"name": "bad_name", "value": "v"}, "vaults[0].secrets[0].name"),
        ({"name": "s", "value_from": "account:nobody:Key1"}, "vaults[0].secrets[0].value_from"),
        (
            {"name": "s", "value": "v", "tags": {f"t{i}": "v" for i in range(16)}},
            "vaults[0].secrets[0]: The number of tags",
        ),
    ],
)
def test_seed_errors_name_the_field(secret: dict[str, Any], field: str) -> None:
    with pytest.raises(WorldError, match=rf"^{re.escape(field)}"):
        seed(world([secret]))


def test_value_from_an_account_key() -> None:
    emu = world([{"name": "k", "value_from": "account:acct:Key1"}])
    seed(emu)
    value = models.get_version(emu, emu.world.vaults[0], "k", "").value
    assert len(value) >= 32
    try:
        from keyops.emulator.services.arm.models import current_key
    except ImportError:
        return
    if emu.store.section("arm").get("accounts"):
        assert value == current_key(emu, "acct", "Key1")


def test_paging_continues_after_the_last_key_returned() -> None:
    items = ["a", "b", "c", "d", "e"]
    first, token = wire.paginate(items, str, 2, None)
    assert first == ["a", "b"] and token is not None
    changed = ["aa", "b", "bb", "c", "d", "e"]  # "a" removed, "aa" and "bb" added
    second, token = wire.paginate(changed, str, 2, token)
    assert second == ["bb", "c"]
    third, token = wire.paginate(changed, str, 2, token)
    assert third == ["d", "e"] and token is None


def test_page_size_bounds() -> None:
    assert wire.page_size(None) == 25
    assert wire.page_size("1") == 1 and wire.page_size("25") == 25
    for raw in ("0", "26", "-1", "x"):
        with pytest.raises(EmulatorHTTPError) as caught:
            wire.page_size(raw)
        assert caught.value.status == 400


def test_value_limit_counts_utf8_bytes() -> None:
    emu = world([])
    vault = emu.world.vaults[0]
    models.set_secret(emu, vault, "ascii", models.NewSecret("x" * models.MAX_VALUE_BYTES))
    with pytest.raises(EmulatorHTTPError):
        models.set_secret(emu, vault, "wide", models.NewSecret("é" * models.MAX_VALUE_BYTES))
