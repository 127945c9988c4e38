#!/usr/bin/env python3
"""Fleet speed: ``keyops rotate`` of N accounts against the emulator with a latency model.

    .venv/bin/python scripts/bench_fleet.py --accounts 200 --concurrency 8,32
    .venv/bin/python scripts/bench_fleet.py --accounts 1000 --concurrency 32,64 --audit
    .venv/bin/python scripts/bench_fleet.py --accounts 100,1000,5000 --per-subscription 50

For each fleet, mode and concurrency: a fresh emulator (its own process) with an N-account world
declared compactly (``count`` + ``vault_secret``) over ``--subscriptions`` (keyops.toml targets
when more than one), the latency model (keyops_bench.fleet_bound), and ``keyops rotate`` in its
own process. ``latency`` mode: ARM throttling off; ``budget`` mode: the emulator enforces
ARM's buckets at Azure's numbers (writes 200 burst, 10/s; reads 250, 25/s). Printed per run:
wall time; bound/actual, where bound = max(per-account chain x ceil(N/c), (ARM writes of the
busiest subscription - 200)/10 s, Key Vault operations / 400 per s); round trips per account by
operation; 429s answered; new connections per emulated host (counted by the emulator); keyops
CPU and peak RSS; emulator CPU (by thread; ``--profile DIR``: a cProfile of its event loop).
Also timed: a plain sequential SDK script on ``--sdk-accounts`` accounts (the per-account
reference) and ``keyops audit`` of the fleet (wall, peak RSS). Not a test: no assertion.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _bench_path  # noqa: F401  (repo root on sys.path: keyops_bench)
import requests

from keyops_bench.fleet import fleet_config, fleet_world
from keyops_bench.fleet_bound import OPERATION_EXTRA_MS, SURFACE_MS, summarise

REPO = Path(__file__).resolve().parent.parent
#: Seconds before a regenerated key is accepted by the data plane.
PROPAGATION_S = 1.0


def _toml(doc: dict[str, Any]) -> str:
    # JSON is a world format too: no TOML writer needed.
    return json.dumps(doc)


def _cpu(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Emulator:
    """An emulator process on a fresh state directory."""

    def __init__(self, root: Path, doc: dict[str, Any], profile: Path | None = None) -> None:
        self.state = root / "emulator"
        world_path = root / "world.json"
        world_path.write_text(_toml(doc))
        serve = ["-m", "keyops", "emulator", "serve", "--state-dir", str(self.state)]
        serve += ["--world", str(world_path), "--propagation-delay", str(PROPAGATION_S)]
        # Profiled: the emulator's main thread (its event loop) between profile_start/_stop.
        wrap = [str(REPO / "scripts" / "_profiled.py"), str(profile)] if profile else []
        self.profile = profile
        self.proc = subprocess.Popen(
            [sys.executable, *wrap, *serve], cwd=root, stdout=subprocess.DEVNULL
        )
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
        return _cpu(Path(f"/proc/{self.proc.pid}/stat"))

    def thread_cpu(self) -> dict[str, float]:
        """CPU seconds per thread: the event loop (``main``) and the others by name."""
        out: Counter[str] = Counter()
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            name = "main" if task.name == str(self.proc.pid) else (task / "comm").read_text()
            out[name.strip()] += _cpu(task / "stat")
        return dict(out)

    def latency_model(self) -> None:
        for surface, ms in SURFACE_MS.items():
            self.admin("POST", "latency", {"surface": surface, "base_ms": ms})
        for op, ms in OPERATION_EXTRA_MS.items():
            self.admin(
                "POST",
                "faults",
                {"kind": "latency", "operation": op, "latency_ms": ms, "times": None},
            )

    def profile_start(self) -> None:
        if self.profile is not None:
            self.proc.send_signal(signal.SIGUSR1)

    def profile_stop(self) -> None:
        """Stop profiling and wait for the profile file."""
        if self.profile is None:
            return
        self.proc.send_signal(signal.SIGUSR2)
        while not self.profile.exists():
            time.sleep(0.1)

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
    """Run a Python child (``[python, *args]``); its wall time, CPU seconds, peak RSS (MB, its
    own: see scripts/_peak_rss.py) and exit status."""
    peak = cwd / "peak-rss"
    wrapped = [cmd[0], str(REPO / "scripts" / "_peak_rss.py"), str(peak), *cmd[1:]]
    start = time.monotonic()
    with tempfile.TemporaryFile() as err:  # not a pipe: a long stderr would block the child
        proc = subprocess.Popen(wrapped, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        err.seek(0)
        text = err.read().decode(errors="replace")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": float(peak.read_text()) if peak.exists() else float("nan"),
        "exit": os.waitstatus_to_exitcode(status),
        "stderr": text[-500:],
    }


@dataclass(frozen=True)
class Fleet:
    """What a rotate run acts on: N accounts over K subscriptions, plus idle ones."""

    accounts: int
    subscriptions: int = 1
    idle: int = 0


def rotate_run(
    fleet: Fleet, concurrency: int, mode: str, profile: Path | None = None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        root = Path(tmp)
        doc = fleet_world(fleet.accounts, fleet.subscriptions, fleet.idle)
        emu = Emulator(root, doc, profile)
        try:
            emu.latency_model()
            if mode == "budget":
                emu.admin("POST", "arm/settings", {"buckets": True})
            seq = emu.admin("GET", "requests?since=999999999")["last_seq"]
            emu.admin("DELETE", "connections")
            cmd = [sys.executable, "-m", "keyops", "rotate", "--concurrency", str(concurrency)]
            cmd += ["--vault-url", emu.conn["vaults"][0]["url"], "-o", "json"]
            if fleet.subscriptions == 1:
                cmd += ["-g", "rg-fleet"]  # discovery: one subscription's group
            else:
                (root / "keyops.toml").write_text(fleet_config(doc))
            emu.profile_start()
            cpu0, threads0 = emu.cpu(), emu.thread_cpu()
            result = run_measured(cmd, cli_env(emu), root)
            result["emulator_cpu"] = emu.cpu() - cpu0
            result["emulator_threads"] = {
                k: v - threads0.get(k, 0.0) for k, v in emu.thread_cpu().items()
            }
            emu.profile_stop()
            log = emu.admin("GET", f"requests?since={seq}")["entries"]
            result["connections"] = emu.admin("GET", "connections")["connections"]
        finally:
            emu.stop()
    return {**result, **summarise(log, fleet.accounts, concurrency)}


def sdk_reference(accounts: int) -> dict[str, Any]:
    """A user's plain script: listKeys, regenerate, set the secret, read it back — in sequence."""
    with tempfile.TemporaryDirectory(prefix="bench-sdk-") as tmp:
        root = Path(tmp)
        emu = Emulator(root, fleet_world(accounts))
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
        emu = Emulator(root, fleet_world(accounts))
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


def fleets(args: argparse.Namespace) -> list[Fleet]:
    """One fleet per ``--accounts`` size and ``--idle`` growth, spread over subscriptions."""
    out = []
    for n in (int(x) for x in args.accounts.split(",")):
        subs = math.ceil(n / args.per_subscription) if args.per_subscription else args.subscriptions
        out += [Fleet(n, subs, int(idle)) for idle in args.idle.split(",")]
    return out


def print_rotate(r: dict[str, Any], fleet: Fleet, mode: str, c: int) -> None:
    ratio = r["bound_s"] / r["wall"] if r["wall"] else 0.0
    world = f"  world {fleet.accounts + fleet.idle} accounts" if fleet.idle else ""
    print(
        f"\n## rotate {fleet.accounts} accounts in {fleet.subscriptions} subscription(s)  "
        f"mode={mode}  --concurrency {c}{world}  exit {r['exit']}  load {load()}"
    )
    print(
        f"wall {r['wall']:.1f} s   bound {r['bound_s']:.1f} s   bound/actual "
        f"{ratio:.2f}   chain {r['chain_s']:.2f} s/account "
        f"({r['round_trips_per_account']:.1f} round trips)"
    )
    share = r["answered_429"] / max(1, r["requests"])
    print(
        f"requests {r['requests']}  429s {r['answered_429']} ({share:.2%})  "
        f"ARM writes {r['arm_writes']} (busiest subscription {r['busiest_subscription_writes']})"
    )
    print(
        f"keyops CPU {r['cpu']:.1f} s  peak RSS {r['rss_mb']:.0f} MB   emulator CPU "
        f"{r['emulator_cpu']:.1f} s ({1000 * r['emulator_cpu'] / fleet.accounts:.1f} "
        f"ms/account; by thread: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in r["emulator_threads"].items() if v >= 0.05)
        + ")"
    )
    print("new connections per host: " + ", ".join(f"{k} {v}" for k, v in r["connections"].items()))
    print(
        "round trips per account: " + ", ".join(f"{k} {v:.2f}" for k, v in r["per_account"].items())
    )
    if r["exit"] != 0:
        print("stderr: " + r["stderr"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", default="200", help="fleet size; comma-separated: one run each")
    ap.add_argument("--concurrency", default="8,32,64")
    ap.add_argument("--modes", default="latency,budget")
    spread = ap.add_mutually_exclusive_group()
    spread.add_argument(
        "--subscriptions", type=int, default=1, help="spread the fleet over this many"
    )
    spread.add_argument(
        "--per-subscription", type=int, default=0, help="or: this many accounts per subscription"
    )
    ap.add_argument("--sdk-accounts", type=int, default=50)
    ap.add_argument("--audit", action="store_true", help="also time keyops audit of the fleet")
    ap.add_argument(
        "--idle",
        default="0",
        help="comma-separated world growth: accounts (with secrets) not rotated; one run each",
    )
    ap.add_argument(
        "--profile", type=Path, help="write the emulator's cProfile of each run into this folder"
    )
    args = ap.parse_args()
    print(f"# fleet of {args.accounts}; keyops at {revision()}; load before: {load()}")
    if args.sdk_accounts:
        ref = sdk_reference(args.sdk_accounts)
        print(
            f"plain SDK script, {args.sdk_accounts} accounts in sequence: {ref['wall']:.1f} s "
            f"({ref['per_account_s']:.2f} s/account), exit {ref['exit']}; load {load()}"
        )
    for fleet in fleets(args):
        for mode in args.modes.split(","):
            for c in (int(x) for x in args.concurrency.split(",")):
                profile = None
                if args.profile:
                    args.profile.mkdir(parents=True, exist_ok=True)
                    name = f"emulator-{fleet.accounts}-{fleet.subscriptions}-{mode}-c{c}.prof"
                    profile = args.profile.resolve() / name
                r = rotate_run(fleet, c, mode, profile)
                print_rotate(r, fleet, mode, c)
                sys.stdout.flush()
    if args.audit:
        n = int(args.accounts.split(",")[-1])
        a = audit_run(n)
        print(
            f"\n## audit {n} accounts  wall {a['wall']:.1f} s  peak RSS {a['rss_mb']:.0f} MB  "
            f"keyops CPU {a['cpu']:.1f} s  emulator CPU {a['emulator_cpu']:.1f} s  "
            f"exit {a['exit']}  load {load()}"
        )


if __name__ == "__main__":
    main()
