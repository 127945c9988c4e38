"""The official ``openai`` package against the emulated Azure OpenAI data plane.

Clients are built as Microsoft Learn shows them: ``AzureOpenAI(azure_endpoint=..., api_key=...,
api_version=...)``, ``AzureOpenAI(azure_ad_token_provider=get_bearer_token_provider(...))`` and,
for the v1 API, the stock ``OpenAI(base_url=<endpoint>openai/v1/, api_key=...)``. TLS: the
package's HTTP client (``httpx`` or, in openai 3.x, the ``httpx2`` fork) reads ``SSL_CERT_FILE``
only for its own default client, so each test hands it ``DefaultHttpxClient`` (the package's
defaults) verifying with an SSL context built from the emulator's CA bundle.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from azure.identity import get_bearer_token_provider

from tests.emulator.openai_support import EUS, endpoint, key
from tests.support.emulator import EmulatorHandle

API_VERSION = "2024-10-21"
CHAT = "gpt-4o-mini"
INSTRUCT = "gpt-35-instruct"
CHAT_OPERATION = "ChatCompletions_Create"
MESSAGES: list[Any] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "How do I care for a parrot?"},
]


@pytest.fixture
def http_client(shared_emulator: EmulatorHandle) -> Iterator[openai.DefaultHttpxClient]:
    """The package's default HTTP client, trusting the emulator's CA."""
    ctx = ssl.create_default_context(cafile=shared_emulator.ca_bundle)
    with openai.DefaultHttpxClient(verify=ctx) as client:
        yield client


def _azure(
    handle: EmulatorHandle, http_client: openai.DefaultHttpxClient, **auth: Any
) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        azure_endpoint=endpoint(handle, EUS),
        api_version=API_VERSION,
        http_client=http_client,
        max_retries=0,
        **auth,
    )


def test_chat_with_an_api_key(
    shared_emulator: EmulatorHandle, http_client: openai.DefaultHttpxClient
) -> None:
    client = _azure(shared_emulator, http_client, api_key=key(shared_emulator, EUS))
    answer = client.chat.completions.create(model=CHAT, messages=MESSAGES, max_tokens=40)
    assert answer.object == "chat.completion"
    assert answer.model == "gpt-4o-mini"
    assert answer.choices[0].message.role == "assistant"
    assert "parrot" in (answer.choices[0].message.content or "")
    assert answer.usage is not None
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens


def test_completions_with_an_api_key(
    shared_emulator: EmulatorHandle, http_client: openai.DefaultHttpxClient
) -> None:
    client = _azure(shared_emulator, http_client, api_key=key(shared_emulator, EUS))
    answer = client.completions.create(model=INSTRUCT, prompt="Once upon a time", max_tokens=5)
    assert answer.object == "text_completion"
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage is not None and answer.usage.completion_tokens == 5


def test_chat_with_an_entra_token_provider(
    shared_emulator: EmulatorHandle, http_client: openai.DefaultHttpxClient
) -> None:
    provider = get_bearer_token_provider(
        shared_emulator.credential(), "https://cognitiveservices.azure.com/.default"
    )
    client = _azure(shared_emulator, http_client, azure_ad_token_provider=provider)
    seq = shared_emulator.last_seq
    answer = client.chat.completions.create(model=CHAT, messages=MESSAGES)
    assert answer.choices[0].finish_reason == "stop"
    calls = [e for e in shared_emulator.log_since(seq) if e["operation"] == CHAT_OPERATION]
    assert [c["principal"] for c in calls] == [
        shared_emulator.principal("keyops-rotator")["object_id"]
    ]


def test_v1_api_with_the_stock_client(
    shared_emulator: EmulatorHandle, http_client: openai.DefaultHttpxClient
) -> None:
    """Microsoft Learn's v1 sample: the key goes out as ``Authorization: Bearer <key>``."""
    client = openai.OpenAI(
        base_url=endpoint(shared_emulator, EUS) + "openai/v1/",
        api_key=key(shared_emulator, EUS),
        http_client=http_client,
        max_retries=0,
    )
    answer = client.chat.completions.create(model=CHAT, messages=MESSAGES)
    assert answer.choices[0].message.content
    text = client.completions.create(model=INSTRUCT, prompt="Hello", max_tokens=3)
    assert text.choices[0].text
    with pytest.raises(openai.AuthenticationError):
        client.with_options(api_key="0" * 32).chat.completions.create(model=CHAT, messages=MESSAGES)


def test_streaming_with_include_usage(
    shared_emulator: EmulatorHandle, http_client: openai.DefaultHttpxClient
) -> None:
    client = _azure(shared_emulator, http_client, api_key=key(shared_emulator, EUS))
    whole = client.chat.completions.create(model=CHAT, messages=MESSAGES)
    stream = client.chat.completions.create(
        model=CHAT, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    # Azure's opening chunk: no choices, only the prompt's content-filter results.
    preamble = chunks[0]
    assert preamble.choices == [] and preamble.id == ""
    assert (preamble.model_extra or {})["prompt_filter_results"][0]["prompt_index"] == 0
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and whole.usage is not None
    assert chunks[-1].usage.total_tokens == whole.usage.total_tokens
    assert all(c.usage is None for c in chunks[:-1])


def test_errors_map_to_the_package_exceptions(
    shared_emulator: EmulatorHandle, http_client: openai.DefaultHttpxClient
) -> None:
    bad_key = _azure(shared_emulator, http_client, api_key="0" * 32)
    with pytest.raises(openai.AuthenticationError) as denied:
        bad_key.chat.completions.create(model=CHAT, messages=MESSAGES)
    assert denied.value.status_code == 401
    client = _azure(shared_emulator, http_client, api_key=key(shared_emulator, EUS))
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="no-such-deployment", messages=MESSAGES)
    assert missing.value.code == "DeploymentNotFound"


def test_throttling_is_a_rate_limit_error(emulator: EmulatorHandle) -> None:
    emulator.admin("POST", "throttle", {"surface": "openai", "rate": 0.01, "burst": 1})
    ctx = ssl.create_default_context(cafile=emulator.ca_bundle)
    with openai.DefaultHttpxClient(verify=ctx) as http_client:
        client = _azure(emulator, http_client, api_key=key(emulator, EUS))
        client.chat.completions.create(model=CHAT, messages=MESSAGES)
        with pytest.raises(openai.RateLimitError) as throttled:
            client.chat.completions.create(model=CHAT, messages=MESSAGES)
    assert throttled.value.response.headers["retry-after-ms"]
    assert throttled.value.code == "429"
