"""``rotate --revoke-previous when-moved`` end to end on the emulator: consumers declared in the
world read the secret on their own schedules and call the account with the key they hold; the
revoke waits (0, naming who lags) while one of them still holds the previous key, refuses (6)
past --max-wait, and goes ahead once the logs show every reader on the new version. Nothing is
handed in: the evidence comes from the emulated Azure Monitor Logs through keyops' real reader."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from keyops.azure.metrics import MetricsClient
from keyops.cloud import resolve_environment
from tests.consumers.worlds import PRINCIPALS, SECRET, WEU, consumers_document
from tests.rotate.test_cli import invoke
from tests.support.emulator import EmulatorHandle, start_emulator

APP_OID = PRINCIPALS["billing-api"][1]
WEEKLY_OID = PRINCIPALS["weekly-report"][1]
HOUR = 3600.0


def _world(*extra: dict[str, object]) -> object:
    from keyops.emulator.world import parse_world

    doc = consumers_document(ingestion_delay="5m")
    doc["consumers"] = [
        {  # reads daily, calls with the key it read every 30 minutes
            "name": "billing-api",
            "principal": "billing-api",
            "ip": "10.20.0.4",
            "account": WEU,
            "auth": "key",
            "secret": SECRET,
            "refresh": "24h",
            "calls_every": "30m",
            "start": "-3d",
        },
        {  # reads once a week: it last read a day ago, so next in six days
            "name": "weekly-report",
            "principal": "weekly-report",
            "ip": "10.21.0.5",
            "secret": SECRET,
            "refresh": "7d",
            "start": "-1d",
        },
        *extra,
    ]
    return parse_world(doc, "<when-moved world>")


@pytest.fixture
def emu(tmp_path: Path, tls_dir: Path) -> Iterator[EmulatorHandle]:
    handle = start_emulator(tmp_path / "emulator", tls_dir, world=_world())
    yield handle
    gc.collect()
    handle.stop()


def _rotate(emu: EmulatorHandle, *extra: str) -> tuple[int, dict[str, object], str]:
    result = invoke(
        emu,
        "rotate",
        "--vault-url",
        emu.vault_url(),
        "--account",
        WEU,
        "--revoke-previous",
        "when-moved",
        *extra,
        "-o",
        "json",
    )
    (record,) = json.loads(result.stdout)["accounts"]
    return result.exit_code, record, result.stderr


def _advance(emu: EmulatorHandle, seconds: float) -> None:
    emu.admin("POST", "clock", {"advance": seconds})


def _rejected_since(emu: EmulatorHandle, start: datetime) -> int:
    """Key calls answered 401 (a consumer holding a dead key) since ``start``, from Monitor."""
    env = resolve_environment(str(emu.connection_path), None)
    account = emu.account(WEU)
    now = datetime.fromtimestamp(emu.admin("GET", "clock")["now"], timezone.utc)
    with emu.credential() as credential:
        metrics = MetricsClient(env, credential, emu.conn["subscription_id"])
        try:
            counts = metrics.requests_by_status(account["id"], WEU, start, now)
        finally:
            metrics.close()
    return counts.get("401", 0)


def _now(emu: EmulatorHandle) -> datetime:
    return datetime.fromtimestamp(emu.admin("GET", "clock")["now"], timezone.utc)


def test_the_revoke_waits_for_the_daily_and_the_weekly_reader_then_goes(
    emu: EmulatorHandle,
) -> None:
    status, record, err = _rotate(emu, "--force")
    assert (status, record["action"]) == (0, "rotated"), err
    stored = _now(emu)
    status, record, err = _rotate(emu)
    assert (status, record["reason_code"]) == (0, "revoke-waiting"), err
    assert APP_OID in err and WEEKLY_OID in err and "start-up" in err
    _advance(emu, 25 * HOUR)  # the daily reader refreshed; the weekly one did not
    status, record, err = _rotate(emu)
    assert (status, record["reason_code"]) == (0, "revoke-waiting"), err
    assert WEEKLY_OID in err and APP_OID not in err
    _advance(emu, 5 * 24 * HOUR + 2 * HOUR)  # past the weekly reader's next read (+6d)
    status, record, err = _rotate(emu)
    assert (status, record["action"], record["reason_code"]) == (0, "revoked", "revoke-moved"), err
    _advance(emu, 3 * HOUR)
    assert _rejected_since(emu, stored) == 0  # no consumer was left holding the revoked key


def test_a_reader_still_lagging_past_max_wait_is_a_refusal(emu: EmulatorHandle) -> None:
    status, record, err = _rotate(emu, "--force", "--max-wait", "2d")
    assert status == 0, err
    _advance(emu, 3 * 24 * HOUR)
    status, record, err = _rotate(emu)
    assert (status, record["reason_code"]) == (6, "revoke-lagging"), err
    assert WEEKLY_OID in record["reason"] and "--revoke-previous now" in record["reason"]


def test_a_read_inside_the_ingestion_delay_does_not_count_as_moved(emu: EmulatorHandle) -> None:
    """The daily reader refreshes at +24h; a run two minutes later cannot see that read yet."""
    status, _, err = _rotate(emu, "--force")
    assert status == 0, err
    # billing-api started -3d with a 24h refresh: its next read is on a whole day from then.
    _advance(emu, 24 * HOUR + 120)
    status, record, err = _rotate(emu)
    assert record["reason_code"] == "revoke-waiting" and APP_OID in err, err


def test_a_revoke_now_breaks_the_lagging_reader_as_the_metrics_show(emu: EmulatorHandle) -> None:
    """The contrast that makes the check above mean something: revoking at once leaves the
    daily reader calling with a dead key until its next refresh."""
    start = _now(emu)
    result = invoke(
        emu,
        "rotate",
        "--vault-url",
        emu.vault_url(),
        "--account",
        WEU,
        "--force",
        "--revoke-previous",
        "--confirm-revoke",
    )
    assert result.exit_code == 0, result.stderr
    _advance(emu, 3 * HOUR)
    assert _rejected_since(emu, start) > 0


def test_the_grace_guard_names_the_reader_of_the_key_a_rotation_would_kill(
    emu: EmulatorHandle,
) -> None:
    args = ("rotate", "--vault-url", emu.vault_url(), "--account", WEU, "-o", "json")
    first = invoke(emu, *args, "--force")
    assert first.exit_code == 0, first.stderr
    _advance(emu, 49 * HOUR)  # past the 48h grace period; the weekly reader still holds Key1
    seq = emu.last_seq
    refused = invoke(emu, *args, "--force", "--check-consumers")
    (record,) = json.loads(refused.stdout)["accounts"]
    assert (refused.exit_code, record["reason_code"]) == (6, "key-in-use"), refused.stderr
    assert WEEKLY_OID in record["reason"] and APP_OID not in record["reason"]
    assert not [e for e in emu.log_since(seq) if e["operation"] == "Accounts_RegenerateKey"]
    confirmed = invoke(emu, *args, "--force", "--check-consumers", "--confirm-breaking-consumers")
    assert confirmed.exit_code == 0, confirmed.stderr
    assert json.loads(confirmed.stdout)["accounts"][0]["action"] == "rotated"


def _statuses_since(emu: EmulatorHandle, start: datetime) -> dict[str, int]:
    env = resolve_environment(str(emu.connection_path), None)
    account = emu.account(WEU)
    with emu.credential() as credential:
        metrics = MetricsClient(env, credential, emu.conn["subscription_id"])
        try:
            return metrics.requests_by_status(account["id"], WEU, start, _now(emu))
        finally:
            metrics.close()


def test_a_declared_key_consumer_is_refused_only_once_the_switch_reaches_the_data_plane(
    emu: EmulatorHandle,
) -> None:
    from keyops.azure.arm import AccountsClient

    emu.admin("POST", "settings", {"local_auth_delay": 3 * HOUR})
    start = _now(emu)
    env = resolve_environment(str(emu.connection_path), None)
    with emu.credential() as credential:
        arm = AccountsClient(env, credential, emu.conn["subscription_id"])
        account = arm.get_account(emu.account(WEU)["id"])
        assert account.etag is not None
        arm.set_disable_local_auth(account.id, True, if_match=account.etag)
    # One jump past two hours: the calls it replays were made before the switch arrived.
    _advance(emu, 2 * HOUR)
    early = _statuses_since(emu, start)
    assert early.get("403", 0) == 0 and early.get("200", 0) >= 3, early
    _advance(emu, 2 * HOUR)  # one jump across the switch's arrival at 3h
    late = _statuses_since(emu, start)
    assert late.get("403", 0) >= 1, late  # the calls after it
    assert late.get("200", 0) >= early.get("200", 0) + 1, late  # the calls before it


@pytest.fixture
def pasted_emu(tmp_path: Path, tls_dir: Path) -> Iterator[EmulatorHandle]:
    """The world plus a process given Key1 by hand: it calls hourly and never reads the vault."""
    pasted = {
        "name": "pasted",
        "ip": "10.99.0.9",
        "account": WEU,
        "auth": "key",
        "key_slot": "Key1",
        "calls_every": "1h",
        "start": "-2d",
    }
    handle = start_emulator(tmp_path / "emulator", tls_dir, world=_world(pasted))
    yield handle
    gc.collect()
    handle.stop()


def test_the_grace_guard_names_a_key_caller_no_version_accounts_for(
    pasted_emu: EmulatorHandle,
) -> None:
    emu = pasted_emu
    args = ("rotate", "--vault-url", emu.vault_url(), "--account", WEU, "-o", "json")
    first = invoke(emu, *args, "--force", "--check-consumers")
    assert first.exit_code == 0, first.stderr
    assert "10.99.0.9" in first.stderr and "regenerating Key2" in first.stderr, first.stderr
    assert "warning:" in first.stderr
