"""Routes of the logs service: the Logs query API, ARM diagnostic settings, workspaces and the
resource list, and its admin route."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from keyops.emulator.core.armrouter import ArmRoute
from keyops.emulator.services.logs import arm, responses

_RESOURCE = r"(?P<resource>/subscriptions/[^/]+/resourceGroups/[^/]+/providers/[^/]+/[^/]+/[^/]+)"
_SETTINGS = _RESOURCE + r"/providers/Microsoft\.Insights/diagnosticSettings"
_WORKSPACE = (
    r"/subscriptions/[^/]+/resourceGroups/(?P<group>[^/]+)"
    r"/providers/Microsoft\.OperationalInsights/workspaces/(?P<name>[^/]+)"
)


def routes() -> list[BaseRoute]:
    """The Logs query API (workspace and resource-centric)."""
    return [
        Route("/v1/workspaces/{workspace}/query", responses.query_workspace, methods=["POST"]),
        Route("/v1/{resource:path}/query", responses.query_resource, methods=["POST"]),
    ]


def arm_routes() -> list[ArmRoute]:
    """Diagnostic settings, workspaces and the subscription's resource list."""
    return [
        ArmRoute(("GET",), _SETTINGS, arm.list_settings),
        ArmRoute(("GET",), _SETTINGS + r"/(?P<name>[^/]+)", arm.get_setting),
        ArmRoute(("PUT",), _SETTINGS + r"/(?P<name>[^/]+)", arm.put_setting),
        ArmRoute(("DELETE",), _SETTINGS + r"/(?P<name>[^/]+)", arm.delete_setting),
        ArmRoute(("GET",), _WORKSPACE, arm.get_workspace),
        ArmRoute(
            ("GET",), r"/subscriptions/(?P<subscriptionId>[^/]+)/resources", arm.list_resources
        ),
    ]


def admin_routes() -> list[BaseRoute]:
    """``/_emulator/logs``: the ingestion delay and record counts; ``/_emulator/consumers/{name}``:
    a declared consumer moves between key and token."""
    return [
        Route("/_emulator/logs", responses.admin_logs, methods=["GET", "POST"]),
        Route("/_emulator/consumers/{name}", responses.admin_consumer, methods=["POST"]),
    ]
