"""Collect the audit matrix live: one worker per account, every check a real call.

For each account: its deployments (ARM), its keys (ARM listKeys), the vault secret meant to hold
its key (Key Vault), a data-plane call with Key1, Key2, the secret and an Entra token for the
identity keyops runs as (the probe), and the role assignments that apply at its scope
(Microsoft.Authorization). A check that cannot be made is recorded on the row (``problems``),
never raised: one unreadable account does not hide the rest of the fleet.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from keyops.audit.access import access_view, identity_view
from keyops.audit.model import AccessView, AccountRow, CredentialCheck, SecretState
from keyops.azure.probe import (
    DEFAULT_API_VERSION,
    KeyAuth,
    Outcome,
    RetryPolicy,
    TokenAuth,
    probe,
)
from keyops.azure.vault import GET_VALUE_ACTION, READ_METADATA_ACTION
from keyops.errors import AuthError, KeyopsError
from keyops.secret import SecretValue
from keyops.smoke.runner import choose_deployment

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from keyops.azure.arm import AccountKeys, AccountsClient, Deployment
    from keyops.azure.authorization import AuthorizationClient
    from keyops.azure.vault import SecretVersion, VaultClient
    from keyops.cloud import AzureEnvironment
    from keyops.targets import Target

T = TypeVar("T")
#: Outcomes that mean a call could not tell anything about the credential.
INCONCLUSIVE = frozenset(
    {
        Outcome.SERVER_ERROR,
        Outcome.TIMEOUT,
        Outcome.TLS_ERROR,
        Outcome.CONNECTION_ERROR,
        Outcome.TOKEN_UNAVAILABLE,
        Outcome.INVALID_HEADER,
    }
)


class ClientCache(Generic[T]):
    """One client per key (subscription or vault URL), made on first use, shared by workers."""

    def __init__(self, make: Callable[[str], T]) -> None:
        self._make = make
        self._made: dict[str, T] = {}
        self._lock = threading.Lock()

    def __call__(self, key: str) -> T:
        with self._lock:
            if key.lower() not in self._made:
                self._made[key.lower()] = self._make(key)
            return self._made[key.lower()]

    def values(self) -> list[T]:
        """Every client made so far."""
        with self._lock:
            return list(self._made.values())


@dataclass(frozen=True)
class ProbeSettings:
    """How the audit's data-plane calls are made."""

    timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=2, max_wait=5.0))
    api_version: str = DEFAULT_API_VERSION


@dataclass
class AuditContext:
    """Everything a worker needs; clients are shared (the SDK clients are thread-safe)."""

    env: AzureEnvironment
    credential: TokenCredential
    accounts_for: Callable[[str], AccountsClient]
    vault_for: Callable[[str], VaultClient]
    authorization_for: Callable[[str], AuthorizationClient]
    principal_id: str | None
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def _call(
    ctx: AuditContext,
    target: Target,
    deployment: Deployment | None,
    name: str,
    auth: KeyAuth | TokenAuth,
    problems: list[str],
) -> CredentialCheck:
    fingerprint = auth.key.fingerprint if isinstance(auth, KeyAuth) else None
    if deployment is None:
        return CredentialCheck(name, fingerprint=fingerprint, skipped="no deployment to call")
    if isinstance(auth, KeyAuth) and not auth.key:
        return CredentialCheck(name, skipped="empty key")
    result = probe(
        target.account.endpoint,
        deployment.name,
        auth,
        api="completions" if deployment.api == "completions" else "chat",
        api_version=target.api_version or ctx.probe.api_version,
        timeout=ctx.probe.timeout,
        retry=ctx.probe.retry,
        verify=ctx.env.verify,
    )
    if result.outcome in INCONCLUSIVE:
        problems.append(
            f"{name} call inconclusive: {result.outcome.value}"
            + (f" ({result.error_code})" if result.error_code else "")
        )
    return CredentialCheck(
        name, result.outcome.value, result.status, result.error_code, result.latency_ms, fingerprint
    )


def _keys(
    ctx: AuditContext, target: Target, problems: list[str]
) -> tuple[AccountKeys | None, bool | None, str | None]:
    """(keys, whether listKeys was allowed, why keys are unknown)."""
    try:
        return (
            ctx.accounts_for(target.account.subscription_id).list_keys(target.account.id),
            True,
            None,
        )
    except AuthError:
        # AUD011 names the role split; the SDK's long AuthorizationFailed text adds nothing.
        problems.append("listKeys denied for this identity: Key1 and Key2 were not checked")
        return None, False, "listKeys denied"
    except KeyopsError as exc:
        if target.account.disable_local_auth:
            # Azure refuses listKeys (400) when local auth is off: expected, not a problem.
            return None, None, "listKeys refused (disableLocalAuth)"
        problems.append(f"listKeys failed: {exc}")
        return None, None, "listKeys failed"


def _secret(
    ctx: AuditContext, target: Target, keys: AccountKeys | None, problems: list[str]
) -> tuple[SecretState | None, SecretValue | None]:
    url, name = target.vault_url, target.secret_name
    if not url:
        return None, None
    vault = ctx.vault_for(url)
    try:
        latest = vault.get_latest(name)
    except AuthError as exc:
        return _unreadable(vault, url, name, str(exc), problems, ctx.now), None
    except KeyopsError as exc:
        problems.append(f"secret {name} unreadable: {exc}")
        return SecretState(url, name, present=None, readable=False, error=str(exc)), None
    if latest is None:
        return SecretState(url, name, present=False), None
    value = latest.value
    created = latest.created
    return SecretState(
        vault_url=url,
        name=name,
        present=True,
        enabled=latest.enabled,
        compared=keys is not None and value is not None,
        matches=keys.slot_held_by(value) if keys is not None and value is not None else None,
        text_problem=value.text_problem if value is not None else None,
        created=created,
        expires_on=latest.expires_on,
        age_days=(ctx.now - created).days if created else None,
        expired=latest.expires_on is not None and latest.expires_on <= ctx.now,
        credential_id_tag=latest.tags.get("CredentialId"),
        fingerprint=value.fingerprint if value is not None else None,
    ), value


def _unreadable(
    vault: VaultClient, url: str, name: str, error: str, problems: list[str], now: datetime
) -> SecretState:
    """A 403 on get: a disabled latest version (its metadata says so) or a denied data action.

    When listing the versions is refused or fails too, whether the secret exists is unknown:
    an identity without Key Vault data access cannot tell a missing secret from a hidden one.
    """
    denied: tuple[str, ...] = (GET_VALUE_ACTION,)
    try:
        versions: list[SecretVersion] | None = vault.list_versions(name)
    except AuthError:
        versions, denied = None, (GET_VALUE_ACTION, READ_METADATA_ACTION)
    except KeyopsError as exc:
        problems.append(f"secret {name} versions unreadable: {exc}")
        versions = None
    if not versions:
        present = None if versions is None else False
        return SecretState(url, name, present, readable=False, error=error, denied_actions=denied)
    latest = versions[-1]
    # A disabled latest version explains the 403 by itself (SecretDisabled); otherwise the
    # metadata was readable but the value was not (e.g. Key Vault Reader).
    return SecretState(
        url,
        name,
        present=True,
        readable=False,
        enabled=latest.enabled,
        created=latest.created,
        expires_on=latest.expires_on,
        age_days=(now - latest.created).days if latest.created else None,
        expired=latest.expires_on is not None and latest.expires_on <= now,
        credential_id_tag=latest.tags.get("CredentialId"),
        error=None if not latest.enabled else error,
        denied_actions=() if not latest.enabled else (GET_VALUE_ACTION,),
    )


def _access(ctx: AuditContext, target: Target, problems: list[str]) -> AccessView | None:
    account = target.account
    try:
        client = ctx.authorization_for(account.subscription_id)
        return access_view(
            account.id, client.list_role_assignments(account.id), client.get_role_definition
        )
    except KeyopsError as exc:
        problems.append(f"role assignments unreadable: {exc}")
        return None


def audit_target(ctx: AuditContext, target: Target) -> AccountRow:
    """The matrix row for one target (every problem recorded on the row)."""
    account = target.account
    problems: list[str] = []
    try:
        deployments = ctx.accounts_for(account.subscription_id).list_deployments(account.id)
    except KeyopsError as exc:
        problems.append(f"deployments unreadable: {exc}")
        deployments = []
    deployment = choose_deployment(deployments, target.deployment)
    if deployment is None:
        problems.append(f"no deployment to call ({target.deployment or 'no chat or completions'})")
    keys, listed, why = _keys(ctx, target, problems)
    secret, secret_value = _secret(ctx, target, keys, problems)
    checks: dict[str, CredentialCheck] = {}
    for slot in ("Key1", "Key2"):
        checks[slot] = (
            _call(ctx, target, deployment, slot, KeyAuth(keys.slot(slot)), problems)
            if keys is not None
            else CredentialCheck(slot, skipped=why)
        )
    checks["vault"] = _vault_check(ctx, target, deployment, secret, secret_value, problems)
    checks["entra"] = _call(
        ctx,
        target,
        deployment,
        "entra",
        TokenAuth(ctx.credential, ctx.env.cognitive_scope),
        problems,
    )
    access = _access(ctx, target, problems)
    return AccountRow(
        id=account.id,
        name=account.name,
        resource_group=account.resource_group,
        kind=account.kind,
        location=account.location,
        endpoint=account.endpoint,
        endpoint_type="custom_subdomain" if account.custom_subdomain else "regional",
        disable_local_auth=account.disable_local_auth,
        public_network_access=account.public_network_access,
        deployments=tuple(d.name for d in deployments),
        probe_deployment=deployment.name if deployment else None,
        checks=checks,
        secret=secret,
        access=access,
        identity=identity_view(
            ctx.principal_id, access, listed_keys=listed, entra_outcome=checks["entra"].outcome
        ),
        problems=tuple(problems),
    )


def _vault_check(
    ctx: AuditContext,
    target: Target,
    deployment: Deployment | None,
    secret: SecretState | None,
    value: SecretValue | None,
    problems: list[str],
) -> CredentialCheck:
    """The call with the stored key; a value that is not a key's text (AUD017) is not sent."""
    if not value:
        return CredentialCheck("vault", skipped=_why_no_secret(secret))
    if secret is not None and secret.text_problem:
        return CredentialCheck(
            "vault", fingerprint=value.fingerprint, skipped=f"value {secret.text_problem}"
        )
    return _call(ctx, target, deployment, "vault", KeyAuth(value), problems)


def _why_no_secret(secret: SecretState | None) -> str:
    if secret is None:
        return "no vault configured"
    if secret.present is False:
        return "no secret in the vault"
    return "secret unreadable" if not secret.readable else "secret empty"


def collect_rows(
    ctx: AuditContext,
    targets: Sequence[Target],
    *,
    workers: int = 8,
    on_done: Callable[[], None] | None = None,
) -> list[AccountRow]:
    """Audit every target in parallel; rows come back in the targets' order. ``on_done`` is
    called as each target finishes (a progress bar)."""
    if not targets:
        return []

    def one(target: Target) -> AccountRow:
        row = audit_target(ctx, target)
        if on_done is not None:
            on_done()
        return row

    with ThreadPoolExecutor(
        max_workers=max(1, min(workers, len(targets))), thread_name_prefix="keyops-audit"
    ) as pool:
        return list(pool.map(one, targets))


def close_all(*caches: ClientCache[Any]) -> None:
    """Close every client the caches made."""
    for cache in caches:
        for client in cache.values():
            client.close()
