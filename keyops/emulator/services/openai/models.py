"""Rules of the Azure OpenAI data plane: api-versions, which account a call reaches, auth.

No HTTP here: functions take the emulator and plain values, and raise the wire errors of
:mod:`keyops.emulator.services.openai.exceptions`. Accounts and keys belong to the ARM
service; this module reads them through ``keyops.emulator.services.arm.models``.
"""

from __future__ import annotations

from dataclasses import dataclass

from keyops.emulator.core.context import Emulator
from keyops.emulator.core.tokens import TokenError, bearer_from
from keyops.emulator.services.arm.models import (
    AccountView,
    accounts_in_region,
    find_account_by_endpoint_prefix,
    find_account_by_key,
    key_status,
)
from keyops.emulator.services.openai import exceptions as exc
from keyops.emulator.world import Deployment

#: Data-plane inference api-versions published in Azure/azure-rest-api-specs under
#: specification/cognitiveservices/data-plane/AzureOpenAI/inference/{stable,preview}/.
#: (preview/2023-11-01-preview holds only a generated.json and was never served; left out.)
GA_API_VERSIONS = ("2022-12-01", "2023-05-15", "2024-02-01", "2024-06-01", "2024-10-21")
PREVIEW_API_VERSIONS = (
    "2022-03-01-preview",
    "2022-06-01-preview",
    "2023-03-15-preview",
    "2023-06-01-preview",
    "2023-07-01-preview",
    "2023-08-01-preview",
    "2023-09-01-preview",
    "2023-10-01-preview",
    "2023-12-01-preview",
    "2024-02-15-preview",
    "2024-03-01-preview",
    "2024-04-01-preview",
    "2024-05-01-preview",
    "2024-07-01-preview",
    "2024-08-01-preview",
    "2024-09-01-preview",
    "2024-10-01-preview",
    "2024-12-01-preview",
    "2025-01-01-preview",
    "2025-02-01-preview",
    "2025-03-01-preview",
    "2025-04-01-preview",
)
API_VERSIONS = frozenset(GA_API_VERSIONS + PREVIEW_API_VERSIONS)
#: Chat completions arrived with 2023-03-15-preview; older versions route only completions,
#: and Azure answered chat calls on them with 404 (OkGoDoIt/OpenAI-API-dotnet#81).
PRE_CHAT_API_VERSIONS = frozenset({"2022-03-01-preview", "2022-06-01-preview", "2022-12-01"})

#: Token audiences the data plane accepts (cognitive services and the Foundry audience).
AUDIENCES = ["https://cognitiveservices.azure.com", "https://ai.azure.com"]


@dataclass(frozen=True)
class Operation:
    """One inference operation: its spec id, the deployment api it needs, its RBAC data action,
    and the word Azure's OperationNotSupported message uses for it."""

    op_id: str
    api: str
    data_action: str
    error_word: str


CHAT = Operation(
    "ChatCompletions_Create",
    "chat",
    "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action",
    "chatCompletion",
)
COMPLETIONS = Operation(
    "Completions_Create",
    "completions",
    "Microsoft.CognitiveServices/accounts/OpenAI/deployments/completions/action",
    "completion",
)


@dataclass(frozen=True)
class Endpoint:
    """Where a call arrived: an account's custom subdomain or a region's shared endpoint."""

    regional: bool
    name: str  # the custom subdomain, or the location


def check_api_version(api_version: str | None, op: Operation) -> None:
    """Raise Azure's answer for a missing or unpublished ``api-version``."""
    if not api_version:
        raise exc.resource_not_found()
    if api_version not in API_VERSIONS:
        raise exc.api_version_not_supported()
    if op is CHAT and api_version in PRE_CHAT_API_VERSIONS:
        raise exc.resource_not_found()


def identify_account(emu: Emulator, endpoint: Endpoint, api_key: str | None) -> AccountView | None:
    """The account a call is for, when it can be told (for metrics); never raises.

    A custom subdomain names its account; on a regional endpoint only a key that is (or is
    about to be) one of the region's account keys does.
    """
    if not endpoint.regional:
        return find_account_by_endpoint_prefix(emu, endpoint.name)
    if not api_key:
        return None
    found = find_account_by_key(emu, accounts_in_region(emu, endpoint.name), api_key)
    return found[0] if found else None


def authenticate(
    emu: Emulator, endpoint: Endpoint, api_key: str | None, authorization: str | None, op: Operation
) -> tuple[AccountView, str]:
    """Check network access and credentials; return the account and the caller's name.

    The caller is ``"api-key"`` for key auth, else the token's object id. Order follows the
    service: the network rule, then the key (the ``api-key`` header wins over a bearer token),
    then the token and the principal's data action at the account scope.
    """
    if endpoint.regional:
        return _authenticate_regional(emu, endpoint, api_key, authorization)
    account = find_account_by_endpoint_prefix(emu, endpoint.name)
    if account is None:
        raise exc.resource_not_found()
    _check_network(account)
    if api_key:
        _check_key(emu, account, api_key)
        return account, "api-key"
    if not authorization:
        raise exc.missing_key()
    oid = _check_token(emu, authorization)
    if not emu.rbac.allows(oid, op.data_action, account.id, data=True):
        raise exc.permission_denied()
    return account, oid


def _authenticate_regional(
    emu: Emulator, endpoint: Endpoint, api_key: str | None, authorization: str | None
) -> tuple[AccountView, str]:
    if not api_key:
        if authorization:
            raise exc.subdomain_required()
        raise exc.missing_key()
    found = find_account_by_key(emu, accounts_in_region(emu, endpoint.name), api_key)
    if found is None:
        raise exc.invalid_key()
    account, status = found
    _check_network(account)
    if account.keys_refused:
        raise exc.local_auth_disabled()
    if status != "valid":
        raise exc.invalid_key()
    return account, "api-key"


def _check_network(account: AccountView) -> None:
    if account.public_network_access.lower() == "disabled":
        raise exc.public_access_disabled()


def _check_key(emu: Emulator, account: AccountView, api_key: str) -> None:
    if account.keys_refused:
        raise exc.local_auth_disabled()
    # "propagating" (regenerated less than the propagation delay ago) is refused like a
    # wrong key: Azure's data plane does not know the new value yet.
    if key_status(emu, account, api_key) != "valid":
        raise exc.invalid_key()


def _check_token(emu: Emulator, authorization: str | None) -> str:
    token = bearer_from(authorization)
    if token is None:
        raise exc.token_rejected()
    try:
        return emu.tokens.verify(token, AUDIENCES).oid
    except TokenError:
        raise exc.token_rejected() from None


def find_deployment(account: AccountView, name: str | None) -> Deployment:
    """The deployment a call names, or Azure's DeploymentNotFound."""
    deployment = account.deployment(name) if name else None
    if deployment is None:
        raise exc.deployment_not_found()
    return deployment


def check_operation(deployment: Deployment, op: Operation) -> None:
    """A chat call to a completions model (or the reverse) is OperationNotSupported."""
    if deployment.api != op.api:
        raise exc.operation_not_supported(op.error_word, deployment.model)
