"""Pins of the protocol's promises, in-process against the emulator: one record per account
whatever goes wrong (an unexpected error included), each warning once, a target without a
vault refused before any call, the defaults a caller gets without options.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from keyops.exitcodes import ExitStatus
from keyops.rotate import Action, rotate_account
from keyops.rotate.hooks import install_hook
from keyops.secret import SecretValue
from tests.rotate.conftest import Rig, options

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
        "holds Key1 has whitespace around it (a stray newline?): consumers that do not strip "
        "it fail until a rotation stores a clean value"
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
