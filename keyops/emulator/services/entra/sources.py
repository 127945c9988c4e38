"""Handlers of the other token sources around Entra: CI runners' OIDC issuers and the managed
identity endpoint, plus the admin route that mints test assertions.

- ``GET /_issuer/github/token?audience=...`` imitates the GitHub Actions runtime
  (``ACTIONS_ID_TOKEN_REQUEST_URL`` / ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``): ``{"value": <jwt>}``.
- ``POST /_issuer/azure-pipelines/token?api-version=7.1&serviceConnectionId=...`` imitates Azure
  DevOps' ``oidctoken`` API (``SYSTEM_OIDCREQUESTURI`` + ``System.AccessToken``):
  ``{"oidcToken": <jwt>}``.
- ``GET /_msi/token?api-version=2019-08-01&resource=...`` imitates App Service's identity
  endpoint (``IDENTITY_ENDPOINT`` + ``X-IDENTITY-HEADER: IDENTITY_HEADER``).
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from keyops.emulator.core.context import Emulator
from keyops.emulator.core.errors import EmulatorHTTPError
from keyops.emulator.core.layout import issuer_url
from keyops.emulator.core.operation import json_response, operation
from keyops.emulator.core.tokens import bearer_from
from keyops.emulator.services.admin.auth import admin_emulator, bad_request, json_body
from keyops.emulator.services.entra import federation, models
from keyops.emulator.services.entra.exceptions import EntraError, issuer_error, msi_error

MSI_API_VERSION = "2019-08-01"
_GITHUB_CLAIMS = [
    "sub",
    "aud",
    "exp",
    "iat",
    "iss",
    "jti",
    "nbf",
    "ref",
    "repository",
    "repository_owner",
    "ref_type",
    "runner_environment",
]


def _hosted(request: Request) -> str:
    name = str(request.path_params["name"])
    if name not in federation.HOSTED_ISSUERS:
        raise issuer_error(404, "Not Found")
    return name


@operation("Issuer_OpenIdConfiguration", "entra")
async def issuer_configuration(request: Request) -> Response:
    """A hosted issuer's OpenID discovery document (as GitHub's runner issuer publishes)."""
    emu: Emulator = request.app.state.emulator
    url = issuer_url(emu.base_url, _hosted(request))
    return json_response(
        {
            "issuer": url,
            "jwks_uri": f"{url}/.well-known/jwks",
            "subject_types_supported": ["public", "pairwise"],
            "response_types_supported": ["id_token"],
            "claims_supported": list(_GITHUB_CLAIMS),
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
        }
    )


@operation("Issuer_Keys", "entra")
async def issuer_keys(request: Request) -> Response:
    """A hosted issuer's JWKS (its own key, not the tenant's)."""
    emu: Emulator = request.app.state.emulator
    return json_response(federation.issuer_signer(emu, _hosted(request)).jwks())


def _query(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    # The GitHub toolkit appends "&audience=..." to ACTIONS_ID_TOKEN_REQUEST_URL, assuming the
    # URL already has a query; tolerate a request URL given without one.
    extra = request.path_params.get("extra")
    if extra:
        params.update({k: v[0] for k, v in parse_qs(str(extra)).items()})
    return params


@operation("Issuer_GetIdToken", "entra")
async def issuer_token(request: Request) -> Response:
    """An ID token for the running job, for the request token connection.json hands out."""
    emu: Emulator = request.app.state.emulator
    name = _hosted(request)
    expected = str(emu.store.section("meta").get("issuer_request_token", ""))
    presented = bearer_from(request.headers.get("authorization")) or ""
    if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise issuer_error(401, "Unauthorized: the request token is missing or wrong.")
    wanted = "GET" if name == "github" else "POST"
    if request.method != wanted:
        raise issuer_error(405, "Method Not Allowed")
    params = _query(request)
    subject = params.get("subject") or federation.default_subject(emu, name)
    request.state.target = subject
    if name == "github":
        owner = subject.split(":", 1)[-1].split("/", 1)[0]
        # Without an audience GitHub's token is for the repository owner's URL.
        audience = params.get("audience") or f"https://github.com/{owner}"
        return json_response(
            {"value": federation.mint(emu, name, subject=subject, audience=audience)}
        )
    if not params.get("api-version"):
        raise issuer_error(400, "No api-version was supplied for the POST request.")
    token = federation.mint(emu, name, subject=subject, audience=federation.TOKEN_EXCHANGE_AUDIENCE)
    return json_response({"oidcToken": token})


#: Query parameters that name a user-assigned identity, and the state field each matches.
_MI_SELECTORS = {
    "client_id": "client_id",
    "object_id": "object_id",
    "principal_id": "object_id",
    "mi_res_id": "name",
}


def _managed_identity(emu: Emulator, params: dict[str, str]) -> dict[str, Any]:
    """The identity a request names, or the only one when it names none (system-assigned)."""
    identities = models.managed_identities(emu)
    named = [(key, params[key].strip().lower()) for key in _MI_SELECTORS if params.get(key)]
    if not named and len(identities) == 1:
        return identities[0]
    for key, value in named[:1]:
        if key == "mi_res_id":
            # A user-assigned identity's resource id ends with its name.
            value = value.rstrip("/").rsplit("/", 1)[-1]
        for mi in identities:
            if str(mi[_MI_SELECTORS[key]]).lower() == value:
                return mi
    raise msi_error(
        400,
        "No User Assigned or Delegated Managed Identity found for specified "
        "ClientId/ResourceId/PrincipalId.",
    )


@operation("ManagedIdentity_GetToken", "entra")
async def msi_token(request: Request) -> Response:
    """App Service's token answer: ``expires_on`` as an epoch string, no ``expires_in``."""
    emu: Emulator = request.app.state.emulator
    expected = str(emu.store.section("meta").get("msi_header", ""))
    presented = request.headers.get("x-identity-header", "")
    if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise msi_error(401, "The X-IDENTITY-HEADER header is missing or wrong.")
    params = dict(request.query_params)
    if params.get("api-version") != MSI_API_VERSION:
        raise msi_error(400, f"Unsupported api-version; use {MSI_API_VERSION}.")
    resource = params.get("resource", "")
    if not resource:
        raise msi_error(400, "The 'resource' query parameter is required.")
    who = _managed_identity(emu, params)
    request.state.principal = who["object_id"]
    try:
        issued = models.issue_for(emu, who, resource, acr="2")
    except EntraError:
        # App Service hides Entra's answer behind a vague 500 (as MSAL notes).
        raise msi_error(500, "An unexpected error occured while fetching the AAD Token.") from None
    request.state.target = issued.audience
    return json_response(
        {
            "access_token": issued.access_token,
            "expires_on": str(issued.expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": issued.client_id,
        }
    )


def _int(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_request(f"{key} must be an integer number of seconds")
    return value


@operation("Admin_IssuerToken", "admin")
async def admin_issuer_token(request: Request) -> Response:
    """Mint an assertion from a hosted issuer for tests.

    Body: ``subject`` (default: the issuer's default subject), ``audience`` (default
    ``api://AzureADTokenExchange``), ``expires_in`` (seconds from now, negative for an expired
    token; default 300), ``not_before`` (seconds from now at which it becomes valid; default 0),
    ``claims`` (extra or overriding claims, e.g. another ``iss``).
    """
    emu = admin_emulator(request)
    name = str(request.path_params["name"])
    if name not in federation.HOSTED_ISSUERS:
        raise EmulatorHTTPError(
            404, {"error": {"code": "NotFound", "message": f"no hosted issuer named {name!r}"}}
        )
    body = await json_body(request)
    subject, audience, claims = body.get("subject"), body.get("audience"), body.get("claims")
    if subject is not None and not isinstance(subject, str):
        raise bad_request("subject must be a string")
    if audience is not None and not isinstance(audience, (str, list)):
        raise bad_request("audience must be a string or a list of strings")
    if claims is not None and not isinstance(claims, dict):
        raise bad_request("claims must be an object")
    token = federation.mint(
        emu,
        name,
        subject=subject,
        audience=audience or federation.TOKEN_EXCHANGE_AUDIENCE,
        expires_in=_int(body, "expires_in", federation.ASSERTION_LIFETIME),
        not_before=_int(body, "not_before", 0),
        extra=claims,
    )
    return json_response({"token": token})
