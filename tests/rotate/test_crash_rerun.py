"""A run killed at any step boundary, then rerun, converges; consumers never see a rejected key.

The rotation runs as ``python -m keyops rotate`` in a child process that exits with 137 at the
boundary named by ``KEYOPS_TEST_CRASH_AT`` (a test-only hook, tests/support/crashsite; nothing
cleaned up, lease left live). Meanwhile a consumer keeps reading the latest secret version and
calling the data plane with it.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import pytest

from keyops.azure.probe import NO_RETRY, KeyAuth, Outcome, probe
from keyops.azure.tls import new_session
from keyops.rotate.hooks import BOUNDARIES
from keyops.secret import SecretValue
from tests.rotate.conftest import Rig, run_cli
from tests.support.emulator import EmulatorHandle

WEU = "contoso-aiservices-weu"
SECRET = f"{WEU}-api-key"


class Consumer:
    """An application that reads the latest secret and calls the data plane, in a loop."""

    def __init__(self, emu: EmulatorHandle, endpoint: str) -> None:
        self.client = emu.secret_client(principal="app-consumer")
        # One keep-alive session, like an application's client: a TLS handshake per call would
        # spend the CPU the rotation under test needs.
        self.endpoint, self.http = endpoint, new_session(emu.ca_bundle)
        self.outcomes: Counter[str] = Counter()
        self.failures: list[dict[str, object]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            key = SecretValue(self.client.get_secret(SECRET).value)
            result = probe(self.endpoint, "gpt-4o", KeyAuth(key), retry=NO_RETRY, session=self.http)
            self.outcomes[result.outcome.value] += 1
            if not result.ok:
                self.failures.append(result.to_dict())
            # Pace the loop: the emulator serving the rotation shares this process's GIL.
            self.stop.wait(0.02)

    def __enter__(self) -> Consumer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        self.client.close()
        self.http.close()


def rotate_cli(rig: Rig, *extra: str, crash: str | None = None) -> tuple[int, list[dict[str, Any]]]:
    """One CLI run on the account (JSON output); the crash hook when ``crash`` is given."""
    env = {"KEYOPS_TEST_CRASH_AT": crash} if crash else {}
    done = run_cli(
        rig.emu,
        "rotate",
        "--account",
        WEU,
        "--vault-url",
        rig.vault_url,
        "--if-older-than",
        "7d",
        "--lease-ttl",
        "60s",
        "-o",
        "json",
        *extra,
        env=env,
    )
    if done.returncode not in (0, 137):
        raise AssertionError(f"exit {done.returncode}: {done.stderr}")
    records = json.loads(done.stdout)["accounts"] if done.stdout.strip() else []
    return done.returncode, records


def crash_and_rerun(rig: Rig, boundary: str, *extra: str) -> list[dict[str, Any]]:
    target = rig.target(WEU)
    original = rig.keys(target)
    with Consumer(rig.emu, target.account.endpoint) as consumer:
        code, _ = rotate_cli(rig, *extra, crash=boundary)
        assert code == 137, f"the run did not reach {boundary}"
        # The crashed run's lease is still live; Key Vault's clock moves past its TTL.
        rig.emu.admin("POST", "clock", {"advance": 61})
        code, records = rotate_cli(rig, *extra)
        assert code == 0, records
    assert consumer.outcomes[Outcome.OK.value] > 0
    assert set(consumer.outcomes) == {Outcome.OK.value}, consumer.failures[:3]
    # Converged: the latest version holds one of the account's keys, and that key works.
    keys = rig.keys(target)
    latest = rig.latest(SECRET)
    assert keys.slot_of(latest.value) is not None
    assert probe(
        target.account.endpoint,
        "gpt-4o",
        KeyAuth(latest.value),
        retry=NO_RETRY,
        verify=rig.env.verify,
    ).ok
    if "--revoke-previous" not in extra:
        assert keys.key1 == original.key1  # the key consumers held before is still valid
    return records


@pytest.mark.parametrize("boundary", [b for b in BOUNDARIES if b != "after-revoke"])
def test_crash_at_every_boundary_then_rerun_converges(rig: Rig, boundary: str) -> None:
    (record,) = crash_and_rerun(rig, boundary)
    before_store = BOUNDARIES.index(boundary) < BOUNDARIES.index("after-store")
    assert record["action"] == ("rotated" if before_store else "skipped")
    assert record["slot"] == "Key2"


@pytest.mark.parametrize("boundary", ["after-store", "after-confirm", "after-revoke"])
def test_interrupted_revoke_is_finished_by_the_rerun(rig: Rig, boundary: str) -> None:
    target = rig.target(WEU)
    original = rig.keys(target)
    flags = ("--revoke-previous", "--confirm-revoke")
    code, _ = rotate_cli(rig, *flags, crash=boundary)
    assert code == 137
    rig.emu.admin("POST", "clock", {"advance": 61})
    code, (record,) = rotate_cli(rig, *flags)
    assert code == 0, record
    expected = "skipped" if boundary == "after-revoke" else "revoked"
    assert record["action"] == expected, record["reason"]
    keys = rig.keys(target)
    assert keys.key1 != original.key1 and keys.key2 != original.key2
    assert rig.latest(SECRET).value == keys.key2
