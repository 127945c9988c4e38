"""The emulator as a server: connection file, restart on the same port, persistence, admin auth."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from keyops.cli.main import cli
from keyops.emulator.core.store import read_state
from keyops.emulator.world import WorldError, load_world, parse_world
from tests.support.emulator import EmulatorHandle, start_emulator

REQUIRED = {
    "schema_version",
    "url",
    "ca_cert",
    "ca_bundle",
    "tenant_id",
    "client_id",
    "client_secret",
    "principals",
    "subscription_id",
    "accounts",
    "vaults",
    "admin_token",
}


def test_connection_file_has_the_contract_fields(shared_emulator: EmulatorHandle) -> None:
    conn = shared_emulator.conn
    assert set(conn) >= REQUIRED
    assert conn["url"].startswith("https://127.0.0.1:")
    assert oct(os.stat(shared_emulator.connection_path).st_mode & 0o777) == "0o600"
    for account in conn["accounts"]:
        assert {"id", "name", "resource_group", "endpoint", "deployments"} <= set(account)
    for principal in conn["principals"]:
        assert {"name", "client_id", "role_assignments"} <= set(principal)
    assert all(v["path_url"].startswith(conn["url"] + "/vaults/") for v in conn["vaults"])
    assert all(v["url"].startswith("https://127.0.0.1:") for v in conn["vaults"])


def test_ca_bundle_trusts_the_emulator_and_system_roots(shared_emulator: EmulatorHandle) -> None:
    bundle = Path(shared_emulator.ca_bundle).read_text()
    assert bundle.count("BEGIN CERTIFICATE") > 10  # system roots + the emulator CA
    r = requests.get(
        f"{shared_emulator.url}/_emulator/health", verify=shared_emulator.ca_bundle, timeout=5
    )
    assert r.json() == {"status": "ok"}
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{shared_emulator.url}/_emulator/health", timeout=5)


def test_admin_api_requires_the_admin_token(shared_emulator: EmulatorHandle) -> None:
    r = requests.get(
        f"{shared_emulator.url}/_emulator/requests",
        verify=shared_emulator.ca_bundle,
        headers={"Authorization": "Bearer wrong"},
        timeout=5,
    )
    assert r.status_code == 401


def test_restart_keeps_port_and_state(tmp_path: Path, tls_dir: Path) -> None:
    first = start_emulator(tmp_path / "st", tls_dir)
    url, admin = first.url, first.server.emulator.admin_token
    first.admin("POST", "clock", {"advance": 3600})
    first.stop()
    second = start_emulator(tmp_path / "st", tls_dir, port=None)
    try:
        assert second.url == url
        assert second.server.emulator.admin_token == admin
        assert second.admin("GET", "clock")["offset"] == pytest.approx(3600)
    finally:
        second.stop()


def test_dropped_connection_fault(emulator: EmulatorHandle) -> None:
    emulator.admin("POST", "faults", {"operation": "Admin_Health", "kind": "drop_before"})
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{emulator.url}/_emulator/health", verify=emulator.ca_bundle, timeout=5)
    ok = requests.get(f"{emulator.url}/_emulator/health", verify=emulator.ca_bundle, timeout=5)
    assert ok.status_code == 200
    faults = [e for e in emulator.log_since(0) if e["operation"] == "Admin_Health"]
    assert [e["fault"] for e in faults] == ["drop_before", None]


def test_status_fault_fires_n_times(emulator: EmulatorHandle) -> None:
    emulator.admin(
        "POST", "faults", {"operation": "Admin_Health", "kind": "status", "status": 503, "times": 2}
    )
    codes = [
        requests.get(
            f"{emulator.url}/_emulator/health", verify=emulator.ca_bundle, timeout=5
        ).status_code
        for _ in range(3)
    ]
    assert codes == [503, 503, 200]


def test_world_errors_name_the_field() -> None:
    good = {
        "tenant_id": "6513270e-269e-4d37-b2a7-4de452e6b438",
        "subscriptions": [{"id": "d23f0824-128b-4f33-8c5c-7fd0a6a3a450"}],
        "resource_groups": [{"name": "rg"}],
        "principals": [
            {
                "name": "p",
                "client_id": "9531985d-5d9d-49f8-9818-e811892f902b",
                "object_id": "36f675cc-81e7-4ef5-a8e2-5d940ed90475",
            }
        ],
        "accounts": [{"name": "acct", "resource_group": "rg", "kind": "OpenAI"}],
    }
    assert parse_world(good).accounts[0].kind == "OpenAI"
    bad = json.loads(json.dumps(good))
    bad["accounts"][0]["kind"] = "Speech"
    with pytest.raises(WorldError, match=r"accounts\[0\]\.kind"):
        parse_world(bad)
    bad = json.loads(json.dumps(good))
    bad["accounts"][0]["colour"] = "red"
    with pytest.raises(WorldError, match=r"accounts\[0\]\.colour: unknown field"):
        parse_world(bad)
    bad = json.loads(json.dumps(good))
    bad["principals"][0]["client_id"] = "nope"
    with pytest.raises(WorldError, match=r"principals\[0\]\.client_id"):
        parse_world(bad)


def test_default_world_loads() -> None:
    world = load_world()
    kinds = {a.kind for a in world.accounts}
    assert kinds == {"OpenAI", "AIServices"}
    assert any(a.disable_local_auth for a in world.accounts)
    assert any(a.custom_subdomain is None for a in world.accounts)


def test_serve_and_env_commands_end_to_end(tmp_path: Path) -> None:
    """`keyops emulator serve` in a child process; kill -9 loses nothing acknowledged; the
    hint it prints finds a state directory given with --state-dir (a space and a quote in it)."""
    state = tmp_path / "served it's"
    env = {k: v for k, v in os.environ.items() if k != "KEYOPS_EMULATOR_HOME"}
    cmd = [
        sys.executable,
        "-m",
        "keyops",
        "emulator",
        "serve",
        "--state-dir",
        str(state),
        "--port",
        "0",
        "--propagation-delay",
        "0",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    conn_path = state / "connection.json"
    try:
        deadline = time.monotonic() + 30
        while not conn_path.exists():  # wait for readiness, not for time to pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "emulator did not become ready"
            time.sleep(0.05)
        conn = json.loads(conn_path.read_text())
        admin = {"Authorization": f"Bearer {conn['admin_token']}"}
        r = requests.post(
            f"{conn['url']}/_emulator/clock",
            json={"advance": 120},
            headers=admin,
            verify=conn["ca_bundle"],
            timeout=10,
        )
        assert r.status_code == 200
        result = CliRunner().invoke(cli, ["emulator", "env", "--state-dir", str(state)])
        assert result.exit_code == 0
        assert f"export KEYOPS_EMULATOR={shlex.quote(str(conn_path))}" in result.output
        assert "export REQUESTS_CA_BUNDLE=" in result.output
        assert "export AZURE_AUTHORITY_HOST=" in result.output
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    state_doc = read_state(state / "state.db")
    assert state_doc["meta"]["clock_offset"] == pytest.approx(120)
    assert proc.stderr is not None
    _check_env_hint(proc.stderr.read().decode(), state, conn_path, env)


def _check_env_hint(stderr: str, state: Path, conn_path: Path, env: dict[str, str]) -> None:
    """The printed hint names the state directory, and a shell running it gets its variables."""
    [hint] = [line for line in stderr.splitlines() if "in another shell" in line]
    command = f"keyops emulator env --state-dir {shlex.quote(str(state))}"
    assert hint == f'keyops emulator: in another shell: eval "$({command})"'
    script = hint.split(": in another shell: ", 1)[1].replace(
        "$(keyops ", f"$({shlex.quote(sys.executable)} -m keyops ", 1
    )
    shell = subprocess.run(
        ["bash", "-c", f'cd / && {script} && printf %s "$KEYOPS_EMULATOR"'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (shell.returncode, shell.stdout) == (0, str(conn_path)), shell.stderr


def test_env_without_running_emulator_is_a_config_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["emulator", "env", "--state-dir", str(tmp_path)])
    assert result.exit_code == 3
    assert "no running emulator" in result.stderr


def test_each_vault_has_its_own_origin_so_ids_parse(shared_emulator: EmulatorHandle) -> None:
    """Secret ids must be ``https://<vault host>/secrets/<name>/<version>``, as Key Vault's."""
    from azure.keyvault.secrets import KeyVaultSecretIdentifier

    vault = shared_emulator.conn["vaults"][0]
    assert vault["url"] != vault["path_url"]
    with shared_emulator.secret_client() as client:
        stored = client.set_secret("own-origin-check", "not-a-key", content_type="text/plain")
        ident = KeyVaultSecretIdentifier(stored.id)
        assert ident.vault_url.rstrip("/") == vault["url"]
        assert client.get_secret("own-origin-check", ident.version).id == stored.id


def test_path_prefix_form_of_a_vault_still_serves_the_sdk(shared_emulator: EmulatorHandle) -> None:
    from azure.keyvault.secrets import SecretClient

    vault = shared_emulator.conn["vaults"][0]
    cred = shared_emulator.credential()
    with SecretClient(
        vault["path_url"],
        cred,
        verify_challenge_resource=False,
        connection_verify=shared_emulator.ca_bundle,
        retry_total=0,
    ) as client:
        client.set_secret("prefix-form-check", "not-a-key")
        assert client.get_secret("prefix-form-check").value == "not-a-key"
    cred.close()
