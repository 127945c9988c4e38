"""ARM's error answers, each with the wire code and message Azure Resource Manager sends.

Messages were taken from public reports of real ARM responses (azure-cli, SDK and docs issue
threads); none of them ever contains a key, secret or token.
"""

from __future__ import annotations

from datetime import datetime, timezone

from keyops.emulator.core.errors import EmulatorHTTPError, arm_error

#: The audiences ARM accepts (its error message lists them in this order).
ARM_AUDIENCES = (
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
)


def _www_authenticate(authority: str, description: str) -> dict[str, str]:
    return {
        "WWW-Authenticate": (
            f'Bearer authorization_uri="{authority}", '
            f'error="invalid_token", error_description="{description}"'
        )
    }


def _unauthorized(code: str, message: str, authority: str, description: str) -> EmulatorHTTPError:
    err = arm_error(401, code, message)
    err.headers.update(_www_authenticate(authority, description))
    return err


def missing_authorization(authority: str) -> EmulatorHTTPError:
    """401 for a request without an ``Authorization`` header."""
    return _unauthorized(
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
        authority,
        "The authentication failed because of missing 'Authorization' header.",
    )


def invalid_authorization_header(authority: str) -> EmulatorHTTPError:
    """401 for an ``Authorization`` header that is not ``Bearer <token>``."""
    return _unauthorized(
        "AuthenticationFailedInvalidHeader",
        "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        authority,
        "The authentication failed because of invalid 'Authorization' header.",
    )


def _dotnet_time(ts: float) -> str:
    # ARM prints times the .NET way: 5/1/2024 10:00:00 AM.
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return f"{dt.month}/{dt.day}/{dt.year} {dt.strftime('%I:%M:%S %p').lstrip('0')}"


def expired_token(authority: str, exp: float, now: float) -> EmulatorHTTPError:
    """401 for an expired access token."""
    return _unauthorized(
        "ExpiredAuthenticationToken",
        f"The access token expiry UTC time '{_dotnet_time(exp)}' is earlier than current UTC "
        f"time '{_dotnet_time(now)}'.",
        authority,
        "The access token has expired.",
    )


def wrong_audience(authority: str, audience: str) -> EmulatorHTTPError:
    """401 for a token minted for another resource."""
    allowed = ",".join(f"'{a}'" for a in ARM_AUDIENCES)
    return _unauthorized(
        "InvalidAuthenticationTokenAudience",
        f"The access token has been obtained for wrong audience or resource '{audience}'. It "
        f"should exactly match with one of the allowed audiences {allowed}.",
        authority,
        "The access token has been obtained for wrong audience or resource.",
    )


def wrong_tenant(
    authority: str, issuer: str, expected_issuer: str, tenant_id: str
) -> EmulatorHTTPError:
    """401 for a token from another tenant (or issuer)."""
    return _unauthorized(
        "InvalidAuthenticationTokenTenant",
        f"The access token is from the wrong issuer '{issuer}'. It must match the tenant "
        f"'{expected_issuer}' associated with this subscription. Please use the authority (URL) "
        f"'{authority.rstrip('/')}/{tenant_id}' to get the token. Note, if the subscription is "
        "transferred to another tenant there is no impact to the services, but information about "
        "new tenant could take time to propagate (up to an hour). If you just transferred your "
        "subscription and see this error message, please try back later.",
        authority,
        "The access token is from the wrong issuer.",
    )


def invalid_token(authority: str) -> EmulatorHTTPError:
    """401 for a token that fails validation for any other reason."""
    return _unauthorized(
        "InvalidAuthenticationToken",
        "The access token is invalid.",
        authority,
        "The access token is invalid.",
    )


def authorization_failed(appid: str, oid: str, action: str, scope: str) -> EmulatorHTTPError:
    """403 when RBAC does not grant ``action`` at ``scope``."""
    return arm_error(
        403,
        "AuthorizationFailed",
        f"The client '{appid}' with object id '{oid}' does not have authorization to perform "
        f"action '{action}' over scope '{scope}' or the scope is invalid. If access was recently "
        "granted, please refresh your credentials.",
    )


def missing_api_version() -> EmulatorHTTPError:
    """400 when the ``api-version`` query parameter is absent."""
    return arm_error(
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
    )


def invalid_api_version(version: str, supported: tuple[str, ...]) -> EmulatorHTTPError:
    """400 from Microsoft.Resources (subscriptions, tenants) for an unknown api-version."""
    return arm_error(
        400,
        "InvalidApiVersionParameter",
        f"The api-version '{version}' is invalid. The supported versions are "
        f"'{','.join(supported)}'.",
    )


def no_registered_provider(
    version: str,
    resource_type: str,
    location: str,
    supported: tuple[str, ...],
    locations: tuple[str, ...],
) -> EmulatorHTTPError:
    """400 from ARM when a resource provider does not know the api-version for a type."""
    return arm_error(
        400,
        "NoRegisteredProviderFound",
        f"No registered resource provider found for location '{location}' and API version "
        f"'{version}' for type '{resource_type}'. The supported api-versions are "
        f"'{', '.join(supported)}'. The supported locations are '{', '.join(locations)}'.",
    )


def subscription_not_found(subscription_id: str) -> EmulatorHTTPError:
    """404 for an unknown (or invisible) subscription."""
    return arm_error(
        404, "SubscriptionNotFound", f"The subscription '{subscription_id}' could not be found."
    )


def resource_group_not_found(resource_group: str) -> EmulatorHTTPError:
    """404 for an unknown resource group."""
    return arm_error(
        404, "ResourceGroupNotFound", f"Resource group '{resource_group}' could not be found."
    )


def resource_not_found(resource_type: str, name: str, resource_group: str) -> EmulatorHTTPError:
    """404 for an unknown resource (``resource_type``: ``Microsoft.CognitiveServices/accounts``)."""
    return arm_error(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not "
        "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def deployment_not_found(account: str, deployment: str, resource_group: str) -> EmulatorHTTPError:
    """404 for an unknown deployment of an existing account (ARM names the nested type)."""
    return resource_not_found(
        "Microsoft.CognitiveServices/accounts",
        f"{account}/deployments/{deployment}",
        resource_group,
    )


def precondition_failed() -> EmulatorHTTPError:
    """412 for a write whose ``If-Match`` names an etag the resource no longer has."""
    return arm_error(
        412,
        "PreconditionFailed",
        "The specified precondition 'If-Match' failed: the resource was changed since its etag "
        "was read.",
    )


def local_auth_disabled() -> EmulatorHTTPError:
    """400 from listKeys on an account with ``disableLocalAuth: true``."""
    return arm_error(400, "BadRequest", "Failed to list key. disableLocalAuth is set to be true")


def invalid_key_name(key_name: object) -> EmulatorHTTPError:
    """400 from regenerateKey for anything but ``Key1``/``Key2`` (names are case-sensitive)."""
    return arm_error(
        400,
        "BadRequest",
        f"The key name '{key_name}' is invalid. Valid values are 'Key1' and 'Key2'.",
    )


def invalid_request_content(message: str) -> EmulatorHTTPError:
    """400 for a body that is not the JSON the operation expects."""
    return arm_error(400, "InvalidRequestContent", message)
