"""A run that stops after its regenerate leaves a working key behind (keyops.rotate.repair's
``repair_if_dead``), met in-process: a rival stores the key this run then kills and breaks its
lease, or stores a dead key over this run's version. The latest version ends holding Key1 (which
works) and the record says so; a live latest version is left alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from keyops.rotate import Action, RotationRecord, rotate_account
from keyops.rotate.hooks import install_hook
from keyops.rotate.lease import Lease
from keyops.secret import SecretValue
from tests.rotate.conftest import Rig, options

WEU = "contoso-aiservices-weu"  # its secret holds Key1: a rotation regenerates Key2
SECRET = f"{WEU}-api-key"


@pytest.fixture
def hooks() -> Iterator[list[Callable[[str], None]]]:
    installed: list[Callable[[str], None]] = []

    def each(name: str) -> None:
        for hook in installed:
            hook(name)

    install_hook(each)
    yield installed
    install_hook(None)


def _rotate(rig: Rig) -> RotationRecord:
    return rotate_account(
        rig.target(WEU, rotate_after=timedelta(days=7)),
        rig.services,
        options(force=True, confirm_breaking_consumers=True),
    )


def test_a_run_fenced_after_killing_the_latest_key_stores_a_working_one(
    rig: Rig, hooks: list[Callable[[str], None]]
) -> None:
    target = rig.target(WEU)
    vault = rig.services.vault(rig.vault_url)
    old_key2 = rig.keys(target).key2

    def rival(name: str) -> None:
        if name == "after-regenerate":  # a rival's store of the Key2 just killed; it took over
            vault.set_secret(SECRET, old_key2)
            Lease(vault, target.resource_id, WEU, "rival").break_live()

    hooks.append(rival)
    record = _rotate(rig)
    assert (record.action, record.reason_code) == (Action.FAILED, "fenced"), record.reason
    assert record.warnings == [
        f"account {WEU}: fenced, and the vault's latest version held a dead key: stored the "
        "working Key1 before stopping"
    ]
    assert rig.latest(SECRET).value == rig.keys(target).key1


def test_a_dead_key_stored_over_this_runs_version_is_replaced_by_a_working_one(
    rig: Rig, hooks: list[Callable[[str], None]]
) -> None:
    target = rig.target(WEU)
    vault = rig.services.vault(rig.vault_url)
    old_key2 = rig.keys(target).key2

    def late_writer(name: str) -> None:
        if name == "after-store":  # a rival's store, on its way since before our regenerate
            vault.set_secret(SECRET, old_key2)

    hooks.append(late_writer)
    record = _rotate(rig)
    assert (record.action, record.reason_code) == (Action.FAILED, "conflict"), record.reason
    assert record.warnings[-1] == (
        f"account {WEU}: another writer stored over this run's version, and the vault's latest "
        "version held a dead key: stored the working Key1 before stopping"
    )
    assert rig.latest(SECRET).value == rig.keys(target).key1


def test_a_run_fenced_with_a_live_latest_version_stores_nothing_more(
    rig: Rig, hooks: list[Callable[[str], None]]
) -> None:
    target = rig.target(WEU)
    vault = rig.services.vault(rig.vault_url)

    def breaker(name: str) -> None:
        if name == "after-test":
            Lease(vault, target.resource_id, WEU, "operator").break_live()

    hooks.append(breaker)
    before = rig.latest(SECRET)
    record = _rotate(rig)
    assert (record.action, record.reason_code, record.warnings) == (Action.FAILED, "fenced", [])
    assert rig.latest(SECRET).version == before.version  # Key1, live: nothing to repair
    assert SecretValue(before.value.reveal()) == rig.keys(target).key1


def test_a_run_fenced_after_its_secret_was_deleted_repairs_nothing(
    rig: Rig, hooks: list[Callable[[str], None]]
) -> None:
    target = rig.target(WEU)
    vault = rig.services.vault(rig.vault_url)

    def deleter(name: str) -> None:
        if name == "after-regenerate":  # a person deletes the secret and breaks the lease
            client = rig.emu.secret_client()
            client.begin_delete_secret(SECRET).wait()
            client.close()
            Lease(vault, target.resource_id, WEU, "operator").break_live()

    hooks.append(deleter)
    record = _rotate(rig)
    assert (record.action, record.reason_code, record.warnings) == (Action.FAILED, "fenced", [])
    assert rig.latest(SECRET) is None  # nothing stored where the secret was deleted
