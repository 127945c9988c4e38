"""ARM paths of Microsoft.Authorization (at the root or under any subscription scope)."""

from __future__ import annotations

from keyops.emulator.core.armrouter import ArmRoute
from keyops.emulator.services.authorization import responses

_SCOPE = r"(?P<scope>(?:/subscriptions/.+?)?)/providers/Microsoft\.Authorization"


def arm_routes() -> list[ArmRoute]:
    """The service's ARM routes."""
    return [
        ArmRoute(("GET",), _SCOPE + r"/roleAssignments", responses.list_assignments),
        ArmRoute(("GET",), _SCOPE + r"/roleAssignments/(?P<name>[^/]+)", responses.get_assignment),
        ArmRoute(("GET",), _SCOPE + r"/roleDefinitions", responses.list_definitions),
        ArmRoute(
            ("GET",), _SCOPE + r"/roleDefinitions/(?P<roleId>[^/]+)", responses.get_definition
        ),
    ]
