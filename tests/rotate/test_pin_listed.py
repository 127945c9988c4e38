"""The run's vault listing only ever spares a read (keyops.rotate.listed): a dry run, an account
with key authentication disabled and a revoke run never take it as the decision's first read,
and a listing that fails or cannot tell leaves the first read to decide. Pinned by the requests
each run makes on the emulator, through the real SDK clients."""

from __future__ import annotations

from datetime import timedelta

from keyops.rotate import Action, rotate_account
from keyops.rotate.tags import REVOKE_PENDING, REVOKE_TAG, SUPERSEDES_TAG
from keyops.secret import SecretValue
from tests.rotate.conftest import Rig, options
from tests.rotate.runner import WEU
from tests.rotate.test_round_trips import account_calls

SECRET = f"{WEU}-api-key"
ENTRA = "contoso-openai-entra"  # disableLocalAuth = true in the default world
DUE = timedelta(days=30)


def _ops(rig: Rig, seq: int) -> list[tuple[str, str]]:
    return [(e["surface"], e["operation"]) for e in account_calls(rig, seq)]


def test_a_dry_run_of_a_due_account_reads_first_and_takes_no_lease(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=DUE)
    rig.backdate(SECRET, "-40d")
    rig.latest(SECRET)  # token and challenge first: the run's own requests follow
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options(dry_run=True))
    assert (record.action, record.planned) == (Action.PLANNED, "rotate Key2"), record.reason
    assert rig.writes_since(seq) == []  # no lease claimed, none released
    assert _ops(rig, seq)[:2] == [("keyvault", "GetSecret"), ("arm", "Accounts_ListKeys")]
    assert ("keyvault", "GetSecrets") not in _ops(rig, seq)


def test_an_account_without_key_authentication_is_read_not_listed(rig: Rig) -> None:
    target = rig.target(ENTRA, rotate_after=DUE)
    rig.services.vault(rig.vault_url).set_secret(target.secret_name, SecretValue("k" * 84))
    rig.backdate(target.secret_name, "-40d")
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert (record.action, record.reason_code) == (Action.SKIPPED, "local-auth-disabled")
    assert _ops(rig, seq) == []  # decided on ARM's flag alone: no listing, no lease
    assert rig.writes_since(seq) == []


def test_a_revoke_run_reads_before_its_lease_and_lists_no_vault_for_it(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=DUE)
    rig.backdate(SECRET, "-40d")
    rig.latest(SECRET)  # token and challenge first: the run's own requests follow
    seq = rig.emu.last_seq
    record = rotate_account(
        target,
        rig.services,
        options(revoke_previous=True, confirm_breaking_consumers=True),
    )
    assert record.action is Action.ROTATED, record.reason
    ops = _ops(rig, seq)
    assert ops[:2] == [("keyvault", "GetSecret"), ("arm", "Accounts_ListKeys")]
    # Listed once, for the other-holder check before the regenerate: not as a first read.
    assert ops.index(("keyvault", "GetSecrets")) > ops.index(("keyvault", "SetSecret"))


def test_a_failed_listing_leaves_the_first_read_to_decide(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=DUE)
    rig.backdate(SECRET, "-40d")
    rig.emu.fault(
        {
            "operation": "GetSecrets",
            "kind": "status",
            "status": 403,
            "code": "Forbidden",
            "message": "Access denied.",
            "times": 1,
        }
    )
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.ROTATED, record.reason
    ops = _ops(rig, seq)
    # Refused: the listing cannot tell, so the latest version is read before the lease.
    assert ops[:2] == [("keyvault", "GetSecrets"), ("keyvault", "GetSecret")]
    assert ops.index(("keyvault", "SetSecret")) > 1


def test_a_disabled_latest_version_is_not_due_by_the_listing(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=DUE)
    rig.backdate(SECRET, "-40d")
    latest = rig.latest(SECRET)
    rig.services.vault(rig.vault_url).set_enabled(SECRET, latest.version, False)
    rig.services.holders.listing(rig.services.vault(rig.vault_url))  # the run's one listing
    seq = rig.emu.last_seq
    rotate_account(target, rig.services, options())
    assert _ops(rig, seq)[0] == ("keyvault", "GetSecret")  # read first: the listing cannot tell


def test_a_pending_revoke_without_the_version_it_supersedes_is_rotated_past(rig: Rig) -> None:
    """The latest version says a revoke is pending but not which version it supersedes (tags
    edited by hand, or lost): a ``--revoke-previous`` run reads nothing more and goes on."""
    target = rig.target(WEU, rotate_after=DUE)
    rig.backdate(SECRET, "-40d")
    vault = rig.services.vault(rig.vault_url)
    latest = vault.get_latest(SECRET)
    assert latest is not None and latest.version is not None
    tags = {k: v for k, v in latest.tags.items() if k != SUPERSEDES_TAG}
    vault.update_tags(SECRET, latest.version, {**tags, REVOKE_TAG: REVOKE_PENDING})
    record = rotate_account(
        target, rig.services, options(revoke_previous=True, confirm_breaking_consumers=True)
    )
    assert (record.action, record.reason_code) == (Action.ROTATED, "due"), record.reason


def test_a_secret_named_with_capitals_is_found_in_the_listing(rig: Rig) -> None:
    """Key Vault lists names as they were written and matches them without case: a due
    secret named with capitals is due by the listing, so nothing reads it before the lease."""
    name = "OpenAI-Key-WEU"
    target = rig.target(WEU, rotate_after=DUE, secret_name=name)
    vault = rig.services.vault(rig.vault_url)
    vault.set_secret(name, rig.keys(target).key1)  # listed as written
    rig.backdate(name, "-40d")
    rig.services.holders.listing(vault)  # the run's one listing
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert (record.action, record.reason_code) == (Action.ROTATED, "due"), record.reason
    ops = _ops(rig, seq)
    assert ("keyvault", "GetSecret") not in ops[: ops.index(("keyvault", "SetSecret"))]
