"""Routes of the emulated Entra ID and the token sources around it.

``app.build_app`` mounts these after every other service: ``/{tenant}/...`` would otherwise
catch other services' paths. Within this list the fixed prefixes come first for the same reason.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from keyops.emulator.services.entra import responses, sources

#: Methods the token endpoint refuses with AADSTS900561 (Starlette adds HEAD to GET).
_NOT_POST = ["GET", "PUT", "PATCH", "DELETE"]


def routes() -> list[BaseRoute]:
    """Issuers, the managed identity endpoint, then the tenant's endpoints."""
    return [
        Route(
            "/_issuer/{name}/.well-known/openid-configuration",
            sources.issuer_configuration,
            methods=["GET"],
        ),
        Route("/_issuer/{name}/.well-known/jwks", sources.issuer_keys, methods=["GET"]),
        Route("/_issuer/{name}/token", sources.issuer_token, methods=["GET", "POST"]),
        Route("/_issuer/{name}/token&{extra:path}", sources.issuer_token, methods=["GET", "POST"]),
        Route("/_msi/token", sources.msi_token, methods=["GET"]),
        Route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            responses.openid_configuration_v2,
            methods=["GET"],
        ),
        Route(
            "/{tenant}/.well-known/openid-configuration",
            responses.openid_configuration_v1,
            methods=["GET"],
        ),
        Route("/{tenant}/discovery/v2.0/keys", responses.keys, methods=["GET"]),
        Route("/{tenant}/discovery/keys", responses.keys, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/token", responses.token, methods=["POST"]),
        Route("/{tenant}/oauth2/token", responses.token, methods=["POST"]),
        *(
            Route(path, responses.token_wrong_method, methods=_NOT_POST)
            for path in ("/{tenant}/oauth2/v2.0/token", "/{tenant}/oauth2/token")
        ),
    ]


def admin_routes() -> list[BaseRoute]:
    """Test helpers under ``/_emulator/``."""
    return [
        Route("/_emulator/issuers/{name}/token", sources.admin_issuer_token, methods=["POST"]),
    ]
