"""Azure OpenAI data plane: routes, api-versions, deployments, answers, throttling, the v1 API."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from keyops.emulator.services.openai.models import API_VERSIONS, PRE_CHAT_API_VERSIONS
from tests.emulator.openai_support import (
    EUS,
    call,
    chat,
    endpoint,
    key,
)
from tests.support.emulator import EmulatorHandle

RESOURCE_NOT_FOUND = {"error": {"code": "404", "message": "Resource not found"}}
OPERATION_DOCS = "https://go.microsoft.com/fwlink/?linkid=2197993"


def _completions(
    handle: EmulatorHandle, deployment: str = "gpt-35-instruct", **kwargs: Any
) -> requests.Response:
    kwargs.setdefault("body", {"prompt": ["tell me a joke about mango"]})
    kwargs.setdefault("api_key", key(handle, EUS))
    return call(
        handle, endpoint(handle, EUS), f"openai/deployments/{deployment}/completions", **kwargs
    )


def test_chat_answer_shape_and_headers(shared_emulator: EmulatorHandle) -> None:
    r = chat(shared_emulator, EUS, api_key=key(shared_emulator, EUS))
    assert r.status_code == 200
    body = r.json()
    assert body["id"].startswith("chatcmpl-") and len(body["id"]) == 38
    assert body["object"] == "chat.completion" and body["model"] == "gpt-4o-mini"
    assert abs(body["created"] - shared_emulator.server.emulator.clock.now()) < 5
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["message"]["role"] == "assistant"
    assert "parrot" in choice["message"]["content"]
    usage = body["usage"]
    assert usage["prompt_tokens"] == 32  # 10 + 11 content tokens, 3 per message, 3 priming
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert body["prompt_filter_results"][0]["prompt_index"] == 0
    assert body["system_fingerprint"].startswith("fp_")
    # two ids: API Management's and the service's own
    assert r.headers["apim-request-id"] != r.headers["x-request-id"]
    assert r.headers["x-ms-region"] == "East US"  # the account's region, by display name
    assert r.headers["x-ms-client-request-id"] == "Not-Set"
    assert int(r.headers["x-ratelimit-remaining-requests"]) < 50 * 6
    assert int(r.headers["x-ratelimit-remaining-tokens"]) < 50 * 1000


def test_answers_are_deterministic(shared_emulator: EmulatorHandle) -> None:
    a, b = (chat(shared_emulator, EUS, api_key=key(shared_emulator, EUS)).json() for _ in range(2))
    assert a["choices"] == b["choices"] and a["usage"] == b["usage"]
    assert a["id"] != b["id"]


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_cuts_the_answer(shared_emulator: EmulatorHandle, field: str) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], field: 1}
    r = chat(shared_emulator, EUS, api_key=key(shared_emulator, EUS), body=body)
    answer = r.json()
    assert answer["usage"]["completion_tokens"] == 1
    assert answer["choices"][0]["finish_reason"] == "length"
    assert answer["choices"][0]["message"]["content"] == "This"


def test_n_choices_multiply_completion_tokens(shared_emulator: EmulatorHandle) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "n": 3, "max_tokens": 4}
    answer = chat(shared_emulator, EUS, api_key=key(shared_emulator, EUS), body=body).json()
    assert [c["index"] for c in answer["choices"]] == [0, 1, 2]
    assert answer["usage"]["completion_tokens"] == 12


@pytest.mark.parametrize("body", [{}, {"messages": []}, {"messages": "hi"}])
def test_malformed_chat_body_answers_400(shared_emulator: EmulatorHandle, body: object) -> None:
    r = chat(shared_emulator, EUS, api_key=key(shared_emulator, EUS), body=body)
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_completions_answer(shared_emulator: EmulatorHandle) -> None:
    answer = _completions(shared_emulator, body={"prompt": ["a", "b c"], "n": 2}).json()
    assert answer["object"] == "text_completion" and answer["id"].startswith("cmpl-")
    assert answer["model"] == "gpt-35-turbo-instruct"
    assert len(answer["choices"]) == 4 and len(answer["prompt_filter_results"]) == 2
    assert answer["usage"]["prompt_tokens"] == 3
    assert all(c["finish_reason"] == "length" for c in answer["choices"])  # default max 16
    assert answer["usage"]["completion_tokens"] == 4 * 16


def test_unknown_deployment_answers_404(shared_emulator: EmulatorHandle) -> None:
    r = chat(shared_emulator, EUS, "gpt-5", api_key=key(shared_emulator, EUS))
    assert r.status_code == 404
    assert r.json() == {
        "error": {
            "code": "DeploymentNotFound",
            "message": (
                "The API deployment for this resource does not exist. If you created the "
                "deployment within the last 5 minutes, please wait a moment and try again."
            ),
        }
    }


def test_deployment_names_ignore_case(shared_emulator: EmulatorHandle) -> None:
    assert (
        chat(shared_emulator, EUS, "GPT-4o-Mini", api_key=key(shared_emulator, EUS)).status_code
        == 200
    )


def test_operation_must_match_the_deployment(shared_emulator: EmulatorHandle) -> None:
    r = chat(shared_emulator, EUS, "gpt-35-instruct", api_key=key(shared_emulator, EUS))
    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "code": "OperationNotSupported",
            "message": (
                "The chatCompletion operation does not work with the specified model, "
                "gpt-35-turbo-instruct. Please choose different model and try again. You can learn "
                f"more about which models can be used with each operation here: {OPERATION_DOCS}."
            ),
        }
    }
    r = _completions(shared_emulator, "gpt-4o-mini")
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith(
        "The completion operation does not work with the specified model, gpt-4o-mini."
    )


def test_every_published_api_version_is_accepted(shared_emulator: EmulatorHandle) -> None:
    api_key = key(shared_emulator, EUS)
    with requests.Session() as session:
        for version in sorted(API_VERSIONS):
            expected = 404 if version in PRE_CHAT_API_VERSIONS else 200
            r = chat(shared_emulator, EUS, api_key=api_key, api_version=version, session=session)
            assert (r.status_code, version) == (expected, version)
        for version in [*sorted(PRE_CHAT_API_VERSIONS), "2024-10-21"]:
            r = _completions(shared_emulator, api_version=version, session=session)
            assert (r.status_code, version) == (200, version)


def test_missing_or_unknown_api_version(shared_emulator: EmulatorHandle) -> None:
    api_key = key(shared_emulator, EUS)
    missing = chat(shared_emulator, EUS, api_key=api_key, api_version=None)
    assert (missing.status_code, missing.json()) == (404, RESOURCE_NOT_FOUND)
    for version in ("2024-11-21", "latest", "2024-10-21-preview"):
        r = chat(shared_emulator, EUS, api_key=api_key, api_version=version)
        assert r.status_code == 400
        assert r.json() == {"error": {"code": "BadRequest", "message": "API version not supported"}}


def test_unknown_paths_answer_404(shared_emulator: EmulatorHandle) -> None:
    api_key = key(shared_emulator, EUS)
    base = endpoint(shared_emulator, EUS)
    for path, method in (
        ("openai/deployments/gpt-4o-mini/embeddingz", "POST"),
        ("openai/deployments/gpt-4o-mini/chat/completions", "GET"),
    ):
        r = call(shared_emulator, base, path, api_key=api_key, method=method)
        assert (r.status_code, r.json()) == (404, RESOURCE_NOT_FOUND)
    nobody = call(
        shared_emulator,
        shared_emulator.url + "/aoai/no-such-account/",
        "openai/deployments/d/chat/completions",
        api_key=api_key,
    )
    assert nobody.status_code == 404


def test_v1_api_takes_the_deployment_as_model(shared_emulator: EmulatorHandle) -> None:
    api_key = key(shared_emulator, EUS)
    base = endpoint(shared_emulator, EUS)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
    r = call(
        shared_emulator,
        base,
        "openai/v1/chat/completions",
        api_key=api_key,
        body=body,
        api_version=None,
    )
    assert r.status_code == 200 and r.json()["model"] == "gpt-4o-mini"
    text = call(
        shared_emulator,
        base,
        "openai/v1/completions",
        api_key=api_key,
        body={"model": "gpt-35-instruct", "prompt": "x"},
        api_version=None,
    )
    assert text.status_code == 200 and text.json()["object"] == "text_completion"
    no_model = call(
        shared_emulator,
        base,
        "openai/v1/chat/completions",
        api_key=api_key,
        body={"messages": body["messages"]},
        api_version=None,
    )
    assert no_model.status_code == 400
    unknown = call(
        shared_emulator,
        base,
        "openai/v1/chat/completions",
        api_key=api_key,
        body={**body, "model": "nope"},
        api_version=None,
    )
    assert unknown.json()["error"]["code"] == "DeploymentNotFound"


def test_streamed_chat_is_server_sent_events(shared_emulator: EmulatorHandle) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
    r = chat(shared_emulator, EUS, api_key=key(shared_emulator, EUS), body=body)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [line[len("data: ") :] for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    preamble, *chunks = [json.loads(e) for e in events[:-1]]
    # Azure opens with a chunk without choices that carries the prompt's filter results only.
    assert preamble["choices"] == [] and preamble["object"] == preamble["id"] == ""
    assert preamble["prompt_filter_results"][0]["prompt_index"] == 0
    assert all(c["object"] == "chat.completion.chunk" and c["choices"] for c in chunks)
    assert all("usage" not in c for c in chunks)  # only with stream_options.include_usage
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text.startswith("This is an emulated reply")
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_streamed_usage_chunk(shared_emulator: EmulatorHandle) -> None:
    body = {
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    r = chat(shared_emulator, EUS, api_key=key(shared_emulator, EUS), body=body)
    events = [line[len("data: ") :] for line in r.text.splitlines() if line.startswith("data: ")]
    chunks = [json.loads(e) for e in events[:-1]]
    whole = chat(
        shared_emulator,
        EUS,
        api_key=key(shared_emulator, EUS),
        body=body | {"stream": False, "stream_options": None},
    ).json()
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == whole["usage"]
    assert chunks[-1]["id"] == chunks[1]["id"] != ""
    assert all(c["usage"] is None for c in chunks[:-1])
    bad = chat(
        shared_emulator,
        EUS,
        api_key=key(shared_emulator, EUS),
        body=body | {"stream_options": {"include_usage": "yes"}},
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "stream_options"


def test_throttle_answers_429_with_retry_headers(emulator: EmulatorHandle) -> None:
    emulator.admin("POST", "throttle", {"surface": "openai", "rate": 0.01, "burst": 1})
    api_key = key(emulator, EUS)
    assert chat(emulator, EUS, api_key=api_key).status_code == 200
    r = chat(emulator, EUS, api_key=api_key)
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "429"
    assert int(r.headers["Retry-After"]) >= 1
    assert int(r.headers["retry-after-ms"]) > 1000
    emulator.admin("POST", "throttle", {"surface": "openai", "rate": 0})
    assert chat(emulator, EUS, api_key=api_key).status_code == 200


def test_calls_are_logged_without_secrets(emulator: EmulatorHandle) -> None:
    seq = emulator.last_seq
    api_key = key(emulator, EUS)
    chat(emulator, EUS, api_key=api_key)
    entries = [e for e in emulator.log_since(seq) if e["surface"] == "openai"]
    assert [e["operation"] for e in entries] == ["ChatCompletions_Create"]
    assert entries[0]["principal"] == "api-key" and entries[0]["status"] == 200
    assert entries[0]["changed"] is False  # counting metrics is not a change of the account
    assert api_key not in json.dumps(entries)
