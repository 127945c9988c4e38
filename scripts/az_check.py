"""The Azure CLI against the emulator: the documented manual rotation, every answer checked.

Run by ``scripts/az-check`` (which provides the CLI's venv). Starts ``keyops emulator serve`` on
free ports with a throw-away state and CLI config, registers the emulator as a cloud from its
``/metadata/endpoints`` (no ``--skip-endpoint-discovery``), signs in with the world's service
principal and runs: account list/show, keys list, keys regenerate (Key2), deployment list, Key
Vault secret set/show/list-versions by vault name (through the emulator's vault proxy), monitor
metrics list, role assignment list. One line per check; key values are never printed. Exit 0
when every check holds, 1 at the first that does not (its line says what differed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLOUD = "KeyopsEmulator"
ACCOUNT = "contoso-openai-eus"
VAULT = "kv-keyops-prod"
SECRET = "az-check-secret"
TIMESPAN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class CheckFailed(Exception):
    """A CLI answer that is not what Azure would answer."""


class Cli:
    """Runs ``az`` with the emulator's trust, an isolated config and (for vaults) its proxy."""

    def __init__(self, az: str, conn: dict[str, Any], config_dir: Path) -> None:
        self.az = az
        self.conn = conn
        drop = {"CURL_CA_BUNDLE", "SSL_CERT_FILE", "HTTPS_PROXY", "https_proxy", "NO_PROXY"}
        self.env = {k: v for k, v in os.environ.items() if k not in drop}
        self.env.update(
            AZURE_CONFIG_DIR=str(config_dir),
            REQUESTS_CA_BUNDLE=conn["ca_bundle"],
            # MSAL would ask login.microsoftonline.com about the emulator's authority
            # (the Azure Stack setting of the CLI turns that off).
            AZURE_CORE_INSTANCE_DISCOVERY="false",
            AZURE_CORE_COLLECT_TELEMETRY="false",
            AZURE_CORE_NO_COLOR="true",
            AZURE_EXTENSION_USE_DYNAMIC_INSTALL="no",
        )

    def run(self, *args: str, proxy: bool = False) -> Any:
        """``az ARGS -o json``, parsed; a failing command is a :class:`CheckFailed`."""
        env = dict(self.env)
        if proxy:
            env["HTTPS_PROXY"] = self.conn["vault_proxy"]["url"]
        done = subprocess.run(
            [self.az, *args, "-o", "json"], env=env, capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise CheckFailed(f"az {' '.join(args[:3])} exited {done.returncode}: {done.stderr}")
        return json.loads(done.stdout) if done.stdout.strip() else None


def start_emulator(state: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """``keyops emulator serve`` on free ports; its connection file once it is ready."""
    keyops = Path(sys.executable).with_name("keyops")
    log = (state.parent / "emulator.log").open("wb")
    proc = subprocess.Popen(
        [str(keyops), "emulator", "serve", "--state-dir", str(state), "--port", "0"],
        stdout=log,
        stderr=log,
    )
    path = state / "connection.json"
    deadline = time.monotonic() + 60
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise CheckFailed(f"the emulator did not start (see {log.name})")
        time.sleep(0.1)
    return proc, json.loads(path.read_text())


def expect(condition: bool, what: str) -> None:
    """Fail the current check with ``what`` unless ``condition``."""
    if not condition:
        raise CheckFailed(what)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def sign_in(cli: Cli) -> str:
    conn = cli.conn
    cli.run("cloud", "register", "-n", CLOUD, "--endpoint-resource-manager", conn["url"])
    cloud = cli.run("cloud", "show", "-n", CLOUD)
    expect(cloud["endpoints"]["resourceManager"] == conn["url"], f"cloud: {cloud['endpoints']}")
    cli.run("cloud", "set", "-n", CLOUD)
    subs = cli.run(
        "login", "--service-principal", "-u", conn["client_id"], "-p", conn["client_secret"],
        "--tenant", conn["tenant_id"],
    )  # fmt: skip
    expect(any(s["id"] == conn["subscription_id"] for s in subs), f"login: {subs}")
    return "cloud register (endpoint discovery), cloud set, login --service-principal"


def accounts(cli: Cli) -> str:
    listed = cli.run("cognitiveservices", "account", "list")
    names = {a["name"] for a in listed}
    expect(names == {a["name"] for a in cli.conn["accounts"]}, f"account list: {names}")
    world = next(a for a in cli.conn["accounts"] if a["name"] == ACCOUNT)
    shown = cli.run(
        "cognitiveservices", "account", "show", "-g", world["resource_group"], "-n", ACCOUNT
    )
    expect(shown["id"] == world["id"], f"account show: {shown['id']}")
    expect(shown["properties"]["endpoint"] == world["endpoint"], "account show: endpoint")
    return f"account list ({len(names)}), account show"


def keys(cli: Cli) -> str:
    rg = next(a["resource_group"] for a in cli.conn["accounts"] if a["name"] == ACCOUNT)
    base = ("cognitiveservices", "account", "keys")
    before = cli.run(*base, "list", "-g", rg, "-n", ACCOUNT)
    expect(bool(before["key1"]) and bool(before["key2"]), "keys list: a key is empty")
    after = cli.run(*base, "regenerate", "-g", rg, "-n", ACCOUNT, "--key-name", "key2")
    expect(_digest(after["key1"]) == _digest(before["key1"]), "regenerate key2 changed key1")
    expect(_digest(after["key2"]) != _digest(before["key2"]), "regenerate key2 kept key2")
    again = cli.run(*base, "list", "-g", rg, "-n", ACCOUNT)
    expect(_digest(again["key2"]) == _digest(after["key2"]), "keys list after regenerate")
    deps = cli.run("cognitiveservices", "account", "deployment", "list", "-g", rg, "-n", ACCOUNT)
    world = next(a for a in cli.conn["accounts"] if a["name"] == ACCOUNT)
    expect({d["name"] for d in deps} == set(world["deployments"]), f"deployment list: {deps}")
    return "keys list, keys regenerate --key-name key2 (key1 kept), deployment list"


def vault(cli: Cli) -> str:
    value = f"az-check-{os.getpid()}"  # not a key: the check must not handle key values
    base = ("keyvault", "secret")
    stored = cli.run(
        *base, "set", "--vault-name", VAULT, "-n", SECRET, "--value", value, proxy=True
    )
    prefix = f"https://{VAULT}.{cli.conn['vault_proxy']['vault_dns_suffix']}/secrets/{SECRET}/"
    expect(stored["id"].startswith(prefix), f"secret set: id {stored['id']}")
    shown = cli.run(*base, "show", "--vault-name", VAULT, "-n", SECRET, proxy=True)
    expect(shown["value"] == value and shown["id"] == stored["id"], "secret show: other version")
    versions = cli.run(*base, "list-versions", "--vault-name", VAULT, "-n", SECRET, proxy=True)
    expect(stored["id"] in {v["id"] for v in versions}, "secret list-versions: version missing")
    return f"keyvault secret set/show/list-versions --vault-name {VAULT} (via the vault proxy)"


def monitor_and_roles(cli: Cli) -> str:
    world = next(a for a in cli.conn["accounts"] if a["name"] == ACCOUNT)
    metrics = cli.run("monitor", "metrics", "list", "--resource", world["id"], "--metric",
                      "AzureOpenAIRequests")  # fmt: skip
    expect(TIMESPAN.match(metrics["timespan"]) is not None, f"metrics: {metrics['timespan']}")
    expect(metrics["value"][0]["name"]["value"] == "AzureOpenAIRequests", "metrics: name")
    roles = cli.run("role", "assignment", "list", "--scope", world["id"],
                    "--fill-principal-name", "false")  # fmt: skip
    expect(bool(roles), "role assignment list: empty")
    for r in roles:
        expect(world["id"].lower().startswith(r["scope"].lower()), f"role scope {r['scope']}")
    return f"monitor metrics list, role assignment list ({len(roles)} at or above the account)"


CHECKS: tuple[Callable[[Cli], str], ...] = (sign_in, accounts, keys, vault, monitor_and_roles)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--az", required=True, help="the az executable to check")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="keyops-az-check-"))
    proc, conn = start_emulator(work / "state")
    cli = Cli(args.az, conn, work / "az-config")
    try:
        version = cli.run("version")["azure-cli"]
        print(f"az-check: azure-cli {version} against {conn['url']}")
        for check in CHECKS:
            print(f"az-check: ok  {check(cli)}", flush=True)
    except CheckFailed as exc:
        print(f"az-check: FAILED {exc}", file=sys.stderr)
        return 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("az-check: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
