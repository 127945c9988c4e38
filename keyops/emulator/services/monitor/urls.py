"""Routes of the Monitor metrics service: ARM paths, the batch endpoint, its admin route."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from keyops.emulator.core.armrouter import ArmRoute
from keyops.emulator.services.monitor import responses

#: Any resource id (the handlers answer ResourceNotFound for what is not an account).
_RESOURCE = (
    r"(?P<resource>/subscriptions/(?P<subscriptionId>[^/]+)/"
    r"resourceGroups/[^/]+/providers/[^/]+/[^/]+/[^/]+)"
)


def arm_routes() -> list[ArmRoute]:
    """Metrics and metric definitions of a resource, and the batch query."""
    return [
        ArmRoute(
            ("GET",), _RESOURCE + r"/providers/Microsoft\.Insights/metrics", responses.list_metrics
        ),
        ArmRoute(
            ("GET",),
            _RESOURCE + r"/providers/Microsoft\.Insights/metricDefinitions",
            responses.list_definitions,
        ),
        ArmRoute(
            ("POST",), r"/subscriptions/(?P<subscription>[^/]+)/metrics:getBatch", responses.batch
        ),
    ]


def admin_routes() -> list[BaseRoute]:
    """``/_emulator/metrics/{account}``: read or replace an account's history spec."""
    return [Route("/_emulator/metrics/{account}", responses.admin_metrics, methods=["GET", "POST"])]
