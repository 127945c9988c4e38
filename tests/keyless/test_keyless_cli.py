"""``keyops keyless plan`` and ``apply`` end to end on the emulator: callers declared in the world
call on their own schedules, their records reach the emulated Azure Monitor Logs, and keyops
reads them with its real clients. A weekly key caller and one seen only inside the ingestion
delay keep their accounts blocked; the ready account is switched, and its token caller goes on
working while its key callers drop to zero."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.keyless.worlds import EUS, LEGACY, WEU, keyless_world
from tests.rotate.test_cli import invoke
from tests.support.emulator import EmulatorHandle, start_emulator

HOUR = 3600.0


@pytest.fixture
def emu(tmp_path: Path, tls_dir: Path) -> Iterator[EmulatorHandle]:
    handle = start_emulator(tmp_path / "emulator", tls_dir, world=keyless_world())
    handle.admin("POST", "settings", {"local_auth_delay": 300})
    yield handle
    gc.collect()
    handle.stop()


def _plan(emu: EmulatorHandle) -> dict[str, Any]:
    result = invoke(emu, "keyless", "plan", "--vault-url", emu.vault_url(), "-o", "json")
    assert result.exit_code == 0, result.stderr
    return {p["account"]: p for p in json.loads(result.stdout)["accounts"]}


def _apply(emu: EmulatorHandle, account: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = invoke(
        emu,
        "keyless",
        "apply",
        "--vault-url",
        emu.vault_url(),
        "--account",
        account,
        *extra,
        "-o",
        "json",
    )
    return result.exit_code, json.loads(result.stdout) if result.stdout else {}, result.stderr


def test_weekly_and_delayed_key_callers_block_ready(emu: EmulatorHandle) -> None:
    plans = _plan(emu)
    assert plans[EUS]["verdict"] == "ready", plans[EUS]
    assert plans[WEU]["verdict"] == "blocked"
    assert any("10.60.0.3" in b and "5d" in b for b in plans[WEU]["blocked_by"]), plans[WEU]
    assert plans[LEGACY]["verdict"] == "blocked"
    assert any("10.70.0.8" in b and "ingestion delay" in b for b in plans[LEGACY]["blocked_by"])
    assert plans["contoso-openai-entra"]["verdict"] == "keyless"


def test_a_short_lookback_never_calls_ready(emu: EmulatorHandle) -> None:
    result = invoke(
        emu, "keyless", "plan", "--vault-url", emu.vault_url(), "--lookback", "2d", "-o", "json"
    )
    plans = {p["account"]: p for p in json.loads(result.stdout)["accounts"]}
    assert all(p["verdict"] != "ready" for p in plans.values())


def test_apply_refuses_an_account_with_a_weekly_key_caller(emu: EmulatorHandle) -> None:
    seq = emu.last_seq
    status, _, err = _apply(emu, WEU, "--confirm")
    assert status == 6 and "10.60.0.3" in err, err
    assert not [e for e in emu.log_since(seq) if e["operation"] == "Accounts_Update"]


def test_the_ready_account_goes_keyless_and_its_token_caller_keeps_working(
    emu: EmulatorHandle,
) -> None:
    status, doc, err = _apply(emu, EUS)
    assert (status, doc["code"]) == (0, "would-disable"), err
    status, doc, err = _apply(emu, EUS, "--confirm")
    assert (status, doc["code"]) == (0, "disabled"), err
    emu.admin("POST", "clock", {"advance": 3 * HOUR})
    status, doc, err = _apply(emu, EUS, "--watch", "1h")
    assert (status, doc["code"], doc["rejected"]) == (0, "keyless", 0), err
    plan = _plan(emu)[EUS]
    assert plan["verdict"] == "keyless" and plan["key_callers"] == []
    calls = invoke(emu, "consumers", "--vault-url", emu.vault_url(), "--account", EUS, "-o", "json")
    assert calls.exit_code == 0, calls.stderr
    assert '"token"' in calls.stdout and '"key"' not in calls.stdout


def test_a_last_check_too_short_for_the_weekly_caller_is_caught_by_the_watch(
    emu: EmulatorHandle,
) -> None:
    """--quiet-for 1d misses the weekly caller (last seen 5 days ago); its next call after the
    switch is a 403, and the watch reports it (1) and names the rollback."""
    status, doc, err = _apply(emu, WEU, "--confirm", "--quiet-for", "1d")
    assert (status, doc["code"]) == (0, "disabled"), err
    emu.admin("POST", "clock", {"advance": 2 * 24 * HOUR + HOUR})  # its weekly call is at +2d
    status, doc, err = _apply(emu, WEU, "--watch", "30m")
    assert (status, doc["code"]) == (1, "broke-callers"), err
    assert doc["rejected"] >= 1 and "--rollback" in doc["reason"]
    status, doc, err = _apply(emu, WEU, "--rollback", "--confirm")
    assert (status, doc["code"]) == (0, "enabled") and "work again" in err, err


@pytest.fixture
def shared_ip_emu(tmp_path: Path, tls_dir: Path) -> Iterator[EmulatorHandle]:
    """The keyless world plus a process with a key pasted by hand that calls the ready account
    hourly from the IP keyops itself runs from (one NAT gateway, or the same machine)."""
    pasted = {
        "name": "pasted-on-the-runner",
        "ip": "127.0.0.1",
        "account": EUS,
        "auth": "key",
        "key_slot": "Key1",
        "calls_every": "1h",
        "start": "-3d",
    }
    handle = start_emulator(tmp_path / "emulator", tls_dir, world=keyless_world(pasted))
    yield handle
    gc.collect()
    handle.stop()


def test_a_key_caller_sharing_keyops_ip_still_blocks_ready_and_apply(
    shared_ip_emu: EmulatorHandle,
) -> None:
    emu = shared_ip_emu
    for _ in range(2):  # adopt, then a rerun that reads the secret (keyops' own read, its IP)
        ran = invoke(emu, "rotate", "--vault-url", emu.vault_url(), "--account", EUS)
        assert ran.exit_code == 0, ran.stderr
    emu.admin("POST", "clock", {"advance": 3 * HOUR})
    plan = _plan(emu)[EUS]
    assert plan["verdict"] == "blocked", plan
    assert any("127.0.0.1" in b for b in plan["blocked_by"]), plan
    seq = emu.last_seq
    status, _, err = _apply(emu, EUS, "--confirm")
    assert status == 6 and "127.0.0.1" in err, err
    assert not [e for e in emu.log_since(seq) if e["operation"] == "Accounts_Update"]
