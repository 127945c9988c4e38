"""``keyops run`` against the emulator: the key in the child's environment only, the child's
status passed through, 125/126/127 for keyops' own failures, signals forwarded."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.secure.support import base_env, invoke
from tests.support.emulator import EmulatorHandle

WEU = "contoso-aiservices-weu"
SECRET = f"{WEU}-api-key"
#: A child that records what it got: the key's digest (never the key) and the endpoint.
RECORD = (
    "import hashlib, json, os, sys; json.dump({'digest': hashlib.sha256(os.environ["
    "'AZURE_OPENAI_API_KEY'].encode()).hexdigest(), 'endpoint': os.environ["
    "'AZURE_OPENAI_ENDPOINT']}, open(sys.argv[1], 'w'))"
)


def _stored(handle: EmulatorHandle, name: str = SECRET) -> str:
    client = handle.secret_client()
    try:
        return str(client.get_secret(name).value)
    finally:
        client.close()


def _vault_args(handle: EmulatorHandle, secret: str = SECRET) -> list[str]:
    return ["--vault", handle.vault_url(), "--secret", secret]


def test_child_gets_key_and_endpoint_and_keyops_prints_nothing(
    shared_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    out = tmp_path / "seen.json"
    endpoint = "https://contoso-aiservices-weu.openai.azure.com/"
    r = invoke(
        shared_emulator,
        [
            "run",
            *_vault_args(shared_emulator),
            "--endpoint",
            endpoint,
            "--",
            sys.executable,
            "-c",
            RECORD,
            str(out),
        ],
    )
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
    seen = json.loads(out.read_text())
    assert seen == {
        "digest": hashlib.sha256(_stored(shared_emulator).encode()).hexdigest(),
        "endpoint": endpoint,
    }


def test_target_from_keyops_toml_with_custom_variable_names(
    shared_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    config = tmp_path / "keyops.toml"
    config.write_text(
        f'[defaults]\nvault_url = "{shared_emulator.vault_url()}"\n\n[[targets]]\n'
        f'name = "weu"\nresource_group = "rg-ai-shared"\naccount = "{WEU}"\n'
    )
    out = tmp_path / "seen.json"
    script = RECORD.replace("AZURE_OPENAI_API_KEY", "MY_KEY").replace(
        "AZURE_OPENAI_ENDPOINT", "MY_ENDPOINT"
    )
    r = invoke(
        shared_emulator,
        [
            "--config",
            str(config),
            "run",
            "--target",
            "weu",
            "--key-var",
            "MY_KEY",
            "--endpoint-var",
            "MY_ENDPOINT",
            sys.executable,
            "-c",
            script,
            str(out),
        ],
    )
    assert r.exit_code == 0, r.stderr
    seen = json.loads(out.read_text())
    assert seen["endpoint"] == shared_emulator.account(WEU)["endpoint"]
    assert seen["digest"] == hashlib.sha256(_stored(shared_emulator).encode()).hexdigest()


def test_endpoint_from_the_secret_tags(shared_emulator: EmulatorHandle, tmp_path: Path) -> None:
    """keyops rotate tags Endpoint (used as is) and ProviderAddress (looked up in ARM)."""
    account = shared_emulator.account(WEU)
    client = shared_emulator.secret_client()
    client.set_secret("run-test-endpoint-tag", "k" * 32, tags={"Endpoint": "https://e.test/"})
    client.set_secret("run-test-provider-tag", "k" * 32, tags={"ProviderAddress": account["id"]})
    client.close()
    for secret, expected in (
        ("run-test-endpoint-tag", "https://e.test/"),
        ("run-test-provider-tag", account["endpoint"]),
    ):
        out = tmp_path / f"{secret}.json"
        r = invoke(
            shared_emulator,
            [
                "run",
                *_vault_args(shared_emulator, secret),
                "--",
                sys.executable,
                "-c",
                RECORD,
                str(out),
            ],
        )
        assert r.exit_code == 0, r.stderr
        assert json.loads(out.read_text())["endpoint"] == expected


@pytest.mark.parametrize(
    ("command", "status"),
    [
        (["sh", "-c", "exit 42"], 42),
        (["sh", "-c", "kill -TERM $$"], 128 + signal.SIGTERM),
        (["no-such-command-keyops-test"], 127),
        (["/dev/null"], 126),
        ([str(Path(__file__).parent)], 126),
    ],
)
def test_exit_status_is_the_childs_or_126_127(
    shared_emulator: EmulatorHandle, command: list[str], status: int
) -> None:
    r = invoke(
        shared_emulator,
        [
            "run",
            *_vault_args(shared_emulator),
            "--endpoint",
            "https://x.openai.azure.com/",
            "--",
            *command,
        ],
    )
    assert r.exit_code == status, r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--secret", "no-such-secret"], "no secret 'no-such-secret'"),
        (
            ["--secret", SECRET, "--endpoint", "http://x.openai.azure.com/"],
            "never sent over plain http",
        ),
        (["--secret", SECRET], "names no endpoint"),
        (["--target", "x", "--secret", SECRET], "not both"),
        (["--secret", SECRET, "--key-var", "1BAD"], "bad environment variable name"),
        (["--secret", SECRET, "--bogus-option"], "No such option"),
    ],
)
def test_keyops_failures_exit_125(
    shared_emulator: EmulatorHandle, args: list[str], message: str
) -> None:
    r = invoke(
        shared_emulator,
        ["run", "--vault", shared_emulator.vault_url(), *args, "--", "sh", "-c", "echo child ran"],
    )
    assert r.exit_code == 125, (r.exit_code, r.stderr)
    assert message in r.stderr and r.stdout == ""


def test_no_vault_access_exits_125(shared_emulator: EmulatorHandle) -> None:
    r = invoke(
        shared_emulator,
        [
            "run",
            *_vault_args(shared_emulator),
            "--endpoint",
            "https://x.openai.azure.com/",
            "--",
            "true",
        ],
        principal="ops-reader",
    )
    assert r.exit_code == 125 and "access denied" in r.stderr


def test_missing_command_exits_125(shared_emulator: EmulatorHandle) -> None:
    r = invoke(shared_emulator, ["run", *_vault_args(shared_emulator)])
    assert r.exit_code == 125 and "Missing argument" in r.stderr


def test_sigterm_to_keyops_reaches_the_child(shared_emulator: EmulatorHandle) -> None:
    child = "import sys, time; print('ready', flush=True); time.sleep(60); print('not stopped')"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "keyops",
            "run",
            *_vault_args(shared_emulator),
            "--endpoint",
            "https://x.openai.azure.com/",
            "--",
            sys.executable,
            "-c",
            child,
        ],
        env=base_env(shared_emulator),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"  # the child is running, keyops is waiting
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "not stopped" not in out
