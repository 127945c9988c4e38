"""Ctrl-C in the middle of a fleet rotation: status 130, no account started after it, every
account in flight finishes its write sequence and releases its lease, the finished accounts are
reported, and a rerun right away (no --break-lease) converges with working keys everywhere."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from keyops.azure.probe import NO_RETRY, KeyAuth, probe
from tests.rotate.conftest import Rig, cli_env, run_cli


def _args(rig: Rig, concurrency: int) -> list[str]:
    return [
        "rotate",
        "--vault-url",
        rig.vault_url,
        "--if-older-than",
        "7d",
        "--propagation-timeout",
        "20s",
        "--concurrency",
        str(concurrency),
        "-o",
        "json",
    ]


def _default_sigint() -> None:
    # A job a non-interactive shell starts in the background (``pytest … &``) inherits SIGINT
    # ignored, and Python then leaves it ignored: the child would never see the Ctrl-C. A user's
    # terminal always delivers it, so the child gets the default disposition back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for(rig: Rig, seq: int, operation: str) -> None:
    """Poll the request log (no sleep for time to pass: each poll is a request)."""
    for _ in range(2000):
        if rig.calls(seq, operation):
            return
    raise AssertionError(f"{operation} never happened")


@pytest.mark.parametrize("concurrency", [1, 4])
def test_ctrl_c_mid_fleet_exits_130_and_leaves_a_state_a_rerun_finishes(
    rig: Rig, concurrency: int
) -> None:
    targets = rig.targets()
    assert len(targets) >= 2
    # Every key test waits in the emulator until Ctrl-C has been sent, so the run is surely
    # mid-account when it arrives, however loaded the machine.
    hold = rig.emu.fault({"operation": "ChatCompletions_Create", "kind": "hold", "times": 50})
    seq = rig.emu.last_seq
    proc = subprocess.Popen(
        [sys.executable, "-m", "keyops", *_args(rig, concurrency)],
        env=cli_env(rig.emu),
        cwd=rig.emu.connection_path.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    _wait_for(rig, seq, "Accounts_RegenerateKey")
    proc.send_signal(signal.SIGINT)
    rig.emu.release(hold)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    finished = json.loads(out)["accounts"] if out.strip() else []
    regenerated = rig.calls(seq, "Accounts_RegenerateKey")
    # The accounts in flight finished their writes and are reported; no other was started.
    rotated = [r for r in finished if r["action"] == "rotated"]
    assert len(rotated) == len(regenerated) >= 1, finished
    if concurrency == 1:
        assert len(regenerated) == 1 and len(finished) < len(targets), finished
    # The rerun is not blocked by a lease left behind and converges.
    rig.emu.admin("DELETE", "faults")
    rerun = run_cli(rig.emu, *_args(rig, concurrency))
    assert rerun.returncode == 0, rerun.stderr
    for target in (t for t in targets if not t.account.disable_local_auth):
        latest = rig.latest(target.secret_name)
        keys = rig.keys(target)
        assert keys.slot_of(latest.value) is not None, target.account.name
        deployment = rig.emu.account(target.account.name)["deployments"][0]
        assert probe(
            target.account.endpoint,
            deployment["name"] if isinstance(deployment, dict) else deployment,
            KeyAuth(latest.value),
            retry=NO_RETRY,
            verify=rig.env.verify,
        ).ok
