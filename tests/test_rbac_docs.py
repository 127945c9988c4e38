"""An independent oracle for RBAC evaluation: the examples in Azure's role documentation.

keyops evaluates role assignments twice, on purpose: the audit (``keyops.azure.authorization``)
and the emulator (``keyops.emulator.core.rbac``) each have their own matcher, so the emulator
can serve as an oracle for the audit. Two copies of one algorithm would agree on a shared
mistake; these cases come from Microsoft's documents instead and are checked against both.

Sources (Microsoft Learn, "Azure role-based access control"):
- "Understand Azure role definitions", sections Actions, NotActions, DataActions and the
  wildcard table (``*``, ``*/read``, ``Microsoft.Compute/*``, ``Microsoft.Network/*/read``,
  ``Microsoft.Compute/virtualMachines/*``, ``microsoft.web/sites/restart/Action``);
  "NotActions is not a deny": a second role that grants the operation still allows it;
  control-plane Actions never grant data-plane DataActions.
- "Understand scope for Azure RBAC": scopes nest management group > subscription > resource
  group > resource; an assignment applies at its scope and every child scope, never a parent
  or sibling.
- "Azure built-in roles — AI + machine learning": the permissions of Contributor, Reader,
  Cognitive Services Contributor, Cognitive Services User, Cognitive Services OpenAI User.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from keyops.azure import authorization as audit
from keyops.emulator.core import rbac as emulator
from keyops.emulator.world import ManagementGroup

LIST_KEYS = "Microsoft.CognitiveServices/accounts/listKeys/action"
REGENERATE = "Microsoft.CognitiveServices/accounts/regenerateKey/action"
CHAT = "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"
EMBED = "Microsoft.CognitiveServices/accounts/OpenAI/deployments/embeddings/action"

# Role permissions as the built-in roles page publishes them (trimmed to the relevant entries).
ROLES: dict[str, dict[str, list[str]]] = {
    "Contributor": {
        "actions": ["*"],
        "notActions": [
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
        ],
        "dataActions": [],
        "notDataActions": [],
    },
    "Reader": {"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []},
    "Cognitive Services Contributor": {
        "actions": [
            "Microsoft.Authorization/*/read",
            "Microsoft.CognitiveServices/*",
            "Microsoft.Features/features/read",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Resources/deployments/*",
        ],
        "notActions": [],
        "dataActions": [],
        "notDataActions": [],
    },
    "Cognitive Services User": {
        "actions": [
            "Microsoft.CognitiveServices/*/read",
            "Microsoft.CognitiveServices/accounts/listkeys/action",
            "Microsoft.Insights/alertRules/read",
        ],
        "notActions": [],
        "dataActions": ["Microsoft.CognitiveServices/*"],
        "notDataActions": [],
    },
    "Cognitive Services OpenAI User": {
        "actions": [
            "Microsoft.CognitiveServices/*/read",
            "Microsoft.Authorization/roleAssignments/read",
            "Microsoft.Authorization/roleDefinitions/read",
        ],
        "notActions": [],
        "dataActions": [
            "Microsoft.CognitiveServices/accounts/OpenAI/*/read",
            "Microsoft.CognitiveServices/accounts/OpenAI/engines/completions/action",
            "Microsoft.CognitiveServices/accounts/OpenAI/deployments/completions/action",
            "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action",
            "Microsoft.CognitiveServices/accounts/OpenAI/deployments/embeddings/action",
        ],
        "notDataActions": [],
    },
}

# (pattern, operation, matches) — the documentation's wildcard table, with a non-match each.
WILDCARDS = [
    ("*", "Microsoft.Compute/virtualMachines/start/action", True),
    ("*", LIST_KEYS, True),
    ("*/read", "Microsoft.Compute/virtualMachines/read", True),
    ("*/read", "Microsoft.Compute/virtualMachines/write", False),
    ("*/read", LIST_KEYS, False),
    ("Microsoft.Compute/*", "Microsoft.Compute/virtualMachines/start/action", True),
    ("Microsoft.Compute/*", "Microsoft.Network/virtualNetworks/read", False),
    ("Microsoft.Network/*/read", "Microsoft.Network/virtualNetworks/subnets/read", True),
    ("Microsoft.Network/*/read", "Microsoft.Network/virtualNetworks/write", False),
    ("Microsoft.Network/*/read", "Microsoft.Compute/virtualMachines/read", False),
    (
        "Microsoft.Compute/virtualMachines/*",
        "Microsoft.Compute/virtualMachines/extensions/write",
        True,
    ),
    ("Microsoft.Compute/virtualMachines/*", "Microsoft.Compute/disks/read", False),
    ("microsoft.web/sites/restart/Action", "Microsoft.Web/sites/restart/action", True),
    ("microsoft.web/sites/restart/Action", "Microsoft.Web/sites/stop/action", False),
    # A literal action is not a prefix: no implied wildcard at either end.
    (
        "Microsoft.CognitiveServices/accounts/read",
        "Microsoft.CognitiveServices/accounts/read2",
        False,
    ),
    (
        "Microsoft.CognitiveServices/accounts/read",
        "x/Microsoft.CognitiveServices/accounts/read",
        False,
    ),
    # Regular-expression characters in an action are literal.
    ("Microsoft.Web/sites/restart/action", "Microsoft.Web/sitesXrestart/action", False),
]

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"
RG = f"{SUB}/resourceGroups/Example-Storage-rg"
RESOURCE = f"{RG}/providers/Microsoft.CognitiveServices/accounts/contoso-openai"

# (assignment scope, request scope, applies) — "Understand scope for Azure RBAC".
SCOPES = [
    ("/", RESOURCE, True),
    (SUB, RESOURCE, True),
    (SUB, RG, True),
    (RG, RESOURCE, True),
    (RESOURCE, RESOURCE, True),
    (RESOURCE.upper(), RESOURCE, True),
    (RG + "/", RESOURCE, True),
    (RESOURCE, RG, False),
    (RG, SUB, False),
    (f"{SUB}/resourceGroups/Example-Storage-rg2", RESOURCE, False),
    (f"{SUB}/resourceGroups/Example-Storage", RESOURCE, False),
    ("/subscriptions/00000000-0000-0000-0000-000000000002", RESOURCE, False),
    (RESOURCE + "-eus", RESOURCE, False),
]

# (role, operation, data plane?, granted) — what each published role allows.
GRANTS = [
    ("Contributor", REGENERATE, False, True),
    ("Contributor", LIST_KEYS, False, True),
    ("Contributor", "Microsoft.Authorization/roleAssignments/write", False, False),
    ("Contributor", "Microsoft.Authorization/roleAssignments/delete", False, False),
    ("Contributor", "Microsoft.Authorization/roleAssignments/read", False, True),
    ("Contributor", "Microsoft.Authorization/elevateAccess/action", False, False),
    ("Contributor", CHAT, True, False),  # Actions never grant DataActions
    ("Reader", "Microsoft.CognitiveServices/accounts/read", False, True),
    ("Reader", LIST_KEYS, False, False),
    ("Reader", CHAT, True, False),
    ("Cognitive Services Contributor", LIST_KEYS, False, True),
    ("Cognitive Services Contributor", REGENERATE, False, True),
    ("Cognitive Services Contributor", CHAT, True, False),
    ("Cognitive Services User", LIST_KEYS, False, True),
    ("Cognitive Services User", REGENERATE, False, False),
    ("Cognitive Services User", CHAT, True, True),
    ("Cognitive Services OpenAI User", CHAT, True, True),
    ("Cognitive Services OpenAI User", EMBED, True, True),
    ("Cognitive Services OpenAI User", CHAT, False, False),  # a data action is not an action
    ("Cognitive Services OpenAI User", LIST_KEYS, False, False),
    ("Cognitive Services OpenAI User", REGENERATE, False, False),
    (
        "Cognitive Services OpenAI User",
        "Microsoft.CognitiveServices/accounts/OpenAI/deployments/write",
        True,
        False,
    ),
]

Matcher = Callable[[str, str], bool]
MATCHERS: dict[str, tuple[Matcher, Matcher]] = {
    "audit": (audit.action_matches, audit.scope_covers),
    "emulator": (emulator.action_matches, emulator.scope_covers),
}


def audit_grants(role: dict[str, list[str]], action: str, data: bool) -> bool:
    block = audit.Permission(
        tuple(role["actions"]),
        tuple(role["notActions"]),
        tuple(role["dataActions"]),
        tuple(role["notDataActions"]),
    )
    return audit.RoleDefinition("id", "name", "BuiltInRole", (block,)).grants(action, data=data)


def emulator_grants(role: dict[str, list[str]], action: str, data: bool) -> bool:
    return emulator.RoleDefinition("id", "name", "", (role,), {}).grants(action, data=data)


GRANTERS: dict[str, Callable[[dict[str, list[str]], str, bool], bool]] = {
    "audit": audit_grants,
    "emulator": emulator_grants,
}


@pytest.mark.parametrize("impl", sorted(MATCHERS))
@pytest.mark.parametrize(("pattern", "operation", "expected"), WILDCARDS)
def test_wildcards_as_documented(impl: str, pattern: str, operation: str, expected: bool) -> None:
    matches, _ = MATCHERS[impl]
    assert matches(pattern, operation) is expected


@pytest.mark.parametrize("impl", sorted(MATCHERS))
@pytest.mark.parametrize(("assigned", "requested", "expected"), SCOPES)
def test_scope_inheritance_as_documented(
    impl: str, assigned: str, requested: str, expected: bool
) -> None:
    _, covers = MATCHERS[impl]
    assert covers(assigned, requested) is expected


@pytest.mark.parametrize("impl", sorted(GRANTERS))
@pytest.mark.parametrize(("role", "operation", "data", "expected"), GRANTS)
def test_published_roles_grant_as_documented(
    impl: str, role: str, operation: str, data: bool, expected: bool
) -> None:
    assert GRANTERS[impl](ROLES[role], operation, data) is expected


def _emulator_rbac(
    assignments: list[tuple[str, str]], groups: Sequence[ManagementGroup] = ()
) -> emulator.Rbac:
    roles = {
        name.lower(): emulator.RoleDefinition(name.lower(), name, "", (perm,), {})
        for name, perm in ROLES.items()
    }
    rows: list[dict[str, Any]] = [
        {
            "id": f"a{i}",
            "name": f"a{i}",
            "scope": scope,
            "role_definition": role.lower(),
            "principal_id": "P1",
            "principal_type": "User",
            "created": 0.0,
        }
        for i, (role, scope) in enumerate(assignments)
    ]
    return emulator.Rbac(roles, rows, groups)


def test_a_management_group_assignment_applies_in_every_subscription_below_it_emulator() -> None:
    """ "Understand scope for Azure RBAC": an assignment at a management group is inherited by
    its child groups and every subscription in them, down to each resource; a sibling group's
    is not. (The audit does not know the tenant's hierarchy: it keeps what ``atScope()``
    lists, tests/audit/test_audit_management_groups.py.)"""
    other = "/subscriptions/00000000-0000-0000-0000-000000000002"
    groups = [
        ManagementGroup("Contoso-Root", None, ()),
        ManagementGroup("marketing-group", "contoso-root", (SUB.rsplit("/", 1)[-1],)),
        ManagementGroup("sales-group", "contoso-root", (other.rsplit("/", 1)[-1],)),
    ]
    group = "/providers/Microsoft.Management/managementGroups/"
    for scope, here, there in [
        (group + "marketing-group", True, False),
        (group + "contoso-root", True, True),
        (group + "sales-group", False, True),
    ]:
        rbac = _emulator_rbac([("Cognitive Services Contributor", scope)], groups)
        assert rbac.allows("p1", LIST_KEYS, RESOURCE) is here, scope
        assert rbac.allows("p1", LIST_KEYS, f"{other}/resourceGroups/rg") is there, scope


def test_not_actions_is_not_a_deny_emulator() -> None:
    """Contributor excludes role writes; a second role that grants them still allows them."""
    write = "Microsoft.Authorization/roleAssignments/write"
    only = _emulator_rbac([("Contributor", SUB)])
    assert not only.allows("p1", write, RESOURCE)
    both = _emulator_rbac([("Contributor", SUB), ("Custom Role Writer", RG)])
    both.roles["custom role writer"] = emulator.RoleDefinition(
        "custom role writer",
        "Custom Role Writer",
        "",
        ({"actions": ["Microsoft.Authorization/roleAssignments/*"]},),
        {},
    )
    assert both.allows("p1", write, RESOURCE)
    assert not both.allows("p1", write, SUB)  # the second role's scope is the resource group


def test_not_actions_is_not_a_deny_audit() -> None:
    """The audit's access view unions grants: NotActions of one role hides no other role's."""
    from keyops.audit.access import access_view

    definitions = {
        "reader": audit.RoleDefinition(
            "reader", "Reader", "BuiltInRole", (audit.Permission(("*/read",)),)
        ),
        "no-keys": audit.RoleDefinition(
            "no-keys",
            "Custom no keys",
            "CustomRole",
            (audit.Permission(("Microsoft.CognitiveServices/*",), (LIST_KEYS,)),),
        ),
        "keys": audit.RoleDefinition(
            "keys", "Cognitive Services User", "BuiltInRole", (audit.Permission((LIST_KEYS,)),)
        ),
    }
    assignments = [
        audit.RoleAssignment("1", SUB, "p1", "User", "no-keys"),
        audit.RoleAssignment("2", RG, "p2", "User", "reader"),
        audit.RoleAssignment("3", RG, "p1", "User", "keys"),
    ]
    view = access_view(RESOURCE, assignments, lambda rid: definitions[rid])
    readers = {(g.principal_id, g.role_name) for g in view.read_keys}
    assert readers == {("p1", "Cognitive Services User")}
    regenerators = {g.principal_id for g in view.regenerate_keys}
    assert regenerators == {"p1"}
