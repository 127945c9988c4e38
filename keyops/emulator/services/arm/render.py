"""ARM JSON shapes: accounts, deployments, keys (2024-10-01 spec), subscriptions and tenants
(Microsoft.Resources 2022-12-01). Only fields the specs define are emitted."""

from __future__ import annotations

import uuid
from typing import Any

from keyops.emulator.core.clock import iso
from keyops.emulator.core.context import Emulator
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


def _system_data(created: float, modified: float) -> dict[str, Any]:
    return {
        "createdAt": iso(created),
        "createdByType": "Application",
        "lastModifiedAt": iso(modified),
        "lastModifiedByType": "Application",
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
    return props


def account_json(emu: Emulator, state: dict[str, Any]) -> dict[str, Any]:
    """An Account resource."""
    acct = view(emu, state)
    return {
        "id": acct.id,
        "name": acct.name,
        "type": ACCOUNT_TYPE,
        "etag": _etag(acct.id, state.get("regenerations", 0)),
        "location": acct.location,
        "sku": {"name": "S0"},
        "kind": acct.kind,
        "tags": dict(acct.tags),
        "systemData": _system_data(acct.created, acct.created),
        "properties": account_properties(acct, state),
    }


def deployment_json(acct: AccountView, dep: Deployment) -> dict[str, Any]:
    """A Deployment resource of an account."""
    return {
        "id": f"{acct.id}/deployments/{dep.name}",
        "name": dep.name,
        "type": DEPLOYMENT_TYPE,
        "sku": {"name": dep.sku, "capacity": dep.capacity},
        "systemData": _system_data(acct.created, acct.created),
        "etag": _etag(acct.id, dep.name),
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
