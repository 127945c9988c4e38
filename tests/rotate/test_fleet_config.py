"""A fleet whose targets lack a vault URL is refused whole, before any call, naming them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from keyops.errors import ConfigError
from keyops.rotate import rotate_fleet
from keyops.targets import Target
from tests.rotate.conftest import Rig, options
from tests.rotate.test_fleet_emulator import add_fleet


def _without_vault(targets: list[Target]) -> list[Target]:
    return [replace(t, settings=replace(t.settings, vault_url=None)) for t in targets]


@pytest.mark.parametrize(("missing", "more"), [(4, ""), (5, ""), (6, " and 1 more")])
def test_targets_without_a_vault_are_named_up_to_five(rig: Rig, missing: int, more: str) -> None:
    add_fleet(rig, 6, "rg-novault")
    targets = sorted(rig.targets(), key=lambda t: t.name)
    bare = _without_vault(targets[:missing]) + targets[missing:]
    seq = rig.emu.last_seq
    with pytest.raises(ConfigError) as refused:
        rotate_fleet(bare, rig.services, options(), concurrency=4)
    shown = [t.name for t in bare[:missing]][:5]
    message = str(refused.value)
    assert message.startswith(f"no vault_url for {', '.join(shown)}{more} ("), message
    assert all(t.name not in message for t in bare[5:] if t.vault_url is None)
    assert rig.calls(seq, "SetSecret") == [] and rig.calls(seq, "Accounts_ListKeys") == []
