"""Routes of the cloud-metadata document."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from keyops.emulator.services.cloudmeta import responses


def routes() -> list[BaseRoute]:
    """``GET /metadata/endpoints?api-version=...``."""
    return [Route("/metadata/endpoints", responses.endpoints, methods=["GET"])]
