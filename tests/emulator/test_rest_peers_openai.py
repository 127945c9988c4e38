"""The Azure OpenAI data plane as a client written from inference.json 2024-10-21 sees it.

Sources: azure-specs/azure-openai-inference/2024-10-21/inference.json (paths under
``https://{endpoint}/openai``, security ``api-key`` header or bearer, ``apim-request-id``
header, createChatCompletion*/createCompletion*/errorResponse schemas, streaming chunks
``createChatCompletionStreamResponse``, ``chatCompletionStreamOptions.include_usage``);
Microsoft Learn "Azure OpenAI v1 API" (``{endpoint}/openai/v1/chat/completions``, deployment as
``model``, no api-version, the stock ``OpenAI(api_key=..., base_url=.../openai/v1/)`` client);
server-sent events as the ``openai`` clients parse them (``data: <json>`` events, ``[DONE]``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.emulator.test_rest_peers_common import (
    assert_valid,
    bearer,
    mint_token,
    needs_specs,
    session,
)
from tests.support.emulator import EmulatorHandle

INFERENCE = "azure-openai-inference/2024-10-21/inference.json"
SCHEMAS = "/components/schemas/"
COGNITIVE = "https://cognitiveservices.azure.com/.default"
EUS = "contoso-openai-eus"
CHAT_BODY = {
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
    "max_tokens": 40,
    "temperature": 0.2,
}

pytestmark = needs_specs


def _endpoint(handle: EmulatorHandle) -> str:
    return str(handle.account(EUS)["endpoint"]).rstrip("/")


def _key(handle: EmulatorHandle) -> str:
    with session(handle) as s:
        r = s.post(
            f"{handle.url}{handle.account(EUS)['id']}/listKeys",
            params={"api-version": "2024-10-01"},
            headers=bearer(mint_token(handle)),
            timeout=10,
        )
    return str(r.json()["key1"])


def _post(
    handle: EmulatorHandle,
    path: str,
    body: Any,
    headers: dict[str, str],
    version: str | None = "2024-10-21",
    **kwargs: Any,
) -> requests.Response:
    params = {"api-version": version} if version else {}
    with session(handle) as s:
        return s.post(
            _endpoint(handle) + path,
            params=params,
            json=body,
            headers=headers,
            timeout=10,
            **kwargs,
        )


def _sse_events(r: requests.Response) -> list[str]:
    """The ``data`` payloads of an SSE body (events end with a blank line)."""
    assert r.headers["content-type"].startswith("text/event-stream")
    text = r.content.decode()
    assert text.endswith("\n\n")
    events = []
    for block in text.split("\n\n")[:-1]:
        lines = [ln for ln in block.split("\n") if ln and not ln.startswith(":")]
        assert lines and all(ln.startswith("data: ") for ln in lines), block
        events.append("\n".join(ln[len("data: ") :] for ln in lines))
    return events


@pytest.fixture(scope="module")
def key(shared_emulator: EmulatorHandle) -> str:
    return _key(shared_emulator)


def test_our_request_bodies_follow_the_spec() -> None:
    """Guard for the tests below: the requests they send are valid per the spec."""
    assert_valid(INFERENCE, SCHEMAS + "createChatCompletionRequest", CHAT_BODY)
    assert_valid(INFERENCE, SCHEMAS + "createCompletionRequest", {"prompt": "Hi", "max_tokens": 5})
    with pytest.raises(AssertionError):
        assert_valid(INFERENCE, SCHEMAS + "createChatCompletionResponse", {"id": 1})


def test_chat_completions_response_validates(shared_emulator: EmulatorHandle, key: str) -> None:
    r = _post(
        shared_emulator,
        "/openai/deployments/gpt-4o-mini/chat/completions",
        CHAT_BODY,
        {"api-key": key},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["apim-request-id"]
    assert_valid(INFERENCE, SCHEMAS + "createChatCompletionResponse", r.json())
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["usage"]["total_tokens"] == (
        body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )


def test_completions_response_validates(shared_emulator: EmulatorHandle, key: str) -> None:
    r = _post(
        shared_emulator,
        "/openai/deployments/gpt-35-instruct/completions",
        {"prompt": "Hi", "max_tokens": 5},
        {"api-key": key},
    )
    assert r.status_code == 200, r.text
    assert_valid(INFERENCE, SCHEMAS + "createCompletionResponse", r.json())
    assert r.json()["object"] == "text_completion"


def test_api_key_and_entra_bearer_both_work(shared_emulator: EmulatorHandle, key: str) -> None:
    path = "/openai/deployments/gpt-4o-mini/chat/completions"
    by_key = _post(shared_emulator, path, CHAT_BODY, {"api-key": key})
    by_token = _post(
        shared_emulator, path, CHAT_BODY, bearer(mint_token(shared_emulator, COGNITIVE))
    )
    assert by_key.status_code == by_token.status_code == 200
    wrong_audience = _post(shared_emulator, path, CHAT_BODY, bearer(mint_token(shared_emulator)))
    assert wrong_audience.status_code == 401
    assert wrong_audience.json()["statusCode"] == 401  # the gateway's token answer: no "error"
    wrong_key = _post(shared_emulator, path, CHAT_BODY, {"api-key": "0" * 32})
    assert wrong_key.status_code == 401
    assert wrong_key.json()["error"]["code"] == "401"
    assert_valid(INFERENCE, SCHEMAS + "errorResponse", wrong_key.json())


def test_v1_chat_completions_with_model(shared_emulator: EmulatorHandle, key: str) -> None:
    body = {**CHAT_BODY, "model": "gpt-4o-mini"}
    by_key = _post(shared_emulator, "/openai/v1/chat/completions", body, {"api-key": key}, None)
    assert by_key.status_code == 200, by_key.text
    assert_valid(INFERENCE, SCHEMAS + "createChatCompletionResponse", by_key.json())
    by_token = _post(
        shared_emulator,
        "/openai/v1/chat/completions",
        body,
        bearer(mint_token(shared_emulator, COGNITIVE)),
        None,
    )
    assert by_token.status_code == 200, by_token.text
    unknown = _post(
        shared_emulator,
        "/openai/v1/chat/completions",
        {**CHAT_BODY, "model": "no-such-deployment"},
        {"api-key": key},
        None,
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "DeploymentNotFound"


def test_v1_accepts_the_key_as_the_stock_openai_client_sends_it(
    shared_emulator: EmulatorHandle, key: str
) -> None:
    """Microsoft Learn's v1 sample is ``OpenAI(api_key=AZURE_OPENAI_API_KEY,
    base_url="https://<resource>.openai.azure.com/openai/v1/")``; that client sends
    ``Authorization: Bearer <key>`` and no ``api-key`` header."""
    r = _post(
        shared_emulator,
        "/openai/v1/chat/completions",
        {**CHAT_BODY, "model": "gpt-4o-mini"},
        bearer(key),
        None,
    )
    assert r.status_code == 200, r.text


def test_streaming_is_server_sent_events(shared_emulator: EmulatorHandle, key: str) -> None:
    path = "/openai/deployments/gpt-4o-mini/chat/completions"
    whole = _post(shared_emulator, path, CHAT_BODY, {"api-key": key}).json()
    r = _post(shared_emulator, path, {**CHAT_BODY, "stream": True}, {"api-key": key})
    assert r.status_code == 200
    events = _sse_events(r)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    # Real Azure opens with a chunk that has "choices": [] and only prompt_filter_results (and
    # "object": "", outside the spec's enum); a usage chunk also has no choices. A client must
    # skip those, so this test accepts them without requiring them.
    content = [c for c in chunks if c["choices"]]
    assert content
    for chunk in content:
        assert_valid(INFERENCE, SCHEMAS + "createChatCompletionStreamResponse", chunk)
    assert len({c["id"] for c in content}) == 1
    text = "".join(ch["delta"].get("content") or "" for c in content for ch in c["choices"])
    assert text == whole["choices"][0]["message"]["content"]
    finals = [ch["finish_reason"] for c in content for ch in c["choices"] if ch["finish_reason"]]
    assert finals == ["stop"]


def test_stream_include_usage_adds_a_usage_chunk(shared_emulator: EmulatorHandle, key: str) -> None:
    """``chatCompletionStreamOptions.include_usage``: "an additional chunk will be streamed
    before the ``data: [DONE]`` message. The ``usage`` field on this chunk shows the token usage
    statistics for the entire request, and the ``choices`` field will always be an empty array.
    All other chunks will also include a ``usage`` field, but with a null value." (The
    ``openai`` clients send it for ``stream_options={"include_usage": True}``.)"""
    r = _post(
        shared_emulator,
        "/openai/deployments/gpt-4o-mini/chat/completions",
        {**CHAT_BODY, "stream": True, "stream_options": {"include_usage": True}},
        {"api-key": key},
    )
    chunks = [json.loads(e) for e in _sse_events(r)[:-1]]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] > 0
    assert all("usage" in c and c["usage"] is None for c in chunks[:-1])


def test_error_envelopes(shared_emulator: EmulatorHandle, key: str) -> None:
    headers = {"api-key": key}
    missing = _post(
        shared_emulator, "/openai/deployments/no-such/chat/completions", CHAT_BODY, headers
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "DeploymentNotFound"
    assert_valid(INFERENCE, SCHEMAS + "errorResponse", missing.json())
    no_version = _post(
        shared_emulator,
        "/openai/deployments/gpt-4o-mini/chat/completions",
        CHAT_BODY,
        headers,
        None,
    )
    assert no_version.status_code == 404
    assert no_version.json() == {"error": {"code": "404", "message": "Resource not found"}}
    for bad in ({}, {"messages": "not a list"}):
        r = _post(shared_emulator, "/openai/deployments/gpt-4o-mini/chat/completions", bad, headers)
        assert r.status_code == 400
        # OpenAI-style validation errors carry "code": null, which errorBase (a string) does
        # not allow; the openai clients read null as absent, so compare that way.
        assert_valid(INFERENCE, SCHEMAS + "errorResponse", r.json(), nulls_as_absent=True)
        assert r.json()["error"]["message"]
    with session(shared_emulator) as s:
        not_json = s.post(
            _endpoint(shared_emulator) + "/openai/deployments/gpt-4o-mini/chat/completions",
            params={"api-version": "2024-10-21"},
            data=b"{not json",
            headers={**headers, "Content-Type": "application/json"},
            timeout=10,
        )
    assert not_json.status_code == 400
    assert_valid(INFERENCE, SCHEMAS + "errorResponse", not_json.json(), nulls_as_absent=True)
    assert "apim-request-id" in not_json.headers
