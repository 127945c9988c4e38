"""ARM handlers: subscriptions, tenants, Cognitive Services accounts, keys and deployments.

Checks run in ARM's order: token (401), subscription (404), RBAC (403), api-version (400),
resource group (404), resource (404), then the resource provider's own rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from keyops.emulator import apiversions
from keyops.emulator.core.context import Emulator
from keyops.emulator.core.operation import operation
from keyops.emulator.core.tokens import Caller
from keyops.emulator.services.arm import exceptions as errors
from keyops.emulator.services.arm import models, render
from keyops.emulator.services.arm.armhttp import (
    allowed,
    api_version,
    arm_endpoint,
    arm_json,
    authenticate,
    check_provider_version,
    check_resources_version,
    emulator,
    list_body,
    require,
    subscription_visible,
)

NAMESPACE = "Microsoft.CognitiveServices"
READ = "Microsoft.CognitiveServices/accounts/read"
WRITE = "Microsoft.CognitiveServices/accounts/write"
LIST_KEYS = "Microsoft.CognitiveServices/accounts/listKeys/action"
REGENERATE_KEY = "Microsoft.CognitiveServices/accounts/regenerateKey/action"
DEPLOYMENTS_READ = "Microsoft.CognitiveServices/accounts/deployments/read"
DEPLOYMENTS_TYPE = "accounts/deployments"
#: Regions ARM lists in NoRegisteredProviderFound for Cognitive Services (a representative set).
LOCATIONS = (
    "global",
    "australiaeast",
    "brazilsouth",
    "canadacentral",
    "eastus",
    "eastus2",
    "francecentral",
    "germanywestcentral",
    "japaneast",
    "northcentralus",
    "northeurope",
    "southcentralus",
    "swedencentral",
    "switzerlandnorth",
    "uksouth",
    "westeurope",
    "westus",
    "westus3",
)


def _subscription(emu: Emulator, subscription_id: str) -> str:
    sub = emu.world.subscription_ids.get(subscription_id.lower())
    if sub is None:
        raise errors.subscription_not_found(subscription_id)
    return sub


@dataclass(frozen=True)
class AccountRequest:
    """An authenticated, authorized request on one existing account."""

    emu: Emulator
    caller: Caller
    version: str
    state: dict[str, Any]


def _account_request(
    request: Request, action: str, versions: tuple[str, ...], resource_type: str = "accounts"
) -> AccountRequest:
    emu = emulator(request)
    caller = authenticate(request)
    version = api_version(request)
    p = request.path_params
    _subscription(emu, p["subscriptionId"])
    scope = (
        f"/subscriptions/{p['subscriptionId']}/resourceGroups/{p['resourceGroupName']}"
        f"/providers/{NAMESPACE}/accounts/{p['accountName']}"
    )
    request.state.target = scope
    require(request, caller, action, scope)
    group = models.find_resource_group(emu, p["subscriptionId"], p["resourceGroupName"])
    if group is None:
        raise errors.resource_group_not_found(p["resourceGroupName"])
    check_provider_version(version, versions, resource_type, group["location"], LOCATIONS)
    state = models.raw_account(emu, p["accountName"])
    if (
        state is None
        or state["resource_group"].lower() != group["name"].lower()
        or state["subscription_id"].lower() != group["subscription_id"].lower()
    ):
        raise errors.resource_not_found(
            f"{NAMESPACE}/accounts", p["accountName"], p["resourceGroupName"]
        )
    return AccountRequest(emu, caller, version, state)


def _readable_accounts(
    request: Request, caller: Caller, scope: str, accounts: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """ARM filters collection reads to what the caller may read; 403 if nothing at all."""
    emu = emulator(request)
    if allowed(request, caller, READ, scope):
        return accounts
    visible = [a for a in accounts if allowed(request, caller, READ, render_id(emu, a))]
    if not visible:
        require(request, caller, READ, scope)
    return visible


def render_id(emu: Emulator, state: dict[str, Any]) -> str:
    """The resource id of an account's state."""
    return models.view(emu, state).id


@operation("Subscriptions_List", "arm")
@arm_endpoint
async def list_subscriptions(request: Request) -> Response:
    """``GET /subscriptions``: the subscriptions the caller holds any role in."""
    emu = emulator(request)
    caller = authenticate(request)
    check_resources_version(api_version(request), apiversions.RESOURCES)
    subs = [
        render.subscription_json(emu, sub, name)
        for sub, name in emu.world.subscriptions
        if subscription_visible(emu, caller, sub)
    ]
    return arm_json(list_body(request, subs))


@operation("Subscriptions_Get", "arm")
@arm_endpoint
async def get_subscription(request: Request) -> Response:
    """``GET /subscriptions/{subscriptionId}``."""
    emu = emulator(request)
    caller = authenticate(request)
    check_resources_version(api_version(request), apiversions.RESOURCES)
    sub = _subscription(emu, request.path_params["subscriptionId"])
    if not subscription_visible(emu, caller, sub):
        raise errors.subscription_not_found(request.path_params["subscriptionId"])
    name = dict(emu.world.subscriptions)[sub]
    request.state.target = f"/subscriptions/{sub}"
    return arm_json(render.subscription_json(emu, sub, name))


@operation("Tenants_List", "arm")
@arm_endpoint
async def list_tenants(request: Request) -> Response:
    """``GET /tenants``: the emulated tenant."""
    emu = emulator(request)
    authenticate(request)
    check_resources_version(api_version(request), apiversions.RESOURCES)
    return arm_json(list_body(request, [render.tenant_json(emu)]))


@operation("Accounts_List", "arm")
@arm_endpoint
async def list_accounts(request: Request) -> Response:
    """Accounts of a subscription (paged)."""
    emu = emulator(request)
    caller = authenticate(request)
    version = api_version(request)
    sub = _subscription(emu, request.path_params["subscriptionId"])
    scope = f"/subscriptions/{request.path_params['subscriptionId']}"
    request.state.target = scope
    accounts = [
        a for a in models.arm_state(emu)["accounts"] if a["subscription_id"].lower() == sub.lower()
    ]
    accounts = _readable_accounts(request, caller, scope, accounts)
    check_provider_version(version, apiversions.ACCOUNTS, "accounts", "global", LOCATIONS)
    return arm_json(list_body(request, accounts, lambda a: render.account_json(emu, a)))


@operation("Accounts_ListByResourceGroup", "arm")
@arm_endpoint
async def list_accounts_by_group(request: Request) -> Response:
    """Accounts of a resource group (paged)."""
    emu = emulator(request)
    caller = authenticate(request)
    version = api_version(request)
    p = request.path_params
    _subscription(emu, p["subscriptionId"])
    scope = f"/subscriptions/{p['subscriptionId']}/resourceGroups/{p['resourceGroupName']}"
    request.state.target = scope
    group = models.find_resource_group(emu, p["subscriptionId"], p["resourceGroupName"])
    accounts = (
        []
        if group is None
        else [
            a
            for a in models.arm_state(emu)["accounts"]
            if a["resource_group"].lower() == group["name"].lower()
            and a["subscription_id"].lower() == group["subscription_id"].lower()
        ]
    )
    accounts = _readable_accounts(request, caller, scope, accounts)
    if group is None:
        raise errors.resource_group_not_found(p["resourceGroupName"])
    check_provider_version(version, apiversions.ACCOUNTS, "accounts", group["location"], LOCATIONS)
    return arm_json(list_body(request, accounts, lambda a: render.account_json(emu, a)))


@operation("Accounts_Get", "arm")
@arm_endpoint
async def get_account(request: Request) -> Response:
    """One account."""
    ctx = _account_request(request, READ, apiversions.ACCOUNTS)
    body = render.account_json(ctx.emu, ctx.state)
    return arm_json(body, headers={"ETag": body["etag"]})


@operation("Accounts_Update", "arm", write=True)
@arm_endpoint
async def update_account(request: Request) -> Response:
    """PATCH an account's tags, ``disableLocalAuth`` or ``publicNetworkAccess`` (what
    ``az cognitiveservices account update`` and the portal change); a new etag. An
    ``If-Match`` naming another etag is refused with 412 and changes nothing."""
    ctx = _account_request(request, WRITE, apiversions.ACCOUNTS)
    patch = await _json_object(request)
    wanted = request.headers.get("if-match")
    if wanted is not None and wanted.strip() != "*":
        # A writer that read the account before someone else wrote it must not undo that write.
        current = render.account_etag(models.view(ctx.emu, ctx.state), ctx.state)
        if current not in {tag.strip() for tag in wanted.split(",")}:
            raise errors.precondition_failed()
    state = models.update_account(ctx.emu, ctx.state["name"], patch, by=ctx.caller.appid)
    ctx.emu.commit(request)
    body = render.account_json(ctx.emu, state)
    return arm_json(body, headers={"ETag": body["etag"]})


@operation("Accounts_ListKeys", "arm", write=False)
@arm_endpoint
async def list_keys(request: Request) -> Response:
    """Both keys; refused (400) when local auth is disabled."""
    ctx = _account_request(request, LIST_KEYS, apiversions.ACCOUNTS)
    if ctx.state["disable_local_auth"]:
        raise errors.local_auth_disabled()
    return arm_json(render.api_keys(ctx.state))


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise errors.invalid_request_content(
            "The request content was invalid and could not be deserialized."
        )
    return body


async def _key_name(request: Request) -> str:
    raw = await request.body()
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise errors.invalid_request_content(
            "The request content was invalid and could not be deserialized."
        ) from None
    if not isinstance(body, dict):
        raise errors.invalid_key_name("")
    name = body.get("keyName", "")
    # Azure matches key names exactly: "key1" is refused.
    if name not in models.KEY_SLOTS:
        raise errors.invalid_key_name(name if isinstance(name, str) else json.dumps(name))
    return str(name)


@operation("Accounts_RegenerateKey", "arm", write=True)
@arm_endpoint
async def regenerate_key(request: Request) -> Response:
    """Regenerate ``Key1`` or ``Key2``; answers both keys."""
    ctx = _account_request(request, REGENERATE_KEY, apiversions.ACCOUNTS)
    slot = await _key_name(request)
    if getattr(request.state, "no_effect", False):  # a stale answer: the keys as they are
        return arm_json(render.api_keys(ctx.state))
    old = models.key_fingerprint(ctx.state["keys"][slot]["value"])
    state = models.regenerate_key(ctx.emu, ctx.state["name"], slot)
    # Which key died and which was born (fingerprints only): a harness can tell whose
    # regenerate killed the key a consumer held.
    request.state.detail = f"{slot} {old}>{models.key_fingerprint(state['keys'][slot]['value'])}"
    ctx.emu.commit(request)
    return arm_json(render.api_keys(state))


@operation("Deployments_List", "arm")
@arm_endpoint
async def list_deployments(request: Request) -> Response:
    """Deployments of an account (paged)."""
    ctx = _account_request(request, DEPLOYMENTS_READ, apiversions.DEPLOYMENTS, DEPLOYMENTS_TYPE)
    acct = models.view(ctx.emu, ctx.state)
    deployments = [render.deployment_json(ctx.emu, acct, d) for d in acct.deployments]
    return arm_json(list_body(request, deployments))


@operation("Deployments_Get", "arm")
@arm_endpoint
async def get_deployment(request: Request) -> Response:
    """One deployment of an account."""
    ctx = _account_request(request, DEPLOYMENTS_READ, apiversions.DEPLOYMENTS, DEPLOYMENTS_TYPE)
    acct = models.view(ctx.emu, ctx.state)
    name = request.path_params["deploymentName"]
    dep = acct.deployment(name)
    if dep is None:
        raise errors.deployment_not_found(acct.name, name, request.path_params["resourceGroupName"])
    body = render.deployment_json(ctx.emu, acct, dep)
    return arm_json(body, headers={"ETag": body["etag"]})
