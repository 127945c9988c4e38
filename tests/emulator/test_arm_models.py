"""The ARM service's account API used by the data plane, Key Vault and Monitor (no HTTP)."""

from __future__ import annotations

import dataclasses

import pytest

from keyops.emulator.app import build_app
from keyops.emulator.core.context import Emulator
from keyops.emulator.services.arm import models
from keyops.emulator.services.arm.keyformat import is_annotated_key
from keyops.emulator.world import World, load_world

BASE = "https://127.0.0.1:9"


def _emulator(world: World | None = None, delay: float = 0.0) -> Emulator:
    _app, emu = build_app(world or load_world(), None, BASE)
    emu.settings.propagation_delay = delay
    return emu


@pytest.fixture
def emu() -> Emulator:
    return _emulator(delay=30.0)


def test_seeded_accounts_follow_the_world(emu: Emulator) -> None:
    names = [a.name for a in models.list_accounts(emu)]
    assert names == [a.name for a in emu.world.accounts]
    eus = models.get_account(emu, "CONTOSO-openai-eus")
    assert eus is not None
    assert eus.endpoint == f"{BASE}/aoai/contoso-openai-eus/"
    assert eus.deployment("GPT-4O-MINI") is not None
    legacy = models.get_account(emu, "contoso-openai-legacy")
    assert legacy is not None and legacy.custom_subdomain is None
    assert legacy.endpoint == f"{BASE}/regional/eastus/"


def test_key_formats_per_account(emu: Emulator) -> None:
    assert is_annotated_key(models.current_key(emu, "contoso-openai-eus", "Key1"))
    legacy = models.current_key(emu, "contoso-openai-legacy", "Key2")
    assert len(legacy) == 32 and legacy == legacy.lower()
    assert int(legacy, 16) >= 0


def test_keys_are_deterministic_per_world_seed() -> None:
    a, b = _emulator(), _emulator()
    assert models.current_key(a, "contoso-openai-eus", "Key1") == models.current_key(
        b, "contoso-openai-eus", "Key1"
    )
    other = _emulator(dataclasses.replace(load_world(), seed=8))
    assert models.current_key(other, "contoso-openai-eus", "Key1") != models.current_key(
        a, "contoso-openai-eus", "Key1"
    )
    assert models.current_key(a, "contoso-openai-eus", "Key1") != models.current_key(
        a, "contoso-openai-eus", "Key2"
    )


def test_keys_created_comes_from_the_world(emu: Emulator) -> None:
    state = models.raw_account(emu, "contoso-openai-eus")
    assert state is not None
    age_days = (emu.clock.now() - state["keys"]["Key1"]["created"]) / 86400
    assert 39.9 < age_days < 40.1
    assert state["created"] <= state["keys"]["Key1"]["created"]


def test_lookup_by_subdomain_and_region(emu: Emulator) -> None:
    found = models.find_account_by_endpoint_prefix(emu, "Contoso-OpenAI-Entra")
    assert found is not None and found.disable_local_auth
    assert models.find_account_by_endpoint_prefix(emu, "nope") is None
    east = {a.name for a in models.accounts_in_region(emu, "EastUS")}
    assert east == {"contoso-openai-eus", "contoso-openai-legacy", "contoso-openai-entra"}


def test_key_status_through_a_regeneration(emu: Emulator) -> None:
    old1 = models.current_key(emu, "contoso-openai-eus", "Key1")
    key2 = models.current_key(emu, "contoso-openai-eus", "Key2")
    assert models.key_status(emu, "contoso-openai-eus", old1) == "valid"
    models.regenerate_key(emu, "contoso-openai-eus", "Key1")
    new1 = models.current_key(emu, "contoso-openai-eus", "Key1")
    assert new1 != old1
    assert models.key_status(emu, "contoso-openai-eus", old1) == "invalid"
    assert models.key_status(emu, "contoso-openai-eus", new1) == "propagating"
    assert models.key_status(emu, "contoso-openai-eus", key2) == "valid"
    emu.clock.advance(29.0)
    assert models.key_status(emu, "contoso-openai-eus", new1) == "propagating"
    emu.clock.advance(1.5)
    assert models.key_status(emu, "contoso-openai-eus", new1) == "valid"
    assert models.current_key(emu, "contoso-openai-eus", "Key2") == key2


def test_find_account_by_key_on_a_shared_endpoint(emu: Emulator) -> None:
    region = models.accounts_in_region(emu, "eastus")
    key = models.current_key(emu, "contoso-openai-legacy", "Key2")
    found = models.find_account_by_key(emu, region, key)
    assert found is not None
    assert found[0].name == "contoso-openai-legacy" and found[1] == "valid"
    assert models.find_account_by_key(emu, region, "0" * 32) is None
    assert models.key_status(emu, "no-such-account", key) == "invalid"


def test_backdating_a_slot(emu: Emulator) -> None:
    models.backdate_key(emu, "contoso-openai-eus", "Key2", emu.clock.now() - 90 * 86400)
    state = models.raw_account(emu, "contoso-openai-eus")
    assert state is not None
    assert (emu.clock.now() - state["keys"]["Key2"]["created"]) / 86400 == pytest.approx(90, 0.01)
    with pytest.raises(KeyError):
        models.backdate_key(emu, "contoso-openai-eus", "key2", 0.0)


def test_current_key_rejects_unknown_slot(emu: Emulator) -> None:
    with pytest.raises(KeyError):
        models.current_key(emu, "contoso-openai-eus", "key1")
    assert models.get_deployment(emu, "contoso-openai-eus", "missing") is None
