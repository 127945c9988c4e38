"""Which calls ``keyops smoke`` makes: from resolved targets (with ARM's deployments) or ad hoc."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from keyops.azure.probe import DEFAULT_API_VERSION, Api, check_deployment, normalize_endpoint
from keyops.errors import InputError, KeyopsError
from keyops.smoke.runner import LOCAL_AUTH_DISABLED, SmokeResult, SmokeTarget, choose_deployment

if TYPE_CHECKING:
    from keyops.azure.arm import Account, AccountsClient
    from keyops.targets import Target

#: Outcome name for a target with no deployment to call.
NO_DEPLOYMENT = "no_deployment"


@dataclass(frozen=True)
class Overrides:
    """Command-line choices that override every target's configuration."""

    deployment: str | None = None
    api: Api | None = None
    api_version: str | None = None


#: Why a disableLocalAuth account is skipped when the calls use keys.
LOCAL_AUTH_SKIP = "local auth disabled: keys are not used; try --auth entra"


def _smoke_target(target: Target, deployment: str, api: Api, version: str) -> SmokeTarget:
    return SmokeTarget(
        target.name,
        target.account.endpoint,
        deployment,
        api,
        version,
        target.account.id,
        target.vault_url,
        target.secret_name,
    )


def plan_targets(
    targets: Sequence[Target],
    accounts_for: Callable[[str], AccountsClient],
    overrides: Overrides,
    *,
    with_keys: bool = True,
) -> tuple[list[SmokeTarget], list[SmokeResult]]:
    """Smoke targets for resolved targets, and rows for those with nothing to call: failed
    (no deployment) or, when the calls use keys (``with_keys``), skipped for an account with
    ``disableLocalAuth`` (its keys are unusable by design, so no call would prove anything).

    The deployment is ``--deployment``, else the target's, else the first chat (then
    completions) deployment ARM lists; its api comes from ARM's capabilities unless ``--api``.
    """
    planned: list[SmokeTarget] = []
    skipped: list[SmokeResult] = []
    for target in targets:
        wanted = overrides.deployment or target.deployment
        version = overrides.api_version or target.api_version or DEFAULT_API_VERSION
        if with_keys and target.account.disable_local_auth:
            smoke = _smoke_target(target, wanted or "-", overrides.api or "chat", version)
            skipped.append(
                SmokeResult(
                    smoke, "key", None, None, LOCAL_AUTH_DISABLED, LOCAL_AUTH_SKIP, skipped=True
                )
            )
            continue
        try:
            deployments = accounts_for(target.account.subscription_id).list_deployments(
                target.account.id
            )
        except KeyopsError:
            if not wanted:
                raise
            deployments = []  # the data plane will say whether the named deployment exists
        found = choose_deployment(deployments, wanted)
        name = wanted or (found.name if found else None)
        if name is None:
            skipped.append(
                SmokeResult(
                    _smoke_target(target, "-", "chat", version),
                    "key",
                    None,
                    None,
                    NO_DEPLOYMENT,
                    "no chat or completions deployment (pass --deployment)",
                )
            )
            continue
        api: Api = overrides.api or (
            "completions" if found and found.api == "completions" else "chat"
        )
        planned.append(_smoke_target(target, name, api, version))
    return planned, skipped


def account_for_endpoint(accounts: Sequence[Account], endpoint: str) -> Account | None:
    """The account whose ARM endpoint is ``endpoint`` (trailing slash and case ignored)."""
    wanted = endpoint.rstrip("/").lower()
    return next((a for a in accounts if a.endpoint.rstrip("/").lower() == wanted), None)


def adhoc_target(
    endpoint: str,
    deployment: str | None,
    overrides: Overrides,
    *,
    account: Account | None = None,
    vault_url: str | None = None,
    secret_name: str | None = None,
) -> SmokeTarget:
    """One ad hoc target (``--endpoint`` and ``--deployment``); bad input raises first."""
    base = normalize_endpoint(endpoint)
    if not deployment:
        raise InputError("--endpoint needs --deployment (the deployment to call)")
    check_deployment(deployment)
    name = account.name if account else base.split("//", 1)[1].rstrip("/")
    return SmokeTarget(
        name,
        base,
        deployment,
        overrides.api or "chat",
        overrides.api_version or DEFAULT_API_VERSION,
        account.id if account else None,
        vault_url,
        secret_name,
    )
