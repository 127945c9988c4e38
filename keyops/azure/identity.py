"""The credential keyops runs as: azure-identity's chain, pointed at the selected cloud.

Order (as ``DefaultAzureCredential``): a service principal from the environment
(``AZURE_TENANT_ID``/``AZURE_CLIENT_ID``/``AZURE_CLIENT_SECRET`` or certificate), workload identity
(``AZURE_FEDERATED_TOKEN_FILE``, as GitHub Actions and Azure Pipelines provide), managed identity,
then an Azure CLI login. The chain is built explicitly rather than with ``DefaultAzureCredential``
alone because that class does not pass ``authority`` to its workload-identity member, so a
sovereign cloud or the emulator would send federated tokens to the public cloud's authority.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from keyops.azure.tls import sdk_transport

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from keyops.cloud import AzureEnvironment


#: What WorkloadIdentityCredential needs; without all three it is left out of the chain.
_WORKLOAD_VARS = ("AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID")


def credential_kwargs(env: AzureEnvironment) -> dict[str, Any]:
    """Keyword arguments every MSAL-based credential gets for ``env``.

    The emulator needs instance discovery off (otherwise MSAL asks login.microsoftonline.com
    whether the authority is known); trust and proxies come with the transport.
    """
    # One quick retry on a refused connection, not azure-core's three with back-off: an
    # unreachable token endpoint should fail in about a second.
    kwargs: dict[str, Any] = {"authority": env.authority_host, "retry_connect": 1}
    if env.is_emulator:
        kwargs["disable_instance_discovery"] = True
    kwargs["transport"] = sdk_transport(env.verify)
    return kwargs


def build_credential(env: AzureEnvironment) -> TokenCredential:
    """The credential chain for ``env``: environment SP, workload identity, managed identity, CLI.

    Construction makes no network call; the first ``get_token`` walks the chain. A key is never
    a credential here: keyops authenticates to Azure with Entra tokens only.
    """
    from azure.identity import (
        ChainedTokenCredential,
        DefaultAzureCredential,
        EnvironmentCredential,
        WorkloadIdentityCredential,
    )

    kwargs = credential_kwargs(env)
    members: list[Any] = [EnvironmentCredential(**kwargs)]
    if all(os.environ.get(name) for name in _WORKLOAD_VARS):
        members.append(WorkloadIdentityCredential(**kwargs))
    # DefaultAzureCredential supplies managed identity (with its quick IMDS probe) and the CLI.
    members.append(
        DefaultAzureCredential(
            exclude_environment_credential=True,
            exclude_workload_identity_credential=True,
            exclude_shared_token_cache_credential=True,
            exclude_visual_studio_code_credential=True,
            exclude_powershell_credential=True,
            exclude_developer_cli_credential=True,
            exclude_interactive_browser_credential=True,
            exclude_broker_credential=True,
            **kwargs,
        )
    )
    return ChainedTokenCredential(*members)
