"""The least-privilege view: who may read keys, regenerate keys, call inference at an account.

Evaluated from role assignments and their role definitions' actions and dataActions (wildcards
included), never from role names, so custom roles count like built-in ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from keyops.audit.model import AccessView, Grant, IdentityView
from keyops.azure.authorization import (
    CHAT_INFERENCE,
    LIST_KEYS,
    REGENERATE_KEY,
    RoleAssignment,
    RoleDefinition,
)
from keyops.azure.probe import Outcome


def access_view(
    account_id: str,
    assignments: Iterable[RoleAssignment],
    definition_of: Callable[[str], RoleDefinition],
) -> AccessView:
    """Evaluate every assignment that applies at ``account_id``."""
    read: list[Grant] = []
    regenerate: list[Grant] = []
    infer: list[Grant] = []
    for a in assignments:
        role = definition_of(a.role_definition_id)
        grant = Grant(
            principal_id=a.principal_id.lower(),
            principal_type=a.principal_type,
            role_name=role.role_name,
            scope=a.scope,
            above_account=a.scope.rstrip("/").lower() != account_id.rstrip("/").lower(),
            conditional=bool(a.condition),
        )
        if role.grants(LIST_KEYS):
            read.append(grant)
        if role.grants(REGENERATE_KEY):
            regenerate.append(grant)
        if role.grants(CHAT_INFERENCE, data=True):
            infer.append(grant)
    return AccessView(tuple(read), tuple(regenerate), tuple(infer))


def identity_view(
    principal_id: str | None,
    access: AccessView | None,
    *,
    listed_keys: bool | None,
    entra_outcome: str | None,
) -> IdentityView:
    """What the running identity may do: what was observed first, RBAC where nothing was.

    ``listed_keys`` is whether ARM listKeys answered (None: not tried or refused for another
    reason, such as disableLocalAuth); ``entra_outcome`` is the Entra probe's outcome.
    """

    def rbac(grants: tuple[Grant, ...] | None) -> bool | None:
        if access is None or principal_id is None or grants is None:
            return None
        return access.can(principal_id, grants)

    can_read = (
        listed_keys if listed_keys is not None else rbac(access.read_keys if access else None)
    )
    observed_infer: bool | None = None
    if entra_outcome in (Outcome.OK.value, Outcome.THROTTLED.value):
        observed_infer = True
    elif entra_outcome == Outcome.MISSING_ROLE.value:
        observed_infer = False
    can_infer = (
        observed_infer if observed_infer is not None else rbac(access.inference if access else None)
    )
    return IdentityView(
        principal_id=principal_id,
        can_read_keys=can_read,
        can_regenerate_keys=rbac(access.regenerate_keys if access else None),
        can_call_inference=can_infer,
    )
