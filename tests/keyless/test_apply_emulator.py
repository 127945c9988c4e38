"""``keyless apply`` against the emulator with the real SDKs: the last check, the If-Match PATCH,
the data plane refusing keys only once the switch arrives, the 403 watch from Azure Monitor, and
``--rollback`` with and without regenerating the keys. The evidence is handed in through the
reader interface; everything else is real calls."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from keyops.azure.arm import AccountChangedError
from keyops.azure.metrics import MetricsClient
from keyops.errors import KeyopsError, RefusedError
from keyops.exitcodes import ExitStatus
from keyops.keyless.apply import ApplyOptions, KeylessClients, apply
from tests.emulator.openai_support import chat, token
from tests.rotate.conftest import Rig
from tests.rotate.test_cli import invoke
from tests.support.evidence import Caller, HandedEvidence, evidence

EUS = "contoso-openai-eus"
DELAY = 120  # seconds before the switch reaches the data plane


def _server_now(rig: Rig) -> datetime:
    from datetime import timezone

    return datetime.fromtimestamp(rig.emu.admin("GET", "clock")["now"], timezone.utc)


@pytest.fixture
def clients(rig: Rig) -> Any:
    rig.emu.admin("POST", "settings", {"local_auth_delay": DELAY})
    target = rig.target(EUS)
    metrics = MetricsClient(rig.env, rig.emu.credential(), target.account.subscription_id)
    reader = HandedEvidence(evidence(_server_now(rig)))
    yield KeylessClients(rig.services.accounts(target.account.subscription_id), metrics, reader)
    metrics.close()


def _advance(rig: Rig, seconds: float) -> None:
    rig.emu.admin("POST", "clock", {"advance": seconds})


def _key(rig: Rig) -> str:
    return rig.keys(rig.target(EUS)).key1.reveal()


def test_the_dry_run_writes_nothing(rig: Rig, clients: KeylessClients) -> None:
    seq = rig.emu.last_seq
    result = apply(rig.target(EUS), clients, ApplyOptions())
    assert result.code == "would-disable" and "If-Match" in result.reason
    assert rig.writes_since(seq) == []


def test_a_key_caller_in_the_quiet_window_refuses_and_writes_nothing(
    rig: Rig, clients: KeylessClients
) -> None:
    now = _server_now(rig)
    clients.evidence.current = evidence(  # type: ignore[attr-defined]
        now,
        callers=(
            Caller("key", "203.0.113.5", 12, now - timedelta(days=6), now - timedelta(hours=3)),
        ),
    )
    seq = rig.emu.last_seq
    with pytest.raises(RefusedError) as info:
        apply(rig.target(EUS), clients, ApplyOptions(confirm=True))
    assert "203.0.113.5" in info.value.message and info.value.exit_status is ExitStatus.REFUSED
    assert rig.writes_since(seq) == []


def test_a_last_check_shorter_than_a_week_is_warned(rig: Rig, clients: KeylessClients) -> None:
    short = apply(rig.target(EUS), clients, ApplyOptions(quiet_for=timedelta(days=1)))
    assert short.code == "would-disable" and "weekly" in " ".join(short.warnings), short
    assert apply(rig.target(EUS), clients, ApplyOptions()).warnings == []


def test_logs_that_cannot_show_no_key_caller_refuse(rig: Rig, clients: KeylessClients) -> None:
    clients.evidence.current = evidence(  # type: ignore[attr-defined]
        _server_now(rig), gap="contoso-openai-eus: RequestResponse is not enabled"
    )
    with pytest.raises(RefusedError, match="RequestResponse is not enabled"):
        apply(rig.target(EUS), clients, ApplyOptions(confirm=True))


def test_the_switch_then_the_watch_sees_the_key_caller_it_broke(
    rig: Rig, clients: KeylessClients
) -> None:
    target, key = rig.target(EUS), _key(rig)
    seq = rig.emu.last_seq
    done = apply(target, clients, ApplyOptions(confirm=True))
    assert done.code == "disabled"
    (patch,) = [w for w in rig.writes_since(seq) if w["operation"] == "Accounts_Update"]
    assert chat(rig.emu, EUS, api_key=key).status_code == 200  # Azure takes minutes
    _advance(rig, DELAY + 1)
    refused = chat(rig.emu, EUS, api_key=key)
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        403,
        "AuthenticationTypeDisabled",
    )
    oid_token = token(rig.emu, "app-consumer")
    assert chat(rig.emu, EUS, bearer=oid_token).status_code == 200  # token callers unharmed
    _advance(rig, 240)  # past Azure Monitor's ingestion lag
    watched = apply(target, clients, ApplyOptions())
    assert (watched.code, watched.rejected, watched.status) == (
        "broke-callers",
        1,
        ExitStatus.FAILED,
    )
    assert "--rollback" in watched.reason
    assert patch["status"] == 200


def test_a_clean_switch_is_watched_then_called_keyless(rig: Rig, clients: KeylessClients) -> None:
    target = rig.target(EUS)
    apply(target, clients, ApplyOptions(confirm=True))
    _advance(rig, DELAY + 60)
    assert apply(target, clients, ApplyOptions(watch=timedelta(minutes=30))).code == "watching"
    _advance(rig, 1800)
    final = apply(target, clients, ApplyOptions(watch=timedelta(minutes=30)))
    assert (final.code, final.rejected, final.status) == ("keyless", 0, ExitStatus.OK)


def test_a_stale_etag_is_refused_and_changes_nothing(rig: Rig, clients: KeylessClients) -> None:
    """A portal user changed the account between keyops' read and its write."""
    from azure.mgmt.cognitiveservices.models import Account, AccountProperties

    target = rig.target(EUS)
    read = clients.arm.get_account(target.account.id)
    with rig.emu.mgmt_client("keyops-rotator") as portal:
        portal.accounts.begin_update(
            target.account.resource_group,
            EUS,
            Account(tags={"owner": "portal"}, properties=AccountProperties()),
        ).result()
    assert read.etag is not None
    with pytest.raises(AccountChangedError) as info:
        clients.arm.set_disable_local_auth(target.account.id, True, if_match=read.etag)
    assert info.value.exit_status is ExitStatus.REFUSED
    assert clients.arm.get_account(target.account.id).disable_local_auth is False


def test_rollback_warns_the_old_keys_are_live_again_and_they_are(
    rig: Rig, clients: KeylessClients
) -> None:
    target, key = rig.target(EUS), _key(rig)
    apply(target, clients, ApplyOptions(confirm=True))
    _advance(rig, DELAY + 1)
    planned = apply(target, clients, ApplyOptions(rollback=True))
    assert planned.code == "would-enable" and "--regenerate-keys" in planned.reason
    back = apply(target, clients, ApplyOptions(rollback=True, confirm=True))
    assert back.code == "enabled" and "work again" in back.warnings[0]
    _advance(rig, DELAY + 1)
    assert chat(rig.emu, EUS, api_key=key).status_code == 200


def test_rollback_with_regenerated_keys_never_lets_the_old_key_back(
    rig: Rig, clients: KeylessClients
) -> None:
    target, key = rig.target(EUS), _key(rig)
    assert invoke(rig.emu, "rotate", "--vault-url", rig.vault_url, "--account", EUS).exit_code == 0
    apply(target, clients, ApplyOptions(confirm=True))
    _advance(rig, DELAY + 1)
    back = apply(target, clients, ApplyOptions(rollback=True, confirm=True, regenerate_keys=True))
    assert "--repair" in back.warnings[0]
    # A repair before the switch back reaches the data plane finds both keys refused: said so.
    assert "once Azure applies the change" in back.warnings[0]
    repair = ("rotate", "--vault-url", rig.vault_url, "--account", EUS, "--repair")
    assert invoke(rig.emu, *repair, "--confirm-repair").exit_code == 1
    for _ in range(2):
        assert chat(rig.emu, EUS, api_key=key).status_code in (401, 403)
        _advance(rig, DELAY + 1)
    # Keys on again: the repair stores a new key that works, the old one stays dead.
    assert invoke(rig.emu, *repair, "--confirm-repair").exit_code == 0
    stored = rig.latest(target.secret_name).value.reveal()
    assert chat(rig.emu, EUS, api_key=stored).status_code == 200 and stored != key


def test_a_rollback_stopped_before_its_keys_are_regenerated_leaves_no_old_key_live(
    rig: Rig, clients: KeylessClients
) -> None:
    """The first regeneration fails: keys stay off, and the rerun does the whole rollback."""
    target, key = rig.target(EUS), _key(rig)
    apply(target, clients, ApplyOptions(confirm=True))
    _advance(rig, DELAY + 1)
    rig.emu.fault({"operation": "Accounts_RegenerateKey", "status": 409, "times": 1})
    rollback = ApplyOptions(rollback=True, confirm=True, regenerate_keys=True)
    with pytest.raises(KeyopsError):
        apply(target, clients, rollback)
    again = apply(target, clients, rollback)
    assert again.code == "enabled" and "--repair" in again.warnings[0]
    _advance(rig, DELAY + 1)
    assert chat(rig.emu, EUS, api_key=key).status_code == 401  # keys on, the old one dead


def test_a_lost_answer_to_the_patch_is_not_taken_for_someone_elses_write(
    rig: Rig, clients: KeylessClients
) -> None:
    """The PATCH is saved but its connection drops: the account read again says it is done."""
    rig.emu.fault({"operation": "Accounts_Update", "kind": "drop_after", "times": 1})
    seq = rig.emu.last_seq
    done = apply(rig.target(EUS), clients, ApplyOptions(confirm=True))
    assert done.code == "disabled"
    updates = [e for e in rig.emu.log_since(seq) if e["operation"] == "Accounts_Update"]
    assert len(updates) == 1  # never sent again on an etag it made itself
    assert clients.arm.get_account(rig.target(EUS).account.id).disable_local_auth is True
