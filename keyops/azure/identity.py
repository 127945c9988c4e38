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
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from keyops.azure.tls import sdk_transport

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from keyops.cloud import AzureEnvironment


#: What WorkloadIdentityCredential needs; without all three it is left out of the chain.
_WORKLOAD_VARS = ("AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID")
#: Variables azure-identity takes as "configured" when merely set: an empty one makes its
#: EnvironmentCredential raise ValueError at construction ("secret should be ...").
_NOT_EMPTY = (
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
)


def check_credential_environment(environ: Mapping[str, str]) -> None:
    """Refuse a credential variable that is set but empty, naming it (a pipeline secret that
    did not resolve is the usual cause), before azure-identity fails on it obscurely."""
    from keyops.errors import ConfigError

    empty = [name for name in _NOT_EMPTY if name in environ and not environ[name].strip()]
    if empty:
        raise ConfigError(
            f"{', '.join(empty)} {'is' if len(empty) == 1 else 'are'} set but empty; "
            "fix: give the service principal's value, or unset it to use another credential"
        )


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

    check_credential_environment(os.environ)
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


#: What a credential's message says when it could not even try (as opposed to a refused token).
_UNAVAILABLE = re.compile(
    r"unavailable|not fully configured|not found on path|az login|failed to retrieve a token",
    re.IGNORECASE,
)
_FIX = (
    "fix: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal "
    '(on the emulator: eval "$(keyops emulator env)"), use workload identity in a pipeline, or '
    "run `az login`"
)


def _missing(environ: Mapping[str, str], names: Sequence[str]) -> list[str]:
    return [name for name in names if not environ.get(name)]


def _environment_line(environ: Mapping[str, str]) -> str:
    missing = _missing(environ, ("AZURE_TENANT_ID", "AZURE_CLIENT_ID"))
    if not environ.get("AZURE_CLIENT_SECRET") and not environ.get("AZURE_CLIENT_CERTIFICATE_PATH"):
        missing.append("AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH)")
    return f"{', '.join(missing)} not set" if missing else "configured, but unavailable"


def explain_no_credential(text: str, environ: Mapping[str, str]) -> str | None:
    """One line per credential of :func:`build_credential`'s chain saying what it lacked, and
    the fix; None when some credential did try and was refused (its own message says why)."""
    attempts = dict(re.findall(r"^\s*(\w+Credential): (.*)$", text, re.MULTILINE))
    if not attempts or any(not _UNAVAILABLE.search(m) for m in attempts.values()):
        return None
    workload = _missing(environ, _WORKLOAD_VARS)
    cli = attempts.get("AzureCliCredential", "")
    cli_line = (
        "az not found on PATH"
        if "not found on path" in cli.lower()
        else "not signed in (run `az login`)"
        if "az login" in cli.lower()
        else cli.split(". ")[0] or "not tried"
    )
    lines = [
        "no Azure credential could get a token; tried, in order:",
        f"  environment: {_environment_line(environ)}",
        "  workload identity: "
        + (f"{', '.join(workload)} not set" if workload else "configured, but unavailable"),
        "  managed identity: no managed identity endpoint answered (not on an Azure host with one)",
        f"  Azure CLI: {cli_line}",
        _FIX,
    ]
    return "\n".join(lines)
