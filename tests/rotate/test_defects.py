"""The smaller defects of issue 9, each a regression test against the emulator."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from keyops.exitcodes import ExitStatus
from keyops.rotate import Action, exit_status, rotate_account
from tests.rotate.conftest import Rig, options, run_cli

WEU = "contoso-aiservices-weu"
EUS = "contoso-openai-eus"
SECRET = f"{WEU}-api-key"


def cli(rig: Rig, *args: str, **env: str) -> tuple[int, str, str]:
    done = run_cli(rig.emu, *args, env=env or None)
    return done.returncode, done.stdout, done.stderr


def test_a_non_ascii_secret_is_refused_in_one_line_by_rotate_and_audit(rig: Rig) -> None:
    client = rig.emu.secret_client()
    client.set_secret(SECRET, "clé-ключ-" + "a" * 20)
    client.close()
    seq = rig.emu.last_seq
    code, _, err = cli(rig, "rotate", "--account", WEU, "--vault-url", rig.vault_url)
    assert code == 6, err
    assert "non-ASCII" in err and "matches neither" in err and "Traceback" not in err
    assert "internal error" not in err and rig.calls(seq, "Accounts_RegenerateKey") == []
    code, out, err = cli(rig, "audit", "--account", WEU, "--vault-url", rig.vault_url, "-o", "json")
    assert "internal error" not in err and "Traceback" not in err, err
    assert "AUD017" in out


def test_a_validity_out_of_range_fails_before_any_write_in_dry_and_real_runs(rig: Rig) -> None:
    target = rig.target(WEU, validity=timedelta(days=99999999), rotate_after=timedelta(days=7))
    seq = rig.emu.last_seq
    for dry in (True, False):
        record = rotate_account(target, rig.services, options(dry_run=dry))
        assert (record.action, record.error_status) == (Action.FAILED, 3), record.reason
        assert "validity" in record.reason and "3650d" in record.reason
    assert rig.writes_since(seq) == []


def test_a_missing_deployment_fails_before_the_lease(rig: Rig) -> None:
    target = rig.target(WEU, deployment="no-such-deployment", rotate_after=timedelta(days=7))
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.FAILED and "no-such-deployment" in record.reason
    assert rig.writes_since(seq) == []  # not even a lease claim


def test_a_soft_deleted_secret_is_refused_alike_by_dry_and_real_runs(rig: Rig) -> None:
    client = rig.emu.secret_client()
    client.begin_delete_secret(SECRET).wait()
    client.close()
    target = rig.target(WEU)
    seq = rig.emu.last_seq
    for dry in (True, False):
        record = rotate_account(target, rig.services, options(dry_run=dry))
        assert record.action is Action.REFUSED, record.reason
        assert "recover" in record.reason and "purge" in record.reason
        assert exit_status([record]) is ExitStatus.REFUSED
    assert rig.writes_since(seq) == []


def test_a_lost_regenerate_answer_is_recorded(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=timedelta(days=7))
    before = rig.latest(SECRET)
    rig.emu.fault({"operation": "Accounts_RegenerateKey", "kind": "drop_after", "times": 1})
    record = rotate_account(target, rig.services, options())
    changed = [e for e in rig.emu.log_since(0) if e["operation"] == "Accounts_RegenerateKey"]
    assert changed and changed[0]["changed"]
    assert "Key2" in record.regenerated, record.to_dict()
    if record.action is Action.FAILED:  # not retried: the record says what happened
        assert any("answer was lost" in w for w in record.warnings)
        assert rig.latest(SECRET).version == before.version


def test_a_pending_revoke_warns_on_every_run_without_the_flag(rig: Rig) -> None:
    base = ("rotate", "--account", WEU, "--vault-url", rig.vault_url, "--if-older-than", "7d")
    flags = ("--revoke-previous", "--confirm-revoke", "--lease-ttl", "60s")
    code, _, _ = cli(rig, *base, *flags, KEYOPS_TEST_CRASH_AT="after-store")
    assert code == 137
    rig.emu.admin("POST", "clock", {"advance": 61})
    seq = rig.emu.last_seq
    for _ in range(2):
        code, _, err = cli(rig, *base)
        assert code == 0, err
        assert "revoke of Key1 pending since" in err and "--revoke-previous" in err
    assert rig.calls(seq, "Accounts_RegenerateKey") == []


def test_a_throttled_key_test_counts_as_accepted(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=timedelta(days=7))
    rig.emu.admin("POST", "throttle", {"surface": "openai", "rate": 0.001, "burst": 0})
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options())
    assert record.action is Action.ROTATED, record.reason
    tests = rig.calls(seq, "ChatCompletions_Create")
    assert tests and all(e["status"] == 429 for e in tests)
    # Azure throttles only callers it authenticated: a wrong key still gets 401, from the
    # throttle and from a scripted 429 alike.
    rig.emu.fault({"operation": "ChatCompletions_Create", "kind": "status", "status": 429})
    bad = requests.post(
        f"{target.account.endpoint}openai/deployments/gpt-4o/chat/completions"
        "?api-version=2024-10-21",
        json={"messages": [{"role": "user", "content": "x"}]},
        headers={"api-key": "0" * 32},
        verify=rig.emu.ca_bundle,
        timeout=10,
    )
    assert bad.status_code == 401


def test_a_reasoning_deployment_tests_keys_with_max_completion_tokens(rig: Rig) -> None:
    rig.emu.admin(
        "POST",
        "accounts",
        {
            "name": "contoso-reasoning",
            "resource_group": "rg-ai-prod",
            "custom_subdomain": "contoso-reasoning",
            "deployments": [{"name": "o3-mini", "model": "o3-mini", "api": "chat"}],
        },
    )
    target = rig.target("contoso-reasoning", deployment="o3-mini")
    key = rig.keys(target).key1
    url = f"{target.account.endpoint}openai/deployments/o3-mini/chat/completions"
    answer = requests.post(
        f"{url}?api-version=2024-10-21",
        json={"messages": [{"role": "user", "content": "x"}], "max_tokens": 1},
        headers={"api-key": key.reveal()},
        verify=rig.emu.ca_bundle,
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "unsupported_parameter"
    adopted = rotate_account(target, rig.services, options())
    assert adopted.action is Action.ADOPTED, adopted.reason
    rig.backdate(target.secret_name, "-40d")
    seq = rig.emu.last_seq
    record = rotate_account(target, rig.services, options(if_older_than=timedelta(days=30)))
    assert record.action is Action.ROTATED, record.reason
    assert [e["status"] for e in rig.calls(seq, "ChatCompletions_Create")] == [400, 200]


def test_a_409_on_the_store_is_a_conflict_with_status_1(rig: Rig) -> None:
    target = rig.target(WEU, rotate_after=timedelta(days=7))
    rig.emu.fault(
        {
            "operation": "SetSecret",
            "kind": "status",
            "status": 409,
            "code": "Conflict",
            "match": SECRET,
            "times": 1,
        }
    )
    record = rotate_account(target, rig.services, options())
    assert (record.action, record.reason_code, record.error_status) == (
        Action.FAILED,
        "conflict",
        1,
    ), record.reason
    assert exit_status([record]) is ExitStatus.FAILED
    assert json.dumps(record.to_dict())  # serialisable, no key in it


FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")


@pytest.mark.skipif(not FAKETIME.exists(), reason="libfaketime is not installed")
def test_a_runner_clock_two_hours_fast_still_respects_the_grace_period(rig: Rig) -> None:
    rig.backdate(SECRET, "-47h")  # inside the 48 h grace on Key Vault's clock
    seq = rig.emu.last_seq
    skew = {"LD_PRELOAD": str(FAKETIME), "FAKETIME": "+2h"}
    base = ("rotate", "--account", WEU, "--vault-url", rig.vault_url, "--if-older-than", "1h")
    code, out, err = cli(rig, *base, "-o", "json", **skew)
    assert code == 0 and json.loads(out)["accounts"][0]["reason_code"] == "within-grace", err
    assert rig.calls(seq, "Accounts_RegenerateKey") == []
