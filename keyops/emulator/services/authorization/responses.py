"""Microsoft.Authorization handlers: role assignments and role definitions (read-only).

Reading assignments needs ``Microsoft.Authorization/roleAssignments/read`` at the scope and
reading role definitions ``Microsoft.Authorization/roleDefinitions/read``, as in Azure; at
the tenant root (``/providers/Microsoft.Authorization/roleDefinitions``) built-in definitions
are readable by any signed-in principal. Lists page with ``nextLink`` like every ARM list.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from keyops.emulator import apiversions
from keyops.emulator.core.operation import operation
from keyops.emulator.core.provenance import deployer_id
from keyops.emulator.core.tokens import Caller
from keyops.emulator.services.arm import exceptions as arm_errors
from keyops.emulator.services.arm.armhttp import (
    api_version,
    arm_endpoint,
    arm_json,
    authenticate,
    check_provider_version,
    emulator,
    list_body,
    require,
)
from keyops.emulator.services.authorization import exceptions as errors
from keyops.emulator.services.authorization import models

ASSIGNMENTS_READ = "Microsoft.Authorization/roleAssignments/read"
DEFINITIONS_READ = "Microsoft.Authorization/roleDefinitions/read"
_TERM = re.compile(
    r"^(?:(atScope\(\))|principalId\s+eq\s+'([^']+)'|assignedTo\('([^']+)'\))$", re.IGNORECASE
)
_ROLE_NAME = re.compile(r"^roleName\s+eq\s+'([^']*)'$", re.IGNORECASE)
_ROLE_TYPE = re.compile(r"^type\s+eq\s+'([^']*)'$", re.IGNORECASE)


def parse_assignment_filter(text: str | None) -> tuple[bool, str | None]:
    """``(at_scope, principal_id)`` from ``atScope()``, ``principalId eq '..'``,
    ``assignedTo('..')`` or ``atScope() and assignedTo('..')``; 400 for anything else."""
    if not text or not text.strip():
        return False, None
    at_scope, principal = False, None
    for term in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        m = _TERM.match(term.strip())
        if m is None:
            raise errors.unsupported_filter(text)
        if m.group(1):
            at_scope = True
        else:
            principal = m.group(2) or m.group(3)
    return at_scope, principal


def _scope(
    request: Request, action: str, versions: tuple[str, ...], resource_type: str
) -> tuple[str, Caller]:
    emu = emulator(request)
    caller = authenticate(request)
    version = api_version(request)
    scope = models.normalize_scope(request.path_params.get("scope", ""))
    sub = models.subscription_of(scope)
    if scope and sub is None:
        raise errors.invalid_scope(scope)
    if sub is not None and sub.lower() not in {s.lower() for s, _ in emu.world.subscriptions}:
        raise arm_errors.subscription_not_found(sub)
    request.state.target = scope or "/"
    # Built-in role definitions at the tenant root are readable by anyone signed in.
    if scope or action != DEFINITIONS_READ:
        require(request, caller, action, scope or "/")
    check_provider_version(version, versions, resource_type, "global", ())
    return scope, caller


@operation("RoleAssignments_ListForScope", "arm")
@arm_endpoint
async def list_assignments(request: Request) -> Response:
    """Assignments at/above/below a scope, narrowed by ``$filter``."""
    scope, _caller = _scope(
        request, ASSIGNMENTS_READ, apiversions.ROLE_ASSIGNMENTS, "roleAssignments"
    )
    at_scope, principal = parse_assignment_filter(request.query_params.get("$filter"))
    found = models.assignments_for_scope(
        emulator(request), scope, at_scope=at_scope, principal_id=principal
    )
    by = deployer_id(emulator(request).tenant_id)
    return arm_json(list_body(request, [models.assignment_json(a, by, scope) for a in found]))


@operation("RoleAssignments_Get", "arm")
@arm_endpoint
async def get_assignment(request: Request) -> Response:
    """One assignment by scope and name (also serves ``GET /{roleAssignmentId}``)."""
    scope, _caller = _scope(
        request, ASSIGNMENTS_READ, apiversions.ROLE_ASSIGNMENTS, "roleAssignments"
    )
    name = request.path_params["name"]
    found = models.find_assignment(emulator(request), scope, name)
    if found is None:
        raise errors.role_assignment_not_found(name)
    return arm_json(models.assignment_json(found, deployer_id(emulator(request).tenant_id)))


@operation("RoleDefinitions_List", "arm")
@arm_endpoint
async def list_definitions(request: Request) -> Response:
    """Built-in role definitions visible at a scope (``roleName eq`` / ``type eq`` filters)."""
    scope, _caller = _scope(
        request, DEFINITIONS_READ, apiversions.ROLE_DEFINITIONS, "roleDefinitions"
    )
    roles = list(emulator(request).rbac.roles.values())
    text = (request.query_params.get("$filter") or "").strip()
    by_name, by_type = _ROLE_NAME.match(text), _ROLE_TYPE.match(text)
    if by_name:
        roles = [r for r in roles if r.role_name.lower() == by_name.group(1).lower()]
    elif by_type:
        roles = [
            r
            for r in roles
            if str(r.raw.get("roleType", "BuiltInRole")).lower() == by_type.group(1).lower()
        ]
    return arm_json(list_body(request, [models.definition_json(r, scope) for r in roles]))


@operation("RoleDefinitions_Get", "arm")
@arm_endpoint
async def get_definition(request: Request) -> Response:
    """One role definition by GUID (also serves ``GetById``)."""
    scope, _caller = _scope(
        request, DEFINITIONS_READ, apiversions.ROLE_DEFINITIONS, "roleDefinitions"
    )
    role_id = request.path_params["roleId"]
    role = emulator(request).rbac.roles.get(role_id.lower())
    if role is None:
        raise errors.role_definition_not_found(role_id)
    return arm_json(models.definition_json(role, scope))
