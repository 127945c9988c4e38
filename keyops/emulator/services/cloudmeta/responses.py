"""``GET /metadata/endpoints``: the emulator as a cloud, in the shapes ARM answers with.

``api-version=2015-01-01`` (older CLIs) gets the original document (``galleryEndpoint``,
``graphEndpoint``, ``portalEndpoint``, ``authentication``); ``2019-05-01`` the list of clouds
(here one); later versions (the Azure CLI sends ``2022-09-01``) the one cloud's document, which
the CLI maps field by field. Login and resource manager point at the emulator; audiences and
other services keep Azure's public values, as the emulator validates tokens for them.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from keyops.emulator.core.operation import json_response, operation
from keyops.emulator.proxy import VAULT_DNS_SUFFIX

#: The cloud name the document gives (``az cloud register --name`` picks the local name).
CLOUD_NAME = "KeyopsEmulator"
_AUDIENCES = ["https://management.core.windows.net/", "https://management.azure.com/"]


def cloud_document(base: str) -> dict[str, Any]:
    """The one cloud's document for an emulator at ``base`` (no trailing slash)."""
    return {
        "portal": base,
        "authentication": {
            "loginEndpoint": base,
            "audiences": _AUDIENCES,
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": "https://rest.media.azure.net",
        "graphAudience": "https://graph.windows.net/",
        "graph": "https://graph.windows.net/",
        "name": CLOUD_NAME,
        "suffixes": {
            "keyVaultDns": VAULT_DNS_SUFFIX,
            "storage": "core.windows.net",
            "sqlServerHostname": "database.windows.net",
            "acrLoginServer": "azurecr.io",
            "mhsmDns": "managedhsm.azure.net",
        },
        "batch": "https://batch.core.windows.net/",
        "resourceManager": base + "/",
        "vmImageAliasDoc": (
            "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/main/"
            "arm-compute/quickstart-templates/aliases.json"
        ),
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "sqlManagement": "https://management.core.windows.net:8443/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "appInsightsResourceId": "https://api.applicationinsights.io",
        "logAnalyticsResourceId": "https://api.loganalytics.io",
    }


def legacy_document(base: str) -> dict[str, Any]:
    """The ``2015-01-01`` document."""
    return {
        "galleryEndpoint": "https://gallery.azure.com/",
        "graphEndpoint": "https://graph.windows.net/",
        "portalEndpoint": base + "/",
        "authentication": {"loginEndpoint": base + "/", "audiences": _AUDIENCES},
    }


@operation("Metadata_Endpoints", "arm")
async def endpoints(request: Request) -> Response:
    """The document for the api-version asked (the newest shape when none is given)."""
    base = f"{request.url.scheme}://{request.url.netloc}"
    version = request.query_params.get("api-version") or "2022-09-01"
    if version < "2019-05-01":
        return json_response(legacy_document(base))
    if version == "2019-05-01":
        return json_response([cloud_document(base)])
    return json_response(cloud_document(base))
