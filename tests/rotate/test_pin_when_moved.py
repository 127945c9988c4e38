"""Pins of a ``when-moved`` revoke's figures on the emulator (the CLI in-process, the evidence
from the emulated Monitor Logs): the deadline the stored version carries, and the warning the
revoke leaves, naming why it went ahead and how long ago the key was superseded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from keyops.rotate.tags import REVOKE_DEADLINE_TAG, REVOKE_TAG, REVOKE_WHEN_MOVED, rotated_at_of
from keyops.secret import SecretValue
from tests.consumers.worlds import SECRET, WEU
from tests.rotate.test_when_moved_emulator import HOUR, _advance, _rotate, _world
from tests.support.emulator import EmulatorHandle, start_emulator


@pytest.fixture
def emu(tmp_path: Path, tls_dir: Path) -> Iterator[EmulatorHandle]:
    import gc

    handle = start_emulator(tmp_path / "emulator", tls_dir, world=_world())
    yield handle
    gc.collect()
    handle.stop()


def test_a_when_moved_revoke_carries_its_deadline_and_says_why_it_went(
    emu: EmulatorHandle,
) -> None:
    status, record, err = _rotate(emu, "--force", "--max-wait", "3d")
    assert (status, record["action"]) == (0, "rotated"), err
    client = emu.secret_client()
    stored = client.get_secret(SECRET.split("/", 1)[1])  # SECRET is "vault/name"
    client.close()
    tags = stored.properties.tags or {}
    assert tags[REVOKE_TAG] == REVOKE_WHEN_MOVED
    rotated_at = rotated_at_of(tags)
    assert rotated_at is not None
    assert rotated_at_of(tags, REVOKE_DEADLINE_TAG) == rotated_at + timedelta(days=3)
    assert SecretValue(stored.value).fingerprint == record["secret"]["fingerprint"]
    _advance(emu, 7 * 24 * HOUR + 2 * HOUR)  # both readers have read the new version since
    status, record, err = _rotate(emu)
    assert (status, record["action"], record["reason_code"]) == (0, "revoked", "revoke-moved"), err
    assert record["warnings"] == [
        f"account {WEU}: revoked Key1: the logs show every consumer moved; one that read it once "
        "at start-up breaks now (it was superseded 7d2h ago)"
    ]
