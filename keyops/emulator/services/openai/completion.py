"""Deterministic completions: token counts, answer text and response bodies shaped as the spec.

Tokens are counted with a word/punctuation split (a stand-in for BPE: close for English, exact
enough for quotas and metrics, and the same for the same request every time). Chat prompts add
OpenAI's per-message overhead (3 tokens a message, 3 to prime the reply). Response bodies carry
exactly the fields of ``createChatCompletionResponse`` / ``createCompletionResponse`` in the
2024-10-21 inference spec, including the content-filter results Azure adds.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from keyops.emulator.services.openai import exceptions as exc
from keyops.emulator.world import Deployment

_TOKEN = re.compile(r"\w+|[^\w\s]")
#: Tokens OpenAI's chat format adds per message and to prime the assistant's reply.
PER_MESSAGE = 3
REPLY_PRIMING = 3
#: The completions API's default ``max_tokens`` (OpenAI's documented default).
COMPLETIONS_DEFAULT_MAX = 16
MAX_CHOICES = 128


def count_tokens(text: str) -> int:
    """Tokens in ``text`` (words and punctuation marks)."""
    return len(_TOKEN.findall(text))


def truncate(text: str, max_tokens: int | None) -> tuple[str, int, bool]:
    """``text`` cut after ``max_tokens`` tokens: (text, tokens kept, whether it was cut)."""
    spans = [m.end() for m in _TOKEN.finditer(text)]
    if max_tokens is None or len(spans) <= max_tokens:
        return text, len(spans), False
    return text[: spans[max_tokens - 1]] if max_tokens else "", max_tokens, True


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: count the text ones
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def chat_prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """Prompt tokens of a chat request."""
    total = REPLY_PRIMING
    for m in messages:
        total += PER_MESSAGE + count_tokens(str(m.get("role", "")))
        total += count_tokens(_content_text(m.get("content")))
        if isinstance(m.get("name"), str):
            total += count_tokens(m["name"])
    return total


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            return _content_text(m.get("content")).strip()
    return ""


def chat_reply(deployment: Deployment, messages: list[dict[str, Any]]) -> str:
    """The assistant's (deterministic) answer."""
    said = " ".join(_last_user_text(messages).split()[:24])
    return f"This is an emulated reply from {deployment.model}. You said: {said}"


def completion_text(deployment: Deployment, prompt: str) -> str:
    """The (deterministic) continuation of a prompt."""
    words = " ".join(prompt.split()[:8])
    return f" and so the emulated {deployment.model} model continues the text: {words}."


@dataclass(frozen=True)
class Limits:
    """The request's generation limits."""

    max_tokens: int | None
    n: int
    stream: bool


def _positive_int(body: dict[str, Any], name: str, default: int | None) -> int | None:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise exc.invalid_request(f"{value!r} is less than the minimum of 1 - '{name}'", name)
    return value


def limits(body: dict[str, Any], default_max: int | None) -> Limits:
    """``max_tokens`` (or ``max_completion_tokens``), ``n`` and ``stream`` of a request."""
    max_tokens = _positive_int(body, "max_completion_tokens", None)
    if max_tokens is None:
        max_tokens = _positive_int(body, "max_tokens", default_max)
    n = _positive_int(body, "n", 1) or 1
    if n > MAX_CHOICES:
        raise exc.invalid_request(f"{n} is greater than the maximum of {MAX_CHOICES} - 'n'", "n")
    return Limits(max_tokens=max_tokens, n=n, stream=body.get("stream") is True)


def fingerprint(deployment: Deployment) -> str:
    """``system_fingerprint``: stable for a model version, as Azure's backend configuration."""
    digest = hashlib.sha256(f"{deployment.model}:{deployment.version}".encode()).hexdigest()
    return "fp_" + digest[:10]


def response_id(prefix: str, *parts: object) -> str:
    """An id like Azure's (``chatcmpl-`` + 29 base62 characters), derived from ``parts``."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    number = int.from_bytes(hashlib.sha256(repr(parts).encode()).digest(), "big")
    chars = []
    for _ in range(29):
        number, rem = divmod(number, 62)
        chars.append(alphabet[rem])
    return prefix + "".join(chars)


def _safe_filters(*, prompt: bool) -> dict[str, Any]:
    results: dict[str, Any] = {
        k: {"filtered": False, "severity": "safe"}
        for k in ("hate", "self_harm", "sexual", "violence")
    }
    if prompt:
        results["jailbreak"] = {"filtered": False, "detected": False}
    else:
        results["protected_material_text"] = {"filtered": False, "detected": False}
    return results


def prompt_filter_results(count: int) -> list[dict[str, Any]]:
    """The ``prompt_filter_results`` Azure adds (one per prompt)."""
    return [
        {"prompt_index": i, "content_filter_results": _safe_filters(prompt=True)}
        for i in range(count)
    ]


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """The ``usage`` object."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


@dataclass(frozen=True)
class Generated:
    """A response body and the token counts metrics need."""

    body: dict[str, Any]
    prompt_tokens: int
    completion_tokens: int
    stream: bool


def chat_completion(
    deployment: Deployment, body: dict[str, Any], created: int, rid: str
) -> Generated:
    """The chat completion for a validated request body."""
    messages = body["messages"]
    lim = limits(body, None)
    text, kept, cut = truncate(chat_reply(deployment, messages), lim.max_tokens)
    choices = [
        {
            "index": i,
            "finish_reason": "length" if cut else "stop",
            "logprobs": None,
            "message": {"role": "assistant", "content": text, "refusal": None},
            "content_filter_results": _safe_filters(prompt=False),
        }
        for i in range(lim.n)
    ]
    prompt_tokens = chat_prompt_tokens(messages)
    out = {
        "id": rid,
        "object": "chat.completion",
        "created": created,
        "model": deployment.model,
        "prompt_filter_results": prompt_filter_results(1),
        "choices": choices,
        "system_fingerprint": fingerprint(deployment),
        "usage": usage(prompt_tokens, kept * lim.n),
    }
    return Generated(out, prompt_tokens, kept * lim.n, lim.stream)


def prompts_of(body: dict[str, Any]) -> list[str]:
    """The prompts of a completions request (a string, a list of strings, or token arrays)."""
    prompt = body.get("prompt", "<|endoftext|>")
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt and all(isinstance(p, int) for p in prompt):
        return [" ".join("t" for _ in prompt)]  # one prompt given as token ids
    if isinstance(prompt, list) and all(isinstance(p, (str, list)) for p in prompt):
        return [p if isinstance(p, str) else " ".join("t" for _ in p) for p in prompt] or [""]
    raise exc.invalid_request(
        f"{prompt!r} is not valid under any of the given schemas - 'prompt'", "prompt"
    )


def text_completion(
    deployment: Deployment, body: dict[str, Any], created: int, rid: str
) -> Generated:
    """The completion for a validated completions request body."""
    prompts = prompts_of(body)
    lim = limits(body, COMPLETIONS_DEFAULT_MAX)
    choices, generated = [], 0
    for p_index, prompt in enumerate(prompts):
        text, kept, cut = truncate(completion_text(deployment, prompt), lim.max_tokens)
        for j in range(lim.n):
            choices.append(
                {
                    "text": text,
                    "index": p_index * lim.n + j,
                    "logprobs": None,
                    "finish_reason": "length" if cut else "stop",
                    "content_filter_results": _safe_filters(prompt=False),
                }
            )
            generated += kept
    prompt_tokens = sum(max(1, count_tokens(p)) for p in prompts)
    out = {
        "id": rid,
        "object": "text_completion",
        "created": created,
        "model": deployment.model,
        "prompt_filter_results": prompt_filter_results(len(prompts)),
        "choices": choices,
        "system_fingerprint": fingerprint(deployment),
        "usage": usage(prompt_tokens, generated),
    }
    return Generated(out, prompt_tokens, generated, lim.stream)


def include_usage(body: dict[str, Any]) -> bool:
    """``stream_options.include_usage`` of a request (``chatCompletionStreamOptions``)."""
    options = body.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict) or not isinstance(options.get("include_usage", False), bool):
        raise exc.invalid_request(
            f"{options!r} is not valid under any of the given schemas - 'stream_options'",
            "stream_options",
        )
    return bool(options.get("include_usage", False))


def stream_preamble(body: dict[str, Any], with_usage: bool) -> dict[str, Any]:
    """The chunk Azure opens every stream with: no choices, blank ids, only the prompt's
    content-filter results (captured in e.g. AbanteAI/archive-old-cli-mentat#429 and
    InternLM/MindSearch#310). The 2024-10-21 stream schema has no room for it (``object`` is
    an enum there), but clients meet it on Azure, so they meet it here too."""
    chunk: dict[str, Any] = {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": body["prompt_filter_results"],
    }
    if with_usage:
        chunk["usage"] = None
    return chunk


def stream_events(gen: Generated, *, with_usage: bool = False) -> list[dict[str, Any]]:
    """The chunks of a streamed chat answer (``createChatCompletionStreamResponse``).

    ``with_usage`` (``stream_options.include_usage``): every chunk carries ``"usage": null``,
    and a last chunk with no choices carries the usage of the whole request.
    """
    body = gen.body
    head: dict[str, Any] = {
        "id": body["id"],
        "object": "chat.completion.chunk",
        "created": body["created"],
        "model": body["model"],
        "system_fingerprint": body["system_fingerprint"],
    }
    if with_usage:
        head["usage"] = None
    chunks: list[dict[str, Any]] = [stream_preamble(body, with_usage)]
    for choice in body["choices"]:
        delta = {"role": "assistant", "content": choice["message"]["content"]}
        for finish, part in ((None, delta), (choice["finish_reason"], {})):
            chunks.append(
                {
                    **head,
                    "choices": [{"index": choice["index"], "finish_reason": finish, "delta": part}],
                }
            )
    if with_usage:
        chunks.append({**head, "choices": [], "usage": body["usage"]})
    return chunks
