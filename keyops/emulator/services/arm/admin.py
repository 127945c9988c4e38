"""Admin routes of the ARM service: add accounts at runtime, date keys, page size.

- ``POST /_emulator/accounts`` ``{"name", "resource_group", "kind"?, "location"?,
  "custom_subdomain"?, "disable_local_auth"?, "public_network_access"?, "key_format"?,
  "keys_created"?, "tags"?, "deployments"?, "subscription_id"?, "count"?}`` adds ``count``
  accounts (names and subdomains suffixed ``-001``... when ``count`` > 1); an unknown
  resource group is created (in ``location``, default eastus).
- ``GET /_emulator/accounts/{name}/keys``: each slot's ``created``/``accepted_from`` and a
  fingerprint (never the value); ``POST`` ``{"slot": "Key1", "created": "-40d"}`` re-dates a slot.
- ``GET|POST /_emulator/arm/settings`` ``{"page_size": N}``: items per page of ARM lists.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from keyops.emulator.core.armrouter import BUCKETS_SETTING
from keyops.emulator.core.clock import iso
from keyops.emulator.core.context import Emulator
from keyops.emulator.core.errors import EmulatorHTTPError
from keyops.emulator.core.operation import json_response, operation
from keyops.emulator.services.admin.auth import admin_emulator, bad_request, json_body
from keyops.emulator.services.arm import models
from keyops.emulator.services.arm.armhttp import PAGE_SIZE_SETTING, page_size
from keyops.emulator.world import (
    ACCOUNT_KINDS,
    KEY_FORMATS,
    NETWORK_ACCESS,
    Account,
    Deployment,
    WorldError,
    relative_time,
)

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}$")
_DEPLOYMENT_FIELDS = {"name", "model", "version", "format", "sku", "capacity", "api"}


def _choice(body: dict[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = body.get(key, default)
    if value not in choices:
        raise bad_request(f"{key} must be one of {', '.join(choices)}")
    return str(value)


def _deployments(body: dict[str, Any]) -> tuple[Deployment, ...]:
    raw = body.get("deployments", [])
    if not isinstance(raw, list):
        raise bad_request("deployments must be a list")
    out = []
    for i, item in enumerate(raw):
        if (
            not isinstance(item, dict)
            or not {"name", "model"} <= set(item)
            or set(item) - _DEPLOYMENT_FIELDS
        ):
            raise bad_request(
                f"deployments[{i}] needs name and model (and only "
                f"{', '.join(sorted(_DEPLOYMENT_FIELDS))})"
            )
        out.append(Deployment(**item))
    return tuple(out)


def _group(emu: Emulator, body: dict[str, Any]) -> dict[str, str]:
    name = body.get("resource_group")
    if not isinstance(name, str) or not name:
        raise bad_request("resource_group is required")
    sub = str(body.get("subscription_id", emu.world.default_subscription))
    group = models.find_resource_group(emu, sub, name)
    if group is None:
        group = {
            "subscription_id": sub,
            "name": name,
            "location": str(body.get("location", "eastus")),
        }
        models.resource_groups(emu).append(group)
    return group


def _template(emu: Emulator, body: dict[str, Any]) -> tuple[Account, int]:
    name = body.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise bad_request("name must be a valid account name")
    count = body.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1000:
        raise bad_request("count must be an integer from 1 to 1000")
    tags = body.get("tags", {})
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise bad_request("tags must map names to strings")
    group = _group(emu, body)
    subdomain = body.get("custom_subdomain")
    template = Account(
        name=name,
        resource_group=group["name"],
        subscription_id=group["subscription_id"],
        kind=_choice(body, "kind", ACCOUNT_KINDS, "OpenAI"),
        location=str(body.get("location", group["location"])),
        custom_subdomain=str(subdomain) if subdomain else None,
        disable_local_auth=bool(body.get("disable_local_auth", False)),
        public_network_access=_choice(body, "public_network_access", NETWORK_ACCESS, "Enabled"),
        key_format=_choice(body, "key_format", KEY_FORMATS, "annotated"),
        keys_created=body.get("keys_created"),
        tags=dict(tags),
        deployments=_deployments(body),
        metrics=body.get("metrics"),
    )
    return template, count


def _numbered(template: Account, i: int, count: int) -> Account:
    if count == 1:
        return template
    suffix = f"-{i + 1:03d}"
    sub = f"{template.custom_subdomain}{suffix}" if template.custom_subdomain else None
    return Account(
        **{**vars(template), "name": f"{template.name}{suffix}", "custom_subdomain": sub}
    )


@operation("Admin_AddAccounts", "admin")
async def add_accounts(request: Request) -> Response:
    """Add accounts at runtime (for fleet tests)."""
    emu = admin_emulator(request)
    template, count = _template(emu, await json_body(request))
    accounts = models.arm_state(emu)["accounts"]
    new = [_numbered(template, i, count) for i in range(count)]
    for acct in new:
        if models.raw_account(emu, acct.name) is not None:
            raise EmulatorHTTPError(
                409, {"error": {"code": "Conflict", "message": f"account {acct.name} exists"}}
            )
    now = emu.clock.now()
    try:
        states = [
            models.new_account_state(emu, acct, len(accounts) + i, now)
            for i, acct in enumerate(new)
        ]
    except WorldError as exc:
        raise bad_request(str(exc)) from None
    accounts.extend(states)
    emu.commit(request)
    views = [models.view(emu, s) for s in states]
    return json_response(
        {"accounts": [{"name": v.name, "id": v.id, "endpoint": v.endpoint} for v in views]}, 201
    )


def _slot_info(state: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for slot in models.KEY_SLOTS:
        entry = state["keys"][slot]
        digest = hashlib.sha256(str(entry["value"]).encode()).hexdigest()[:8]
        out[slot] = {
            "created": iso(entry["created"]),
            "accepted_from": iso(entry["accepted_from"]),
            "fingerprint": f"sha256:{digest}",
        }
    return {"account": state["name"], "keys": out}


@operation("Admin_AccountKeys", "admin")
async def account_keys(request: Request) -> Response:
    """GET key slot metadata; POST ``{"slot", "created"}`` re-dates a slot."""
    emu = admin_emulator(request)
    name = request.path_params["name"]
    state = models.raw_account(emu, name)
    if state is None:
        raise EmulatorHTTPError(
            404, {"error": {"code": "NotFound", "message": f"no account named {name}"}}
        )
    if request.method == "POST":
        body = await json_body(request)
        slot = body.get("slot")
        if slot not in models.KEY_SLOTS:
            raise bad_request("slot must be Key1 or Key2")
        created = body.get("created")
        if not isinstance(created, str):
            raise bad_request("created must be a relative (-40d) or ISO 8601 time")
        try:
            when = relative_time(created, emu.clock.now(), "created")
        except WorldError as exc:
            raise bad_request(str(exc)) from None
        models.backdate_key(emu, state["name"], str(slot), when)
        emu.commit(request)
    return json_response(_slot_info(state))


@operation("Admin_ArmSettings", "admin")
async def arm_settings(request: Request) -> Response:
    """GET/POST ARM behaviour settings (``page_size``; ``buckets``: enforce ARM's per-principal
    token buckets with 429s)."""
    emu = admin_emulator(request)
    if request.method == "POST":
        body = await json_body(request)
        if "buckets" in body:
            if not isinstance(body["buckets"], bool):
                raise bad_request("buckets must be true or false")
            emu.settings.extra[BUCKETS_SETTING] = body["buckets"]
        if "page_size" in body:
            size = body["page_size"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 1:
                raise bad_request("page_size must be a positive integer")
            emu.settings.extra[PAGE_SIZE_SETTING] = size
    buckets = bool(emu.settings.extra.get(BUCKETS_SETTING))
    return json_response({"page_size": page_size(emu), "buckets": buckets})


def admin_routes() -> list[BaseRoute]:
    """The ARM service's admin routes."""
    return [
        Route("/_emulator/accounts", add_accounts, methods=["POST"]),
        Route("/_emulator/accounts/{name}/keys", account_keys, methods=["GET", "POST"]),
        Route("/_emulator/arm/settings", arm_settings, methods=["GET", "POST"]),
    ]
