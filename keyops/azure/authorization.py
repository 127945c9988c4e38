"""Role assignments and role definitions (Microsoft.Authorization), read-only, for least privilege.

keyops asks "who may read or regenerate an account's keys, and who may call its inference" by
listing the role assignments that apply at the account's scope (``$filter=atScope()``: at the
scope and above it, management groups included) and evaluating each assignment's role
definition through its ``actions`` / ``notActions`` and ``dataActions`` / ``notDataActions`` —
wildcards included, case-insensitive, as Azure evaluates them — never by role name, so custom
roles are judged like built-in ones.
Deny assignments and ABAC conditions are not evaluated (a condition is reported, not applied).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from keyops.azure.errors import azure_errors
from keyops.azure.pacing import RetryAfterGate, RetrySettings, client_kwargs
from keyops.errors import AuthError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from keyops.cloud import AzureEnvironment

#: Microsoft.Authorization api-version used (stable; role assignments and definitions).
API_VERSION = "2022-04-01"

LIST_KEYS = "Microsoft.CognitiveServices/accounts/listKeys/action"
REGENERATE_KEY = "Microsoft.CognitiveServices/accounts/regenerateKey/action"
#: The data action a chat-completion call needs (Cognitive Services OpenAI User grants it).
CHAT_INFERENCE = "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"


@lru_cache(maxsize=512)
def _pattern(action: str) -> re.Pattern[str]:
    return re.compile(
        "^" + ".*".join(re.escape(part) for part in action.split("*")) + "$", re.IGNORECASE
    )


def action_matches(pattern: str, action: str) -> bool:
    """Whether an RBAC action pattern (``*`` wildcards, any case) matches an operation."""
    return bool(_pattern(pattern).match(action))


#: A management group's scope, lower case. Which groups a subscription lies in is the tenant's
#: hierarchy, which only the service knows: an assignment there that atScope() lists applies.
_GROUP_SCOPE = "/providers/microsoft.management/managementgroups/"


def scope_covers(assignment_scope: str, scope: str) -> bool:
    """Whether an assignment made at ``assignment_scope`` (the root, a subscription or a scope
    in one) applies at ``scope``; for management groups see :data:`_GROUP_SCOPE`."""
    a = assignment_scope.rstrip("/").lower()
    s = scope.rstrip("/").lower()
    return a in ("", "/") or s == a or s.startswith(a + "/")


@dataclass(frozen=True)
class Permission:
    """One permission block of a role definition."""

    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()

    def grants(self, action: str, *, data: bool) -> bool:
        """Whether this block grants ``action`` (a data action when ``data``)."""
        allow, deny = (
            (self.data_actions, self.not_data_actions) if data else (self.actions, self.not_actions)
        )
        return any(action_matches(p, action) for p in allow) and not any(
            action_matches(p, action) for p in deny
        )


@dataclass(frozen=True)
class RoleDefinition:
    """A role definition: its resource id, display name and permission blocks."""

    id: str
    role_name: str
    role_type: str
    permissions: tuple[Permission, ...]

    def grants(self, action: str, *, data: bool = False) -> bool:
        """Whether any block grants ``action``."""
        return any(p.grants(action, data=data) for p in self.permissions)


@dataclass(frozen=True)
class RoleAssignment:
    """Who holds which role definition at which scope."""

    id: str
    scope: str
    principal_id: str
    principal_type: str
    role_definition_id: str
    condition: str | None = None


def role_definition_key(role_definition_id: str) -> str:
    """The role definition's GUID (lower case): ids differ in scope prefix but not in GUID."""
    return role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()


def token_object_id(token: str) -> str | None:
    """The ``oid`` claim of a JWT access token (read, not verified: it is our own token); None
    for anything else, a payload with a character outside base64url included."""
    try:
        payload = token.split(".")[1]
        padded = payload + "=" * (-len(payload) % 4)
        claims = json.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
    except (IndexError, ValueError):
        return None
    oid = claims.get("oid") if isinstance(claims, dict) else None
    return str(oid).lower() if oid else None


def current_principal_id(credential: TokenCredential, env: AzureEnvironment) -> str:
    """The object id of the identity keyops runs as (from its management token)."""
    with azure_errors("get token", "the identity keyops runs as"):
        token = credential.get_token(env.management_scope).token
    oid = token_object_id(token)
    if oid is None:
        raise AuthError("the management token carries no object id (oid claim)")
    return oid


def _list(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (value or ()))


class AuthorizationClient:
    """Read role assignments and role definitions through azure-mgmt-authorization."""

    def __init__(
        self,
        env: AzureEnvironment,
        credential: TokenCredential,
        subscription_id: str,
        *,
        gate: RetryAfterGate | None = None,
        retry: RetrySettings | None = None,
    ) -> None:
        from azure.mgmt.authorization import AuthorizationManagementClient

        self._client: Any = AuthorizationManagementClient(
            credential,
            subscription_id,
            api_version=API_VERSION,
            base_url=env.resource_manager,
            credential_scopes=[env.management_scope],
            **client_kwargs(env.verify, gate, retry),
        )
        self._definitions: dict[str, RoleDefinition] = {}
        self._lock = threading.Lock()

    def list_role_assignments(self, scope: str) -> list[RoleAssignment]:
        """Role assignments that apply at ``scope`` (made at it or at a parent scope)."""
        with azure_errors("list role assignments", scope):
            items = list(self._client.role_assignments.list_for_scope(scope, filter="atScope()"))
        result = [
            RoleAssignment(
                id=str(item.id),
                scope=str(item.scope),
                principal_id=str(item.principal_id).lower(),
                principal_type=str(item.principal_type or "Unknown"),
                role_definition_id=str(item.role_definition_id),
                condition=getattr(item, "condition", None),
            )
            for item in items
        ]
        # atScope() already excludes child scopes; the check keeps a lax server honest, except
        # for management groups, whose hierarchy only the service knows.
        return [
            a
            for a in result
            if a.scope.lower().startswith(_GROUP_SCOPE) or scope_covers(a.scope, scope)
        ]

    def get_role_definition(self, role_definition_id: str) -> RoleDefinition:
        """A role definition by its resource id (cached per client)."""
        key = role_definition_key(role_definition_id)
        # Held across the fetch so that parallel workers ask for each definition once.
        with self._lock:
            cached = self._definitions.get(key)
            if cached is None:
                cached = self._definitions[key] = self._fetch(role_definition_id)
            return cached

    def _fetch(self, role_definition_id: str) -> RoleDefinition:
        with azure_errors("get role definition", role_definition_id):
            item = self._client.role_definitions.get_by_id(role_definition_id)
        return RoleDefinition(
            id=str(item.id),
            role_name=str(item.role_name),
            role_type=str(item.role_type or ""),
            permissions=tuple(
                Permission(
                    _list(p.actions),
                    _list(p.not_actions),
                    _list(p.data_actions),
                    _list(p.not_data_actions),
                )
                for p in (item.permissions or ())
            ),
        )

    def close(self) -> None:
        """Close the HTTP session."""
        self._client.close()
