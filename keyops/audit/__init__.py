"""``keyops audit``'s library: which auth method works per account, who holds which power, and
what to fix.

:func:`run_audit` collects the matrix live (:mod:`keyops.audit.collect`), evaluates the rules
(:mod:`keyops.audit.rules`) and returns an :class:`~keyops.audit.matrix.AuditReport`, which
renders as JSON, table rows or SARIF (:mod:`keyops.audit.sarif`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from keyops.audit.collect import AuditContext, ClientCache, ProbeSettings, close_all, collect_rows
from keyops.audit.matrix import AuditReport
from keyops.audit.rules import AuditPolicy, evaluate

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from keyops.azure.arm import AccountsClient
    from keyops.azure.authorization import AuthorizationClient
    from keyops.azure.pacing import RetrySettings
    from keyops.azure.vault import VaultClient
    from keyops.cloud import AzureEnvironment
    from keyops.targets import Target

__all__ = ["AuditPolicy", "AuditReport", "ProbeSettings", "run_audit"]


def run_audit(
    env: AzureEnvironment,
    credential: TokenCredential,
    accounts: AccountsClient,
    targets: Sequence[Target],
    *,
    policy: AuditPolicy | None = None,
    probe: ProbeSettings | None = None,
    workers: int = 8,
    retry: RetrySettings | None = None,
    on_done: Callable[[], None] | None = None,
    usage_window: timedelta | None = None,
) -> AuditReport:
    """Audit ``targets`` (resolved with ``accounts``) live and in parallel.

    ``accounts`` is reused for its subscription and cloned for others; vault and authorization
    clients are made per vault URL / subscription and closed at the end.
    """
    from keyops.azure.authorization import AuthorizationClient, current_principal_id
    from keyops.azure.pacing import RetryAfterGate
    from keyops.azure.vault import VaultClient

    policy = policy or AuditPolicy()
    arm_gate, vault_gate = RetryAfterGate(), RetryAfterGate()

    def make_accounts(sub: str) -> AccountsClient:
        return (
            accounts
            if sub.lower() == accounts.subscription_id.lower()
            else (accounts.with_subscription(sub))
        )

    def make_vault(url: str) -> VaultClient:
        return VaultClient(env, credential, url, gate=vault_gate, retry=retry)

    def make_authorization(sub: str) -> AuthorizationClient:
        return AuthorizationClient(env, credential, sub, gate=arm_gate, retry=retry)

    accounts_for = ClientCache(make_accounts)
    vault_for = ClientCache(make_vault)
    authorization_for = ClientCache(make_authorization)
    ctx = AuditContext(
        env=env,
        credential=credential,
        accounts_for=accounts_for,
        vault_for=vault_for,
        authorization_for=authorization_for,
        principal_id=current_principal_id(credential, env),
        probe=probe or ProbeSettings(),
        now=datetime.now(timezone.utc),
    )
    try:
        rows = collect_rows(ctx, targets, workers=workers, on_done=on_done)
    finally:
        close_all(vault_for, authorization_for)
        for client in accounts_for.values():
            if client is not accounts:  # the caller's own client stays open
                client.close()
    if usage_window is not None:
        from keyops.audit.usage import attach_usage

        rows = attach_usage(env, credential, rows, targets, usage_window)
    return AuditReport(
        rows=tuple(rows),
        findings=tuple(evaluate(rows, policy)),
        policy=policy,
        principal_id=ctx.principal_id,
        generated_at=ctx.now,
    )
