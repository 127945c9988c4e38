"""The chaos harness's verdicts, from the emulator's request log and the secret's versions.

Plain functions over plain data, so that the judge is tested on its own (tests/rotate/
test_chaos.py feeds it logs that must and must not count).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

#: Consumers follow the vault with these refresh intervals (seconds, emulator clock).
REFRESH = (0, 120, 86400)


@dataclass
class Verdict:
    """What one schedule's log shows."""

    violations: list[str] = field(default_factory=list)
    outages: list[str] = field(default_factory=list)
    #: Regenerates from keyops' principal (a schedule with none proved less).
    regenerations: int = 0


def fingerprint(value: str) -> str:
    """keyops' and the emulator's fingerprint of a key (``sha256:`` + 8 hex digits)."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:8]


def held_between(timeline: list[tuple[float, str]], fp: str, start: float, end: float) -> bool:
    """Whether ``fp`` was the vault's latest at some moment of [start, end].

    ``timeline`` is (time it became the latest, fingerprint), in time order.
    """
    for i, (t, value) in enumerate(timeline):
        until = timeline[i + 1][0] if i + 1 < len(timeline) else float("inf")
        if value == fp and t <= end and until >= start and until != t:
            return True
    return False


def _killed(entry: dict[str, Any]) -> str:
    """The fingerprint a regenerate killed (its log detail is ``Key2 <old>><new>``)."""
    return str(entry["detail"]).split(" ")[1].split(">")[0]


def judge(
    log: list[dict[str, Any]],
    versions: dict[str, str],
    initial: str,
    *,
    account: str,
    secret: str,
    keyops: str,
) -> Verdict:
    """Outages and invariant violations of one schedule.

    ``versions`` maps each secret version to its value's fingerprint, ``initial`` is the latest
    version's fingerprint before the schedule, ``keyops`` is keyops' principal (object id).
    """
    verdict = Verdict()
    regens = [
        e
        for e in log
        if e["operation"] == "Accounts_RegenerateKey"
        and e["changed"]
        and account in e["path"]
        and e.get("detail")
    ]
    verdict.regenerations = sum(1 for e in regens if e["principal"] == keyops)
    died: dict[str, float] = {}
    for e in regens:
        died.setdefault(_killed(e), e["time"])
    stores = sorted(
        (e["time"], versions.get(e.get("detail") or "", "?"), e["principal"])
        for e in log
        if e["operation"] == "SetSecret" and e["status"] == 200 and f"/{secret}" in e["path"]
    )
    for t, fp, who in stores:
        if who == keyops and fp in died and died[fp] <= t:
            verdict.violations.append(f"keyops stored a dead key at {t:.0f}")
    timeline = [(float("-inf"), initial)] + [(t, fp) for t, fp, _ in stores]
    for e in regens:
        if e["principal"] != keyops:
            continue
        t, old = e["time"], _killed(e)
        for refresh in REFRESH:
            if held_between(timeline, old, t - refresh, t):
                if refresh == 0:
                    verdict.violations.append(
                        f"keyops regenerated the vault's latest key at {t:.0f}"
                    )
                verdict.outages.append(f"refresh {refresh}s: key killed by keyops at {t:.0f}")
    return verdict
