"""Role assignments and role definitions: seeding, queries and their ARM JSON (2022-04-01).

Assignments live in ``emu.store.section("authorization")["assignments"]`` (the list
:class:`keyops.emulator.core.rbac.Rbac` reads), one dict per
:class:`keyops.emulator.core.rbac.Assignment`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict
from typing import Any

from keyops.emulator.core.clock import iso
from keyops.emulator.core.context import Emulator
from keyops.emulator.core.rbac import Assignment, RoleDefinition, scope_covers
from keyops.emulator.world import WorldError

PROVIDER = "/providers/Microsoft.Authorization"
ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
DEFINITION_TYPE = "Microsoft.Authorization/roleDefinitions"
_NS = uuid.UUID("6b65796f-7073-2d72-6261-632d73656564")
_SUB = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)


def normalize_scope(scope: str) -> str:
    """A scope with one leading slash and none trailing (``""`` is the root)."""
    s = "/" + scope.strip("/")
    return "" if s == "/" else s


def assignment_guid(emu: Emulator, scope: str, role_id: str, principal_id: str) -> str:
    """A deterministic assignment name from the world seed, scope, role and principal."""
    key = f"{emu.world.seed}|{scope.lower()}|{role_id.lower()}|{principal_id.lower()}"
    return str(uuid.uuid5(_NS, key))


def seed(emu: Emulator) -> None:
    """Turn the world's role assignments (role display names) into assignment records."""
    store: list[dict[str, Any]] = emu.store.section("authorization")["assignments"]
    existing = {a["id"].lower() for a in store}
    now = emu.clock.now()
    for i, ra in enumerate(emu.world.role_assignments):
        try:
            role = emu.rbac.role_by_name(ra.role)
        except KeyError:
            raise WorldError(
                f"role_assignments[{i}].role: unknown built-in role {ra.role!r}"
            ) from None
        principal_id = emu.world.principal(ra.principal).object_id
        scope = normalize_scope(ra.scope)
        name = assignment_guid(emu, scope, role.name, principal_id)
        record = Assignment(
            id=f"{scope}{PROVIDER}/roleAssignments/{name}",
            name=name,
            scope=scope or "/",
            role_definition=role.name.lower(),
            principal_id=principal_id,
            principal_type="ServicePrincipal",
            created=now,
        )
        if record.id.lower() not in existing:
            store.append(asdict(record))
            existing.add(record.id.lower())


def subscription_of(scope: str) -> str | None:
    """The subscription id a scope lies in, or None for the root."""
    m = _SUB.match(scope)
    return m.group(1) if m else None


def role_definition_id(scope: str, role_guid: str) -> str:
    """A role definition's full id as seen from ``scope`` (subscription-qualified if any)."""
    sub = subscription_of(scope)
    prefix = f"/subscriptions/{sub}" if sub else ""
    return f"{prefix}{PROVIDER}/roleDefinitions/{role_guid}"


#: Built-in roles predate every subscription; Azure dates them from the role catalogue, and
#: names no creator (``createdBy``/``updatedBy`` are null on built-in roles).
BUILTIN_ROLES_CREATED = "2015-02-02T21:55:09.8806423Z"


def assignment_json(a: Assignment, created_by: str, seen_from: str = "") -> dict[str, Any]:
    """A RoleAssignment resource; ``created_by`` is the object id of who made it. Listed at a
    scope in a subscription (``seen_from``), an assignment made above every subscription (a
    management group, the root) names its role definition in that subscription, as ARM does."""
    return {
        "properties": {
            "roleDefinitionId": role_definition_id(
                a.scope if subscription_of(a.scope) else seen_from, a.role_definition
            ),
            "principalId": a.principal_id,
            "principalType": a.principal_type,
            "scope": a.scope,
            "condition": None,
            "conditionVersion": None,
            "createdOn": iso(a.created),
            "updatedOn": iso(a.created),
            "createdBy": created_by,
            "updatedBy": created_by,
            "delegatedManagedIdentityResourceId": None,
            "description": None,
        },
        "id": a.id,
        "type": ASSIGNMENT_TYPE,
        "name": a.name,
    }


def definition_json(role: RoleDefinition, scope: str) -> dict[str, Any]:
    """A RoleDefinition resource (only the fields the 2022-04-01 spec defines)."""
    blocks = [
        {
            k: list(block.get(k, []))
            for k in ("actions", "notActions", "dataActions", "notDataActions")
        }
        for block in role.permissions
    ]
    return {
        "properties": {
            "roleName": role.role_name,
            "type": str(role.raw.get("roleType", "BuiltInRole")),
            "description": role.description,
            "assignableScopes": list(role.raw.get("assignableScopes", ["/"])),
            "permissions": blocks,
            "createdOn": BUILTIN_ROLES_CREATED,
            "updatedOn": BUILTIN_ROLES_CREATED,
            "createdBy": None,
            "updatedBy": None,
        },
        "id": role_definition_id(scope, role.name),
        "type": DEFINITION_TYPE,
        "name": role.name,
    }


def assignments_for_scope(
    emu: Emulator, scope: str, *, at_scope: bool, principal_id: str | None
) -> list[Assignment]:
    """Assignments at or above ``scope`` (and below it unless ``at_scope``), for a principal."""
    out = []
    for a in emu.rbac.assignments():
        if principal_id is not None and a.principal_id.lower() != principal_id.lower():
            continue
        above = emu.rbac.covers(a.scope, scope or "/")
        below = scope_covers(scope or "/", a.scope)
        if above or (below and not at_scope):
            out.append(a)
    return out


def find_assignment(emu: Emulator, scope: str, name: str) -> Assignment | None:
    """The assignment ``name`` made at exactly ``scope`` (case-insensitive), or None."""
    wanted = f"{scope}{PROVIDER}/roleAssignments/{name}".lower()
    return next((a for a in emu.rbac.assignments() if a.id.lower() == wanted), None)
