"""The second evaluation set's 401-after-rotation cases, with their rotations read from Key Vault.

Each case's rotation is written to the emulator's vault as keyops writes it (an adopted version
holding the slot, then the rotated version, with keyops' own tags), read back through the real
SDK and :func:`keyops.usage.fetch.rotations_from_versions`, and the surge must name that
rotation and the version the left-behind consumers still hold.
"""

from __future__ import annotations

from datetime import timedelta

from keyops.azure.vault import VaultClient
from keyops.cloud import resolve_environment
from keyops.rotate.records import Action
from keyops.rotate.tags import version_tags
from keyops.secret import SecretValue
from keyops.usage import detect
from keyops.usage.fetch import rotations_from_versions
from keyops.usage.model import from_epoch
from keyops_bench.usage.traffic import TUNING_SEEDS, build_fleet
from tests.support.emulator import EmulatorHandle


def test_rotation_401_cases_are_tied_to_the_rotation_read_from_key_vault(
    emulator: EmulatorHandle,
) -> None:
    env = resolve_environment(str(emulator.connection_path), None)
    vault = VaultClient(env, emulator.credential(), emulator.vault_url())
    cases = [
        c for s in TUNING_SEEDS[:3] for c in build_fleet(s)
        if c.planted and c.planted.kind == "rotation_401"
    ][:3]  # fmt: skip
    assert len(cases) == 3
    for case in cases:
        [generated] = case.rotations
        rid, name = case.series.resource_id, f"{case.series.name}-key"
        written = []
        for action, at in (
            (Action.ADOPTED, generated.rotated_at - timedelta(days=30)),
            (Action.ROTATED, generated.rotated_at),
        ):
            tags = version_tags(
                slot="Key1", account_id=rid, endpoint="https://example.invalid/",
                rotated_at=at, supersedes=None, validity=None, action=action.value,
            )  # fmt: skip
            written.append(vault.set_secret(name, SecretValue("k" * 32), tags=tags))
            emulator.admin("POST", "clock", {"advance": 2})  # versions in creation order
        [rotation] = rotations_from_versions(rid, vault.list_versions(name))
        assert rotation.secret_version == written[1].version
        assert rotation.previous_version == written[0].version
        since = from_epoch(case.series.timestamps[case.window_start])
        surges = [
            f for f in detect([case.series], [rotation], since=since)
            if f.kind == "auth_surge_401"
        ]  # fmt: skip
        assert surges and surges[0].rotation == rotation, case.series.name
        assert f"from version {written[0].version}" in surges[0].message
    vault.close()
