"""The lease cannot lock out its own runner or leak: lost answers, failed releases, bad TTLs."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
import requests

from keyops.errors import InputError
from keyops.rotate import Action, rotate_account
from keyops.rotate.lease import CLAIM_TAG, HOLDER_TAG, Lease, lease_secret_name
from keyops.secret import SecretValue
from keyops.targets import Target
from tests.rotate.boundaries import at_boundary
from tests.rotate.conftest import Rig, options, run_cli

WEU = "contoso-aiservices-weu"


def claims(rig: Rig, target: Target) -> list[object]:
    vault = rig.services.vault(rig.vault_url)
    return list(vault.list_versions(lease_secret_name(target.resource_id, target.account.name)))


def fault(rig: Rig, **rule: object) -> None:
    rig.emu.fault(rule)


def test_a_claim_put_whose_answer_was_lost_is_the_same_claim(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=timedelta(days=7))
    # The claim is saved, the connection dropped; azure-core sends the PUT again.
    fault(rig, operation="SetSecret", kind="drop_after", match="keyops-lease", times=1)
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.ROTATED, record.reason
    found = claims(rig, target)
    assert len(found) == 2 and len({c.tags[CLAIM_TAG] for c in found}) == 1  # type: ignore[attr-defined]
    assert not any(c.enabled for c in found)  # type: ignore[attr-defined]


def test_a_claim_written_but_never_answered_is_released(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=timedelta(days=7))
    fault(rig, operation="SetSecret", kind="drop_after", match="keyops-lease", times=20)
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.FAILED and record.regenerated == []
    written = claims(rig, target)
    assert written and not any(c.enabled for c in written)  # type: ignore[attr-defined]
    rig.emu.admin("DELETE", "faults")
    assert rotate_account(target, rig.services, options()).action is Action.ROTATED


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "status", "status": 502},
        {"kind": "status", "status": 408},
        {"kind": "status", "status": 409},
        {"kind": "drop_before"},
        {"kind": "drop_after"},
    ],
    ids=["502", "408", "409", "drop-before", "drop-after"],
)
def test_release_is_retried_so_the_next_run_is_not_refused(
    rig: Rig, rule: dict[str, object]
) -> None:
    target = rig.target(WEU, rotate_after=timedelta(days=7))
    fault(rig, operation="UpdateSecret", match="keyops-lease", times=1, **rule)
    assert rotate_account(target, rig.services, options()).action is Action.ROTATED
    assert not any(c.enabled for c in claims(rig, target))  # type: ignore[attr-defined]
    nxt = rotate_account(target, rig.services, options(force=True, confirm_breaking_consumers=True))
    assert nxt.action is Action.ROTATED, nxt.reason


def test_a_crashed_runs_claim_names_host_pid_and_start_time(rig: Rig) -> None:
    target = rig.target(WEU)
    rig.backdate(target.secret_name, "-40d")
    done = run_cli(
        rig.emu,
        "rotate",
        "--account",
        WEU,
        "--vault-url",
        rig.vault_url,
        "--if-older-than",
        "30d",
        env={"KEYOPS_TEST_CRASH_AT": "after-lease"},
    )
    assert done.returncode == 137
    (claim,) = claims(rig, target)
    holder = claim.tags[HOLDER_TAG]  # type: ignore[attr-defined]
    assert " pid " in holder and " started 20" in holder and "@" in holder
    refused = run_cli(rig.emu, "rotate", "--account", WEU, "--vault-url", rig.vault_url)
    assert refused.returncode == 6 and holder in refused.stderr


@pytest.mark.parametrize("ttl", ["0s", "59s", "25h", "99999999d"])
def test_lease_ttl_out_of_range_is_a_usage_error_before_any_call(rig: Rig, ttl: str) -> None:
    seq = rig.emu.last_seq
    done = run_cli(
        rig.emu, "rotate", "--account", WEU, "--vault-url", rig.vault_url, "--lease-ttl", ttl
    )
    assert done.returncode == 2, done.stderr
    assert "lease-ttl" in done.stderr and "1m to 24h" in done.stderr
    assert "Traceback" not in done.stderr
    assert [e for e in rig.emu.log_since(seq) if e["surface"] != "admin"] == []


def test_the_lease_library_refuses_a_ttl_out_of_range() -> None:
    with pytest.raises(InputError, match="1m to 24h"):
        Lease(None, "/a", "a", "me", timedelta(0))  # type: ignore[arg-type]


def test_the_emulator_dates_answers_on_its_own_clock(rig: Rig) -> None:
    before = rig.emu.admin("GET", "clock")["now"]
    rig.emu.admin("POST", "clock", {"advance": 7200})
    answer = requests.get(f"{rig.emu.url}/_emulator/health", verify=rig.emu.ca_bundle, timeout=10)
    sent = parsedate_to_datetime(answer.headers["Date"]).timestamp()
    assert sent >= before + 7200 - 2
    # keyops reads Key Vault's time from that header, not from this machine's clock.
    vault = rig.services.vault(rig.vault_url)
    vault.list_versions("anything")
    seen = vault.clock.now()
    assert seen is not None and seen.timestamp() >= before + 7200 - 2


def test_a_claim_attempt_written_after_the_last_look_is_released_too(rig: Rig) -> None:
    """The claim PUT's answer is lost and azure-core sends it again; one attempt is written by
    the server only after the run's last look (a stalled server: here the hook writes it, with
    the claim's own tags). A claim sent twice is listed again at release, and that version is
    disabled too: it does not hold the next run off (6) until the lease's TTL."""
    target = rig.target(WEU, rotate_after=timedelta(days=7))
    name = lease_secret_name(target.resource_id, target.account.name)
    vault = rig.services.vault(rig.vault_url)
    fault(rig, operation="SetSecret", kind="drop_after", match="keyops-lease", times=1)

    def late_attempt() -> None:
        (claim, *_) = vault.list_versions(name)
        vault.set_secret(name, SecretValue("late-attempt"), tags=claim.tags)

    # After the fence before the store: the last look.
    with at_boundary("after-confirm", late_attempt):
        record = rotate_account(target, rig.services, options())
    assert record.action is Action.ROTATED, record.reason
    written = claims(rig, target)
    assert len(written) == 3 and not any(c.enabled for c in written)  # type: ignore[attr-defined]
    following = Lease(vault, target.resource_id, target.account.name, "the next run")
    following.acquire()  # not held off
    following.release()


def test_a_claim_sent_once_is_released_without_listing_again(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=timedelta(days=7))
    seq = rig.emu.last_seq
    assert rotate_account(target, rig.services, options(force=True)).action is Action.ROTATED
    last = [e["operation"] for e in rig.emu.log_since(seq) if e["surface"] == "keyvault"][-2:]
    assert last == ["GetSecret", "UpdateSecret"]  # the read-back, then the release alone
