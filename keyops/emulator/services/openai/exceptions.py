"""The Azure OpenAI data plane's error answers, each with the exact wire body clients see.

Two envelopes exist on this surface: the service's own ``{"error": {"code", "message"}}``
(where 401/404 use the status as a string code) and the API gateway's flat
``{"statusCode", "message"}`` for a missing key or a rejected token. Sources for each message:
AZURE-NOTES.md and the public issue threads cited beside them.
"""

from __future__ import annotations

from typing import Any

from keyops.emulator.core.errors import EmulatorHTTPError

OPERATION_DOCS = "https://go.microsoft.com/fwlink/?linkid=2197993"


def _error(status: int, code: str, message: str) -> EmulatorHTTPError:
    return EmulatorHTTPError(status, {"error": {"code": code, "message": message}})


def resource_not_found() -> EmulatorHTTPError:
    """404 for an unknown path or a missing ``api-version`` (MicrosoftDocs/azure-docs#114602)."""
    return _error(404, "404", "Resource not found")


def api_version_not_supported() -> EmulatorHTTPError:
    """400 for an ``api-version`` Azure never published (spring-projects/spring-ai#3873)."""
    return _error(400, "BadRequest", "API version not supported")


def invalid_key() -> EmulatorHTTPError:
    """401 for a wrong, regenerated-away or not-yet-propagated key."""
    return _error(
        401,
        "401",
        "Access denied due to invalid subscription key or wrong API "
        "endpoint. Make sure to provide a valid key for an active "
        "subscription and use a correct regional API endpoint for your "
        "resource.",
    )


def missing_key() -> EmulatorHTTPError:
    """401 from the gateway when neither ``api-key`` nor a bearer token is sent
    (openai/openai-python#1527)."""
    return EmulatorHTTPError(
        401,
        {
            "statusCode": 401,
            "message": "Access denied due to missing subscription key. Make sure to include "
            "subscription key when making requests to an API.",
        },
    )


def local_auth_disabled() -> EmulatorHTTPError:
    """403 when a key is presented to an account with ``disableLocalAuth``."""
    return _error(
        403, "AuthenticationTypeDisabled", "Key based authentication is disabled for this resource."
    )


def token_rejected() -> EmulatorHTTPError:
    """401 for a missing, malformed, expired or wrong-audience bearer token."""
    return EmulatorHTTPError(
        401,
        {
            "statusCode": 401,
            "message": "Unauthorized. Access token is missing, invalid, audience is incorrect "
            "(https://cognitiveservices.azure.com), or have expired.",
        },
    )


def permission_denied() -> EmulatorHTTPError:
    """A valid token whose principal lacks the data action.

    Azure answers this with HTTP 401 (not 403): microsoft/semantic-kernel#10020 ("HTTP 401
    (PermissionDenied)"), microsoft/PromptWizard#18 ("Error code: 401 - {'error': {'code':
    'PermissionDenied', ...}}").
    """
    return _error(401, "PermissionDenied", "Principal does not have access to API/Operation.")


def subdomain_required() -> EmulatorHTTPError:
    """400 for a bearer token sent to a shared regional endpoint."""
    return _error(
        400,
        "BadRequest",
        "Please provide a custom subdomain for token "
        "authentication, otherwise API key is required.",
    )


def public_access_disabled() -> EmulatorHTTPError:
    """403 for a call from the public internet to an account with public access disabled."""
    return _error(403, "403", "Public access is disabled. Please configure private endpoint.")


def deployment_not_found() -> EmulatorHTTPError:
    """404 for a deployment the account does not have."""
    return _error(
        404,
        "DeploymentNotFound",
        "The API deployment for this resource does not exist. If you created the "
        "deployment within the last 5 minutes, please wait a moment and try again.",
    )


def operation_not_supported(operation: str, model: str) -> EmulatorHTTPError:
    """400 for a chat call to a completions model and vice versa (``operation``:
    ``chatCompletion`` or ``completion``)."""
    return _error(
        400,
        "OperationNotSupported",
        f"The {operation} operation does not work with the specified model, {model}. "
        "Please choose different model and try again. You can learn more about which "
        f"models can be used with each operation here: {OPERATION_DOCS}.",
    )


def unsupported_parameter(message: str, param: str) -> EmulatorHTTPError:
    """400 ``unsupported_parameter``: what a reasoning model answers to ``max_tokens``."""
    body: dict[str, Any] = {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": param,
            "code": "unsupported_parameter",
        }
    }
    return EmulatorHTTPError(400, body)


def invalid_request(message: str, param: str | None = None) -> EmulatorHTTPError:
    """400 for a malformed body, in the OpenAI-style envelope the service uses for validation."""
    body: dict[str, Any] = {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}
    }
    return EmulatorHTTPError(400, body)
