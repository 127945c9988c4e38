"""Pins of the rotation steps' effects, in-process against the emulator: what each step writes
(a version's expiry and tags, the revoke's mark), what the record says (the figures in its
warnings, the steps' times), and what a step does when another actor moved state under it.

An interruption is a KeyboardInterrupt raised at a step boundary (Ctrl-C there): the run stops,
its lease released, and what it wrote stays, as a crash leaves it.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
import tomllib

from keyops.rotate import Action, rotate_account, steps
from keyops.rotate.records import RotationRecord
from keyops.rotate.steps import AccountRun
from keyops.rotate.tags import (
    CONTENT_TYPE,
    REVOKE_DONE,
    REVOKE_PENDING,
    REVOKE_TAG,
    SUPERSEDES_TAG,
    rotated_at_of,
)
from keyops.secret import SecretValue
from tests.policy.test_pin_copies import rival_value
from tests.rotate.boundaries import at_boundary, interrupted_at
from tests.rotate.conftest import Rig, options

WEU = "contoso-aiservices-weu"  # seeded: the secret holds Key1, created 12 days ago
SECRET = f"{WEU}-api-key"
SECOND = timedelta(seconds=1)


def test_a_version_expires_its_validity_after_key_vaults_time_of_the_store(rig: Rig) -> None:
    """Key Vault's clock two hours behind this machine: the expiry and RotatedAt are on Key
    Vault's clock (the version's own ``created``), not on the runner's."""
    rig.emu.admin("POST", "clock", {"advance": -7200})
    target = rig.target(WEU, validity=timedelta(days=30))
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.ROTATED, record.reason
    latest = rig.latest(SECRET)
    assert latest.created is not None and latest.expires_on is not None
    assert abs(latest.expires_on - (latest.created + timedelta(days=30))) <= SECOND
    rotated_at = rotated_at_of(latest.tags)
    assert rotated_at is not None and abs(rotated_at - latest.created) <= SECOND
    assert latest.content_type == CONTENT_TYPE
    # A rotation without --revoke-previous asks for no revoke.
    assert REVOKE_TAG not in latest.tags


def test_a_run_without_validity_stores_a_version_that_never_expires(rig: Rig) -> None:
    target = rig.target(WEU, validity=None)
    assert rotate_account(target, rig.services, options()).action is Action.ROTATED
    assert rig.latest(SECRET).expires_on is None


def test_the_steps_times_add_up_to_no_more_than_the_run_took(rig: Rig) -> None:
    target = rig.target(WEU)
    started = time.perf_counter()
    record = rotate_account(target, rig.services, options())
    took = time.perf_counter() - started
    assert record.action is Action.ROTATED, record.reason
    assert {"read", "lease", "regenerate", "test", "store", "confirm"} <= set(record.timings)
    assert all(spent > 0 for spent in record.timings.values()), record.timings
    assert sum(record.timings.values()) <= took


def test_a_steps_time_is_the_counter_it_ended_at_less_the_one_it_began_at(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever the counter's origin: on a machine booted seconds ago a step can outlast it
    (perf_counter counts from boot on Linux). Each entry of a step adds to its name's total."""
    readings = iter([10.0, 25.0, 30.0, 32.5])
    monkeypatch.setattr(steps, "time", SimpleNamespace(perf_counter=lambda: next(readings)))
    run = SimpleNamespace(record=RotationRecord("t", "a", "/a"))
    for _ in range(2):
        with AccountRun.step(cast(AccountRun, run), "test"):
            pass
    assert run.record.timings == {"test": 17.5}


def test_if_older_than_replaces_the_targets_rotate_after(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=timedelta(days=30))
    seq = rig.emu.last_seq
    fresh = rotate_account(target, rig.services, options())
    assert (fresh.action, fresh.reason_code) == (Action.SKIPPED, "fresh")
    assert fresh.reason == "not due: latest version is 12d old (rotate after 30d)"
    assert rig.writes_since(seq) == []
    due = rotate_account(target, rig.services, options(if_older_than=timedelta(days=7)))
    assert (due.action, due.reason_code) == (Action.ROTATED, "due"), due.reason


def test_an_interrupted_revoke_is_marked_pending_and_the_rerun_finishes_it(rig: Rig) -> None:
    target = rig.target(WEU)
    first = rig.keys(target)
    old = rig.latest(SECRET)
    with interrupted_at("after-store"):
        rotate_account(target, rig.services, options(revoke_previous=True))
    stored = rig.latest(SECRET)
    assert stored.tags[REVOKE_TAG] == REVOKE_PENDING
    assert stored.tags[SUPERSEDES_TAG] == old.version
    rotated = rig.keys(target)
    assert rotated.key1 == first.key1 and stored.value == rotated.key2
    rig.backdate(SECRET, "-3h")  # the rerun comes three hours later
    record = rotate_account(target, rig.services, options(revoke_previous=True))
    assert (record.action, record.reason_code) == (Action.REVOKED, "revoke-pending")
    assert record.regenerated == ["Key1"]
    after = rig.keys(target)
    assert after.key1 != first.key1 and after.key2 == rotated.key2
    assert record.warnings == [
        f"account {WEU}: revoked Key1: every consumer still holding it breaks now (it was "
        "superseded 3h ago)"
    ]
    done = rig.latest(SECRET)
    assert done.version == stored.version and done.tags[REVOKE_TAG] == REVOKE_DONE
    # A rerun finds the revoke done: it has no superseded version to read.
    seq = rig.emu.last_seq
    rerun = rotate_account(target, rig.services, options(revoke_previous=True))
    assert (rerun.action, rerun.reason_code) == (Action.SKIPPED, "revoked"), rerun.reason
    assert not [e for e in rig.emu.log_since(seq) if old.version in e["path"]]


def test_a_pending_revoke_whose_previous_version_cannot_be_read_regenerates_nothing(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """Someone disabled the superseded version: which key it held is unknown, so the revoke is
    not resumed; inside the grace period the explicit flag is refused, and nothing changes."""
    target = rig.target(WEU)
    old = rig.latest(SECRET)
    with interrupted_at("after-store"):
        rotate_account(target, rig.services, options(revoke_previous=True))
    vault = rig.services.vault(rig.vault_url)
    vault.set_enabled(SECRET, old.version, False)
    keys = rig.keys(target)
    seq = rig.emu.last_seq
    with caplog.at_level(logging.WARNING, logger="keyops.rotate.steps"):
        record = rotate_account(target, rig.services, options(revoke_previous=True))
    assert (record.action, record.reason_code) == (Action.REFUSED, "grace"), record.reason
    assert any(f"{WEU}: cannot read superseded version" in m for m in caplog.messages)
    assert rig.keys(target) == keys
    assert rig.calls(seq, "Accounts_RegenerateKey") == []


def test_a_store_landing_on_top_of_this_runs_is_a_conflict_naming_what_the_vault_holds(
    rig: Rig,
) -> None:
    """A rival's late store, with the key this run's regenerate killed, lands right after this
    run's: the read-back names what the latest holds, and a working key is stored again."""
    target = rig.target(WEU)
    dead = rig.keys(target).key2  # Key2 is the slot this rotation regenerates
    vault = rig.services.vault(rig.vault_url)
    ours: list[object] = []

    def late_rival() -> None:
        ours.append(vault.get_latest(SECRET))
        vault.set_secret(SECRET, dead, content_type=CONTENT_TYPE)

    with at_boundary("after-store", late_rival):
        record = rotate_account(target, rig.services, options())
    (mine,) = ours
    assert (record.action, record.reason_code) == (Action.FAILED, "conflict"), record.reason
    assert record.reason == (
        f"secret {SECRET}: latest version holds {dead.fingerprint}, not the version "
        f"{mine.version} ({mine.value.fingerprint}) just stored; another writer?"  # type: ignore[attr-defined]
    )
    keys = rig.keys(target)
    assert keys.slot_of(rig.latest(SECRET).value) is not None  # a working key again


@pytest.mark.parametrize("order", ["below", "above"])
def test_a_store_landing_on_top_of_this_runs_is_a_conflict_whichever_digest_sorts_first(
    rig: Rig, order: str
) -> None:
    """The read-back compares digests for equality: a rival's value whose digest sorts below
    this run's key is as much a conflict as one that sorts above it."""
    target = rig.target(WEU)
    vault = rig.services.vault(rig.vault_url)

    def rival() -> None:
        mine = vault.get_latest(SECRET).value.digest  # type: ignore[union-attr]
        vault.set_secret(SECRET, SecretValue(rival_value(mine, order)), content_type=CONTENT_TYPE)

    with at_boundary("after-store", rival):
        record = rotate_account(target, rig.services, options())
    assert (record.action, record.reason_code) == (Action.FAILED, "conflict"), record.reason


def test_a_secret_deleted_right_after_the_store_is_a_conflict_naming_nothing(rig: Rig) -> None:
    target = rig.target(WEU)
    client = rig.emu.secret_client()

    try:
        with at_boundary("after-store", lambda: client.begin_delete_secret(SECRET).wait()):
            record = rotate_account(target, rig.services, options())
    finally:
        client.close()
    assert record.action is Action.FAILED
    assert f"secret {SECRET}: latest version holds nothing, not the version" in record.reason


def test_a_regenerate_that_fails_without_effect_records_nothing_regenerated(rig: Rig) -> None:
    target = rig.target(WEU)
    keys = rig.keys(target)
    before = rig.latest(SECRET)
    rig.emu.fault(
        {"operation": "Accounts_RegenerateKey", "kind": "status", "status": 500, "times": 20}
    )
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.FAILED
    assert record.regenerated == [] and record.warnings == []
    assert rig.keys(target) == keys
    assert rig.latest(SECRET).version == before.version


def test_a_soft_deleted_secret_refusal_says_when_it_is_purged(rig: Rig) -> None:
    target = rig.target(WEU)
    client = rig.emu.secret_client()
    deleted = client.begin_delete_secret(SECRET).result()
    client.close()
    purge = deleted.scheduled_purge_date
    assert purge is not None
    vault = rig.services.vault(rig.vault_url).name
    record = rotate_account(target, rig.services, options())
    assert (record.action, record.reason_code) == (Action.REFUSED, "soft-deleted")
    assert record.reason == (
        f"secret {SECRET} in vault {vault} is soft-deleted (purged automatically "
        f"{purge:%Y-%m-%d}): recover it (az keyvault secret recover --vault-name {vault} "
        f"--name {SECRET}) or purge it, then rerun; nothing changed"
    )


def test_a_deployment_that_does_not_exist_is_named_with_those_that_do(rig: Rig) -> None:
    target = rig.target(WEU, deployment="gpt-nope")
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.FAILED
    assert record.reason.startswith(
        f"account {WEU}: no deployment 'gpt-nope' to test the new key with (deployments: gpt-4o"
    )


def test_without_the_right_to_read_deleted_secrets_the_check_is_skipped(rig: Rig) -> None:
    """A principal whose role lacks deleted-secret reads (Key Vault answers 403) still adopts a
    new account's key: the store's own 409 would say if the name were soft-deleted."""
    target = rig.target("contoso-openai-eus")  # seeded: no secret
    rig.emu.fault({"operation": "GetDeletedSecret", "kind": "status", "status": 403, "times": 5})
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.ADOPTED, record.reason
    # Refused at each read of the missing secret (before the lease and under it).
    assert [c["status"] for c in rig.calls(seq, "GetDeletedSecret")] == [403, 403]


_NO_CHAT = """
[[accounts]]
name = "contoso-embeddings-only"
resource_group = "rg-ai-prod"
kind = "OpenAI"
custom_subdomain = "contoso-embeddings-only"
keys_created = "-40d"

[[accounts.deployments]]
name = "embed-small"
model = "text-embedding-3-small"
version = "1"
capacity = 10
api = "embeddings"

[[accounts]]
name = "contoso-no-deployments"
resource_group = "rg-ai-prod"
kind = "OpenAI"
custom_subdomain = "contoso-no-deployments"
keys_created = "-40d"
deployments = []
"""


@pytest.fixture
def bare_rig(tmp_path: Path, tls_dir: Path) -> Iterator[Rig]:
    """A rig whose world adds an account with only an embeddings deployment, and one with none."""
    from keyops.cloud import resolve_environment
    from keyops.emulator.world import default_world_text, parse_world
    from keyops.rotate import RotationServices
    from tests.rotate.conftest import TEST_RETRY
    from tests.support.emulator import start_emulator

    text = default_world_text()
    world = parse_world(tomllib.loads(text + _NO_CHAT), "<default world + bare accounts>")
    emu = start_emulator(tmp_path / "emulator", tls_dir, world=world)
    credential = emu.credential("keyops-rotator")
    services = RotationServices(
        resolve_environment(str(emu.connection_path), None), credential, retry=TEST_RETRY
    )
    yield Rig(emu, resolve_environment(str(emu.connection_path), None), services)
    services.close()
    credential.close()
    gc.collect()
    emu.stop()


@pytest.mark.parametrize(
    ("account", "listed"),
    [("contoso-embeddings-only", "embed-small"), ("contoso-no-deployments", "none")],
)
def test_an_account_without_a_chat_deployment_is_refused_naming_what_it_has(
    bare_rig: Rig, account: str, listed: str
) -> None:
    target = bare_rig.target(account)
    vault = bare_rig.services.vault(bare_rig.vault_url)
    vault.set_secret(target.secret_name, bare_rig.keys(target).key1)
    bare_rig.backdate(target.secret_name, "-40d")  # due: the rotation needs a key test
    seq = bare_rig.emu.last_seq
    record = rotate_account(target, bare_rig.services, options())
    assert (record.action, record.reason_code) == (Action.FAILED, "config")
    assert record.reason == (
        f"account {account}: no chat deployment to test the new key with (deployments: "
        f"{listed}); nothing changed"
    )
    assert bare_rig.writes_since(seq) == []


def test_the_revoke_passes_the_guards_a_regeneration_does(rig: Rig) -> None:
    """Another secret of the vault holds Key1: the rotation (of Key2) goes ahead, the revoke of
    Key1 that follows is refused, and Key1 lives on."""
    target = rig.target(WEU)
    keys = rig.keys(target)
    vault = rig.services.vault(rig.vault_url)
    vault.set_secret("billing-app-openai-key", keys.key1)
    record = rotate_account(target, rig.services, options(revoke_previous=True))
    assert (record.action, record.reason_code) == (Action.REFUSED, "other-holder"), record.reason
    assert record.reason.startswith(
        f"account {WEU}: secret billing-app-openai-key in vault {vault.name} holds Key1 "
    )
    assert record.regenerated == ["Key2"]
    after = rig.keys(target)
    assert after.key1 == keys.key1 and rig.latest(SECRET).value == after.key2


def test_the_key_test_uses_only_the_lease_left_after_the_stores_budget(rig: Rig) -> None:
    """Key Vault's clock (as the run reads it) leaves 17 s of lease after the regenerate, and the
    store needs its 15 s budget: the key test has 2 s. The new key takes 5 s to propagate, so
    it fails its test and Key Vault is left untouched, though --propagation-timeout is 20 s."""
    from tests.rotate.test_pin_lease import frozen

    target = rig.target(WEU)
    before = rig.latest(SECRET)
    _, clock = frozen(rig)
    start = clock.at
    rig.emu.admin("POST", "settings", {"propagation_delay": 5})

    def late() -> None:
        clock.at = start + timedelta(seconds=60 - 17)

    with at_boundary("after-regenerate", late):
        record = rotate_account(target, rig.services, options(lease_ttl=timedelta(minutes=1)))
    assert (record.action, record.reason_code) == (Action.FAILED, "test-failed"), record.reason
    assert record.regenerated == ["Key2"]
    assert rig.latest(SECRET).version == before.version


def test_a_runs_options_cannot_be_changed_under_it() -> None:
    """One RotationOptions serves every account of a run: no account's step may edit it."""
    from dataclasses import FrozenInstanceError

    with pytest.raises(FrozenInstanceError):
        options().force = True  # type: ignore[misc]


@pytest.mark.parametrize("given", ["option", "target"])
def test_the_key_test_gives_up_at_the_propagation_timeout(rig: Rig, given: str) -> None:
    """--propagation-timeout (else the target's setting) bounds the key test: 2 s, while the
    new key takes 5 s to reach the data plane, fails it, and Key Vault is left untouched."""
    two = timedelta(seconds=2)
    if given == "option":
        target, opts = rig.target(WEU), options(propagation_timeout=two)
    else:
        target, opts = rig.target(WEU, propagation_timeout=two), options(propagation_timeout=None)
    before = rig.latest(SECRET)
    rig.emu.admin("POST", "settings", {"propagation_delay": 5})
    record = rotate_account(target, rig.services, opts)
    assert (record.action, record.reason_code) == (Action.FAILED, "test-failed"), record.reason
    assert record.reason.startswith(
        f"account {WEU}: the new key failed its test on deployment gpt-4o: "
    ) and record.reason.endswith("; Key Vault untouched")
    assert rig.latest(SECRET).version == before.version


def test_an_outside_change_noted_twice_is_one_warning() -> None:
    """A fence run again after a stall sees the same outside regenerate: one warning, not two."""
    record = SimpleNamespace(outside_change=None, warnings=[])
    run = cast(
        AccountRun,
        SimpleNamespace(record=record, target=SimpleNamespace(account=SimpleNamespace(name=WEU))),
    )
    steps.note_outside_change(run, "Key1")
    steps.note_outside_change(run, "Key1")
    assert record.outside_change == "Key1" and len(record.warnings) == 1


def test_a_regenerate_answered_with_the_old_key_stores_nothing(rig: Rig) -> None:
    """ARM answers regenerateKey with the slot's key unchanged (a stale answer, the emulator's
    ``no_effect`` fault): the run stops as a conflict and stores nothing; it never tests and
    stores the key it meant to kill (a leaked key would stay the vault's)."""
    target = rig.target(WEU)
    before = rig.latest(SECRET)
    keys = rig.keys(target)
    rig.emu.fault({"operation": "Accounts_RegenerateKey", "kind": "no_effect"})
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options(force=True))
    assert (record.action, record.reason_code) == (Action.FAILED, "conflict"), record.reason
    assert record.reason.endswith("regenerating Key2 returned the old key")
    assert rig.latest(SECRET).version == before.version and rig.keys(target) == keys
    assert "ChatCompletions_Create" not in rig.emu.operations_since(seq)
