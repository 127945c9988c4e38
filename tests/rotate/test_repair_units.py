"""--repair in the library against the emulator: a latest version that holds neither key is
replaced by a working key, and a healthy one is left alone (no regeneration either way)."""

from __future__ import annotations

from keyops.rotate import Action, rotate_account
from tests.rotate.conftest import Rig, options

WEU = "contoso-aiservices-weu"
SECRET = f"{WEU}-api-key"
STALE = "0123456789abcdef0123456789abcdef"


def test_a_latest_version_holding_neither_key_is_repaired_with_a_working_one(rig: Rig) -> None:
    client = rig.emu.secret_client()
    client.set_secret(SECRET, STALE)
    seq = rig.emu.last_seq
    record = rotate_account(rig.target(WEU), rig.services, options(repair=True))
    latest = client.get_secret(SECRET).value
    client.close()
    assert (record.action, record.reason_code) == (Action.REPAIRED, "repair")
    assert record.slot in ("Key1", "Key2") and latest != STALE
    assert rig.calls(seq, "Accounts_RegenerateKey") == []


def test_a_healthy_latest_version_is_left_alone(rig: Rig) -> None:
    seq = rig.emu.last_seq
    record = rotate_account(rig.target(WEU), rig.services, options(repair=True))
    assert (record.action, record.reason_code) == (Action.SKIPPED, "healthy")
    assert rig.calls(seq, "Accounts_RegenerateKey") == []
