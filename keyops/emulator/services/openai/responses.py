"""HTTP handlers of the Azure OpenAI data plane: parse, check, answer; metering of every call.

Checks run in the service's order: route and ``api-version``, network access, credentials,
deployment, the deployment's operation, then the body. Every answer (errors included) carries
``apim-request-id``, a distinct ``x-request-id``, ``x-ms-client-request-id`` and (once the
account is known) ``x-ms-region``; successes also carry the deployment's remaining
per-minute request and token quota. :func:`metered` counts each answered call into Monitor.
"""

from __future__ import annotations

import functools
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from keyops.emulator.core.context import Emulator
from keyops.emulator.core.errors import EmulatorHTTPError
from keyops.emulator.core.operation import json_response, operation, throttled
from keyops.emulator.core.regions import display_name
from keyops.emulator.core.tokens import bearer_from
from keyops.emulator.services.arm.models import AccountView
from keyops.emulator.services.monitor.models import ServedCall, minute_usage, record_call
from keyops.emulator.services.openai import completion
from keyops.emulator.services.openai import exceptions as exc
from keyops.emulator.services.openai.models import (
    CHAT,
    COMPLETIONS,
    Endpoint,
    Operation,
    authenticate,
    check_api_version,
    check_operation,
    find_deployment,
    identify_account,
)
from keyops.emulator.world import Deployment

Handler = Callable[[Request], Awaitable[Response]]
_ids = itertools.count()
#: Azure's quota: 1,000 tokens and 6 requests a minute per unit of deployment capacity.
TOKENS_PER_UNIT, REQUESTS_PER_UNIT = 1000, 6
BASE_LATENCY_MS, LATENCY_PER_TOKEN_MS = 150.0, 2.0


def endpoint_of(request: Request) -> Endpoint:
    """The custom subdomain or region a call arrived on."""
    params = request.path_params
    if "location" in params:
        return Endpoint(regional=True, name=str(params["location"]))
    return Endpoint(regional=False, name=str(params.get("subdomain", "")))


def credentials(request: Request, v1: bool) -> tuple[str | None, str | None]:
    """The call's ``api-key`` and ``Authorization`` header values.

    The v1 API also takes the key as a bearer (Microsoft Learn's v1 sample is the stock
    ``OpenAI(api_key=..., base_url=".../openai/v1/")``, which sends ``Authorization: Bearer
    <key>``): there a bearer value that is not a JWT is the key. The dated API answers such a
    bearer as a rejected token (microsoft/teams-sdk#1746), so it is left as it is.
    """
    api_key = request.headers.get("api-key")
    authorization = request.headers.get("authorization")
    if v1 and not api_key:
        token = bearer_from(authorization)
        if token is not None and token.count(".") != 2:
            return token, None
    return api_key, authorization


def _tracking_headers(request: Request) -> dict[str, str]:
    """What the data plane puts on every answer: API Management's request id and the service's
    own (two different ids), the serving region's display name once the account is known, and
    the client's ``x-ms-client-request-id`` echoed (``Not-Set`` when it sent none)."""
    headers = {
        "apim-request-id": str(uuid.uuid4()),
        "x-request-id": str(uuid.uuid4()),
        "x-ms-client-request-id": request.headers.get("x-ms-client-request-id") or "Not-Set",
    }
    account: AccountView | None = getattr(request.state, "account", None)
    if account is not None:
        headers["x-ms-region"] = display_name(account.location)
    return headers


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise exc.invalid_request("We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise exc.invalid_request("We could not parse the JSON body of your request.")
    return body


#: Model families that take ``max_completion_tokens`` and reject ``max_tokens`` (reasoning
#: models), as Azure OpenAI answers for them.
REASONING_MODELS = ("o1", "o3", "o4", "gpt-5")


def is_reasoning(model: str) -> bool:
    """Whether a model name belongs to a reasoning family (``o3-mini``, ``gpt-5``, ...)."""
    lowered = model.lower()
    return any(lowered == m or lowered.startswith(m + "-") for m in REASONING_MODELS)


def _check_body(op: Operation, body: dict[str, Any], model: str = "") -> None:
    if is_reasoning(model) and "max_tokens" in body:
        raise exc.unsupported_parameter(
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
            "'max_completion_tokens' instead.",
            "max_tokens",
        )
    if op is CHAT:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise exc.invalid_request("'messages' is a required property", "messages")
        if not all(isinstance(m, dict) and "role" in m for m in messages):
            raise exc.invalid_request(
                "Invalid value for 'messages': each message needs a 'role'.", "messages"
            )


def _quota_headers(
    emu: Emulator, account: AccountView, deployment: Deployment, tokens: int
) -> dict[str, str]:
    used_requests, used_tokens = minute_usage(emu, account, deployment.name)
    capacity = max(1, deployment.capacity)
    return {
        "x-ratelimit-remaining-requests": str(
            max(0, capacity * REQUESTS_PER_UNIT - used_requests - 1)
        ),
        "x-ratelimit-remaining-tokens": str(
            max(0, capacity * TOKENS_PER_UNIT - used_tokens - tokens)
        ),
    }


def _stream(
    gen: completion.Generated, op: Operation, with_usage: bool, headers: dict[str, str]
) -> Response:
    chunks = completion.stream_events(gen, with_usage=with_usage) if op is CHAT else [gen.body]
    text = "".join(f"data: {json.dumps(c, separators=(',', ':'))}\n\n" for c in chunks)
    return Response(text + "data: [DONE]\n\n", 200, headers, media_type="text/event-stream")


async def _answer(request: Request, op: Operation, *, v1: bool) -> Response:
    emu: Emulator = request.app.state.emulator
    if not v1:
        check_api_version(request.query_params.get("api-version"), op)
    account, principal = authenticate(emu, endpoint_of(request), *credentials(request, v1), op)
    request.state.principal = principal
    request.state.account = account
    request.state.target = account.id
    wait = getattr(request.state, "scripted_429", 0.0) or emu.faults.throttle_wait("openai")
    if wait > 0:
        raise throttled("openai", wait)
    body = await _json_body(request)
    name = body.get("model") if v1 else request.path_params["deployment"]
    if v1 and not isinstance(name, str):
        raise exc.invalid_request("you must provide a model parameter", "model")
    request.state.deployment = name
    deployment = find_deployment(account, name)
    check_operation(deployment, op)
    _check_body(op, body, deployment.model)
    with_usage = completion.include_usage(body)
    created = int(emu.clock.now())
    prefix = "chatcmpl-" if op is CHAT else "cmpl-"
    rid = completion.response_id(
        prefix, emu.world.seed, account.name, deployment.name, created, next(_ids)
    )
    build = completion.chat_completion if op is CHAT else completion.text_completion
    gen = build(deployment, body, created, rid)
    request.state.usage = (gen.prompt_tokens, gen.completion_tokens, gen.stream)
    headers = _quota_headers(emu, account, deployment, gen.prompt_tokens + gen.completion_tokens)
    if gen.stream:
        return _stream(gen, op, with_usage, headers)
    return json_response(gen.body, 200, headers)


async def _serve(request: Request, op: Operation, *, v1: bool) -> Response:
    try:
        response = await _answer(request, op, v1=v1)
    except EmulatorHTTPError as err:
        err.headers.update(_tracking_headers(request))
        raise
    response.headers.update(_tracking_headers(request))
    return response


@operation("ChatCompletions_Create", "openai", throttle_after_auth=True)
async def chat_completions(request: Request) -> Response:
    """``POST .../openai/deployments/{deployment}/chat/completions?api-version=...``."""
    return await _serve(request, CHAT, v1=False)


@operation("Completions_Create", "openai", throttle_after_auth=True)
async def completions(request: Request) -> Response:
    """``POST .../openai/deployments/{deployment}/completions?api-version=...``."""
    return await _serve(request, COMPLETIONS, v1=False)


@operation("ChatCompletions_Create", "openai", throttle_after_auth=True)
async def v1_chat_completions(request: Request) -> Response:
    """``POST .../openai/v1/chat/completions`` (deployment name in ``model``)."""
    return await _serve(request, CHAT, v1=True)


@operation("Completions_Create", "openai", throttle_after_auth=True)
async def v1_completions(request: Request) -> Response:
    """``POST .../openai/v1/completions`` (deployment name in ``model``)."""
    return await _serve(request, COMPLETIONS, v1=True)


@operation("OpenAI_NotFound", "openai")
async def not_found(request: Request) -> Response:
    """Any other path under an endpoint: Azure's 404."""
    err = exc.resource_not_found()
    err.headers.update(_tracking_headers(request))
    raise err


async def _deployment_name(request: Request, v1: bool) -> str:
    name = getattr(request.state, "deployment", None)
    if isinstance(name, str):
        return name
    if not v1:
        return str(request.path_params.get("deployment", ""))
    try:  # a throttled call never reached the handler; its body is still readable
        model = json.loads(await request.body() or b"{}").get("model")
    except (ValueError, AttributeError):
        return ""
    return model if isinstance(model, str) else ""


async def _record(request: Request, status: int, op: Operation, v1: bool) -> None:
    emu: Emulator = request.app.state.emulator
    account = getattr(request.state, "account", None)
    if account is None:
        account = identify_account(emu, endpoint_of(request), credentials(request, v1)[0])
    if account is None:
        return  # Azure cannot attribute the call to a resource either
    name = await _deployment_name(request, v1)
    deployment = account.deployment(name) if name else None
    prompt, generated, stream = getattr(request.state, "usage", (0, 0, False))
    record_call(
        emu,
        account,
        ServedCall(
            operation=op.op_id,
            deployment=deployment.name if deployment else name,
            model=deployment.model if deployment else "",
            version=deployment.version if deployment else "",
            status=status,
            stream=stream,
            prompt_tokens=prompt,
            completion_tokens=generated,
            latency_ms=BASE_LATENCY_MS + LATENCY_PER_TOKEN_MS * generated,
        ),
    )
    # Counters are telemetry, not resource state: persist them, but leave the log entry's
    # ``changed`` flag to real changes (an inference call does not change the account).
    emu.commit()


def metered(handler: Handler, op: Operation, *, v1: bool = False) -> Handler:
    """Wrap a decorated handler so every answer it gives (429s included) is counted."""

    @functools.wraps(handler)  # keeps the docstring and ``operation_id``
    async def endpoint(request: Request) -> Response:
        response = await handler(request)
        if response.status_code < 599:  # 599 = an injected dropped connection
            await _record(request, response.status_code, op, v1)
        return response

    return endpoint
