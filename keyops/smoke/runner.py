"""Run the probe for each smoke target with its credential, in parallel; never hold a key in output.

A :class:`SmokeTarget` is an account endpoint plus a deployment (from the configuration, from
ARM discovery, or given ad hoc). A :class:`CredentialProvider` turns a target into a key (or a
token) from the chosen :class:`~keyops.smoke.keys.KeySource`. A failure to obtain a key for one
target (no secret, listKeys denied, a stored key with a stray newline) is that target's failed
row; a user mistake (an unset variable, an empty key) stops the run with its own exit status.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from keyops.azure.probe import (
    DEFAULT_API_VERSION,
    Api,
    KeyAuth,
    ProbeResult,
    RetryPolicy,
    TokenAuth,
    probe,
)
from keyops.errors import ConfigError, InputError, KeyopsError, RefusedError
from keyops.smoke.keys import (
    DEFAULT_KEY_VARIABLE,
    KeyOrigin,
    KeySource,
    key_from_arm,
    key_from_dotenv,
    key_from_env,
    key_from_stdin,
    key_from_vault,
)

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from keyops.azure.arm import AccountsClient, Deployment, KeySlot
    from keyops.azure.vault import VaultClient
    from keyops.cloud import AzureEnvironment

SCHEMA = "keyops.smoke/v1"
#: Outcome name for a target whose credential could not be obtained (no call was made).
KEY_UNAVAILABLE = "key_unavailable"
#: Outcome name for a target skipped because its account does not accept keys.
LOCAL_AUTH_DISABLED = "local_auth_disabled"


def choose_deployment(deployments: Sequence[Deployment], wanted: str | None) -> Deployment | None:
    """The named deployment, else the first chat one, else the first completions one."""
    from keyops.targets import pick_deployment

    found = pick_deployment(deployments, wanted)
    if found is None and not wanted:
        found = next((d for d in deployments if d.api == "completions"), None)
    return found


@dataclass(frozen=True)
class SmokeTarget:
    """One endpoint + deployment to call."""

    name: str
    endpoint: str
    deployment: str
    api: Api = "chat"
    api_version: str = DEFAULT_API_VERSION
    account_id: str | None = None
    vault_url: str | None = None
    secret_name: str | None = None


@dataclass(frozen=True)
class SmokeResult:
    """One target's line: what was called, with which key (fingerprint), and what happened."""

    target: SmokeTarget
    auth: str
    origin: str | None
    fingerprint: str | None
    outcome: str
    detail: str
    probe: ProbeResult | None = None
    #: No call was made on purpose (e.g. keys on a disableLocalAuth account): not a failure.
    skipped: bool = False

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.probe is not None and self.probe.ok

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record (no key: its fingerprint only)."""
        p = self.probe
        return {
            "name": self.target.name,
            "endpoint": self.target.endpoint,
            "deployment": self.target.deployment,
            "api": self.target.api,
            "api_version": self.target.api_version,
            "auth": self.auth,
            "key_origin": self.origin,
            "fingerprint": self.fingerprint,
            "outcome": self.outcome,
            "ok": self.ok,
            "skipped": self.skipped,
            "detail": self.detail,
            "status": p.status if p else None,
            "error_code": p.error_code if p else None,
            "latency_ms": round(p.latency_ms, 1) if p and p.latency_ms is not None else None,
            "attempts": p.attempts if p else 0,
            "retry_after_waited": round(p.retry_after_waited, 3) if p else 0.0,
        }


@dataclass
class CredentialProvider:
    """Gives each target its credential from one :class:`KeySource`."""

    source: KeySource
    env: AzureEnvironment
    credential_factory: Callable[[], TokenCredential]
    accounts: AccountsClient | None = None
    vault_factory: Callable[[str], VaultClient] | None = None
    slot: KeySlot | None = None
    variable: str = DEFAULT_KEY_VARIABLE
    env_file: Path = Path(".env")
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    prompt: Callable[[], str] | None = None
    environ: Mapping[str, str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _shared: KeyOrigin | TokenAuth | None = field(default=None, repr=False)

    def shared(self) -> KeyOrigin | TokenAuth | None:
        """Read once the credential all targets share (env, .env, stdin, Entra), else None."""
        with self._lock:
            if self._shared is None:
                self._shared = self._read_shared()
            return self._shared

    def _read_shared(self) -> KeyOrigin | TokenAuth | None:
        if self.source is KeySource.ENV:
            return key_from_env(self.variable, self.environ)
        if self.source is KeySource.DOTENV:
            return key_from_dotenv(self.env_file, self.variable)
        if self.source is KeySource.STDIN:
            return key_from_stdin(self.stdin, self.prompt)
        if self.source is KeySource.ENTRA:
            return TokenAuth(self.credential_factory(), self.env.cognitive_scope)
        return None

    def for_target(self, target: SmokeTarget) -> KeyOrigin | TokenAuth:
        """The credential for ``target`` (per-target sources read the vault or ARM)."""
        shared = self.shared()
        if shared is not None:
            return shared
        if self.source is KeySource.ARM:
            if self.accounts is None or self.slot is None or target.account_id is None:
                raise InputError(
                    "--slot needs an account known to ARM (a target, or an "
                    "--endpoint that is an account's endpoint)"
                )
            return key_from_arm(self.accounts, target.account_id, self.slot, target.name)
        if self.vault_factory is None or not target.vault_url or not target.secret_name:
            raise ConfigError(
                f"{target.name}: no vault for the Key Vault key source (set "
                "vault_url in keyops.toml or pass --vault-url; ad hoc, also "
                "--secret-name)"
            )
        return key_from_vault(self.vault_factory(target.vault_url), target.secret_name)


def smoke_one(
    target: SmokeTarget,
    provider: CredentialProvider,
    *,
    timeout: float,
    retry: RetryPolicy,
    verify: str | bool,
) -> SmokeResult:
    """Obtain the target's credential and make the call."""
    try:
        credential = provider.for_target(target)
    except (InputError, ConfigError, RefusedError):
        raise
    except KeyopsError as exc:
        auth = "entra" if provider.source is KeySource.ENTRA else "key"
        return SmokeResult(target, auth, None, None, KEY_UNAVAILABLE, exc.message)
    if isinstance(credential, TokenAuth):
        auth_obj: KeyAuth | TokenAuth = credential
        origin, fingerprint = "entra", None
    else:
        auth_obj = KeyAuth(credential.key)
        origin, fingerprint = credential.origin, credential.key.fingerprint
    result = probe(
        target.endpoint,
        target.deployment,
        auth_obj,
        api=target.api,
        api_version=target.api_version,
        timeout=timeout,
        retry=retry,
        verify=verify,
    )
    return SmokeResult(
        target,
        auth_obj.kind,
        origin,
        fingerprint,
        result.outcome.value,
        result.outcome.description,
        result,
    )


def run_smoke(
    targets: Sequence[SmokeTarget],
    provider: CredentialProvider,
    *,
    timeout: float = 10.0,
    retry: RetryPolicy | None = None,
    verify: str | bool = True,
    workers: int = 4,
    on_done: Callable[[], None] | None = None,
) -> list[SmokeResult]:
    """Smoke-test every target (in parallel); results in the targets' order. ``on_done`` is
    called as each target finishes (a progress bar)."""
    if not targets:
        return []
    provider.shared()  # a bad shared source fails once, before any call
    policy = retry or RetryPolicy()

    def one(target: SmokeTarget) -> SmokeResult:
        result = smoke_one(target, provider, timeout=timeout, retry=policy, verify=verify)
        if on_done is not None:
            on_done()
        return result

    with ThreadPoolExecutor(
        max_workers=max(1, min(workers, len(targets))), thread_name_prefix="keyops-smoke"
    ) as pool:
        return list(pool.map(one, targets))


def summary(results: Sequence[SmokeResult]) -> dict[str, int]:
    """Counts for the JSON document (a skipped target is neither ok nor failed)."""
    ok = sum(1 for r in results if r.ok)
    skipped = sum(1 for r in results if r.skipped)
    return {
        "total": len(results),
        "ok": ok,
        "failed": len(results) - ok - skipped,
        "skipped": skipped,
    }
