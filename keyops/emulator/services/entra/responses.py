"""Handlers of the tenant's endpoints: OpenID discovery, signing keys and the token endpoint.

Paths and shapes as ``login.microsoftonline.com`` serves them, under the emulator's URL:
``/{tenant}/v2.0/.well-known/openid-configuration``, ``/{tenant}/discovery/v2.0/keys``,
``/{tenant}/oauth2/v2.0/token`` and their v1 forms. Only the app-only grant
(``client_credentials``, with a secret or a federated assertion) is emulated.
"""

from __future__ import annotations

import base64
import binascii
import functools
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from starlette.requests import Request
from starlette.responses import Response

from keyops.emulator.core.context import Emulator
from keyops.emulator.core.errors import EmulatorHTTPError
from keyops.emulator.core.operation import Handler, json_response, operation
from keyops.emulator.services.entra import models
from keyops.emulator.services.entra.exceptions import (
    NO_STORE,
    EntraError,
    missing_parameter,
    tenant_not_found,
    trace_headers,
    wrong_method,
)

_CLAIMS_V2 = [
    "sub",
    "iss",
    "cloud_instance_name",
    "cloud_instance_host_name",
    "cloud_graph_host_name",
    "msgraph_host",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "acr",
    "nonce",
    "preferred_username",
    "name",
    "tid",
    "ver",
    "at_hash",
    "c_hash",
    "email",
]
_CLAIMS_V1 = [
    "sub",
    "iss",
    "cloud_instance_name",
    "cloud_instance_host_name",
    "cloud_graph_host_name",
    "msgraph_host",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "acr",
    "amr",
    "nonce",
    "email",
    "given_name",
    "family_name",
    "nickname",
]
_CLOUD = {
    "cloud_instance_name": "microsoftonline.com",
    "cloud_graph_host_name": "graph.windows.net",
    "msgraph_host": "graph.microsoft.com",
    "rbac_url": "https://pas.windows.net",
}


def traced(fn: Handler) -> Handler:
    """Put Entra's trace headers on every success of ``fn`` (its EntraErrors carry their own:
    the ``x-ms-request-id`` there is the trace id the error body names)."""

    @functools.wraps(fn)
    async def wrapper(request: Request) -> Response:
        response = await fn(request)
        client_request_id = request.headers.get("client-request-id")
        for name, value in trace_headers(str(uuid.uuid4()), client_request_id).items():
            response.headers.setdefault(name, value)
        return response

    return wrapper


def entra_failure(emu: Emulator, request: Request, err: EntraError) -> EmulatorHTTPError:
    """Entra's wire answer for ``err``, echoing the client's request id as Entra does."""
    return err.http(emu.clock.now(), request.headers.get("client-request-id"))


def _tenant(emu: Emulator, request: Request) -> str:
    """The tenant segment for URLs: the tenant id, or the multi-tenant alias as requested."""
    tenant = str(request.path_params["tenant"])
    if not models.known_tenant(emu, tenant):
        raise entra_failure(emu, request, tenant_not_found(tenant))
    return emu.tenant_id if models.is_tenant(emu, tenant) else tenant.lower()


def _issuer(emu: Emulator, tenant: str) -> str:
    # The multi-tenant documents publish a template, as Entra's do.
    return emu.tokens.issuer if tenant == emu.tenant_id else f"{emu.base_url}/{{tenantid}}/v2.0"


def _common_fields(emu: Emulator, tenant: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "kerberos_endpoint": f"{emu.base_url}/{tenant}/kerberos",
    }
    if tenant == emu.tenant_id:
        fields["tenant_region_scope"] = "NA"
    fields.update(_CLOUD)
    return fields


@operation("OpenIdConfiguration_V2", "entra")
@traced
async def openid_configuration_v2(request: Request) -> Response:
    """The v2.0 OpenID Connect discovery document MSAL reads before asking for a token."""
    emu: Emulator = request.app.state.emulator
    tenant = _tenant(emu, request)
    base = f"{emu.base_url}/{tenant}"
    doc: dict[str, Any] = {
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": _issuer(emu, tenant),
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "claims_supported": list(_CLAIMS_V2),
    }
    doc.update(_common_fields(emu, tenant))
    return json_response(doc)


@operation("OpenIdConfiguration_V1", "entra")
@traced
async def openid_configuration_v1(request: Request) -> Response:
    """The v1 discovery document.

    Entra's names ``https://sts.windows.net/{tenant}/`` as issuer; the emulator issues one kind
    of token only, so its issuer is the one its tokens carry.
    """
    emu: Emulator = request.app.state.emulator
    tenant = _tenant(emu, request)
    base = f"{emu.base_url}/{tenant}"
    doc: dict[str, Any] = {
        "token_endpoint": f"{base}/oauth2/token",
        "jwks_uri": f"{emu.base_url}/common/discovery/keys",
        "response_types_supported": [
            "code",
            "id_token",
            "code id_token",
            "token id_token",
            "token",
        ],
        "scopes_supported": ["openid"],
        "issuer": _issuer(emu, tenant),
        "microsoft_multi_refresh_token": True,
        "authorization_endpoint": f"{base}/oauth2/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/devicecode",
        "end_session_endpoint": f"{base}/oauth2/logout",
        "claims_supported": list(_CLAIMS_V1),
        "check_session_iframe": f"{base}/oauth2/checksession",
        "userinfo_endpoint": f"{base}/openid/userinfo",
    }
    doc.update(_common_fields(emu, tenant))
    return json_response(doc)


@operation("Keys_List", "entra")
@traced
async def keys(request: Request) -> Response:
    """The JWKS with the tenant's token-signing key (v2 keys name their issuer)."""
    emu: Emulator = request.app.state.emulator
    tenant = _tenant(emu, request)
    jwks = emu.signer.jwks()
    if "/v2.0/" in request.url.path:
        for key in jwks["keys"]:
            key["issuer"] = _issuer(emu, tenant)
    return json_response(jwks)


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded body, first value of each field (without python-multipart)."""
    raw = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def _basic_credentials(request: Request, form: dict[str, str]) -> None:
    """Fold ``client_secret_basic`` (RFC 6749 2.3.1) into the form fields."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return
    client_id, sep, secret = decoded.partition(":")
    if sep:
        form.setdefault("client_id", unquote_plus(client_id))
        form.setdefault("client_secret", unquote_plus(secret))


@operation("Token_Acquire", "entra")
@traced
async def token(request: Request) -> Response:
    """``POST /{tenant}/oauth2/v2.0/token`` (scope) or ``/{tenant}/oauth2/token`` (resource)."""
    emu: Emulator = request.app.state.emulator
    v1 = not request.url.path.rstrip("/").endswith("/v2.0/token")
    form = await read_form(request)
    _basic_credentials(request, form)
    tenant = str(request.path_params["tenant"])
    try:
        if not models.known_tenant(emu, tenant):
            raise tenant_not_found(tenant)
        models.check_grant(emu, tenant, form)
        if v1:
            resource = form.get("resource") or ""
            if not resource:
                raise missing_parameter("resource")
        else:
            resource = models.scope_to_resource(form.get("scope"))
        who, acr = models.authenticate_client(emu, form)
        request.state.principal = who["object_id"]
        issued = models.issue_for(
            emu, who, resource, acr=acr, capabilities=models.cae_capabilities(form.get("claims"))
        )
    except EntraError as err:
        raise entra_failure(emu, request, err) from None
    request.state.target = issued.audience
    return json_response(_v1_body(issued) if v1 else _v2_body(issued), headers=dict(NO_STORE))


@operation("Token_WrongMethod", "entra")
async def token_wrong_method(request: Request) -> Response:
    """Any other method on the token endpoint: Entra's 400 AADSTS900561 (not a 405)."""
    emu: Emulator = request.app.state.emulator
    raise entra_failure(emu, request, wrong_method(request.method))


def _v2_body(issued: models.IssuedToken) -> dict[str, Any]:
    return {
        "token_type": "Bearer",
        "expires_in": issued.lifetime,
        "ext_expires_in": issued.lifetime,
        "access_token": issued.access_token,
    }


def _v1_body(issued: models.IssuedToken) -> dict[str, Any]:
    # The v1 endpoint answers numbers as strings and echoes the resource.
    return {
        "token_type": "Bearer",
        "expires_in": str(issued.lifetime),
        "ext_expires_in": str(issued.lifetime),
        "expires_on": str(issued.expires_on),
        "not_before": str(issued.expires_on - issued.lifetime),
        "resource": issued.resource,
        "access_token": issued.access_token,
    }
