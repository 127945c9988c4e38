"""The new key's test may use what the lease leaves beyond the store's write budget, and no
more than the propagation timeout (keyops.rotate.protocol, keyops.rotate.steps.prove_key): the
timeout the key tester is given, with the real prober behind it, against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from keyops.rotate import Action, RotationOptions, RotationServices, rotate_account
from keyops.rotate.smoke import KeyTestResult, ProbeKeyTester
from tests.rotate.conftest import TEST_RETRY, Rig, options

WEU = "contoso-aiservices-weu"  # seeded: the secret holds Key1, created 12 days ago


class _Recording:
    """The real prober, noting the timeout each test was given."""

    def __init__(self, inner: ProbeKeyTester) -> None:
        self.inner = inner
        self.timeouts: list[timedelta] = []

    def __call__(self, *args: Any, timeout: timedelta, **kwargs: Any) -> KeyTestResult:
        self.timeouts.append(timeout)
        return self.inner(*args, timeout=timeout, **kwargs)


@pytest.fixture
def recorded(rig: Rig) -> Iterator[tuple[RotationServices, _Recording]]:
    tester = _Recording(ProbeKeyTester(rig.env))
    services = RotationServices(
        rig.env, rig.emu.credential("keyops-rotator"), tester=tester, retry=TEST_RETRY
    )
    yield services, tester
    services.close()


@pytest.mark.parametrize(
    ("ttl", "propagation", "low", "high"),
    [
        # A 1-minute lease leaves 60 s less the 15 s write budget: 45 s, not the 120 s asked for.
        (timedelta(minutes=1), timedelta(seconds=120), 40.0, 45.0),
        # A 10-minute lease leaves far more than the 20 s asked for: 20 s.
        (timedelta(minutes=10), timedelta(seconds=20), 20.0, 20.0),
        # A 1-minute lease's 45 s is more than the 30 s asked for: 30 s.
        (timedelta(minutes=1), timedelta(seconds=30), 30.0, 30.0),
        # --propagation-timeout 0s: one attempt's 1 s, not the 120 s default.
        (timedelta(minutes=10), timedelta(0), 1.0, 1.0),
    ],
)
def test_the_key_test_gets_the_lease_left_beyond_the_write_budget_at_most(
    rig: Rig,
    recorded: tuple[RotationServices, _Recording],
    ttl: timedelta,
    propagation: timedelta,
    low: float,
    high: float,
) -> None:
    services, tester = recorded
    target = rig.target(WEU)
    record = rotate_account(
        target, services, options(force=True, lease_ttl=ttl, propagation_timeout=propagation)
    )
    assert record.action is Action.ROTATED, record.reason
    (given,) = tester.timeouts
    assert low <= given.total_seconds() <= high


@pytest.mark.parametrize(
    ("propagation", "expected"),
    [
        (None, 10.0),
        (timedelta(seconds=120), 10.0),
        (timedelta(seconds=3), 3.0),
        (timedelta(0), 0.0),
    ],
)
def test_a_repair_tests_each_old_key_for_10_s_or_the_shorter_propagation_timeout(
    rig: Rig,
    recorded: tuple[RotationServices, _Recording],
    propagation: timedelta | None,
    expected: float,
) -> None:
    services, tester = recorded
    client = rig.emu.secret_client()
    client.set_secret(f"{WEU}-api-key", "0123456789abcdef0123456789abcdef")  # a dead value
    client.close()
    target = rig.target(WEU)
    record = rotate_account(
        target, services, RotationOptions(repair=True, propagation_timeout=propagation)
    )
    assert (record.action, record.slot) == (Action.REPAIRED, "Key1"), record.reason
    assert [t.total_seconds() for t in tester.timeouts] == [expected]
