"""Azure OpenAI data plane: every auth outcome, produced by the real situation, over HTTPS."""

from __future__ import annotations

from typing import Any

import pytest

from keyops.emulator.services.arm.models import get_account
from tests.emulator.openai_support import (
    CHAT_BODY,
    ENTRA,
    EUS,
    LEGACY,
    RG,
    WEU,
    add_assignment,
    call,
    chat,
    endpoint,
    key,
    regenerate,
    token,
)
from tests.support.emulator import EmulatorHandle

INVALID_KEY = {
    "error": {
        "code": "401",
        "message": (
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
            "provide a valid key for an active subscription and use a correct regional API "
            "endpoint for your resource."
        ),
    }
}
BAD_TOKEN = {
    "statusCode": 401,
    "message": (
        "Unauthorized. Access token is missing, invalid, audience is incorrect "
        "(https://cognitiveservices.azure.com), or have expired."
    ),
}
PERMISSION_DENIED = {
    "error": {
        "code": "PermissionDenied",
        "message": "Principal does not have access to API/Operation.",
    }
}


def test_valid_key_answers_200(shared_emulator: EmulatorHandle) -> None:
    for slot in ("Key1", "Key2"):
        r = chat(shared_emulator, EUS, api_key=key(shared_emulator, EUS, slot))
        assert r.status_code == 200, r.text
        assert r.json()["object"] == "chat.completion"


def test_wrong_key_answers_401(shared_emulator: EmulatorHandle) -> None:
    r = chat(shared_emulator, EUS, api_key=key(shared_emulator, WEU))
    assert r.status_code == 401
    assert r.json() == INVALID_KEY
    assert r.headers["apim-request-id"]


def test_no_credentials_answer_401_missing_key(shared_emulator: EmulatorHandle) -> None:
    r = chat(shared_emulator, EUS)
    assert r.status_code == 401
    assert r.json() == {
        "statusCode": 401,
        "message": (
            "Access denied due to missing subscription key. Make sure to include subscription key "
            "when making requests to an API."
        ),
    }


def test_regenerated_key_stops_at_once_new_key_works(emulator: EmulatorHandle) -> None:
    old = key(emulator, EUS, "Key1")
    other = key(emulator, EUS, "Key2")
    keys = regenerate(emulator, EUS, "Key1")
    assert keys.key1 != old
    assert chat(emulator, EUS, api_key=old).json() == INVALID_KEY
    assert chat(emulator, EUS, api_key=keys.key1).status_code == 200
    assert chat(emulator, EUS, api_key=other).status_code == 200


def test_new_key_refused_until_propagation_delay_passes(emulator: EmulatorHandle) -> None:
    emulator.admin("POST", "settings", {"propagation_delay": 30})
    keys = regenerate(emulator, EUS, "Key2")
    refused = chat(emulator, EUS, api_key=keys.key2)
    assert refused.status_code == 401 and refused.json() == INVALID_KEY
    assert chat(emulator, EUS, api_key=keys.key1).status_code == 200  # the untouched slot
    emulator.admin("POST", "clock", {"advance": 20})
    assert chat(emulator, EUS, api_key=keys.key2).status_code == 401
    emulator.admin("POST", "clock", {"advance": 11})
    assert chat(emulator, EUS, api_key=keys.key2).status_code == 200


def test_key_on_local_auth_disabled_account_answers_403(shared_emulator: EmulatorHandle) -> None:
    for api_key in (key(shared_emulator, ENTRA), "not-a-key"):
        r = chat(shared_emulator, ENTRA, api_key=api_key)
        assert r.status_code == 403
        assert r.json() == {
            "error": {
                "code": "AuthenticationTypeDisabled",
                "message": "Key based authentication is disabled for this resource.",
            }
        }
    assert chat(shared_emulator, ENTRA, bearer=token(shared_emulator)).status_code == 200


@pytest.mark.parametrize(
    "principal", ["keyops-rotator", "app-consumer", "keyops-managed-identity", "github-actions"]
)
def test_bearer_with_inference_role_answers_200(
    shared_emulator: EmulatorHandle, principal: str
) -> None:
    # OpenAI User at subscription / account scope; Cognitive Services User at the group.
    r = chat(shared_emulator, EUS, bearer=token(shared_emulator, principal))
    assert r.status_code == 200, r.text


def test_foundry_audience_is_accepted(shared_emulator: EmulatorHandle) -> None:
    bearer = token(shared_emulator, audience="https://ai.azure.com")
    assert chat(shared_emulator, EUS, bearer=bearer).status_code == 200


def test_bearer_without_data_action_answers_permission_denied(emulator: EmulatorHandle) -> None:
    acct = get_account(emulator.server.emulator, EUS)
    assert acct is not None
    reader = chat(emulator, EUS, bearer=token(emulator, "ops-reader"))  # Reader: no dataActions
    assert (reader.status_code, reader.json()) == (401, PERMISSION_DENIED)
    add_assignment(emulator, "ops-reader", "Contributor", acct.id)
    assert chat(emulator, EUS, bearer=token(emulator, "ops-reader")).json() == PERMISSION_DENIED
    add_assignment(emulator, "ops-reader", "Cognitive Services Contributor", acct.id)
    assert chat(emulator, EUS, bearer=token(emulator, "ops-reader")).json() == PERMISSION_DENIED
    add_assignment(emulator, "ops-reader", "Cognitive Services OpenAI User", acct.id)
    assert chat(emulator, EUS, bearer=token(emulator, "ops-reader")).status_code == 200


def test_consumer_role_is_scoped_to_its_account(shared_emulator: EmulatorHandle) -> None:
    r = chat(shared_emulator, ENTRA, bearer=token(shared_emulator, "app-consumer"))
    assert (r.status_code, r.json()) == (401, PERMISSION_DENIED)


@pytest.mark.parametrize("bad", ["audience", "expired", "garbage", "scheme"])
def test_rejected_token_answers_401(shared_emulator: EmulatorHandle, bad: str) -> None:
    headers = {}
    bearer: str | None = None
    if bad == "audience":
        bearer = token(shared_emulator, audience="https://management.azure.com")
    elif bad == "expired":
        bearer = token(shared_emulator, lifetime=-3600)
    elif bad == "garbage":
        bearer = "not.a.jwt"
    else:
        headers["Authorization"] = "Basic dXNlcjpwYXNz"
    r = chat(shared_emulator, EUS, bearer=bearer, headers=headers)
    assert (r.status_code, r.json()) == (401, BAD_TOKEN)


def test_api_key_wins_over_bearer(shared_emulator: EmulatorHandle) -> None:
    r = chat(shared_emulator, EUS, api_key="wrong", bearer=token(shared_emulator))
    assert r.json() == INVALID_KEY


def test_regional_endpoint_finds_the_account_by_key(shared_emulator: EmulatorHandle) -> None:
    regional = endpoint(shared_emulator, LEGACY)
    assert regional.endswith("/regional/eastus/")
    path = "openai/deployments/gpt-35-turbo/chat/completions"
    ok = call(shared_emulator, regional, path, api_key=key(shared_emulator, LEGACY))
    assert ok.status_code == 200 and ok.json()["model"] == "gpt-35-turbo"
    # An eastus account with a subdomain answers on the regional endpoint too, by its key.
    eus = call(
        shared_emulator,
        regional,
        "openai/deployments/gpt-4o-mini/chat/completions",
        api_key=key(shared_emulator, EUS),
    )
    assert eus.status_code == 200
    other_region = call(shared_emulator, regional, path, api_key=key(shared_emulator, WEU))
    assert (other_region.status_code, other_region.json()) == (401, INVALID_KEY)


def test_bearer_on_regional_endpoint_needs_a_custom_subdomain(
    shared_emulator: EmulatorHandle,
) -> None:
    r = call(
        shared_emulator,
        endpoint(shared_emulator, LEGACY),
        "openai/deployments/gpt-35-turbo/chat/completions",
        bearer=token(shared_emulator),
    )
    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "code": "BadRequest",
            "message": (
                "Please provide a custom subdomain for token authentication, otherwise API key is "
                "required."
            ),
        }
    }


def test_public_network_access_disabled_answers_403(emulator: EmulatorHandle) -> None:
    emulator.admin(
        "POST",
        "accounts",
        {
            "name": "contoso-private",
            "resource_group": RG,
            "custom_subdomain": "contoso-private",
            "public_network_access": "Disabled",
            "deployments": [{"name": "gpt-4o-mini", "model": "gpt-4o-mini", "api": "chat"}],
        },
    )
    attempts: list[dict[str, Any]] = [
        {"api_key": key(emulator, "contoso-private")},
        {"bearer": token(emulator)},
    ]
    for creds in attempts:
        r = call(
            emulator,
            endpoint(emulator, "contoso-private"),
            "openai/deployments/gpt-4o-mini/chat/completions",
            **creds,
        )
        assert r.status_code == 403
        assert r.json() == {
            "error": {
                "code": "403",
                "message": "Public access is disabled. Please configure private endpoint.",
            }
        }


def test_throttling_comes_after_authentication(emulator) -> None:  # type: ignore[no-untyped-def]
    """Azure OpenAI rate-limits callers it accepted: a wrong key is 401 even when throttled."""
    import requests

    emulator.admin("POST", "throttle", {"surface": "openai", "rate": 0.001, "burst": 1})
    account = emulator.account("contoso-openai-eus")
    url = f"{account['endpoint']}openai/deployments/gpt-4o-mini/chat/completions"
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
    keys = emulator.mgmt_client().accounts.list_keys("rg-ai-prod", "contoso-openai-eus")
    params = {"api-version": "2024-10-21"}
    ok = requests.post(
        url,
        params=params,
        json=body,
        headers={"api-key": keys.key1},
        verify=emulator.ca_bundle,
        timeout=10,
    )
    assert ok.status_code == 200
    wrong = requests.post(
        url,
        params=params,
        json=body,
        headers={"api-key": "0" * 32},
        verify=emulator.ca_bundle,
        timeout=10,
    )
    assert wrong.status_code == 401
    throttled = requests.post(
        url,
        params=params,
        json=body,
        headers={"api-key": keys.key1},
        verify=emulator.ca_bundle,
        timeout=10,
    )
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] and throttled.headers["retry-after-ms"]


def test_key_as_bearer_counts_on_the_v1_api_only(shared_emulator: EmulatorHandle) -> None:
    """The stock OpenAI client sends ``Authorization: Bearer <key>``: the v1 API takes it as
    the key (a JWT stays a token); the dated API answers it as a rejected token."""
    body = {**CHAT_BODY, "model": "gpt-35-turbo"}
    regional = endpoint(shared_emulator, LEGACY)
    v1 = "openai/v1/chat/completions"
    ok = call(
        shared_emulator,
        regional,
        v1,
        bearer=key(shared_emulator, LEGACY),
        body=body,
        api_version=None,
    )
    assert ok.status_code == 200, ok.text
    wrong = call(shared_emulator, regional, v1, bearer="0" * 32, body=body, api_version=None)
    assert (wrong.status_code, wrong.json()) == (401, INVALID_KEY)
    dated = chat(shared_emulator, EUS, bearer=key(shared_emulator, EUS))
    assert (dated.status_code, dated.json()) == (401, BAD_TOKEN)
