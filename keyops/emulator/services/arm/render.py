"""ARM JSON shapes: accounts, deployments, keys (2024-10-01 spec), subscriptions and tenants
(Microsoft.Resources 2022-12-01). Only fields the specs define are emitted."""

from __future__ import annotations

import uuid
from typing import Any

from keyops.emulator.core.clock import iso
from keyops.emulator.core.context import Emulator
from keyops.emulator.core.provenance import deployer_id
from keyops.emulator.services.arm.models import AccountView, view
from keyops.emulator.world import Deployment

ACCOUNT_TYPE = "Microsoft.CognitiveServices/accounts"
DEPLOYMENT_TYPE = "Microsoft.CognitiveServices/accounts/deployments"
_NS = uuid.UUID("0f6b6f1e-6b65-796f-7073-2d61726d0000")

#: Data-plane endpoint names ARM lists under ``properties.endpoints`` per account kind.
_ENDPOINT_NAMES = {
    "OpenAI": ("OpenAI Language Model Instance API", "OpenAI Dall-E API", "OpenAI Whisper API"),
    "AIServices": (
        "OpenAI Language Model Instance API",
        "Azure AI Model Inference API",
        "Content Safety",
    ),
}
_CAPABILITIES = {"chat": "chatCompletion", "completions": "completion", "embeddings": "embeddings"}


def _system_data(emu: Emulator, state: dict[str, Any]) -> dict[str, Any]:
    deployer = deployer_id(emu.tenant_id)
    created = float(state["created"])
    return {
        "createdBy": deployer,
        "createdByType": "Application",
        "createdAt": iso(created),
        "lastModifiedBy": state.get("modified_by") or deployer,
        "lastModifiedByType": "Application",
        "lastModifiedAt": iso(float(state.get("modified") or created)),
    }


def account_etag(acct: AccountView, state: dict[str, Any]) -> str:
    """The account's etag: it changes when the resource is written (PUT/PATCH), not when its
    keys are listed or regenerated (keys are not part of the resource)."""
    return _etag(acct.id, state.get("revision", 0))


def deployment_etag(acct: AccountView, dep: Deployment) -> str:
    """A deployment's etag (deployments are not written through the emulator)."""
    return _etag(acct.id, dep.name)


def _call_rate_limit(kind: str) -> dict[str, Any]:
    """``callRateLimit`` as real OpenAI/AIServices accounts carry it (per-second rules)."""
    rules = [("default", "*")]
    if kind in _ENDPOINT_NAMES:
        rules[:0] = [("openai.dalle.post", "dalle/*"), ("openai", "openai/*")]
    return {
        "rules": [
            {
                "key": key,
                "renewalPeriod": 1,
                "count": 30,
                "matchPatterns": [
                    {"path": path, "method": "POST" if key.endswith(".post") else "*"}
                ],
            }
            for key, path in rules
        ]
    }


def _etag(*parts: object) -> str:
    return f'"{uuid.uuid5(_NS, "/".join(str(p) for p in parts))}"'


def account_properties(acct: AccountView, state: dict[str, Any]) -> dict[str, Any]:
    """``properties`` of an account (AccountProperties)."""
    props: dict[str, Any] = {
        "endpoint": acct.endpoint,
        "internalId": uuid.uuid5(_NS, acct.id.lower()).hex,
        "dateCreated": iso(acct.created),
        "isMigrated": False,
        "networkAcls": {"defaultAction": "Allow", "virtualNetworkRules": [], "ipRules": []},
        "privateEndpointConnections": [],
        "publicNetworkAccess": acct.public_network_access,
        "capabilities": [
            {"name": "VirtualNetworks"},
            {"name": "CustomerManagedKey"},
            {"name": "RaiMonitor"},
        ],
        "endpoints": {name: acct.endpoint for name in _ENDPOINT_NAMES.get(acct.kind, ())},
        "provisioningState": "Succeeded",
        "disableLocalAuth": acct.disable_local_auth,
    }
    if acct.custom_subdomain:
        props["customSubDomainName"] = acct.custom_subdomain
    props["callRateLimit"] = _call_rate_limit(acct.kind)
    props["apiProperties"] = {}
    if acct.kind == "AIServices":
        # Foundry projects under an AI Services resource (2025-04-01-preview and later).
        props["allowProjectManagement"] = False
    return props


def account_json(emu: Emulator, state: dict[str, Any]) -> dict[str, Any]:
    """An Account resource."""
    acct = view(emu, state)
    return {
        "id": acct.id,
        "name": acct.name,
        "type": ACCOUNT_TYPE,
        "etag": account_etag(acct, state),
        "location": acct.location,
        "sku": {"name": "S0"},
        "kind": acct.kind,
        "tags": dict(acct.tags),
        "systemData": _system_data(emu, state),
        "properties": account_properties(acct, state),
    }


def deployment_json(emu: Emulator, acct: AccountView, dep: Deployment) -> dict[str, Any]:
    """A Deployment resource of an account."""
    deployer = deployer_id(emu.tenant_id)
    return {
        "id": f"{acct.id}/deployments/{dep.name}",
        "name": dep.name,
        "type": DEPLOYMENT_TYPE,
        "sku": {"name": dep.sku, "capacity": dep.capacity},
        "systemData": _system_data(emu, {"created": acct.created, "modified_by": deployer}),
        "etag": deployment_etag(acct, dep),
        "properties": {
            "model": {"format": dep.format, "name": dep.model, "version": dep.version},
            "versionUpgradeOption": "OnceNewDefaultVersionAvailable",
            "currentCapacity": dep.capacity,
            "capabilities": {_CAPABILITIES.get(dep.api, dep.api): "true"},
            "provisioningState": "Succeeded",
            "rateLimits": [
                {"key": "request", "renewalPeriod": 10, "count": dep.capacity},
                {"key": "token", "renewalPeriod": 60, "count": dep.capacity * 1000},
            ],
            "raiPolicyName": "Microsoft.DefaultV2",
        },
    }


def api_keys(state: dict[str, Any]) -> dict[str, str]:
    """ApiKeys: both current key values (never logged)."""
    return {
        "key1": str(state["keys"]["Key1"]["value"]),
        "key2": str(state["keys"]["Key2"]["value"]),
    }


def subscription_json(emu: Emulator, subscription_id: str, display_name: str) -> dict[str, Any]:
    """A Subscription (Microsoft.Resources 2022-12-01)."""
    return {
        "id": f"/subscriptions/{subscription_id}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": subscription_id,
        "tenantId": emu.tenant_id,
        "displayName": display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
        "tags": {},
    }


def tenant_json(emu: Emulator) -> dict[str, Any]:
    """A TenantIdDescription (Microsoft.Resources 2022-12-01)."""
    return {
        "id": f"/tenants/{emu.tenant_id}",
        "tenantId": emu.tenant_id,
        "countryCode": "US",
        "displayName": "keyops emulator",
        "domains": ["keyops-emulator.onmicrosoft.com"],
        "tenantCategory": "Home",
        "defaultDomain": "keyops-emulator.onmicrosoft.com",
        "tenantType": "AAD",
    }
