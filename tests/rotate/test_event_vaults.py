"""Which vault a Key Vault event names (keyops.rotate.events.vault_url_for) on the emulator:
the vault name compared without case, an unknown name refused in one line."""

from __future__ import annotations

import pytest

from keyops.errors import InputError
from keyops.rotate.events import SecretEvent, vault_url_for
from tests.rotate.conftest import Rig

VAULT = "kv-keyops-prod"


def _event(vault_name: str) -> SecretEvent:
    return SecretEvent("e1", "SecretNearExpiry", vault_name, "s", None, None, None)


def test_an_event_names_its_vault_in_any_case(rig: Rig) -> None:
    wanted = rig.emu.vault_url(VAULT).rstrip("/")
    # Built at run time, as a name parsed from an event's JSON is: equal, not identical.
    name = "".join(["KV-keyops", "-PROD"])
    assert vault_url_for(_event(name), rig.env) == wanted
    assert vault_url_for(_event(VAULT), rig.env) == wanted


@pytest.mark.parametrize("name", ["kv-elsewhere", "kv-zz-later"])  # sorting before and after
def test_an_event_for_a_vault_the_emulator_does_not_have_is_refused(rig: Rig, name: str) -> None:
    with pytest.raises(InputError, match=f"the emulator has no vault '{name}'"):
        vault_url_for(_event(name), rig.env)
