"""What every Key Vault request passes before its operation runs.

In Key Vault's order: the vault exists; a request without a bearer token gets the 401
challenge (the SDKs' first request is sent that way on purpose, without its body); the
api-version is one Key Vault published; the token is valid for ``https://vault.azure.net``;
the secret name is well formed; and an RBAC role assignment grants the operation's data action
at the secret's scope (assignments on the vault, its resource group or subscription apply).
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt
from starlette.requests import Request

from keyops.emulator import apiversions
from keyops.emulator.core.context import Emulator
from keyops.emulator.core.tokens import Caller, TokenError, bearer_from
from keyops.emulator.services.keyvault import exceptions as exc
from keyops.emulator.services.keyvault.models import check_name, find_vault, vault_location
from keyops.emulator.world import Vault

#: Data-plane api-versions Azure published for secrets (the emulator's one table).
API_VERSIONS = apiversions.KEYVAULT_SECRETS
LATEST_API_VERSION = apiversions.KEYVAULT_LATEST

_SECRETS = "Microsoft.KeyVault/vaults/secrets"
GET_SECRET = f"{_SECRETS}/getSecret/action"
READ_METADATA = f"{_SECRETS}/readMetadata/action"
SET_SECRET = f"{_SECRETS}/setSecret/action"
UPDATE_SECRET = f"{_SECRETS}/update/action"
DELETE_SECRET = f"{_SECRETS}/delete"
RECOVER_SECRET = f"{_SECRETS}/recover/action"
PURGE_SECRET = f"{_SECRETS}/purge/action"


@dataclass(frozen=True)
class Admitted:
    """A request that passed the gate: the vault, who calls, and the api-version used."""

    emu: Emulator
    vault: Vault
    caller: Caller
    api_version: str


def authority(emu: Emulator) -> str:
    """The ``authorization`` URL of the challenge: the emulated Entra authority and tenant."""
    return f"{emu.base_url}/{emu.tenant_id}"


def _unverified(token: str) -> dict[str, object]:
    try:
        claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims


def _token_error(emu: Emulator, reason: str, token: str) -> str:
    """Key Vault's message for a rejected token (AKV codes; the claim shown is never a secret)."""
    if reason == "invalid audience":
        aud = _unverified(token).get("aud")
        return f"AKV10022: Invalid audience. Expected {exc.KEY_VAULT_AUDIENCE}, found: {aud}."
    if reason in ("invalid issuer", "invalid tenant"):
        iss = _unverified(token).get("iss")
        return f"AKV10032: Invalid issuer. Expected one of {emu.tokens.issuer}, found {iss}."
    if reason == "token expired":
        return "[TokenExpired] Error validating token: 'S2S12086'."
    if reason == "token not yet valid":
        return "Error validating token: IDX10222"
    return "Error validating token: IDX10501"


def vault_of(request: Request) -> tuple[Emulator, Vault]:
    """The emulator and the vault named in the path; 404 when the world has no such vault."""
    emu: Emulator = request.app.state.emulator
    name = str(request.path_params["vault"])
    vault = find_vault(emu, name)
    if vault is None:
        raise exc.vault_not_found(name)
    return emu, vault


def admit(request: Request, action: str, secret: str | None = None) -> Admitted:
    """Run the gate for ``action`` (on ``secret`` when the operation names one)."""
    emu, vault = vault_of(request)
    request.state.target = vault.id if secret is None else f"{vault.id}/secrets/{secret}"
    token = bearer_from(request.headers.get("authorization"))
    if token is None:
        raise exc.unauthorized(
            "AKV10000: Request is missing a Bearer or PoP token.", authority(emu)
        )
    api_version = request.query_params.get("api-version")
    if not api_version:
        raise exc.missing_api_version()
    if api_version not in API_VERSIONS:
        raise exc.unknown_api_version(api_version, LATEST_API_VERSION)
    try:
        caller = emu.caller(request, [exc.KEY_VAULT_AUDIENCE, exc.KEY_VAULT_APP_ID])
    except TokenError as err:
        raise exc.unauthorized(_token_error(emu, err.reason, token), authority(emu)) from None
    if secret is not None:
        check_name(secret)
    scope = request.state.target
    if not emu.rbac.allows(caller.oid, action, scope, data=True):
        raise exc.forbidden_by_rbac(
            appid=caller.appid,
            oid=caller.oid,
            issuer=str(caller.claims.get("iss", "")),
            action=action,
            resource=scope,
            vault=vault.name,
            location=vault_location(emu, vault),
        )
    return Admitted(emu=emu, vault=vault, caller=caller, api_version=api_version)
