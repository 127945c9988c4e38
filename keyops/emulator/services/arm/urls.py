"""ARM paths of Microsoft.CognitiveServices and Microsoft.Resources (subscriptions, tenants)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from keyops.emulator.core.armrouter import ArmRoute
from keyops.emulator.services.arm import admin, responses

_SUB = r"/subscriptions/(?P<subscriptionId>[^/]+)"
_RG = _SUB + r"/resourceGroups/(?P<resourceGroupName>[^/]+)"
_ACCOUNTS = r"/providers/Microsoft\.CognitiveServices/accounts"
_ACCOUNT = _RG + _ACCOUNTS + r"/(?P<accountName>[^/]+)"


def arm_routes() -> list[ArmRoute]:
    """The service's ARM routes (matched case-insensitively on the whole path)."""
    return [
        ArmRoute(("GET",), r"/subscriptions", responses.list_subscriptions),
        ArmRoute(("GET",), _SUB, responses.get_subscription),
        ArmRoute(("GET",), r"/tenants", responses.list_tenants),
        ArmRoute(("GET",), _SUB + _ACCOUNTS, responses.list_accounts),
        ArmRoute(("GET",), _RG + _ACCOUNTS, responses.list_accounts_by_group),
        ArmRoute(("GET",), _ACCOUNT, responses.get_account),
        ArmRoute(("PATCH",), _ACCOUNT, responses.update_account),
        ArmRoute(("POST",), _ACCOUNT + r"/listKeys", responses.list_keys),
        ArmRoute(("POST",), _ACCOUNT + r"/regenerateKey", responses.regenerate_key),
        ArmRoute(("GET",), _ACCOUNT + r"/deployments", responses.list_deployments),
        ArmRoute(
            ("GET",), _ACCOUNT + r"/deployments/(?P<deploymentName>[^/]+)", responses.get_deployment
        ),
    ]


def admin_routes() -> list[BaseRoute]:
    """The service's admin routes."""
    return admin.admin_routes()
