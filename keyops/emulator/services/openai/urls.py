"""Routes of the Azure OpenAI data plane, under each account's custom subdomain prefix
(``/aoai/<subdomain>/``) and each region's shared endpoint (``/regional/<location>/``)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from keyops.emulator.services.openai import responses
from keyops.emulator.services.openai.models import CHAT, COMPLETIONS

PREFIXES = ("/aoai/{subdomain}", "/regional/{location}")
_ANY = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


def routes() -> list[BaseRoute]:
    """Inference routes (deployment-scoped with ``api-version``, and the v1 API), then a 404
    for anything else under an endpoint prefix."""
    out: list[BaseRoute] = []
    for prefix in PREFIXES:
        base = f"{prefix}/openai"
        out += [
            Route(
                f"{base}/deployments/{{deployment}}/chat/completions",
                responses.metered(responses.chat_completions, CHAT),
                methods=["POST"],
            ),
            Route(
                f"{base}/deployments/{{deployment}}/completions",
                responses.metered(responses.completions, COMPLETIONS),
                methods=["POST"],
            ),
            Route(
                f"{base}/v1/chat/completions",
                responses.metered(responses.v1_chat_completions, CHAT, v1=True),
                methods=["POST"],
            ),
            Route(
                f"{base}/v1/completions",
                responses.metered(responses.v1_completions, COMPLETIONS, v1=True),
                methods=["POST"],
            ),
        ]
    out += [
        Route(f"{prefix}/{{rest:path}}", responses.not_found, methods=_ANY) for prefix in PREFIXES
    ]
    return out
