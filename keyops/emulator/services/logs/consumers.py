"""Declared consumers (``[[consumers]]`` in the world file; syntax in
:mod:`keyops.emulator.logsworld`) acting as the emulator clock advances.

No threads: :func:`advance` runs before every request (and before every Logs query), replaying
each consumer's due refreshes and calls up to now, in time order. A refresh reads the secret as
the vault holds it then (RBAC and all) and leaves a ``SecretGet`` audit event; a call presents
the key the consumer holds — the one it last read, or a slot's value pasted by hand — and is
answered 200 while that key is one of the account's and 401 once it is not, in the logs and in
the metrics alike.

An app's owner can move it between key and Entra ID as a human changes its config:
:func:`switch_auth` (``POST /_emulator/consumers/{name}`` ``{"auth": "token"}``) first replays
everything due up to now under the old auth, then every later call is made the new way. A
consumer moved to ``token`` calls with its principal's token (logged with its object id) and no
longer reads the secret; moved back to ``key``, it reads the secret again from that moment.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from keyops.emulator.core.errors import EmulatorHTTPError
from keyops.emulator.logsworld import ConsumerDecl, seconds
from keyops.emulator.services.logs.models import append, logs_state
from keyops.emulator.world import relative_time

if TYPE_CHECKING:
    from keyops.emulator.core.context import Emulator

_KV_API = "7.5"
_AOAI_API = "2024-10-21"
#: At most this many events per consumer per advance (a clock moved years ahead stays cheap).
_MAX_EVENTS = 200_000


def seed_consumers(emu: Emulator) -> None:
    """Each consumer's first refresh and call, and the key a hand-configured one holds."""
    from keyops.emulator.services.arm.models import current_key

    now = emu.clock.now()
    consumers = logs_state(emu)["consumers"]
    for i, decl in enumerate(emu.world.logs.consumers):
        where = f"consumers[{i}].start"
        start = relative_time(decl.start, now, where) if decl.start else now
        state: dict[str, Any] = {"next_read": None, "next_call": None, "held": None}
        if decl.secret is not None:
            state["next_read"] = start
        if decl.key_slot is not None and decl.account is not None:
            state["held"] = current_key(emu, decl.account, decl.key_slot)
        if decl.account is not None and decl.calls_every is not None:
            state["next_call"] = start
        consumers[decl.name] = state


def advance(emu: Emulator, until: float) -> int:
    """Replay every consumer's due activity up to ``until``; how many events were made."""
    if not emu.world.logs.consumers:  # most worlds: nothing to do on each request
        return 0
    made = 0
    consumers = logs_state(emu)["consumers"]
    for decl in emu.world.logs.consumers:
        state = consumers.get(decl.name)
        if state is not None:
            made += _advance_one(emu, decl, state, until)
    return made


def switch_auth(emu: Emulator, name: str, auth: str) -> dict[str, Any]:
    """Move consumer ``name`` to ``auth`` ("key" or "token") from now on; its new state.

    LookupError: no such consumer; ValueError: an auth it cannot use (each names which)."""
    decl = next((d for d in emu.world.logs.consumers if d.name == name), None)
    state = logs_state(emu)["consumers"].get(name)
    if decl is None or state is None:
        raise LookupError(f"no consumer named {name!r}")
    if auth not in ("key", "token"):
        raise ValueError("auth: expected 'key' or 'token'")
    if auth == "token" and decl.principal is None:
        raise ValueError(f"{name} has no principal to get a token for")
    if auth == "key" and decl.secret is None and state.get("held") is None:
        raise ValueError(f"{name} has no secret to read and no key pasted by hand")
    now = emu.clock.now()
    advance(emu, now)  # what was due before the change happened the old way
    if auth != state.get("auth", decl.auth):
        state["auth"] = auth
        if auth == "token":
            state["next_read"] = None  # its config no longer names the secret
        elif decl.secret is not None:
            state["next_read"] = now
    return {"name": name, "auth": auth}


def _advance_one(emu: Emulator, decl: ConsumerDecl, state: dict[str, Any], until: float) -> int:
    made = 0
    while made < _MAX_EVENTS:
        read, call = state["next_read"], state["next_call"]
        due_read = math.inf if read is None else float(read)
        due_call = math.inf if call is None else float(call)
        if min(due_read, due_call) > until:
            return made
        if due_read <= due_call:  # at the same moment it refreshes first
            _refresh(emu, decl, state, due_read)
            state["next_read"] = due_read + seconds(decl.refresh, "refresh")
        else:
            _call(emu, decl, state, due_call)
            assert decl.calls_every is not None
            state["next_call"] = due_call + seconds(decl.calls_every, "calls_every")
        made += 1
    return made


def _vault_url(emu: Emulator, name: str) -> str:
    return emu.vault_urls.get(name, f"https://{name}.vault.azure.net").rstrip("/")


def _refresh(emu: Emulator, decl: ConsumerDecl, state: dict[str, Any], at: float) -> None:
    from keyops.emulator.services.keyvault.auth import GET_SECRET
    from keyops.emulator.services.keyvault.models import find_vault, read_secret

    assert decl.secret is not None and decl.principal is not None
    vault_name, _, secret = decl.secret.partition("/")
    vault = find_vault(emu, vault_name)
    if vault is None:
        return
    principal = emu.world.principal(decl.principal)
    url = _vault_url(emu, vault.name)
    status, object_id = 200, ""
    if not emu.rbac.allows(
        principal.object_id, GET_SECRET, f"{vault.id}/secrets/{secret}", data=True
    ):
        status = 403
    else:
        try:
            found = read_secret(emu, vault, secret, decl.version)
            state["held"] = found.value
            object_id = f"{url}/secrets/{secret}/{found.version}"
        except EmulatorHTTPError as err:
            status = err.status
    suffix = f"/{decl.version}" if decl.version else "/"
    event = {
        "t": at,
        "op": "SecretGet",
        "status": status,
        "ip": decl.ip,
        "oid": principal.object_id,
        "appid": principal.client_id,
        "object": object_id,
        "uri": f"{url}/secrets/{secret}{suffix}?api-version={_KV_API}",
        "api": _KV_API,
        "ms": 11,
        "agent": f"consumer/{decl.name}",
    }
    append(emu, vault.id, "audit", event)


def _call(emu: Emulator, decl: ConsumerDecl, state: dict[str, Any], at: float) -> None:
    from keyops.emulator.services.arm.models import (
        get_account,
        key_status,
        local_auth_enforced,
        raw_account,
    )
    from keyops.emulator.services.monitor.models import ServedCall, record_call
    from keyops.emulator.services.openai.exceptions import permission_denied
    from keyops.emulator.services.openai.models import CHAT

    assert decl.account is not None
    account = get_account(emu, decl.account)
    if account is None:
        return
    oid = None
    if state.get("auth", decl.auth) == "token":
        assert decl.principal is not None
        oid = emu.world.principal(decl.principal).object_id
        # Held to RBAC as the data plane holds any token caller (401 PermissionDenied).
        allowed = emu.rbac.allows(oid, CHAT.data_action, account.id, data=True)
        status = 200 if allowed else permission_denied().status
    elif local_auth_enforced(emu, raw_account(emu, account.name) or {"disable_local_auth": 0}, at):
        status = 403  # as the data plane refuses it: local_auth_delay after the PATCH
    else:
        held = state.get("held")
        status = 200 if held and key_status(emu, account, str(held)) == "valid" else 401
    deployment = account.deployments[0] if account.deployments else None
    event = {
        "t": at,
        "op": "ChatCompletions_Create",
        "status": status,
        "ip": decl.ip,
        "oid": oid,
        "api": _AOAI_API,
        "deployment": deployment.name if deployment else "",
        "ms": 240,
    }
    append(emu, account.id, "request", event)
    record_call(
        emu,
        account,
        ServedCall(
            operation="ChatCompletions_Create",
            deployment=deployment.name if deployment else "",
            model=deployment.model if deployment else "",
            version=deployment.version if deployment else "",
            status=status,
            prompt_tokens=20 if status == 200 else 0,
            completion_tokens=10 if status == 200 else 0,
        ),
        at=at,
    )
