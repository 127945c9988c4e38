"""The README's exit-status table for ``keyops rotate`` is what the code does.

Every reason code the table lists is produced here by the real decision (:func:`decide`) or the
real error class, turned into a record the way the protocol does, and must give the table's
status, alone and next to a rotated account. The table lists exactly these codes, so a new code
needs a row. The emulator tests (tests/rotate, tests/policy) show real runs producing them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from keyops.azure.arm import Account, AccountKeys
from keyops.azure.vault import SecretDeletedError, SecretVersion
from keyops.cli.main import cli
from keyops.errors import KeyopsError
from keyops.rotate import Action, RotationRecord, exit_status
from keyops.rotate.copies import CopyMismatchError, StaleCopyError
from keyops.rotate.holders import OtherHolderError
from keyops.rotate.lease import LeaseHeldError, LeaseLostError
from keyops.rotate.moved import MovedVerdict
from keyops.rotate.plan import AccountState, Policy, Step, decide
from keyops.rotate.protocol import _apply_held, _fail
from keyops.rotate.steps import ConflictError, KeyTestFailedError
from keyops.rotate.tags import (
    REVOKE_DEADLINE_TAG,
    REVOKE_DONE,
    REVOKE_PENDING,
    REVOKE_TAG,
    REVOKE_WHEN_MOVED,
    SUPERSEDES_TAG,
)
from keyops.secret import SecretValue

README = Path(__file__).resolve().parents[2] / "README.md"
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
K1, K2 = SecretValue("a" * 32), SecretValue("b" * 32)
DUE = Policy(rotate_after=timedelta(days=30), grace=timedelta(hours=48))
EXECUTED = {Step.ROTATE: Action.ROTATED, Step.ADOPT: Action.ADOPTED, Step.REVOKE: Action.REVOKED}


def readme_table() -> dict[str, int]:
    """reason code -> status, from the README's rotation table."""
    text = README.read_text()
    section = text[text.index("### Exit statuses of `keyops rotate`") :]
    rows = re.findall(r"^\| (\d) \| .* \| (.*) \|$", section.split("\n\n", 3)[2], re.M)
    return {
        code: int(status) for status, codes in rows for code in re.findall(r"`([a-z-]+)`", codes)
    }


def _account(disabled: bool = False) -> Account:
    return Account(
        id="/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a",
        name="a",
        subscription_id="s",
        resource_group="g",
        kind="OpenAI",
        location="eastus",
        endpoint="https://a.openai.azure.com/",
        custom_subdomain="a",
        disable_local_auth=disabled,
        public_network_access="Enabled",
    )


def _state(value: SecretValue | None, age: timedelta, **tags: str) -> AccountState:
    latest = None
    if value is not None:
        latest = SecretVersion(
            "a-api-key", "v2", value, True, NOW - age, NOW - age, None, None, None, tags
        )
    return AccountState(_account(), latest, AccountKeys(K1, K2), superseded_value=K2)


def _decided(state: AccountState, policy: Policy) -> RotationRecord:
    decision = decide(state, policy, NOW)
    record = RotationRecord(target="a", account="a", account_id=state.account.id)
    if decision.step in EXECUTED:
        record.action, record.reason_code = EXECUTED[decision.step], decision.code
    else:
        _apply_held(record, decision)
    return record


def _failed(exc: KeyopsError) -> RotationRecord:
    record = RotationRecord(target="a", account="a", account_id="id")
    _fail(record, exc)
    return record


def _done(action: Action, code: str, **fields: str) -> RotationRecord:
    return RotationRecord("a", "a", "id", action=action, reason_code=code, **fields)  # type: ignore[arg-type]


PENDING = {REVOKE_TAG: REVOKE_PENDING, SUPERSEDES_TAG: "v1"}
WHEN_MOVED = Policy(rotate_after=timedelta(days=30), grace=timedelta(hours=48), when_moved=True)


def _moved(ready: bool, deadline: timedelta = timedelta(days=1)) -> RotationRecord:
    tags = {
        REVOKE_TAG: REVOKE_WHEN_MOVED,
        SUPERSEDES_TAG: "v1",
        REVOKE_DEADLINE_TAG: (NOW + deadline).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    from dataclasses import replace

    state = replace(
        _state(K1, timedelta(hours=5), **tags),
        moved=MovedVerdict(ready, () if ready else ("app at 10.0.0.4",), "why"),
    )
    return _decided(state, WHEN_MOVED)


def _in_use() -> RotationRecord:
    from dataclasses import replace

    state = replace(_state(K1, timedelta(days=40)), in_use_by=("app at 10.0.0.4 (read 1d ago)",))
    return _decided(state, DUE)


FORCE = Policy(rotate_after=timedelta(days=30), grace=timedelta(hours=48), force=True)
REVOKE = Policy(rotate_after=timedelta(days=30), grace=timedelta(hours=48), revoke_previous=True)
EXAMPLES: dict[str, Callable[[], RotationRecord]] = {
    "due": lambda: _decided(_state(K1, timedelta(days=40)), DUE),
    "forced": lambda: _decided(
        _state(K1, timedelta(hours=1)),
        Policy(DUE.rotate_after, DUE.grace, force=True, confirm_breaking=True),
    ),
    "no-secret": lambda: _decided(_state(None, timedelta(0)), DUE),
    "revoke-pending": lambda: _decided(_state(K1, timedelta(minutes=5), **PENDING), REVOKE),
    "revoked": lambda: _decided(
        _state(K1, timedelta(minutes=5), **{REVOKE_TAG: REVOKE_DONE}), REVOKE
    ),
    "fresh": lambda: _decided(_state(K1, timedelta(days=3)), DUE),
    "within-grace": lambda: _decided(_state(K1, timedelta(hours=1), **PENDING), DUE),
    "local-auth-disabled": lambda: _decided(AccountState(_account(disabled=True), None, None), DUE),
    "grace": lambda: _decided(_state(K1, timedelta(hours=1)), FORCE),
    "mismatch": lambda: _decided(_state(SecretValue("c" * 32), timedelta(days=40)), FORCE),
    "lease-held": lambda: _failed(LeaseHeldError("held")),
    "soft-deleted": lambda: _failed(SecretDeletedError("deleted")),
    "other-holder": lambda: _failed(OtherHolderError("held elsewhere")),
    "copy-stale": lambda: _failed(StaleCopyError("stale copy")),
    "conflict": lambda: _failed(ConflictError("another writer")),
    "copy-conflict": lambda: _failed(CopyMismatchError("copy differs")),
    "test-failed": lambda: _failed(KeyTestFailedError("401")),
    "error": lambda: _failed(KeyopsError("boom")),
    "fenced": lambda: _failed(LeaseLostError("lease ended before the store")),
    "repaired": lambda: RotationRecord(
        "a", "a", "id", action=Action.REPAIRED, reason_code="repaired"
    ),
    "outside-change": lambda: RotationRecord(
        "a", "a", "id", action=Action.ROTATED, reason_code="outside-change", outside_change="Key1"
    ),
    "repair": lambda: RotationRecord("a", "a", "id", action=Action.REPAIRED, reason_code="repair"),
    "healthy": lambda: RotationRecord("a", "a", "id", action=Action.SKIPPED, reason_code="healthy"),
    "revoke-moved": lambda: _moved(True),
    "revoke-waiting": lambda: _moved(False),
    "revoke-lagging": lambda: _moved(False, -timedelta(minutes=1)),
    "key-in-use": _in_use,
}


def test_the_table_lists_exactly_the_codes_keyops_produces() -> None:
    assert set(readme_table()) == set(EXAMPLES)


@pytest.mark.parametrize(("code", "status"), sorted(readme_table().items()))
def test_each_reason_code_gives_the_tables_status(code: str, status: int) -> None:
    record = EXAMPLES[code]()
    assert record.reason_code == code
    rotated = RotationRecord("b", "b", "id-b", action=Action.ROTATED, reason_code="due")
    assert int(exit_status([record])) == status
    assert int(exit_status([rotated, record])) == status


def test_bad_flags_exit_2_before_any_call() -> None:
    result = CliRunner().invoke(cli, ["rotate", "--revoke-previous"], env={"KEYOPS_EMULATOR": None})
    assert result.exit_code == 2 and "--confirm-revoke" in result.stderr
