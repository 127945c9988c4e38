"""Errors of the emulated Entra ID, each carrying the wire code a client sees.

The token endpoint answers OAuth errors in Entra's envelope: ``error`` (the OAuth code),
``error_description`` (``AADSTS<n>: <message> Trace ID: ... Correlation ID: ... Timestamp: ...``),
``error_codes`` ([n]), ``timestamp``, ``trace_id``, ``correlation_id`` and ``error_uri``.
``invalid_client`` answers 401, every other OAuth error 400 (as Entra does). The managed
identity endpoint and the test issuers have their own, simpler envelopes.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from keyops.emulator.core.errors import EmulatorHTTPError

WIF_DOCS = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
ASSERTION_DOCS = "https://learn.microsoft.com/entra/identity-platform/certificate-credentials"
#: ``x-ms-ests-server``: the token service build and slice (the form of a 2024 capture,
#: ``2.1.19005.9 - NEULR1 ProdSlices``, with the slice naming the emulator).
ESTS_SERVER = "2.1.19005.9 - EMU ProdSlices"
#: Token answers, successes and errors alike, must not be cached.
NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache", "Expires": "-1"}


def trace_headers(trace_id: str, client_request_id: str | None) -> dict[str, str]:
    """What Entra puts on every answer: the trace id as ``x-ms-request-id``, the server build,
    and the client's ``client-request-id`` echoed when it sent one."""
    headers = {"x-ms-request-id": trace_id, "x-ms-ests-server": ESTS_SERVER}
    if client_request_id:
        headers["client-request-id"] = client_request_id
    return headers


class EntraError(Exception):
    """An OAuth error of the token or discovery endpoints (never holds a secret or token)."""

    def __init__(self, error: str, code: int, message: str) -> None:
        super().__init__(f"AADSTS{code}")
        self.error = error
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        """Entra answers a failed client authentication with 401, other errors with 400."""
        return 401 if self.error == "invalid_client" else 400

    def http(self, now: float, correlation_id: str | None) -> EmulatorHTTPError:
        """The wire answer, stamped with the emulated time and the caller's request id."""
        trace_id = str(uuid.uuid4())
        correlation = correlation_id or str(uuid.uuid4())
        stamp = datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        body: dict[str, Any] = {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.code}: {self.message} Trace ID: {trace_id} "
                f"Correlation ID: {correlation} Timestamp: {stamp}"
            ),
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }
        headers = {**NO_STORE, **trace_headers(trace_id, correlation_id)}
        return EmulatorHTTPError(self.status, body, headers)


def tenant_not_found(tenant: str) -> EntraError:
    """AADSTS90002: the path names no tenant this emulator hosts."""
    return EntraError(
        "invalid_tenant",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may "
        "happen if there are no active subscriptions for the tenant.",
    )


def wrong_method(method: str) -> EntraError:
    """AADSTS900561: the token endpoint takes POST only (a GET gets 400, not 405)."""
    return EntraError(
        "invalid_request",
        900561,
        f"The endpoint only accepts POST, OPTIONS requests. Received a {method} request.",
    )


def grant_not_on_common() -> EntraError:
    """AADSTS9001023: app-only grants need a tenant-specific authority."""
    return EntraError(
        "invalid_request",
        9001023,
        "The grant type is not supported over the /common or /consumers endpoints. Please use "
        "the /organizations or tenant-specific endpoint.",
    )


def missing_parameter(name: str) -> EntraError:
    """AADSTS900144: a required form field is absent."""
    return EntraError(
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


def missing_credential() -> EntraError:
    """AADSTS7000218: client credentials without a secret or an assertion."""
    return EntraError(
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: "
        "'client_assertion' or 'client_secret'.",
    )


def unsupported_grant(grant_type: str) -> EntraError:
    """AADSTS70003: only the app-only grant is emulated."""
    return EntraError(
        "unsupported_grant_type",
        70003,
        f"The app requested an unsupported grant type '{grant_type}'.",
    )


def unknown_client(client_id: str, tenant: str) -> EntraError:
    """AADSTS700016: no application with that client id in the tenant."""
    return EntraError(
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. "
        "This can happen if the application has not been installed by the administrator of the "
        "tenant or consented to by any user in the tenant. You may have sent your "
        "authentication request to the wrong tenant.",
    )


def invalid_secret(client_id: str) -> EntraError:
    """AADSTS7000215: the client secret does not match any of the app's secrets."""
    return EntraError(
        "invalid_client",
        7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        "client secret value, not the client secret ID, for a secret added to app "
        f"'{client_id}'.",
    )


def scope_needs_default(scope: str) -> EntraError:
    """AADSTS1002012: app-only flows take ``<resource>/.default`` only."""
    return EntraError(
        "invalid_scope",
        1002012,
        f"The provided value for scope {scope} is not valid. Client credential flows must have "
        "a scope value with /.default suffixed to the resource identifier (application ID URI).",
    )


def invalid_scope(scope: str) -> EntraError:
    """AADSTS70011: an empty or incoherent scope parameter."""
    return EntraError(
        "invalid_scope",
        70011,
        "The provided request must include a 'scope' input parameter. The provided value for "
        f"the input parameter 'scope' is not valid. The scope {scope} is not valid.",
    )


def resource_not_found(resource: str, tenant: str) -> EntraError:
    """AADSTS500011: no service principal for the requested resource."""
    return EntraError(
        "invalid_resource",
        500011,
        f"The resource principal named {resource} was not found in the tenant named {tenant}. "
        "This can happen if the application has not been installed by the administrator of the "
        "tenant or consented to by any user in the tenant. You might have sent your "
        "authentication request to the wrong tenant.",
    )


def malformed_assertion() -> EntraError:
    """AADSTS50027: the client assertion is not a parsable JWT."""
    return EntraError("invalid_request", 50027, "JWT token is invalid or malformed.")


def no_issuer_record(issuer: str) -> EntraError:
    """AADSTS700211: no federated credential of the app trusts the assertion's issuer."""
    return EntraError(
        "invalid_client",
        700211,
        f"No matching federated identity record found for presented assertion issuer "
        f"'{issuer}'. Please check your federated identity credential Subject, Audience and "
        f"Issuer against the presented assertion. {WIF_DOCS}",
    )


def no_audience_record(audience: str) -> EntraError:
    """AADSTS700212: the assertion's audience matches no trusted federated credential."""
    return EntraError(
        "invalid_client",
        700212,
        f"No matching federated identity record found for presented assertion audience "
        f"'{audience}'. Please check your federated identity credential Subject, Audience and "
        f"Issuer against the presented assertion. {WIF_DOCS}",
    )


def no_subject_record(subject: str) -> EntraError:
    """AADSTS700213: the assertion's subject matches no trusted federated credential."""
    return EntraError(
        "invalid_client",
        700213,
        f"No matching federated identity record found for presented assertion subject "
        f"'{subject}'. Check your federated identity credential Subject, Audience and Issuer "
        f"against the presented assertion. {WIF_DOCS}",
    )


def no_federated_record(issuer: str, subject: str, audience: str) -> EntraError:
    """AADSTS70021: the issuer is trusted but cannot be validated (not hosted here)."""
    return EntraError(
        "invalid_client",
        70021,
        f"No matching federated identity record found for presented assertion. Assertion "
        f"Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: "
        f"'{audience}'. {WIF_DOCS}",
    )


def signing_key_not_found(kid: str, issuer: str) -> EntraError:
    """AADSTS7000272: the assertion names a key the issuer does not publish."""
    return EntraError(
        "invalid_client",
        7000272,
        f"The certificate with identifier {kid} used to sign the federated credential could "
        f"not be found in the metadata of identity provider {issuer}. Please validate that your "
        "Identity Provider's metadata exposes the key used to sign the incoming token.",
    )


def invalid_assertion_signature() -> EntraError:
    """AADSTS700027: the assertion's signature does not verify."""
    return EntraError("invalid_client", 700027, "Client assertion contains an invalid signature.")


def assertion_out_of_time(now: float, nbf: float | None, exp: float | None) -> EntraError:
    """AADSTS700024: the assertion is expired or not yet valid."""
    return EntraError(
        "invalid_client",
        700024,
        f"Client assertion is not within its valid time range. Current time: {_dotnet(now)}, "
        f"assertion valid from {_dotnet(nbf or 0)}, expiry time of assertion "
        f"{_dotnet(exp or 0)}. Review the documentation at {ASSERTION_DOCS} .",
    )


def _dotnet(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}0Z"


def msi_error(status: int, message: str) -> EmulatorHTTPError:
    """The App Service identity endpoint's error envelope."""
    return EmulatorHTTPError(
        status, {"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())}
    )


def issuer_error(status: int, message: str) -> EmulatorHTTPError:
    """An error of an emulator-hosted CI token service."""
    return EmulatorHTTPError(status, {"message": message})
