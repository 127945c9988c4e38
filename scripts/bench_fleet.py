#!/usr/bin/env python3
"""Fleet speed: ``keyops rotate`` of N accounts against the emulator with a latency model.

    .venv/bin/python scripts/bench_fleet.py --accounts 200 --concurrency 8,32
    .venv/bin/python scripts/bench_fleet.py --accounts 1000 --concurrency 32,64 --audit

For each mode and concurrency: a fresh emulator (its own process) with an N-account world
declared compactly (``count`` + ``vault_secret``), the latency model below, and ``keyops rotate``
in its own process. ``latency`` mode: ARM throttling off; ``budget`` mode: the emulator enforces
ARM's buckets at Azure's numbers (writes 200 burst, 10/s; reads 250, 25/s). Printed per run:
wall time; bound/actual, where bound = max(per-account chain x ceil(N/c), (ARM writes - 200)/10
s, Key Vault operations / 400 per s); round trips per account by operation; 429s answered; new
connections per emulated host (counted by the emulator); keyops CPU and peak RSS; emulator CPU.
Also timed: a plain sequential SDK script on ``--sdk-accounts`` accounts (the per-account
reference) and ``keyops audit`` of the fleet (wall, peak RSS). Not a test: no assertion.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORLD = REPO / "keyops" / "emulator" / "data" / "default-world.toml"
#: Modelled latency per surface (ms) and the extra of slower ARM operations on top of ARM's.
SURFACE_MS = {"arm": 100, "keyvault": 60, "openai": 300, "entra": 100}
OPERATION_EXTRA_MS = {"Accounts_RegenerateKey": 200, "Accounts_ListKeys": 50}
PROPAGATION_S = 1.0
#: The key test's first back-off (keyops.rotate.smoke): a refused first attempt waits this long.
TEST_BACKOFF_S = 0.5
KV_PER_S = 400.0
ARM_WRITE_BURST, ARM_WRITE_RATE = 200, 10.0


def world(accounts: int, idle: int = 0) -> dict[str, Any]:
    """The default world's tenant, principals and roles with an N-account fleet and its vault,
    plus ``idle`` accounts (with secrets) that are not rotated: the world grows, the work not."""
    doc = tomllib.loads(DEFAULT_WORLD.read_text())
    doc["resource_groups"] = [
        {"name": "rg-fleet", "location": "eastus"},
        {"name": "rg-keyops", "location": "eastus"},
    ]
    doc["accounts"] = [
        {
            "name": "fleet",
            "resource_group": "rg-fleet",
            "kind": "OpenAI",
            "custom_subdomain": "fleet",
            "keys_created": "-100d",
            "count": accounts,
            "vault_secret": "kv-keyops-prod",
            "deployments": [{"name": "gpt-4o-mini", "model": "gpt-4o-mini", "api": "chat"}],
        }
    ]
    if idle:
        doc["resource_groups"].append({"name": "rg-idle", "location": "eastus"})
        doc["accounts"].append(
            {
                **doc["accounts"][0],
                "name": "idle",
                "resource_group": "rg-idle",
                "custom_subdomain": "idle",
                "count": idle,
                # Their own vault: the run reads every secret of the vault it writes to (the
                # other-holder index), so idle secrets there would be work, not just world.
                "vault_secret": "kv-idle",
            }
        )
    doc["vaults"] = [{"name": "kv-keyops-prod", "resource_group": "rg-keyops"}]
    if idle:
        doc["vaults"].append({"name": "kv-idle", "resource_group": "rg-idle"})
    return doc


def _toml(doc: dict[str, Any]) -> str:
    # JSON is a world format too: no TOML writer needed.
    return json.dumps(doc)


class Emulator:
    """An emulator process on a fresh state directory."""

    def __init__(self, root: Path, accounts: int, idle: int = 0) -> None:
        self.state = root / "emulator"
        world_path = root / "world.json"
        world_path.write_text(_toml(world(accounts, idle)))
        cmd = [sys.executable, "-m", "keyops", "emulator", "serve", "--state-dir", str(self.state)]
        cmd += ["--world", str(world_path), "--propagation-delay", str(PROPAGATION_S)]
        self.proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.DEVNULL)
        conn = self.state / "connection.json"
        while not conn.exists():
            if self.proc.poll() is not None:
                raise SystemExit("emulator did not start")
            time.sleep(0.05)
        self.conn_path = conn
        self.conn = json.loads(conn.read_text())
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.conn['admin_token']}"

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        r = self.http.request(
            method,
            f"{self.conn['url']}/_emulator/{path}",
            json=body,
            timeout=60,
            verify=self.conn["ca_bundle"],
        )
        r.raise_for_status()
        return r.json() if r.content else None

    def cpu(self) -> float:
        """CPU seconds the emulator process has used."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def latency_model(self) -> None:
        for surface, ms in SURFACE_MS.items():
            self.admin("POST", "latency", {"surface": surface, "base_ms": ms})
        for op, ms in OPERATION_EXTRA_MS.items():
            self.admin(
                "POST",
                "faults",
                {"kind": "latency", "operation": op, "latency_ms": ms, "times": None},
            )

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def cli_env(emu: Emulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "KEYOPS_"))}
    rotator = next(p for p in emu.conn["principals"] if p["name"] == "keyops-rotator")
    env.update(
        KEYOPS_EMULATOR=str(emu.conn_path),
        AZURE_TENANT_ID=emu.conn["tenant_id"],
        AZURE_CLIENT_ID=rotator["client_id"],
        AZURE_CLIENT_SECRET=rotator["client_secret"],
    )
    return env


def run_measured(cmd: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run a child; its wall time, CPU seconds, peak RSS (MB) and exit status."""
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "exit": os.waitstatus_to_exitcode(status),
        "stderr": err[-500:],
    }


def chain_seconds(per_account: dict[str, float]) -> float:
    """The modelled time of one account's sequential round trips, plus the key test's back-off
    between its attempts (the first test of a new key meets propagation and is refused)."""
    total = 0.0
    for op, n in per_account.items():
        surface, name = op.split(":", 1)
        total += n * (SURFACE_MS.get(surface, 0) + OPERATION_EXTRA_MS.get(name, 0)) / 1000
    retries = per_account.get("openai:ChatCompletions_Create", 1.0) - 1
    return total + TEST_BACKOFF_S * max(0.0, retries)


def rotate_run(accounts: int, concurrency: int, mode: str, idle: int = 0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        root = Path(tmp)
        emu = Emulator(root, accounts, idle)
        try:
            emu.latency_model()
            if mode == "budget":
                emu.admin("POST", "arm/settings", {"buckets": True})
            seq = emu.admin("GET", "requests?since=999999999")["last_seq"]
            emu.admin("DELETE", "connections")
            cpu0 = emu.cpu()
            cmd = [
                sys.executable,
                "-m",
                "keyops",
                "rotate",
                "-g",
                "rg-fleet",
                "--vault-url",
                emu.conn["vaults"][0]["url"],
                "--concurrency",
                str(concurrency),
                "-o",
                "json",
            ]
            result = run_measured(cmd, cli_env(emu), root)
            result["emulator_cpu"] = emu.cpu() - cpu0
            log = emu.admin("GET", f"requests?since={seq}")["entries"]
            result["connections"] = emu.admin("GET", "connections")["connections"]
        finally:
            emu.stop()
    return {**result, **summarise(log, accounts, concurrency)}


def summarise(log: list[dict[str, Any]], n: int, c: int) -> dict[str, Any]:
    ops = Counter(f"{e['surface']}:{e['operation']}" for e in log if e["surface"] != "admin")
    per_account = {op: k / n for op, k in ops.items()}
    # Token requests and per-run reads are not on an account's chain: count what scales with N.
    chain_ops = {op: k for op, k in per_account.items() if k >= 0.5 and not op.startswith("entra")}
    chain = chain_seconds(chain_ops)
    arm_writes = sum(1 for e in log if e["surface"] == "arm" and e["method"] not in ("GET", "HEAD"))
    kv_ops = sum(1 for e in log if e["surface"] == "keyvault")
    bound = max(
        chain * math.ceil(n / c),
        (arm_writes - ARM_WRITE_BURST) / ARM_WRITE_RATE,
        kv_ops / KV_PER_S,
    )
    answered_429 = sum(1 for e in log if e["status"] == 429)
    return {
        "requests": len(log),
        "per_account": dict(sorted(per_account.items())),
        "round_trips_per_account": sum(chain_ops.values()),
        "chain_s": chain,
        "bound_s": bound,
        "answered_429": answered_429,
        "arm_writes": arm_writes,
    }


def sdk_reference(accounts: int) -> dict[str, Any]:
    """A user's plain script: listKeys, regenerate, set the secret, read it back — in sequence."""
    with tempfile.TemporaryDirectory(prefix="bench-sdk-") as tmp:
        root = Path(tmp)
        emu = Emulator(root, accounts)
        try:
            emu.latency_model()
            script = root / "plain.py"
            script.write_text(PLAIN_SDK_SCRIPT)
            result = run_measured(
                [sys.executable, str(script), str(emu.conn_path)], cli_env(emu), root
            )
        finally:
            emu.stop()
    result["per_account_s"] = result["wall"] / accounts
    return result


PLAIN_SDK_SCRIPT = """
import json, sys
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
conn = json.load(open(sys.argv[1]))
p = next(p for p in conn["principals"] if p["name"] == "keyops-rotator")
cred = ClientSecretCredential(conn["tenant_id"], p["client_id"], p["client_secret"],
    authority=conn["url"], disable_instance_discovery=True, connection_verify=conn["ca_bundle"])
arm = CognitiveServicesManagementClient(cred, conn["subscription_id"], base_url=conn["url"],
    connection_verify=conn["ca_bundle"])
kv = SecretClient(conn["vaults"][0]["url"], cred, verify_challenge_resource=False,
    connection_verify=conn["ca_bundle"])
for a in conn["accounts"]:
    arm.accounts.list_keys(a["resource_group"], a["name"])
    keys = arm.accounts.regenerate_key(a["resource_group"], a["name"], key_name="Key2")
    kv.set_secret(a["name"] + "-api-key", keys.key2)
    kv.get_secret(a["name"] + "-api-key")
"""


def audit_run(accounts: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        root = Path(tmp)
        emu = Emulator(root, accounts)
        try:
            cpu0 = emu.cpu()
            cmd = [
                sys.executable,
                "-m",
                "keyops",
                "audit",
                "-g",
                "rg-fleet",
                "--vault-url",
                emu.conn["vaults"][0]["url"],
                "-o",
                "json",
            ]
            result = run_measured(cmd, cli_env(emu), root)
            result["emulator_cpu"] = emu.cpu() - cpu0
        finally:
            emu.stop()
    return result


def revision() -> str:
    """The commit measured, marked when keyops/ differs from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip()

    dirty = " (modified)" if git("status", "--porcelain", "keyops") else ""
    return (git("rev-parse", "--short", "HEAD") or "unknown") + dirty


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--concurrency", default="8,32,64")
    ap.add_argument("--modes", default="latency,budget")
    ap.add_argument("--sdk-accounts", type=int, default=50)
    ap.add_argument("--audit", action="store_true", help="also time keyops audit of the fleet")
    ap.add_argument(
        "--idle",
        default="0",
        help="comma-separated world growth: accounts (with secrets) not rotated; one run each",
    )
    args = ap.parse_args()
    print(f"# fleet of {args.accounts}; keyops at {revision()}; load before: {load()}")
    if args.sdk_accounts:
        ref = sdk_reference(args.sdk_accounts)
        print(
            f"plain SDK script, {args.sdk_accounts} accounts in sequence: {ref['wall']:.1f} s "
            f"({ref['per_account_s']:.2f} s/account), exit {ref['exit']}; load {load()}"
        )
    runs = [
        (mode, int(c), int(idle))
        for mode in args.modes.split(",")
        for c in args.concurrency.split(",")
        for idle in args.idle.split(",")
    ]
    for mode, c, idle in runs:
        r = rotate_run(args.accounts, c, mode, idle)
        ratio = r["bound_s"] / r["wall"] if r["wall"] else 0.0
        world = f"  world {args.accounts + idle} accounts" if idle else ""
        print(
            f"\n## rotate  mode={mode}  --concurrency {c}{world}  exit {r['exit']}  load {load()}"
        )
        print(
            f"wall {r['wall']:.1f} s   bound {r['bound_s']:.1f} s   bound/actual "
            f"{ratio:.2f}   chain {r['chain_s']:.2f} s/account "
            f"({r['round_trips_per_account']:.1f} round trips)"
        )
        share = r["answered_429"] / max(1, r["requests"])
        print(
            f"requests {r['requests']}  429s {r['answered_429']} ({share:.2%})  "
            f"ARM writes {r['arm_writes']}"
        )
        print(
            f"keyops CPU {r['cpu']:.1f} s  peak RSS {r['rss_mb']:.0f} MB   emulator CPU "
            f"{r['emulator_cpu']:.1f} s ({1000 * r['emulator_cpu'] / args.accounts:.1f} "
            f"ms/account)"
        )
        print(
            "new connections per host: "
            + ", ".join(f"{k} {v}" for k, v in r["connections"].items())
        )
        print(
            "round trips per account: "
            + ", ".join(f"{k} {v:.2f}" for k, v in r["per_account"].items())
        )
        if r["exit"] != 0:
            print("stderr: " + r["stderr"])
    if args.audit:
        a = audit_run(args.accounts)
        print(
            f"\n## audit  wall {a['wall']:.1f} s  peak RSS {a['rss_mb']:.0f} MB  keyops CPU "
            f"{a['cpu']:.1f} s  emulator CPU {a['emulator_cpu']:.1f} s  exit {a['exit']}  "
            f"load {load()}"
        )


if __name__ == "__main__":
    main()
