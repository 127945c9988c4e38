"""Azure RBAC evaluation from role definitions' actions and dataActions, never role names.

An assignment applies to a request when its scope is the request's scope or an ancestor of it
(management groups -> subscription -> resource group -> resource). A permission block grants an
operation when one of its ``actions`` (or ``dataActions``) patterns matches and none of its
``notActions`` (or ``notDataActions``) does; ``*`` is a wildcard and matching ignores case, as
Azure's does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from keyops.emulator.core.listindex import ListIndex

if TYPE_CHECKING:
    from collections.abc import Iterable

    from keyops.emulator.world import ManagementGroup

#: A management group's scope, lower case (its name follows).
GROUP_SCOPE = "/providers/microsoft.management/managementgroups/"


@lru_cache(maxsize=1024)
def _pattern(action: str) -> re.Pattern[str]:
    return re.compile(
        "^" + ".*".join(re.escape(part) for part in action.split("*")) + "$", re.IGNORECASE
    )


def action_matches(pattern: str, action: str) -> bool:
    """Whether an RBAC action pattern (with ``*`` wildcards) matches an operation."""
    return bool(_pattern(pattern).match(action))


def scope_covers(assignment_scope: str, scope: str) -> bool:
    """Whether an assignment at ``assignment_scope`` applies to ``scope`` (case-insensitive)."""
    a = assignment_scope.rstrip("/").lower()
    s = scope.rstrip("/").lower()
    return a in ("", "/") or s == a or s.startswith(a + "/")


@dataclass(frozen=True)
class RoleDefinition:
    """A role definition: its GUID name, display name and permission blocks."""

    name: str
    role_name: str
    description: str
    permissions: tuple[dict[str, list[str]], ...]
    raw: dict[str, Any]

    def grants(self, action: str, *, data: bool) -> bool:
        """Whether any permission block grants ``action`` (a data action when ``data``)."""
        allow_key, deny_key = (
            ("dataActions", "notDataActions") if data else ("actions", "notActions")
        )
        for block in self.permissions:
            if any(action_matches(p, action) for p in block.get(allow_key, [])) and not any(
                action_matches(p, action) for p in block.get(deny_key, [])
            ):
                return True
        return False


def load_builtin_roles() -> dict[str, RoleDefinition]:
    """Built-in roles shipped with the emulator, by GUID (lower case)."""
    text = resources.files("keyops.emulator").joinpath("data/builtin-roles.json").read_text()
    roles: dict[str, RoleDefinition] = {}
    for item in json.loads(text):
        roles[item["name"].lower()] = RoleDefinition(
            name=item["name"].lower(),
            role_name=item["roleName"],
            description=item.get("description", ""),
            permissions=tuple(item["permissions"]),
            raw=item,
        )
    return roles


@dataclass(frozen=True)
class Assignment:
    """A role assignment: who holds which role at which scope."""

    id: str
    name: str
    scope: str
    role_definition: str
    principal_id: str
    principal_type: str
    created: float


class Rbac:
    """Answers 'may principal P do action A at scope S' from the assignments in the store.

    Every request asks, so an answer reads only the principal's assignments in the scope's
    subscription and those outside any subscription (``/``): not O(assignments), which grows
    with every subscription a fleet spans (see :class:`~keyops.emulator.core.listindex.ListIndex`).
    """

    def __init__(
        self,
        roles: dict[str, RoleDefinition],
        assignments: list[dict[str, Any]],
        groups: Iterable[ManagementGroup] = (),
        root: str = "",
    ) -> None:
        self.roles = roles
        #: The tenant root group's name (the tenant id): above every group and subscription.
        self._root = root.lower()
        self._parent = {g.name.lower(): (g.parent or "").lower() for g in groups}
        self._group_of = {sub.lower(): g.name.lower() for g in groups for sub in g.subscriptions}
        # The list is owned by the store; the index follows its changes.
        self._assignments = assignments
        self._by_principal = ListIndex(
            lambda a: (a["principal_id"].lower(), _subscription_of(a["scope"].lower()))
        )

    def assignments(self) -> list[Assignment]:
        """All role assignments."""
        return [Assignment(**a) for a in self._assignments]

    def role_by_name(self, role_name: str) -> RoleDefinition:
        """Find a built-in role by its display name (for world files); KeyError if unknown."""
        for role in self.roles.values():
            if role.role_name.lower() == role_name.lower():
                return role
        raise KeyError(role_name)

    def allows(self, principal_id: str, action: str, scope: str, *, data: bool = False) -> bool:
        """Whether any assignment of ``principal_id`` covering ``scope`` grants ``action``."""
        who, sub = principal_id.lower(), _subscription_of(scope.lower())
        candidates = self._by_principal.get(self._assignments, (who, ""))
        if sub:
            candidates = candidates + self._by_principal.get(self._assignments, (who, sub))
        for a in candidates:
            if not self.covers(a["scope"], scope):
                continue
            role = self.roles.get(a["role_definition"].lower())
            if role is not None and role.grants(action, data=data):
                return True
        return False

    def covers(self, assignment_scope: str, scope: str) -> bool:
        """:func:`scope_covers`, where an assignment at a management group also covers every
        subscription in it or in a group below it (and all they hold)."""
        a = assignment_scope.rstrip("/").lower()
        if not a.startswith(GROUP_SCOPE):
            return scope_covers(a, scope)
        return a[len(GROUP_SCOPE) :] in self._groups_above(scope.rstrip("/").lower())

    def _groups_above(self, scope: str) -> list[str]:
        """The management groups a lower-case scope in a subscription lies in, nearest first,
        the tenant root last (nothing here asks at a management group itself)."""
        group = self._group_of.get(_subscription_of(scope), "")
        chain: list[str] = []
        while group:  # the world's parser refuses cycles
            chain.append(group)
            group = self._parent.get(group, "")
        return [*chain, self._root] if self._root else chain


def _subscription_of(scope: str) -> str:
    """The subscription id a lower-case scope lies in, or "" outside any."""
    if not scope.startswith("/subscriptions/"):
        return ""
    return scope[len("/subscriptions/") :].split("/", 1)[0]
