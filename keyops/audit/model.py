"""What the audit learns about one account: plain frozen dataclasses, no Azure calls.

A :class:`AccountRow` is one row of the audit matrix: the account's shape as ARM reports it,
the result of a real data-plane call with each credential (Key1, Key2, the Key Vault secret,
an Entra token for the identity keyops runs as), the vault secret's state, and who may read or
regenerate the keys or call inference. Rules (:mod:`keyops.audit.rules`) turn rows into findings.
No key value is held here: only fingerprints and which slot a secret matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from keyops.consumers.render import TargetEvidence, target_json

EndpointType = Literal["custom_subdomain", "regional"]
#: The credential columns of the matrix, in order.
CREDENTIALS = ("Key1", "Key2", "vault", "entra")


@dataclass(frozen=True)
class CredentialCheck:
    """One real call with one credential, or why it was not made (``skipped``)."""

    credential: str
    outcome: str | None = None
    status: int | None = None
    error_code: str | None = None
    latency_ms: float | None = None
    fingerprint: str | None = None
    skipped: str | None = None

    @property
    def cell(self) -> str:
        """The matrix cell: the outcome, or ``-`` when the call was not made."""
        return self.outcome or "-"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record."""
        return {
            "outcome": self.outcome,
            "status": self.status,
            "error_code": self.error_code,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "fingerprint": self.fingerprint,
            "skipped": self.skipped,
        }


@dataclass(frozen=True)
class SecretState:
    """The vault secret that should hold this account's key."""

    vault_url: str
    name: str
    #: Whether the secret exists; None when Key Vault answered neither its value nor its
    #: versions (an identity without data access cannot tell a missing secret from a hidden one).
    present: bool | None
    readable: bool = True
    enabled: bool | None = None
    #: Whether the value was compared with the account's keys (listKeys answered).
    compared: bool = False
    #: ``Key1``/``Key2`` when it holds that key (whitespace around it aside, as ``keyops rotate``
    #: judges it); None when it matches neither or was not compared.
    matches: str | None = None
    #: What is wrong with the value as a key's text (``has whitespace around it ...``), if any.
    text_problem: str | None = None
    created: datetime | None = None
    expires_on: datetime | None = None
    age_days: int | None = None
    expired: bool = False
    credential_id_tag: str | None = None
    fingerprint: str | None = None
    error: str | None = None
    #: The Key Vault data actions refused to the identity keyops runs as (``getSecret``, ...).
    denied_actions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record."""
        return {
            "vault_url": self.vault_url,
            "name": self.name,
            "present": self.present,
            "readable": self.readable,
            "enabled": self.enabled,
            "compared": self.compared,
            "matches": self.matches,
            "text_problem": self.text_problem,
            "created": self.created.isoformat() if self.created else None,
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
            "age_days": self.age_days,
            "expired": self.expired,
            "credential_id_tag": self.credential_id_tag,
            "fingerprint": self.fingerprint,
            "error": self.error,
            "denied_actions": list(self.denied_actions),
        }


@dataclass(frozen=True)
class Grant:
    """A principal granted a permission by one role assignment."""

    principal_id: str
    principal_type: str
    role_name: str
    scope: str
    above_account: bool
    conditional: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record."""
        return {
            "principal_id": self.principal_id,
            "principal_type": self.principal_type,
            "role": self.role_name,
            "scope": self.scope,
            "above_account": self.above_account,
            "conditional": self.conditional,
        }


@dataclass(frozen=True)
class AccessView:
    """Who may read keys, regenerate keys and call inference at the account (least privilege)."""

    read_keys: tuple[Grant, ...] = ()
    regenerate_keys: tuple[Grant, ...] = ()
    inference: tuple[Grant, ...] = ()

    @staticmethod
    def principals(grants: tuple[Grant, ...]) -> list[str]:
        """Distinct principal ids, sorted."""
        return sorted({g.principal_id for g in grants})

    def can(self, principal_id: str, grants: tuple[Grant, ...]) -> bool:
        """Whether ``principal_id`` holds one of ``grants``."""
        return any(g.principal_id == principal_id.lower() for g in grants)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record: principal ids per permission, and the grants behind them."""
        return {
            "read_keys": self.principals(self.read_keys),
            "regenerate_keys": self.principals(self.regenerate_keys),
            "inference": self.principals(self.inference),
            "grants": {
                "read_keys": [g.to_dict() for g in self.read_keys],
                "regenerate_keys": [g.to_dict() for g in self.regenerate_keys],
                "inference": [g.to_dict() for g in self.inference],
            },
        }


@dataclass(frozen=True)
class IdentityView:
    """What the identity keyops runs as may do on this account (RBAC, then observation)."""

    principal_id: str | None
    can_read_keys: bool | None
    can_regenerate_keys: bool | None
    can_call_inference: bool | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record."""
        return {
            "principal_id": self.principal_id,
            "can_read_keys": self.can_read_keys,
            "can_regenerate_keys": self.can_regenerate_keys,
            "can_call_inference": self.can_call_inference,
        }


@dataclass(frozen=True)
class AccountRow:
    """One row of the audit matrix."""

    id: str
    name: str
    resource_group: str
    kind: str
    location: str
    endpoint: str
    endpoint_type: EndpointType
    disable_local_auth: bool
    public_network_access: str | None
    deployments: tuple[str, ...]
    probe_deployment: str | None
    checks: dict[str, CredentialCheck]
    secret: SecretState | None
    access: AccessView | None
    identity: IdentityView
    problems: tuple[str, ...] = field(default=())
    #: Who uses its keys, from the logs (``audit --consumers``); None when not looked at.
    usage: TargetEvidence | None = None

    def check(self, credential: str) -> CredentialCheck:
        """The check for ``Key1``, ``Key2``, ``vault`` or ``entra``."""
        return self.checks.get(credential) or CredentialCheck(credential, skipped="not checked")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record (no key value, only fingerprints)."""
        return {
            "account": self.name,
            "id": self.id,
            "resource_group": self.resource_group,
            "kind": self.kind,
            "location": self.location,
            "endpoint": self.endpoint,
            "endpoint_type": self.endpoint_type,
            "disable_local_auth": self.disable_local_auth,
            "public_network_access": self.public_network_access,
            "deployments": list(self.deployments),
            "probe_deployment": self.probe_deployment,
            "calls": {name: self.check(name).to_dict() for name in CREDENTIALS},
            "secret": self.secret.to_dict() if self.secret else None,
            "access": self.access.to_dict() if self.access else None,
            "identity": self.identity.to_dict(),
            "problems": list(self.problems),
            "consumers": target_json(self.usage) if self.usage is not None else None,
        }
