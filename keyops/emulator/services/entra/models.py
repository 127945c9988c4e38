"""State and rules of the emulated Entra ID tenant (no HTTP here).

State (``emu.store.section("entra")``): ``principals`` keyed by lower-case client id, each with
its object id, name, a salted hash of its client secret (never the secret), whether it is a
managed identity, and its federated identity credentials; ``issuers``: the signing keys of the
emulator-hosted test issuers (see :mod:`federation`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets as pysecrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from keyops.emulator.core.context import Emulator
from keyops.emulator.services.entra import exceptions as exc
from keyops.emulator.services.entra.federation import verify_assertion

#: Tenant path segments that are not a tenant but a multi-tenant alias.
MULTI_TENANT = ("common", "organizations")
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_PBKDF2_ROUNDS = 20_000
#: Scopes OIDC adds to requests; they never name a resource.
_RESERVED_SCOPES = {"openid", "profile", "offline_access", "email"}

#: Resources (service principals) the tenant knows, by host, with the ``aud`` Entra writes into
#: their tokens: the resource's identifier URI as registered, whatever form was requested.
RESOURCES = {
    "management.azure.com": "https://management.azure.com/",
    "management.core.windows.net": "https://management.core.windows.net/",
    "vault.azure.net": "https://vault.azure.net",
    "cognitiveservices.azure.com": "https://cognitiveservices.azure.com",
    "ai.azure.com": "https://ai.azure.com",
    "metrics.monitor.azure.com": "https://metrics.monitor.azure.com",
    "api.loganalytics.io": "https://api.loganalytics.io",
    "graph.microsoft.com": "https://graph.microsoft.com",
    "storage.azure.com": "https://storage.azure.com",
}


@dataclass(frozen=True)
class IssuedToken:
    """An access token granted to a principal for a resource."""

    access_token: str
    expires_on: int
    lifetime: int
    audience: str
    resource: str  # as the client asked for it (the v1 endpoint echoes it)
    object_id: str
    client_id: str


def hash_secret(secret: str, salt: str | None = None) -> str:
    """A salted PBKDF2 hash of a client secret, as stored in state."""
    salt = salt or pysecrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt.encode(), _PBKDF2_ROUNDS)
    return f"pbkdf2_sha256${_PBKDF2_ROUNDS}${salt}${digest.hex()}"


def secret_matches(secret: str, stored: str | None) -> bool:
    """Whether ``secret`` is the one ``stored`` was hashed from (constant time)."""
    if not stored:
        return False
    try:
        _, rounds, salt, expected = stored.split("$")
        digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt.encode(), int(rounds))
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)


def seed(emu: Emulator) -> None:
    """Fill Entra's state from the world, and the secrets connection.json hands out."""
    state = emu.store.section("entra")
    principals: dict[str, Any] = state.setdefault("principals", {})
    for p in emu.world.principals:
        principals[p.client_id.lower()] = {
            "name": p.name,
            "client_id": p.client_id,
            "object_id": p.object_id,
            "secret_hash": hash_secret(p.secret) if p.secret else None,
            "managed_identity": p.managed_identity,
            "federated_credentials": [
                {"issuer": f.issuer, "subject": f.subject, "audience": f.audience}
                for f in p.federated_credentials
            ],
        }
    state.setdefault("issuers", {})
    meta = emu.store.section("meta")
    meta.setdefault("issuer_request_token", pysecrets.token_urlsafe(24))
    meta.setdefault("msi_header", pysecrets.token_urlsafe(24))


def principal(emu: Emulator, client_id: str) -> dict[str, Any] | None:
    """A principal's state by client id (case-insensitive), or None."""
    principals: dict[str, Any] = emu.store.section("entra").get("principals", {})
    found = principals.get(client_id.strip().lower())
    return found if isinstance(found, dict) else None


def managed_identities(emu: Emulator) -> list[dict[str, Any]]:
    """The principals that are managed identities, in world order."""
    principals: dict[str, Any] = emu.store.section("entra").get("principals", {})
    return [p for p in principals.values() if p.get("managed_identity")]


def is_tenant(emu: Emulator, tenant: str) -> bool:
    """Whether the path segment names this emulator's tenant."""
    return tenant.lower() == emu.tenant_id.lower()


def known_tenant(emu: Emulator, tenant: str) -> bool:
    """Whether discovery answers for this segment (the tenant or a multi-tenant alias)."""
    return is_tenant(emu, tenant) or tenant.lower() in MULTI_TENANT


def resolve_resource(emu: Emulator, resource: str) -> str:
    """The ``aud`` for a requested resource; AADSTS500011 if the tenant has no such resource."""
    text = resource.strip()
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if (
        parts.scheme.lower() == "https"
        and host in RESOURCES
        and not parts.port
        and not parts.path.strip("/")
        and not parts.query
    ):
        return RESOURCES[host]
    raise exc.resource_not_found(text, emu.tenant_id)


def scope_to_resource(scope: str | None) -> str:
    """The resource named by a v2 ``scope`` (``<resource>/.default``); Entra's errors otherwise."""
    if not scope or not scope.strip():
        raise exc.missing_parameter("scope")
    names = [s for s in scope.split() if s.lower() not in _RESERVED_SCOPES]
    if not names:
        raise exc.invalid_scope(scope)
    resources = set()
    for name in names:
        if not name.endswith("/.default"):
            raise exc.scope_needs_default(name)
        resources.add(name[: -len("/.default")])
    if len(resources) != 1:
        raise exc.invalid_scope(scope)
    return resources.pop()


def cae_capabilities(claims: str | None) -> list[str]:
    """Client capabilities (``xms_cc``) declared in a ``claims`` request parameter.

    azure-identity sends ``{"access_token": {"xms_cc": {"values": ["CP1"]}}}`` when the client
    supports Continuous Access Evaluation (Key Vault asks for it); anything else is accepted
    and ignored, as Entra does for claims it does not act on.
    """
    try:
        parsed = json.loads(claims) if claims else {}
        values = parsed["access_token"]["xms_cc"]["values"]
    except (ValueError, KeyError, TypeError):
        return []
    return [str(v) for v in values] if isinstance(values, list) else []


def issue_for(
    emu: Emulator,
    who: dict[str, Any],
    resource: str,
    *,
    acr: str,
    capabilities: list[str] | None = None,
) -> IssuedToken:
    """Mint an app-only access token for ``who`` to call ``resource``."""
    audience = resolve_resource(emu, resource)
    # azpacr/appidacr say how the app proved itself: 1 = secret, 2 = certificate or assertion.
    extra: dict[str, Any] = {"azpacr": acr, "appidacr": acr}
    if capabilities:
        extra["xms_cc"] = capabilities
    lifetime = emu.settings.token_lifetime
    token, exp = emu.tokens.issue(
        audience=audience,
        oid=str(who["object_id"]),
        appid=str(who["client_id"]),
        lifetime=lifetime,
        extra=extra,
    )
    return IssuedToken(
        access_token=token,
        expires_on=exp,
        lifetime=lifetime,
        audience=audience,
        resource=resource,
        object_id=str(who["object_id"]),
        client_id=str(who["client_id"]),
    )


def check_grant(emu: Emulator, tenant: str, form: dict[str, str]) -> None:
    """The grant must be the app-only one, asked of the tenant itself."""
    grant = form.get("grant_type")
    if not grant:
        raise exc.missing_parameter("grant_type")
    if grant != "client_credentials":
        raise exc.unsupported_grant(grant)
    if not is_tenant(emu, tenant):
        raise exc.grant_not_on_common()
    if not form.get("client_id"):
        raise exc.missing_parameter("client_id")


def authenticate_client(emu: Emulator, form: dict[str, str]) -> tuple[dict[str, Any], str]:
    """Check the client's credential (secret or federated assertion): its state and its acr."""
    client_id = form.get("client_id", "")
    who = principal(emu, client_id)
    if who is None or who.get("managed_identity"):
        # A managed identity has no credential an app could present to the token endpoint.
        raise exc.unknown_client(client_id, emu.tenant_id)
    assertion = form.get("client_assertion")
    if assertion:
        if form.get("client_assertion_type") != JWT_BEARER:
            raise exc.missing_parameter("client_assertion_type")
        verify_assertion(emu, who, assertion)
        return who, "2"
    secret = form.get("client_secret")
    if secret is None:
        raise exc.missing_credential()
    if not secret_matches(secret, who.get("secret_hash")):
        raise exc.invalid_secret(client_id)
    return who, "1"
