"""Monitor state: each account's history spec and the calls the data plane really served.

State lives in ``emu.store.section("monitor")``::

    {"accounts": {<account lower>: {"spec": <validated spec>, "origin": <Unix s>}},
     "served":   {<account lower>: {<minute Unix s>: {<dims key>: [requests, prompt,
                                                                    completion, latency_ms]}}}}

``origin`` is when the account's history ends (the state's creation for world specs, the
change's time for admin replacements); history covers ``days`` days before it. Served calls
are counted per emulated minute. Public API for the data plane: :class:`ServedCall`,
:func:`record_call`. For this service: :func:`facts`, :func:`set_history`, :func:`add_events`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from keyops.emulator.core.context import Emulator
from keyops.emulator.services.arm.models import AccountView, get_account
from keyops.emulator.services.monitor import history
from keyops.emulator.services.monitor.catalog import Fact, metric_dims
from keyops.emulator.services.monitor.spec import parse_events, parse_spec
from keyops.emulator.world import WorldError

SECTION = "monitor"
_SEP = "|"
#: Azure Monitor keeps platform metrics 93 days; older served-call counters are dropped.
RETENTION_S = 93 * 86400


def monitor_state(emu: Emulator) -> dict[str, Any]:
    """The service's state section."""
    section = emu.store.section(SECTION)
    section.setdefault("accounts", {})
    section.setdefault("served", {})
    return section


def seed(emu: Emulator) -> None:
    """Validate every world account's ``metrics`` and store it (history ends now)."""
    state = monitor_state(emu)
    now = emu.clock.now()
    for i, account in enumerate(emu.world.accounts):
        if account.metrics is None:
            continue
        try:
            spec = parse_spec(account.metrics, now)
        except ValueError as err:
            raise WorldError(f"accounts[{i}].metrics.{err}") from None
        state["accounts"][account.name.lower()] = {"spec": spec, "origin": now}


def history_entry(emu: Emulator, account: str) -> dict[str, Any] | None:
    """An account's stored history (``spec`` and ``origin``), or None."""
    entry: dict[str, Any] | None = monitor_state(emu)["accounts"].get(account.lower())
    return entry


def set_history(emu: Emulator, account: str, raw: Any) -> dict[str, Any]:
    """Replace an account's history spec; it ends now. ValueError names a bad field."""
    now = emu.clock.now()
    entry = {"spec": parse_spec(raw, now), "origin": now}
    monitor_state(emu)["accounts"][account.lower()] = entry
    return entry


def add_events(emu: Emulator, account: str, raw: Any) -> dict[str, Any]:
    """Add events (times relative to now) to an account's history; ValueError if invalid.

    The history is extended to end now, so events in the emulated time since the state was
    made take effect (each hour is generated independently, so earlier hours do not change).
    """
    now = emu.clock.now()
    entry = history_entry(emu, account)
    if entry is None:
        entry = set_history(emu, account, {"baseline": 0})
    entry["origin"] = max(float(entry["origin"]), now)
    entry["spec"]["events"] = list(entry["spec"]["events"]) + parse_events(raw, now)
    return entry


@dataclass(frozen=True)
class ServedCall:
    """One answer of the data plane, as metrics count it."""

    operation: str
    deployment: str
    model: str
    version: str
    status: int
    stream: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0


def _key(call: ServedCall) -> str:
    return _SEP.join(
        [
            call.operation,
            call.deployment,
            call.model,
            call.version,
            str(call.status),
            "1" if call.stream else "0",
        ]
    )


def record_call(
    emu: Emulator, account: AccountView, call: ServedCall, at: float | None = None
) -> None:
    """Count a served call in the current emulated minute, or in the minute of ``at`` (a
    declared consumer's call replayed as the clock advanced); the caller commits."""
    now = emu.clock.now()
    minute = str(int((now if at is None else at) // 60 * 60))
    served = monitor_state(emu)["served"].setdefault(account.name.lower(), {})
    # A new minute: forget the ones past retention. Minutes are mostly added in time order, so
    # the first is the oldest; scanning only when it has expired keeps a long replay of calls
    # (a world's declared consumers) linear instead of quadratic.
    if minute not in served and served and int(next(iter(served))) < now - RETENTION_S:
        for old in [m for m in served if int(m) < now - RETENTION_S]:
            del served[old]
    counts = served.setdefault(minute, {}).setdefault(_key(call), [0, 0, 0, 0.0])
    ok = 200 <= call.status < 300
    counts[0] += 1
    counts[1] += call.prompt_tokens if ok else 0
    counts[2] += call.completion_tokens if ok else 0
    counts[3] += call.latency_ms if ok else 0.0


def minute_usage(emu: Emulator, account: AccountView, deployment: str) -> tuple[int, int]:
    """Requests and tokens a deployment served in the current minute (for rate-limit headers)."""
    minute = str(int(emu.clock.now() // 60 * 60))
    served = monitor_state(emu)["served"].get(account.name.lower(), {}).get(minute, {})
    requests = tokens = 0
    for key, counts in served.items():
        if key.split(_SEP)[1].lower() == deployment.lower():
            requests += int(counts[0])
            tokens += int(counts[1]) + int(counts[2])
    return requests, tokens


def _served_facts(emu: Emulator, account: AccountView, start: float, end: float) -> list[Fact]:
    served = monitor_state(emu)["served"].get(account.name.lower(), {})
    out = []
    for minute, rows in served.items():
        t = int(minute)
        if not start - 60 < t < end:
            continue
        for key, counts in rows.items():
            op, deployment, model, version, status, stream = key.split(_SEP)
            dims = metric_dims(
                operation=op,
                region=account.location,
                stream=stream == "1",
                deployment=deployment,
                model=model,
                version=version,
                status=int(status),
                ratelimit_key=account.name,
            )
            out.append(
                Fact(
                    t,
                    1,
                    dims,
                    float(counts[0]),
                    float(counts[1]),
                    float(counts[2]),
                    float(counts[3]),
                )
            )
    return out


def facts(emu: Emulator, account: AccountView, start: float, end: float) -> list[Fact]:
    """Served calls and generated history of an account overlapping ``[start, end)``."""
    out = _served_facts(emu, account, start, end)
    entry = history_entry(emu, account.name)
    if entry is not None:
        deployments = tuple((d.name, d.model, d.version, d.api) for d in account.deployments)
        generated = history.hourly(
            emu.world.seed,
            account.name,
            account.location,
            _frozen(entry["spec"]),
            float(entry["origin"]),
            deployments,
        )
        first, last = math.floor(start / 3600) * 3600, end
        current = history.origin_hour(
            emu.world.seed,
            account.name,
            account.location,
            _frozen(entry["spec"]),
            float(entry["origin"]),
            emu.clock.now(),
            deployments,
        )
        out.extend(f for f in (*generated, *current) if first <= f.start < last)
    return out


def account_by_id(emu: Emulator, resource_id: str) -> AccountView | None:
    """The account whose ARM id is ``resource_id`` (case-insensitive), or None."""
    parts = resource_id.strip("/").split("/")
    if len(parts) != 8 or parts[0].lower() != "subscriptions":
        return None
    account = get_account(emu, parts[7])
    if account is None or account.id.lower() != "/" + "/".join(parts).lower():
        return None
    return account


def _frozen(spec: dict[str, Any]) -> str:
    import json

    # The generator is cached by its inputs; a JSON text is a hashable, exact key for the spec.
    return json.dumps(spec, sort_keys=True)
