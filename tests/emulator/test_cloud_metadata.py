"""``GET /metadata/endpoints``: the emulator described as a cloud, in each shape ARM answers."""

from __future__ import annotations

import requests

from tests.emulator.openai_support import ca
from tests.support.emulator import EmulatorHandle


def _get(handle: EmulatorHandle, version: str | None) -> requests.Response:
    params = {"api-version": version} if version else None
    return requests.get(
        handle.url + "/metadata/endpoints", params=params, verify=ca(handle), timeout=10
    )


def test_the_azure_cli_document_points_at_the_emulator(shared_emulator: EmulatorHandle) -> None:
    r = _get(shared_emulator, "2022-09-01")  # what `az cloud register` sends
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    # every field the CLI's mapper reads without a fallback
    assert doc["name"] and doc["authentication"]["loginEndpoint"] == shared_emulator.url
    assert doc["resourceManager"] == shared_emulator.url + "/"
    audience = doc["authentication"]["audiences"][0]
    assert audience == "https://management.core.windows.net/"
    assert doc["suffixes"]["keyVaultDns"] and doc["graphAudience"] and doc["vmImageAliasDoc"]
    # an ARM token for the audience the CLI will use is accepted by the emulator's ARM
    with shared_emulator.credential() as cred:
        token = cred.get_token(audience + ".default").token
    subs = requests.get(
        doc["resourceManager"] + "subscriptions",
        params={"api-version": "2022-12-01"},
        headers={"Authorization": f"Bearer {token}"},
        verify=ca(shared_emulator),
        timeout=10,
    )
    assert subs.status_code == 200 and subs.json()["value"]


def test_older_shapes(shared_emulator: EmulatorHandle) -> None:
    legacy = _get(shared_emulator, "2015-01-01").json()
    assert legacy["authentication"]["loginEndpoint"] == shared_emulator.url + "/"
    assert legacy["galleryEndpoint"] and legacy["graphEndpoint"]
    [cloud] = _get(shared_emulator, "2019-05-01").json()
    assert cloud["resourceManager"] == shared_emulator.url + "/"
    assert _get(shared_emulator, None).json()["name"] == cloud["name"]
