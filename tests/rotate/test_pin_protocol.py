"""Pins of the protocol's promises, in-process against the emulator: one record per account
whatever goes wrong (an unexpected error included), each warning once, a target without a
vault refused before any call, the defaults a caller gets without options; what is checked
before the lease; and the races other tests drive in a child process (a person regenerating a
key at a step boundary, a lease lost after the regenerate) driven here in this process, at the
same boundaries, so that per-test coverage credits them to the lines they pin.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest

from keyops.exitcodes import ExitStatus
from keyops.rotate import Action, exit_status, rotate_account
from keyops.rotate.hooks import install_hook
from keyops.secret import SecretValue
from tests.rotate.boundaries import at_boundary, interrupted_at
from tests.rotate.conftest import Rig, options
from tests.rotate.test_fencing import latest_works, live_claims, operator_regenerates

WEU = "contoso-aiservices-weu"  # seeded: the secret holds Key1, created 12 days ago
EUS = "contoso-openai-eus"  # seeded: no secret
SECRET = f"{WEU}-api-key"


def test_an_unexpected_error_ends_in_the_record_by_its_type_only(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """A library's message can quote what it was given: the record names the error's type; the
    traceback goes to the debug log; the lease is released (the rerun is not refused)."""
    target = rig.target(WEU)

    def fail(name: str) -> None:
        if name == "after-lease":
            raise RuntimeError("a message that quotes a header value")

    install_hook(fail)
    try:
        with caplog.at_level(logging.DEBUG, logger="keyops.rotate.protocol"):
            record = rotate_account(target, rig.services, options())
    finally:
        install_hook(None)
    assert (record.action, record.reason_code) == (Action.FAILED, "service")
    assert record.reason == (
        f"account {WEU}: internal error (RuntimeError); rerun with --debug for details"
    )
    assert record.error_status == int(ExitStatus.FAILED)
    (logged,) = [r for r in caplog.records if r.getMessage() == f"rotation of {WEU} failed"]
    assert logged.exc_info is not None and logged.exc_info[0] is RuntimeError
    assert rotate_account(target, rig.services, options()).action is Action.ROTATED


def test_a_target_without_a_vault_is_refused_before_any_call(rig: Rig) -> None:
    found = rig.target(WEU)
    target = replace(found, settings=replace(found.settings, vault_url=None))
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert (record.action, record.reason_code) == (Action.FAILED, "config")
    assert record.reason == (
        f"target {target.name}: no vault_url (set it in keyops.toml [defaults] or pass --vault-url)"
    )
    assert record.error_status == int(ExitStatus.CONFIG)
    assert [e for e in rig.emu.log_since(seq) if e["surface"] != "admin"] == []


def test_without_options_a_call_rotates_with_the_defaults(rig: Rig) -> None:
    record = rotate_account(rig.target(WEU), rig.services)
    assert (record.action, record.dry_run) == (Action.ROTATED, False), record.reason


def test_a_warning_decided_before_and_under_the_lease_is_recorded_once(rig: Rig) -> None:
    """A padded secret, rotated with --revoke-previous: decided before the lease (a revoke run
    reads the keys first) and again under it, it is warned about once."""
    target = rig.target(WEU)
    keys = rig.keys(target)
    vault = rig.services.vault(rig.vault_url)
    vault.set_secret(SECRET, SecretValue(keys.key1.reveal() + "\n"))
    rig.backdate(SECRET, "-40d")
    record = rotate_account(target, rig.services, options(revoke_previous=True))
    assert record.action is Action.ROTATED, record.reason
    padded, revoked = record.warnings
    assert padded.endswith(
        "holds Key1, but the value has whitespace around it (a stray newline?): consumers that "
        "do not strip it fail until a rotation stores a clean value"
    )
    assert revoked.startswith(f"account {WEU}: revoked Key1: ")


def test_a_dry_run_checks_the_deployment_a_rotation_would_test_with(rig: Rig) -> None:
    target = rig.target(WEU, deployment="gpt-nope")
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options(dry_run=True))
    assert (record.action, record.reason_code) == (Action.FAILED, "config")
    assert "no deployment 'gpt-nope'" in record.reason
    assert rig.writes_since(seq) == []
    adopt = rotate_account(
        rig.target(EUS, deployment="gpt-nope"), rig.services, options(dry_run=True)
    )
    assert (adopt.action, adopt.planned) == (Action.PLANNED, "adopt Key1")


# --- another actor at a step boundary, in this process (the hook acts where the run stands) ---


def test_the_vaults_key_regenerated_outside_keyops_is_reported_with_status_1(
    ops_rig: Rig,
) -> None:
    """A person regenerates Key1 (the key the vault holds) just before keyops regenerates
    Key2: the tested Key2 is stored, and the run says what happened (status 1)."""
    target = ops_rig.target(WEU)
    with at_boundary("before-regenerate", lambda: operator_regenerates(ops_rig, target, "Key1")):
        record = rotate_account(target, ops_rig.services, options())
    assert (record.action, record.reason_code) == (Action.ROTATED, "outside-change")
    assert record.outside_change == "Key1"
    assert record.warnings == [
        f"account {WEU}: Key1 was regenerated outside keyops during this run (a leak "
        "response?): the vault's previous version held the dead Key1; the tested new key is "
        "stored instead"
    ]
    assert exit_status([record]) is ExitStatus.FAILED
    assert latest_works(ops_rig, target)


def test_the_other_key_regenerated_while_a_key_is_adopted_is_reported_with_status_1(
    ops_rig: Rig,
) -> None:
    """No secret yet: Key1 is adopted. A person regenerates Key2 after the decision: Key1 is
    stored all the same (it is untouched), and the run says what happened (status 1)."""
    target = ops_rig.target(EUS)
    with at_boundary("after-decide", lambda: operator_regenerates(ops_rig, target, "Key2")):
        record = rotate_account(target, ops_rig.services, options())
    assert (record.action, record.slot) == (Action.ADOPTED, "Key1"), record.reason
    assert (record.reason_code, record.outside_change) == ("outside-change", "Key2")
    assert exit_status([record]) is ExitStatus.FAILED
    assert ops_rig.latest(f"{EUS}-api-key").value == ops_rig.keys(target).key1


def test_a_stored_key_regenerated_at_once_is_repaired_with_status_1(ops_rig: Rig) -> None:
    target = ops_rig.target(WEU)
    with at_boundary("after-store", lambda: operator_regenerates(ops_rig, target, "Key2")):
        record = rotate_account(target, ops_rig.services, options())
    assert (record.action, record.reason_code, record.slot) == (Action.REPAIRED, "repaired", "Key1")
    assert record.warnings[-1] == (
        f"account {WEU}: the key this run stored was regenerated by another actor right after "
        "the store; a working key was stored again"
    )
    assert exit_status([record]) is ExitStatus.FAILED
    assert ops_rig.latest(SECRET).value == ops_rig.keys(target).key1
    assert latest_works(ops_rig, target) and live_claims(ops_rig, target) == []


def test_a_run_fenced_after_its_regenerate_stores_a_working_key_before_stopping(
    ops_rig: Rig,
) -> None:
    """After the key test, the lease ends (Key Vault's clock passes it) and a person regenerates
    Key1, the key the vault holds: the run stores nothing of its own, but it leaves a working
    key in the vault before it stops (fenced)."""
    target = ops_rig.target(WEU)

    def lose_lease_and_key1() -> None:
        ops_rig.emu.admin("POST", "clock", {"advance": 61})
        operator_regenerates(ops_rig, target, "Key1")

    with at_boundary("after-test", lose_lease_and_key1):
        record = rotate_account(target, ops_rig.services, options(lease_ttl=timedelta(minutes=1)))
    assert (record.action, record.reason_code) == (Action.FAILED, "fenced"), record.reason
    assert record.warnings[-1].startswith(
        f"account {WEU}: fenced, and the vault's latest version held a dead key: stored the "
        "working Key"
    )
    assert latest_works(ops_rig, target)


def test_a_secret_stored_by_someone_else_after_the_first_read_is_rotated_under_the_lease(
    rig: Rig,
) -> None:
    """No secret at the first read (an adoption, no deployment checked), then a person stores
    an old key before the lease: decided again under the lease, it is due, and the key test's
    deployment is found there."""
    target = rig.target(EUS)
    vault = rig.services.vault(rig.vault_url)

    def store_old_key1() -> None:
        vault.set_secret(f"{EUS}-api-key", rig.keys(target).key1)
        rig.emu.admin(
            "POST",
            f"vaults/kv-keyops-prod/secrets/{EUS}-api-key/versions/latest",
            {"created": "-40d"},
        )

    with at_boundary("after-read", store_old_key1):
        record = rotate_account(target, rig.services, options())
    assert (record.action, record.reason_code, record.slot) == (Action.ROTATED, "due", "Key2")
    assert record.deployment == "gpt-4o-mini"


# --- --repair ---------------------------------------------------------------------------------


def test_repair_stores_a_working_key_over_a_dead_one(ops_rig: Rig) -> None:
    target = ops_rig.target(WEU)
    operator_regenerates(ops_rig, target, "Key1")  # the vault's key dies
    plan = rotate_account(target, ops_rig.services, options(repair=True, dry_run=True))
    assert (plan.action, plan.planned) == (Action.PLANNED, "repair")
    assert plan.reason == "would test both keys and store a working one if the latest is dead"
    record = rotate_account(target, ops_rig.services, options(repair=True))
    assert (record.action, record.reason_code, record.slot) == (Action.REPAIRED, "repair", "Key1")
    assert record.reason == "repair requested; stored the working Key1"
    assert record.regenerated == [] and exit_status([record]) is ExitStatus.OK
    assert latest_works(ops_rig, target) and live_claims(ops_rig, target) == []


def test_repair_stores_key2_when_key1_is_not_accepted_yet(ops_rig: Rig) -> None:
    """An operator regenerated Key1 (the vault's key) and the new Key1 is still propagating:
    Key2 works, so Key2 is stored."""
    target = ops_rig.target(WEU)
    ops_rig.emu.admin("POST", "settings", {"propagation_delay": 600})
    operator_regenerates(ops_rig, target, "Key1")
    quick = options(repair=True, propagation_timeout=timedelta(seconds=1))
    record = rotate_account(target, ops_rig.services, quick)
    assert (record.action, record.slot) == (Action.REPAIRED, "Key2"), record.reason
    assert ops_rig.latest(SECRET).value == ops_rig.keys(target).key2


def test_repair_tests_the_key_the_latest_version_holds_before_calling_it_healthy(
    ops_rig: Rig,
) -> None:
    """The latest version holds the current Key1, but the data plane does not accept it yet
    (regenerated and stored before it propagated): not "healthy"; the working Key2 is stored."""
    target = ops_rig.target(WEU)
    ops_rig.emu.admin("POST", "settings", {"propagation_delay": 600})
    operator_regenerates(ops_rig, target, "Key1")
    vault = ops_rig.services.vault(ops_rig.vault_url)
    vault.set_secret(SECRET, ops_rig.keys(target).key1)
    quick = options(repair=True, propagation_timeout=timedelta(seconds=1))
    record = rotate_account(target, ops_rig.services, quick)
    assert (record.action, record.slot) == (Action.REPAIRED, "Key2"), record.reason


def test_repair_of_an_account_without_local_auth_is_a_skip(rig: Rig) -> None:
    seq = rig.emu.last_seq
    record = rotate_account(rig.target("contoso-openai-entra"), rig.services, options(repair=True))
    assert (record.action, record.reason_code) == (Action.SKIPPED, "local-auth-disabled")
    assert record.reason == "key authentication is disabled on this account; nothing to repair"
    assert rig.writes_since(seq) == []


# --- what is checked before the lease ---------------------------------------------------------


def test_a_rotation_decided_before_the_lease_with_a_bad_deployment_writes_nothing(
    rig: Rig,
) -> None:
    """A --revoke-previous run reads the keys first and decides ROTATE there: the deployment
    its key test needs is checked before the lease, so not even a claim is written."""
    target = rig.target(WEU, deployment="gpt-nope")
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options(revoke_previous=True))
    assert (record.action, record.reason_code) == (Action.FAILED, "config"), record.reason
    assert rig.writes_since(seq) == []


def test_finishing_a_revoke_needs_no_deployment_to_test_with(rig: Rig) -> None:
    """A revoke regenerates the previous key and tests none: a target whose deployment is gone
    still finishes an interrupted revoke."""
    target = rig.target(WEU)

    with interrupted_at("after-store"):
        rotate_account(target, rig.services, options(revoke_previous=True))
    gone = rig.target(WEU, deployment="gpt-nope")
    record = rotate_account(gone, rig.services, options(revoke_previous=True))
    assert (record.action, record.reason_code) == (Action.REVOKED, "revoke-pending"), record.reason
    assert record.regenerated == ["Key1"]


def test_a_400_on_the_store_is_a_service_error_not_a_conflict(rig: Rig) -> None:
    """Only a 409 is a conflict with the secret's state (status 1); a 400 is Azure refusing
    the request: the record says so with status 5, and the vault keeps its version."""
    target = rig.target(WEU)
    before = rig.latest(SECRET)
    fault = {"operation": "SetSecret", "kind": "status", "status": 400, "code": "BadParameter"}
    rig.emu.fault({**fault, "match": SECRET, "times": 1})
    record = rotate_account(target, rig.services, options())
    assert (record.action, record.reason_code, record.error_status) == (
        Action.FAILED,
        "service",
        int(ExitStatus.SERVICE),
    ), record.reason
    assert "rejected" in record.reason
    assert rig.latest(SECRET).version == before.version


def test_a_repair_after_an_outside_change_is_reported_as_the_repair(ops_rig: Rig) -> None:
    """Key1 regenerated by a person before keyops regenerates Key2, then Key2 right after the
    store: the run repairs, and its reason is the repair (the outside change is in the record)."""
    target = ops_rig.target(WEU)

    def person(name: str) -> None:
        if name == "before-regenerate":
            operator_regenerates(ops_rig, target, "Key1")
        elif name == "after-store":
            operator_regenerates(ops_rig, target, "Key2")

    install_hook(person)
    try:
        record = rotate_account(target, ops_rig.services, options())
    finally:
        install_hook(None)
    assert (record.action, record.reason_code) == (Action.REPAIRED, "repaired"), record.reason
    assert record.outside_change == "Key1"
    assert latest_works(ops_rig, target)


def test_a_rotation_reads_each_copy_once_before_and_once_after_writing_it(rig: Rig) -> None:
    """The copy guard runs once, before the fence that precedes the regenerate (it may read
    whole vaults); the copy is then written and read back once."""
    from keyops.config import SecretCopy

    copy = SecretCopy(rig.vault_url, "search-team-openai-key")
    target = rig.target(WEU, also_store=(copy,))
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.ROTATED, record.reason
    reads = [c for c in rig.calls(seq, "GetSecret") if copy.secret_name in c["path"]]
    assert [c["status"] for c in reads] == [404, 200]  # the guard (no copy yet), the read-back
    assert rig.latest(copy.secret_name).value == rig.latest(SECRET).value


def test_without_the_vaults_listing_a_due_account_checks_its_deployment_before_the_lease(
    rig: Rig,
) -> None:
    """The vault cannot be listed (403): the first read finds the account due, and the bad
    deployment is refused there, before any claim is written."""
    target = rig.target(WEU, deployment="gpt-nope", rotate_after=timedelta(days=7))
    rig.emu.fault({"operation": "GetSecrets", "kind": "status", "status": 403, "times": 9})
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert (record.action, record.reason_code) == (Action.FAILED, "config"), record.reason
    assert "no deployment 'gpt-nope'" in record.reason
    assert rig.writes_since(seq) == []
