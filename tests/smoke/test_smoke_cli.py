"""``keyops smoke`` end to end against the emulator: every key source, Entra, JSON, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from keyops.emulator.services.arm.models import current_key
from keyops.exitcodes import ExitStatus
from keyops.secret import fingerprint_of
from tests.smoke.clihelp import assert_no_key, every_key, run
from tests.support.emulator import EmulatorHandle

EUS = "contoso-openai-eus"
WEU = "contoso-aiservices-weu"
ENTRA = "contoso-openai-entra"  # disableLocalAuth: no secret, keys refused by design


def _rows(stdout: str) -> list[str]:
    """The table's rows, after its header (result, account, deployment, ...)."""
    header, *rows = stdout.splitlines()
    assert header.split()[:4] == ["result", "account", "deployment", "outcome"]
    return rows


def _key(handle: EmulatorHandle, account: str, slot: str = "Key1") -> str:
    return current_key(handle.server.emulator, account, slot)


def _endpoint(handle: EmulatorHandle, account: str = EUS) -> str:
    return str(handle.account(account)["endpoint"])


def test_key_from_the_vault(shared_emulator: EmulatorHandle) -> None:
    r = run(
        shared_emulator, ["smoke", "--account", WEU, "--vault-url", shared_emulator.vault_url()]
    )
    assert r.exit_code == 0, r.stderr
    [line] = _rows(r.stdout)
    assert line.startswith("ok") and WEU in line and "gpt-4o" in line
    assert fingerprint_of(_key(shared_emulator, WEU)) in line
    assert "(vault " in line and "/contoso-aiservices-weu-api-key)" in line
    assert "1 ok, 0 failed" in r.stderr
    assert_no_key([r.stdout, r.stderr], every_key(shared_emulator))


def test_key_from_arm_slot_for_every_discovered_account(shared_emulator: EmulatorHandle) -> None:
    r = run(shared_emulator, ["smoke", "--slot", "Key2", "-o", "json"])
    doc = json.loads(r.stdout)
    outcomes = {x["name"]: x["outcome"] for x in doc["results"]}
    # The disableLocalAuth account's keys are unusable by design: skipped, not a failure.
    assert outcomes == {
        EUS: "ok",
        WEU: "ok",
        "contoso-openai-legacy": "ok",
        ENTRA: "local_auth_disabled",
    }
    assert r.exit_code == ExitStatus.OK and doc["schema"] == "keyops.smoke/v1"
    eus = next(x for x in doc["results"] if x["name"] == EUS)
    assert eus["fingerprint"] == fingerprint_of(_key(shared_emulator, EUS, "Key2"))
    assert doc["summary"] == {"total": 4, "ok": 3, "failed": 0, "skipped": 1}
    assert_no_key([r.stdout, r.stderr], every_key(shared_emulator))


def test_a_keyless_account_is_skipped_when_keys_come_from_the_vault(
    shared_emulator: EmulatorHandle,
) -> None:
    vault = ["--vault-url", shared_emulator.vault_url()]
    alone = run(shared_emulator, ["smoke", "--account", ENTRA, *vault])
    assert alone.exit_code == ExitStatus.OK, alone.stderr
    [line] = _rows(alone.stdout)
    assert line.startswith("skip") and ENTRA in line and "FAIL" not in line
    assert line.endswith("local auth disabled: keys are not used; try --auth entra")
    assert "0 ok, 0 failed, 1 skipped of 1" in alone.stderr

    fleet = run(shared_emulator, ["smoke", *vault, "-o", "json"])
    rows = {x["name"]: x for x in json.loads(fleet.stdout)["results"]}
    assert (rows[ENTRA]["skipped"], rows[ENTRA]["ok"]) == (True, False)
    assert rows[ENTRA]["outcome"] == "local_auth_disabled" and rows[WEU]["outcome"] == "ok"
    # eus has no secret in the default world: that one still fails the run, alone.
    failed = sorted(name for name, x in rows.items() if not x["ok"] and not x["skipped"])
    assert failed == [EUS] and fleet.exit_code == ExitStatus.FAILED


def test_an_ad_hoc_key_call_to_a_keyless_account_still_fails(
    shared_emulator: EmulatorHandle,
) -> None:
    r = run(
        shared_emulator,
        ["smoke", "--endpoint", _endpoint(shared_emulator, ENTRA), "-d", "gpt-4o-mini"],
        AZURE_OPENAI_API_KEY=_key(shared_emulator, ENTRA),
    )
    assert r.exit_code == ExitStatus.FAILED
    [line] = _rows(r.stdout)
    assert line.startswith("FAIL") and re.search(r"key_auth_disabled +403", line)


def test_entra_token_for_every_account(shared_emulator: EmulatorHandle) -> None:
    r = run(shared_emulator, ["smoke", "--auth", "entra", "-o", "json"])
    outcomes = {x["name"]: x["outcome"] for x in json.loads(r.stdout)["results"]}
    assert outcomes["contoso-openai-legacy"] == "custom_subdomain_required"
    assert outcomes["contoso-openai-entra"] == outcomes[EUS] == "ok"
    assert r.exit_code == ExitStatus.FAILED


def test_ad_hoc_key_from_the_environment(shared_emulator: EmulatorHandle) -> None:
    key = _key(shared_emulator, EUS)
    default = run(
        shared_emulator,
        ["smoke", "--endpoint", _endpoint(shared_emulator), "--deployment", "gpt-4o-mini"],
        AZURE_OPENAI_API_KEY=key,
    )
    named = run(
        shared_emulator,
        [
            "smoke",
            "--endpoint",
            _endpoint(shared_emulator),
            "-d",
            "gpt-35-instruct",
            "--api",
            "completions",
            "--key-env",
            "MY_KEY",
        ],
        MY_KEY=key,
    )
    assert default.exit_code == 0 and named.exit_code == 0, (default.stderr, named.stderr)
    assert "$AZURE_OPENAI_API_KEY" in default.stdout and "$MY_KEY" in named.stdout
    assert_no_key([default.stdout, default.stderr, named.stdout, named.stderr], [key])


def test_ad_hoc_key_from_a_dotenv_file_and_from_stdin(
    shared_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    key = _key(shared_emulator, EUS, "Key2")
    env_file = tmp_path / ".env"
    env_file.write_text(f"AZURE_OPENAI_API_KEY={key}\n")
    base = ["smoke", "--endpoint", _endpoint(shared_emulator), "--deployment", "gpt-4o-mini"]
    dotenv = run(shared_emulator, [*base, "--env-file", str(env_file)])
    stdin = run(shared_emulator, [*base, "--key-from", "stdin"], stdin=key + "\n")
    assert dotenv.exit_code == 0 and stdin.exit_code == 0, (dotenv.stderr, stdin.stderr)
    assert f"AZURE_OPENAI_API_KEY in {env_file}" in dotenv.stdout and "(stdin)" in stdin.stdout
    assert_no_key([dotenv.stdout, dotenv.stderr, stdin.stdout, stdin.stderr], [key])


def test_ad_hoc_slot_finds_the_account_by_its_endpoint(shared_emulator: EmulatorHandle) -> None:
    r = run(
        shared_emulator,
        ["smoke", "--endpoint", _endpoint(shared_emulator), "-d", "gpt-4o-mini", "--slot", "Key1"],
    )
    assert r.exit_code == 0 and f"ARM {EUS}/Key1" in r.stdout


def test_configured_targets(shared_emulator: EmulatorHandle, tmp_path: Path) -> None:
    config = tmp_path / "keyops.toml"
    config.write_text(
        f'[defaults]\nvault_url = "{shared_emulator.vault_url()}"\n\n'
        f'[[targets]]\nname = "legacy"\nresource_group = "rg-ai-prod"\n'
        f'account = "contoso-openai-legacy"\n'
    )
    r = run(shared_emulator, ["--config", str(config), "smoke"])
    assert r.exit_code == 0, r.stderr
    assert (
        _rows(r.stdout)[0].startswith("ok") and "legacy" in r.stdout and "gpt-35-turbo" in r.stdout
    )


def test_a_wrong_key_fails_the_run(shared_emulator: EmulatorHandle) -> None:
    wrong = "f" * 32
    r = run(
        shared_emulator,
        ["smoke", "--endpoint", _endpoint(shared_emulator), "-d", "gpt-4o-mini"],
        AZURE_OPENAI_API_KEY=wrong,
    )
    assert r.exit_code == ExitStatus.FAILED
    [line] = _rows(r.stdout)
    assert line.startswith("FAIL") and re.search(r"invalid_key +401", line)
    assert_no_key([r.stdout, r.stderr], [wrong])


@pytest.mark.parametrize(
    ("args", "env", "status", "message"),
    [
        (["--endpoint", "not a url"], {}, ExitStatus.USAGE, "malformed endpoint"),
        (["--endpoint", "http://127.0.0.1:1/aoai/x/"], {}, ExitStatus.REFUSED, "plain http"),
        ([], {"AZURE_OPENAI_API_KEY": "  "}, ExitStatus.CONFIG, "is empty"),
        ([], {"AZURE_OPENAI_API_KEY": ""}, ExitStatus.CONFIG, "is empty"),
        (["--key", "f" * 32], {}, ExitStatus.REFUSED, "never taken from the command line"),
        (["--deployment", "bad/name"], {}, ExitStatus.USAGE, "bad deployment name"),
    ],
)
def test_bad_input_is_one_line_and_a_distinct_status(
    shared_emulator: EmulatorHandle,
    args: list[str],
    env: dict[str, str],
    status: ExitStatus,
    message: str,
) -> None:
    base = {"--endpoint": _endpoint(shared_emulator), "--deployment": "gpt-4o-mini"}
    for flag in ("--endpoint", "--deployment"):
        if flag in args:
            base.pop(flag)
    argv = ["smoke", *[x for kv in base.items() for x in kv], *args]
    env = {"AZURE_OPENAI_API_KEY": _key(shared_emulator, EUS), **env}
    r = run(shared_emulator, argv, **env)
    assert r.exit_code == status, (r.stdout, r.stderr)
    assert r.stdout == "" and len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith("keyops: error: ") and message in r.stderr
    assert "f" * 32 not in r.stderr


@pytest.mark.parametrize("output", ["table", "json"])
def test_an_ad_hoc_missing_deployment_is_a_failed_row_like_a_configured_one(
    shared_emulator: EmulatorHandle, output: str
) -> None:
    """Not 5 with nothing on stdout: the same outcome as from configuration, status 1."""
    r = run(
        shared_emulator,
        ["smoke", "--endpoint", _endpoint(shared_emulator), "-d", "gpt-5", "-o", output],
        AZURE_OPENAI_API_KEY=_key(shared_emulator, EUS),
    )
    assert r.exit_code == ExitStatus.FAILED, r.stderr
    if output == "json":
        [row] = json.loads(r.stdout)["results"]
        assert row["outcome"] == "deployment_not_found" and not row["ok"]
    else:
        [line] = _rows(r.stdout)
        assert line.startswith("FAIL") and "deployment_not_found" in line and "gpt-5" in line


def test_conflicting_key_sources_are_usage_errors(shared_emulator: EmulatorHandle) -> None:
    r = run(shared_emulator, ["smoke", "--auth", "entra", "--slot", "Key1"])
    assert r.exit_code == ExitStatus.USAGE and "takes no key source" in r.stderr
