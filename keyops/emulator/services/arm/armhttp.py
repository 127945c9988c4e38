"""What every ARM handler does around its own work (shared with the authorization service).

Authentication (ARM's 401 bodies and ``WWW-Authenticate``), RBAC refusals (403
``AuthorizationFailed``), api-version checks, ``nextLink`` paging with ``$skipToken``, and the
tracking headers ARM puts on every answer (``x-ms-request-id``, ``x-ms-correlation-request-id``,
``x-ms-ratelimit-remaining-subscription-reads|writes``; built by ``core.armrouter``, whose
router-level 404/405 answers carry them too).
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

import jwt
from starlette.requests import Request
from starlette.responses import Response

from keyops.emulator.core.armrouter import spend, tracking_headers, with_tracking_headers
from keyops.emulator.core.context import Emulator
from keyops.emulator.core.errors import EmulatorHTTPError, arm_error
from keyops.emulator.core.operation import Handler, json_response, throttled
from keyops.emulator.core.rbac import scope_covers
from keyops.emulator.core.tokens import Caller, TokenError, bearer_from
from keyops.emulator.services.arm import exceptions as errors

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
PAGE_SIZE_SETTING = "arm.page_size"


def emulator(request: Request) -> Emulator:
    """The emulator behind a request."""
    emu: Emulator = request.app.state.emulator
    return emu


def authority(emu: Emulator) -> str:
    """The authority host ARM names in its ``WWW-Authenticate`` challenges."""
    return emu.base_url + "/"


def authenticate(request: Request) -> Caller:
    """The verified caller of an ARM request, or ARM's 401 for the reason it fails; then
    ARM's per-principal bucket, when the emulator enforces it (429 with Retry-After)."""
    emu = emulator(request)
    header = request.headers.get("authorization")
    if header is None:
        raise errors.missing_authorization(authority(emu))
    if bearer_from(header) is None:
        raise errors.invalid_authorization_header(authority(emu))
    try:
        caller = emu.caller(request, list(errors.ARM_AUDIENCES))
    except TokenError as exc:
        raise _token_error(emu, exc.reason, bearer_from(header) or "") from None
    wait = spend(request)
    if wait > 0:
        raise throttled("arm", wait, "reads" if request.method in ("GET", "HEAD") else "writes")
    return caller


def _token_error(emu: Emulator, reason: str, token: str) -> EmulatorHTTPError:
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        claims = {}
    if reason == "token expired":
        return errors.expired_token(authority(emu), float(claims.get("exp", 0)), emu.clock.now())
    if reason == "invalid audience":
        return errors.wrong_audience(authority(emu), str(claims.get("aud", "")))
    if reason in ("invalid issuer", "invalid tenant"):
        return errors.wrong_tenant(
            authority(emu), str(claims.get("iss", "")), emu.tokens.issuer, emu.tenant_id
        )
    return errors.invalid_token(authority(emu))


def require(request: Request, caller: Caller, action: str, scope: str) -> None:
    """403 ``AuthorizationFailed`` unless RBAC grants ``action`` at ``scope``."""
    emu = emulator(request)
    if not emu.rbac.allows(caller.oid, action, scope):
        raise errors.authorization_failed(caller.appid, caller.oid, action, scope)


def allowed(request: Request, caller: Caller, action: str, scope: str) -> bool:
    """Whether RBAC grants ``action`` at ``scope`` (for filtering list results)."""
    return emulator(request).rbac.allows(caller.oid, action, scope)


def subscription_visible(emu: Emulator, caller: Caller, subscription_id: str) -> bool:
    """Whether the caller holds any role at, above or below the subscription (ARM shows it then)."""
    sub_scope = f"/subscriptions/{subscription_id}"
    for a in emu.rbac.assignments():
        if a.principal_id.lower() != caller.oid.lower():
            continue
        if emu.rbac.covers(a.scope, sub_scope) or scope_covers(sub_scope, a.scope):
            return True
    return False


def api_version(request: Request) -> str:
    """The request's api-version (400 ``MissingApiVersionParameter`` when absent)."""
    version = request.query_params.get("api-version")
    if not version:
        raise errors.missing_api_version()
    return version


def check_provider_version(
    version: str,
    supported: tuple[str, ...],
    resource_type: str,
    location: str,
    locations: Sequence[str],
) -> None:
    """ARM's 400 ``NoRegisteredProviderFound`` for an api-version the provider lacks."""
    if version not in supported:
        raise errors.no_registered_provider(
            version, resource_type, location, supported, tuple(locations)
        )


def check_resources_version(version: str, supported: tuple[str, ...]) -> None:
    """Microsoft.Resources' 400 ``InvalidApiVersionParameter`` for an unknown api-version."""
    if version not in supported:
        raise errors.invalid_api_version(version, supported)


# --- paging -----------------------------------------------------------------------------------


def page_size(emu: Emulator) -> int:
    """Items per page of ARM lists (admin setting ``arm.page_size``; default 50)."""
    try:
        size = int(emu.settings.extra.get(PAGE_SIZE_SETTING, DEFAULT_PAGE_SIZE))
    except (TypeError, ValueError):
        size = DEFAULT_PAGE_SIZE
    return max(1, size)


def _skip_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, value = text.partition(":")
        if prefix == "offset" and value.isdigit():
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise arm_error(400, "InvalidSkipToken", "The provided skip token is not valid.")


def paged(request: Request, items: Sequence[T]) -> tuple[list[T], str | None]:
    """One page of ``items`` and the ``nextLink`` of the next page (None on the last)."""
    emu = emulator(request)
    start = _offset(request.query_params.get("$skipToken"))
    end = start + page_size(emu)
    if end >= len(items):
        return list(items[start:]), None
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "$skipToken"]
    params.append(("$skipToken", _skip_token(end)))
    query = urlencode(params, safe="$'()")
    return list(items[start:end]), f"{emu.base_url}{request.url.path}?{query}"


def list_body(
    request: Request, items: Sequence[Any], render: Callable[[Any], Any] | None = None
) -> dict[str, Any]:
    """An ARM list answer ``{"value": [...], "nextLink": ...}`` for one page of ``items``.

    ``render`` turns an item into its JSON; only the page's items are rendered.
    """
    page, next_link = paged(request, items)
    body: dict[str, Any] = {"value": [render(i) for i in page] if render else page}
    if next_link is not None:
        body["nextLink"] = next_link
    return body


# --- tracking headers -------------------------------------------------------------------------


def arm_endpoint(fn: Handler) -> Handler:
    """Put ARM's tracking headers on the answer of ``fn``, errors included.

    Goes under ``@operation`` so the headers travel with an ``EmulatorHTTPError`` too.
    """

    @functools.wraps(fn)
    async def wrapper(request: Request) -> Response:
        try:
            response = await fn(request)
        except EmulatorHTTPError as err:
            raise with_tracking_headers(request, err) from None
        for name, value in tracking_headers(request).items():
            response.headers.setdefault(name, value)
        return response

    return wrapper


def arm_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer (tracking headers are added by :func:`arm_endpoint`)."""
    return json_response(body, status, headers)
