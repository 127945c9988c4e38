"""Round trips per rotated account: the README's sequence, and the reads it leaves out.

A due account is rotated in 14 requests (15 when the first key test meets propagation), each
named in README.md ("Requests per account"), after the run's one listing of the vault. A read
left out must not let a stale answer through: here a rival rotates between the listing and the
lease, and the run decides on the rival's version, read under the lease, not on the listing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from keyops.rotate import Action, rotate_account
from keyops.secret import SecretValue
from tests.rotate.conftest import Rig, options
from tests.rotate.runner import WEU, PausedRun, rotate_args

SECRET = f"{WEU}-api-key"
#: One due rotation, in order, key tests aside (README.md, "Requests per account").
SEQUENCE = [
    ("arm", "Deployments_List"),  # due by the run's vault listing: the key test's deployment
    ("keyvault", "SetSecret"),  # the lease claim
    ("keyvault", "GetSecretVersions"),  # the lease's first look
    ("keyvault", "GetSecret"),  # the latest version, read under the lease...
    ("arm", "Accounts_ListKeys"),  # ...and the keys: they decide
    ("keyvault", "GetSecretVersions"),  # fence before regenerating
    ("arm", "Accounts_RegenerateKey"),
    ("keyvault", "GetSecretVersions"),  # fence before storing: the lease...
    ("arm", "Accounts_ListKeys"),  # ...and the tested key still in its slot
    ("keyvault", "SetSecret"),  # the store
    ("keyvault", "GetSecret"),  # the read-back: no other writer's store on top of it
    ("arm", "Accounts_ListKeys"),  # the stored key still live
    ("keyvault", "UpdateSecret"),  # the release
]


def account_calls(rig: Rig, seq: int) -> list[dict[str, Any]]:
    """keyops' requests after ``seq`` (tokens and the emulator's admin API aside)."""
    return [e for e in rig.emu.log_since(seq) if e["surface"] in ("arm", "keyvault", "openai")]


def test_a_due_rotation_makes_the_readme_sequence_of_requests(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=timedelta(days=30))
    rig.backdate(SECRET, "-40d")
    rig.services.holders.held_in(rig.services.vault(rig.vault_url))  # read once per run
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.ROTATED, record.reason
    calls = account_calls(rig, seq)
    tests = [e for e in calls if e["surface"] == "openai"]
    assert [(e["surface"], e["operation"]) for e in calls if e not in tests] == SEQUENCE
    assert 1 <= len(tests) <= 2 and tests[-1]["status"] == 200
    assert len(calls) <= 15
    # The writes the README names are the only ones, and all succeeded.
    assert all(e["status"] < 300 for e in calls if e not in tests)


def test_a_fresh_account_is_decided_before_any_lease(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=timedelta(days=30))
    rig.backdate(SECRET, "-10d")
    rig.services.holders.listing(rig.services.vault(rig.vault_url))  # listed once per run
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert (record.action, record.reason_code) == (Action.SKIPPED, "fresh")
    # Not due by the listing, nor by the latest version: the keys are listed so that the skip
    # is exact (a mismatch would still be refused); no lease, no write.
    ops = [(e["surface"], e["operation"]) for e in account_calls(rig, seq)]
    assert ops == [("keyvault", "GetSecret"), ("arm", "Accounts_ListKeys")]
    assert rig.writes_since(seq) == []


def test_a_rival_rotating_after_the_first_read_is_seen_under_the_lease(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=timedelta(days=30))
    rig.backdate(SECRET, "-40d")
    # A lists the vault (its secret due), then stalls before taking the lease.
    a = PausedRun(rig.emu, "after-read", rotate_args(rig.emu, "--if-older-than", "30d"))
    rival = rotate_account(target, rig.services, options())
    assert rival.action is Action.ROTATED, rival.reason
    stored = rig.latest(SECRET)
    seq = rig.emu.last_seq
    done = a.resume()
    # A's listing is stale: the read under its lease finds the rival's version, so it skips it
    # (within its grace) instead of regenerating the slot the rival just stored.
    assert (done.code, done.record["action"], done.record["reason_code"]) == (
        0,
        "skipped",
        "within-grace",
    ), done.stderr
    assert rig.calls(seq, "Accounts_RegenerateKey") == []
    reads = [e for e in rig.calls(seq, "GetSecret") if SECRET in e["path"]]
    assert len(reads) == 1  # the read under the lease, the only one
    assert rig.latest(SECRET).version == stored.version


def test_the_keys_still_decide_before_a_bad_deployment_on_a_due_account(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=timedelta(days=30), deployment="no-such-deployment")
    vault = rig.services.vault(rig.vault_url)
    vault.set_secret(SECRET, SecretValue("x" * 84))  # a value matching neither key
    rig.backdate(SECRET, "-40d")
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    # Due by the vault alone, then the deployment check fails: the keys are read to decide
    # which answer stands, and a mismatch is refused (6) as it always was; no lease, no write.
    assert (record.action, record.reason_code) == (Action.REFUSED, "mismatch"), record.reason
    assert rig.writes_since(seq) == []


def test_a_bad_deployment_on_a_due_account_writes_nothing(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=timedelta(days=30), deployment="no-such-deployment")
    rig.backdate(SECRET, "-40d")
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert (record.action, record.reason_code) == (Action.FAILED, "config"), record.reason
    assert "no-such-deployment" in record.reason
    assert rig.writes_since(seq) == []
