"""Cognitive Services accounts: state, key slots and the rules around them (no HTTP here).

State lives in ``emu.store.section("arm")``::

    {"accounts": [<account>, ...], "page_size": 50}

where each ``<account>`` is a JSON dict (see :func:`new_account_state`) holding the account's
properties, its deployments and its two key slots ``{"Key1": {value, created, accepted_from},
"Key2": {...}}`` (Unix seconds of the emulated clock). A list, not a dict, keeps the order
accounts were made in across restarts (the store writes JSON with sorted keys).

Public API for the other emulator services (the data plane, Key Vault seeding, Monitor) — these
names are stable:

- :class:`AccountView` — a frozen snapshot of one account (properties, endpoint, deployments).
- :func:`list_accounts`, :func:`get_account` (by name), :func:`find_account_by_endpoint_prefix`
  (by custom subdomain), :func:`accounts_in_region` (by location).
- :func:`key_status` — ``"valid" | "propagating" | "invalid"`` for a key presented to an account.
- :func:`find_account_by_key` — which account (of a list, e.g. one region's) a key belongs to.
- :func:`current_key` — a slot's current value (for seeding vault secrets from account keys).
- :func:`get_deployment` — a deployment of an account by name (case-insensitive), or None.

A PATCH of ``disableLocalAuth`` shows in ARM at once but reaches the data plane only
``emu.settings.local_auth_delay`` seconds later (Azure takes minutes):
:attr:`AccountView.keys_refused` is what the data plane enforces now.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import weakref
from dataclasses import dataclass
from typing import Any, Literal

from keyops.emulator.core.context import Emulator
from keyops.emulator.core.layout import account_endpoint
from keyops.emulator.core.listindex import ListIndex
from keyops.emulator.services.arm import exceptions as arm_errors
from keyops.emulator.services.arm.keyformat import new_key
from keyops.emulator.world import Account, Deployment, relative_time

KEY_SLOTS = ("Key1", "Key2")
KeyStatus = Literal["valid", "propagating", "invalid"]


@dataclass(frozen=True)
class AccountView:
    """A read-only snapshot of one account, as the data plane and other services need it.

    ``endpoint`` is the data-plane URL ARM reports (trailing slash); ``custom_subdomain`` is None
    for an account that answers only on its region's shared endpoint.
    """

    name: str
    id: str
    subscription_id: str
    resource_group: str
    kind: str
    location: str
    custom_subdomain: str | None
    disable_local_auth: bool
    public_network_access: str
    key_format: str
    endpoint: str
    #: Whether the data plane refuses keys now (``disableLocalAuth`` once a change reached it).
    keys_refused: bool
    created: float
    tags: dict[str, str]
    deployments: tuple[Deployment, ...]
    metrics: dict[str, Any] | None

    def deployment(self, name: str) -> Deployment | None:
        """A deployment by name (case-insensitive, as Azure resolves them), or None."""
        return next((d for d in self.deployments if d.name.lower() == name.lower()), None)


def arm_state(emu: Emulator) -> dict[str, Any]:
    """The service's state section, with its account list."""
    section = emu.store.section("arm")
    section.setdefault("accounts", [])
    return section


def _raw_accounts(emu: Emulator) -> list[dict[str, Any]]:
    accounts: list[dict[str, Any]] = arm_state(emu)["accounts"]
    return accounts


#: Per emulator and field: lower-cased value -> position in the account list. A hint only: each
#: hit is checked against the list, and a miss or a stale hit rebuilds it (accounts are rarely
#: added and never renamed), so a lookup costs O(1), not a scan of the world.
_INDEX: weakref.WeakKeyDictionary[Emulator, dict[str, dict[str, int]]] = weakref.WeakKeyDictionary()


def _lookup(emu: Emulator, field: str, value: str) -> dict[str, Any] | None:
    accounts = _raw_accounts(emu)
    lowered = value.lower()
    indexes = _INDEX.setdefault(emu, {})
    for rebuilt in (False, True):
        if rebuilt or field not in indexes:
            indexes[field] = {
                str(a.get(field) or "").lower(): i for i, a in reversed(list(enumerate(accounts)))
            }
        at = indexes[field].get(lowered)
        if at is not None and at < len(accounts):
            state = accounts[at]
            if str(state.get(field) or "").lower() == lowered:
                return state
    return None


def raw_account(emu: Emulator, name: str) -> dict[str, Any] | None:
    """The mutable state dict of an account, by name (case-insensitive), or None."""
    return _lookup(emu, "name", name)


def world_account(state: dict[str, Any]) -> Account:
    """The account state as a :class:`keyops.emulator.world.Account` (for ``core.layout``)."""
    return Account(
        name=state["name"],
        resource_group=state["resource_group"],
        subscription_id=state["subscription_id"],
        kind=state["kind"],
        location=state["location"],
        custom_subdomain=state.get("custom_subdomain"),
        disable_local_auth=bool(state["disable_local_auth"]),
        public_network_access=state["public_network_access"],
        key_format=state["key_format"],
        keys_created=None,
        tags=dict(state.get("tags", {})),
        deployments=tuple(Deployment(**d) for d in state.get("deployments", [])),
        metrics=state.get("metrics"),
    )


def view(emu: Emulator, state: dict[str, Any]) -> AccountView:
    """An :class:`AccountView` of an account's state."""
    acct = world_account(state)
    return AccountView(
        name=acct.name,
        id=acct.id,
        subscription_id=acct.subscription_id,
        resource_group=acct.resource_group,
        kind=acct.kind,
        location=acct.location,
        custom_subdomain=acct.custom_subdomain,
        disable_local_auth=acct.disable_local_auth,
        public_network_access=acct.public_network_access,
        key_format=acct.key_format,
        endpoint=account_endpoint(emu.base_url, acct),
        keys_refused=local_auth_enforced(emu, state),
        created=float(state["created"]),
        tags=acct.tags,
        deployments=acct.deployments,
        metrics=acct.metrics,
    )


def local_auth_enforced(emu: Emulator, state: dict[str, Any], at: float | None = None) -> bool:
    """The ``disableLocalAuth`` the data plane enforces now (or at ``at``, for a declared
    consumer's call replayed late): the value before the last PATCH until that change reaches
    it (``local_auth_delay`` after the PATCH), then the new one."""
    pending = state.get("local_auth_change")
    moment = emu.clock.now() if at is None else at
    if pending is not None and moment < float(pending["effective_at"]):
        return bool(pending["before"])
    return bool(state["disable_local_auth"])


def list_accounts(emu: Emulator) -> list[AccountView]:
    """Every account, in the order they were made (world order, then admin additions)."""
    return [view(emu, a) for a in _raw_accounts(emu)]


def get_account(emu: Emulator, name: str) -> AccountView | None:
    """An account by name (case-insensitive), or None."""
    state = raw_account(emu, name)
    return view(emu, state) if state is not None else None


def find_account_by_endpoint_prefix(emu: Emulator, subdomain: str) -> AccountView | None:
    """The account whose custom subdomain is ``subdomain`` (the ``/aoai/<subdomain>/`` prefix).

    Case-insensitive, as DNS names are; None when no account has that subdomain.
    """
    if not subdomain:
        return None
    state = _lookup(emu, "custom_subdomain", subdomain)
    return view(emu, state) if state is not None else None


def accounts_in_region(emu: Emulator, location: str) -> list[AccountView]:
    """Every account in ``location`` (case-insensitive), for the ``/regional/<location>/`` endpoint.

    Includes accounts that also have a custom subdomain: a regional endpoint accepts any of its
    region's keys; only Entra tokens need the custom subdomain.
    """
    lowered = location.lower()
    return [view(emu, a) for a in _raw_accounts(emu) if a["location"].lower() == lowered]


def _slot_status(emu: Emulator, slot: dict[str, Any], presented: bytes) -> KeyStatus:
    matches = hmac.compare_digest(str(slot["value"]).encode("utf-8"), presented)
    if not matches:
        return "invalid"
    return "valid" if emu.clock.now() >= float(slot["accepted_from"]) else "propagating"


def key_status(emu: Emulator, account: AccountView | str, presented_key: str) -> KeyStatus:
    """Whether ``presented_key`` opens ``account``'s data plane now.

    ``"valid"``: it is the current value of Key1 or Key2 and has propagated. ``"propagating"``:
    it is a value regenerated less than ``emu.settings.propagation_delay`` seconds ago (on the
    emulated clock); the data plane answers it exactly like an invalid key (401), as Azure does
    while a new key spreads. ``"invalid"``: anything else — including a slot's *previous* value,
    which stops working the moment the slot is regenerated. Both slots are always compared in
    constant time, so timing does not reveal which slot (or whether any) matched.
    Local-auth-disabled accounts are not checked here: read ``disable_local_auth`` first.
    """
    name = account.name if isinstance(account, AccountView) else account
    state = raw_account(emu, name)
    if state is None:
        return "invalid"
    presented = presented_key.encode("utf-8")
    results = [_slot_status(emu, state["keys"][slot], presented) for slot in KEY_SLOTS]
    if "valid" in results:
        return "valid"
    return "propagating" if "propagating" in results else "invalid"


def find_account_by_key(
    emu: Emulator, accounts: list[AccountView], presented_key: str
) -> tuple[AccountView, KeyStatus] | None:
    """The account among ``accounts`` that ``presented_key`` belongs to, with its status.

    For shared (regional) endpoints, where only the key tells accounts apart. None when the key
    is no account's current key. Every candidate is checked (no early exit).
    """
    found: tuple[AccountView, KeyStatus] | None = None
    for acct in accounts:
        status = key_status(emu, acct, presented_key)
        if status != "invalid" and found is None:
            found = (acct, status)
    return found


def current_key(emu: Emulator, account_name: str, slot: str) -> str:
    """The current value of ``slot`` (``Key1``/``Key2``) of an account; KeyError if unknown.

    For other services' seeding (vault secrets ``value_from = "account:<name>:Key1"``) and for
    tests. Never log or return it in an error.
    """
    state = raw_account(emu, account_name)
    if state is None or slot not in KEY_SLOTS:
        raise KeyError(f"{account_name}:{slot}")
    return str(state["keys"][slot]["value"])


def get_deployment(emu: Emulator, account_name: str, deployment: str) -> Deployment | None:
    """A deployment of an account by name (case-insensitive), or None."""
    acct = get_account(emu, account_name)
    return acct.deployment(deployment) if acct is not None else None


# --- state changes (used by this service's handlers and seed) ---------------------------------


def key_rng(emu: Emulator, index: int, salt: str = "") -> random.Random:
    """The deterministic generator for an account's keys.

    ``random.Random(world seed + account index)`` for the keys an account starts with; a
    regeneration salts it (``"regen-<n>"``) so each new value is distinct yet reproducible.
    """
    if not salt:
        return random.Random(emu.world.seed + index)
    return random.Random(f"{emu.world.seed + index}:{salt}")


def new_account_state(emu: Emulator, acct: Account, index: int, now: float) -> dict[str, Any]:
    """The state dict of a new account, its key slots made from ``key_rng(emu, index)``.

    ``keys_created`` (relative to ``now``) dates both slots; the account itself is dated no
    later than its keys.
    """
    rng = key_rng(emu, index)
    keys_created = (
        relative_time(acct.keys_created, now, f"accounts[{index}].keys_created")
        if acct.keys_created
        else now
    )
    created = min(now, keys_created)
    keys = {
        slot: {
            "value": new_key(acct.key_format, rng, kind=acct.kind, created=keys_created),
            "created": keys_created,
            "accepted_from": keys_created,
        }
        for slot in KEY_SLOTS
    }
    return {
        "name": acct.name,
        "resource_group": acct.resource_group,
        "subscription_id": acct.subscription_id,
        "kind": acct.kind,
        "location": acct.location,
        "custom_subdomain": acct.custom_subdomain,
        "disable_local_auth": acct.disable_local_auth,
        "public_network_access": acct.public_network_access,
        "key_format": acct.key_format,
        "tags": dict(acct.tags),
        "metrics": acct.metrics,
        "created": created,
        "deployments": [vars(d).copy() for d in acct.deployments],
        "keys": keys,
        "index": index,
        "regenerations": 0,
    }


def key_fingerprint(value: object) -> str:
    """``sha256:`` and 8 hex digits of a key: keyops' fingerprint, never the key."""
    return "sha256:" + hashlib.sha256(str(value).encode("utf-8")).hexdigest()[:8]


def regenerate_key(emu: Emulator, account_name: str, slot: str) -> dict[str, Any]:
    """Give ``slot`` a new value now; it is accepted after the propagation delay.

    The slot's old value stops working at once; the other slot is untouched. Returns the
    account's state. Deterministic: the n-th regeneration of an account draws from its own
    seeded generator.
    """
    state = raw_account(emu, account_name)
    if state is None or slot not in KEY_SLOTS:
        raise KeyError(f"{account_name}:{slot}")
    state["regenerations"] = int(state.get("regenerations", 0)) + 1
    rng = key_rng(emu, int(state["index"]), f"regen-{state['regenerations']}")
    now = emu.clock.now()
    state["keys"][slot] = {
        "value": new_key(state["key_format"], rng, kind=state["kind"], created=now),
        "created": now,
        "accepted_from": now + max(0.0, float(emu.settings.propagation_delay)),
    }
    return state


def update_account(
    emu: Emulator, account_name: str, patch: dict[str, Any], *, by: str
) -> dict[str, Any]:
    """Apply a PATCH (``tags``, ``properties.disableLocalAuth``/``publicNetworkAccess``); the
    resource gets a new revision (so a new etag) and ``by`` as its last modifier. A change of
    ``disableLocalAuth`` reaches the data plane ``local_auth_delay`` seconds later.

    A field of the wrong type is an ``InvalidRequestContent`` error; nothing is changed then.
    """
    state = raw_account(emu, account_name)
    if state is None:
        raise KeyError(account_name)
    tags = patch.get("tags", state["tags"])
    props = patch.get("properties") or {}
    if not isinstance(props, dict):
        props = {"disableLocalAuth": None}  # refused below
    local = props.get("disableLocalAuth", state["disable_local_auth"])
    network = props.get("publicNetworkAccess", state["public_network_access"])
    if (
        not isinstance(tags, dict)
        or not all(isinstance(v, str) for v in tags.values())
        or not isinstance(local, bool)
        or network not in ("Enabled", "Disabled")
    ):
        raise arm_errors.invalid_request_content(
            "The request content was invalid and could not be deserialized."
        )
    if local != state["disable_local_auth"]:
        delay = max(0.0, float(emu.settings.local_auth_delay))
        state["local_auth_change"] = {
            "before": local_auth_enforced(emu, state),
            "effective_at": emu.clock.now() + delay,
        }
    state.update(tags=dict(tags), disable_local_auth=local, public_network_access=network)
    state["revision"] = int(state.get("revision", 0)) + 1
    state["modified"] = emu.clock.now()
    state["modified_by"] = by
    return state


def backdate_key(emu: Emulator, account_name: str, slot: str, created: float) -> dict[str, Any]:
    """Set when ``slot`` was made (for age policies); the value and its acceptance stay."""
    state = raw_account(emu, account_name)
    if state is None or slot not in KEY_SLOTS:
        raise KeyError(f"{account_name}:{slot}")
    entry = state["keys"][slot]
    entry["created"] = created
    entry["accepted_from"] = min(float(entry["accepted_from"]), created)
    return state


def resource_groups(emu: Emulator) -> list[dict[str, str]]:
    """Resource groups known to ARM: ``[{subscription_id, name, location}]``."""
    groups: list[dict[str, str]] = arm_state(emu).setdefault("resource_groups", [])
    return groups


def find_resource_group(emu: Emulator, subscription_id: str, name: str) -> dict[str, str] | None:
    """A resource group by subscription and name (both case-insensitive), or None. Every
    account request asks: an index, not a scan of every group the world has."""
    index = _GROUP_INDEX.setdefault(
        emu, ListIndex(lambda g: (g["subscription_id"].lower(), g["name"].lower()))
    )
    found = index.get(resource_groups(emu), (subscription_id.lower(), name.lower()))
    return found[0] if found else None


_GROUP_INDEX: weakref.WeakKeyDictionary[Emulator, ListIndex[tuple[str, str]]] = (
    weakref.WeakKeyDictionary()
)


def seed(emu: Emulator) -> None:
    """Fill the service's state from the world: resource groups, accounts and their keys."""
    state = arm_state(emu)
    state["resource_groups"] = [
        {"subscription_id": sub, "name": name, "location": location}
        for sub, name, location in emu.world.resource_groups
    ]
    now = emu.clock.now()
    state["accounts"] = [
        new_account_state(emu, acct, i, now) for i, acct in enumerate(emu.world.accounts)
    ]
