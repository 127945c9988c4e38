#!/usr/bin/env python3
"""Time of the emulator's Logs: replaying declared consumers, and the queries keyops sends.

    .venv/bin/python scripts/bench_logs.py                 # 30 days, calls every minute
    .venv/bin/python scripts/bench_logs.py --days 7 --every 5m

Starts an in-process emulator with the consumers test world plus one busy key consumer calling
``contoso-aiservices-weu`` every ``--every`` since ``--days`` ago, then times (wall and CPU): the
first request (which replays every consumer up to now), ``keyops consumers`` on that account
(the real azure-monitor-query client; its KQL summarises in the emulator), and a second run.
Not a test: no assertion on speed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import _bench_path  # noqa: F401  (repo root on sys.path: tests' worlds and emulator support)

from tests.consumers.support import run_consumers, target
from tests.consumers.worlds import WEU, consumers_document
from tests.support.emulator import start_emulator


def _timed(label: str, fn: object) -> object:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()  # type: ignore[operator]
    print(
        f"{label}: wall {time.perf_counter() - wall:.2f} s, cpu {time.process_time() - cpu:.2f} s"
    )
    return result


def _first(handle: object) -> None:
    """The first request, with room for a long replay (the admin helper waits 10 s)."""
    import requests

    h: Any = handle
    requests.get(
        f"{h.url}/_emulator/logs",
        headers={"Authorization": f"Bearer {h.server.emulator.admin_token}"},
        verify=h.ca_bundle,
        timeout=600,
    ).raise_for_status()


def main() -> None:
    from keyops.emulator.world import parse_world

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--every", default="1m")
    args = parser.parse_args()
    doc = consumers_document()
    doc["consumers"].append(
        {
            "name": "busy",
            "ip": "10.99.0.1",
            "account": WEU,
            "auth": "key",
            "key_slot": "Key1",
            "calls_every": args.every,
            "start": f"-{args.days}d",
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        handle = start_emulator(Path(tmp) / "emu", Path(tmp) / "tls", world=parse_world(doc))
        try:
            _timed("first request (replays the consumers)", lambda: _first(handle))
            print(f"records: {handle.admin('GET', 'logs')['records']}")
            window = f"{args.days}d"
            for run in ("keyops consumers", "again"):
                out = _timed(
                    run,
                    lambda: run_consumers(
                        handle,
                        "--account",
                        WEU,
                        "--window",
                        window,
                        "--vault-url",
                        handle.vault_url(),
                    ),
                )
                status, doc_out, _ = out  # type: ignore[misc]
            entry = target(doc_out, WEU)
            busy = next(c for c in entry["callers"] if c["ip"] == "10.99.0.1")
            print(f"status {status}; busy consumer: {busy['calls']} calls")
        finally:
            handle.stop()


if __name__ == "__main__":
    main()
