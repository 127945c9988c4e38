"""The Azure clients one rotation run shares across its accounts and worker threads.

One ARM client per subscription and one Key Vault client per vault, made on first use; one
:class:`~keyops.azure.pacing.RetryAfterGate` per surface, so that a 429 on any account slows
the whole fleet instead of every worker collecting its own. All of them share one HTTPS session
whose per-host pools hold as many connections as there are workers (plus a spare for token
refreshes), so raising the concurrency never discards connections and re-handshakes; the key
tests share a second one (data-plane hosts are many; ARM and vaults are few).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from keyops.azure.pacing import Budget, RetryAfterGate, RetrySettings, SingleFlightCredential
from keyops.rotate.holders import VaultIndex

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from keyops.azure.arm import AccountsClient
    from keyops.azure.vault import VaultClient
    from keyops.cloud import AzureEnvironment
    from keyops.rotate.smoke import KeyTester


class RotationServices:
    """Clients for one run: ARM per subscription, Key Vault per vault, and the key tester."""

    def __init__(
        self,
        env: AzureEnvironment,
        credential: TokenCredential,
        *,
        tester: KeyTester | None = None,
        retry: RetrySettings | None = None,
        concurrency: int = 4,
    ) -> None:
        from keyops.azure.tls import new_session
        from keyops.rotate.smoke import ProbeKeyTester

        self.env = env
        self.credential: TokenCredential = SingleFlightCredential(credential)
        self.session = new_session(env.verify, pool_size=concurrency + 2)
        self._probe_session = new_session(env.verify, pool_size=concurrency + 2)
        self.tester: KeyTester = tester or ProbeKeyTester(env, self._probe_session)
        self.retry = retry
        self.budget = Budget()
        self.arm_gate = RetryAfterGate()
        self.vault_gate = RetryAfterGate()
        #: Which secret holds which key, per vault, read once per run (see rotate.holders).
        self.holders = VaultIndex()
        self._lock = threading.Lock()
        self._accounts: dict[str, AccountsClient] = {}
        self._vaults: dict[str, VaultClient] = {}

    def accounts(self, subscription_id: str) -> AccountsClient:
        """The ARM client for a subscription."""
        from keyops.azure.arm import AccountsClient

        key = subscription_id.lower()
        with self._lock:
            if key not in self._accounts:
                self._accounts[key] = AccountsClient(
                    self.env,
                    self.credential,
                    subscription_id,
                    gate=self.arm_gate,
                    retry=self.retry,
                    session=self.session,
                    budget=self.budget,
                )
            return self._accounts[key]

    def vault(self, vault_url: str) -> VaultClient:
        """The Key Vault client for a vault URL."""
        from keyops.azure.vault import VaultClient

        key = vault_url.rstrip("/").lower()
        with self._lock:
            if key not in self._vaults:
                self._vaults[key] = VaultClient(
                    self.env,
                    self.credential,
                    vault_url,
                    gate=self.vault_gate,
                    retry=self.retry,
                    session=self.session,
                    budget=self.budget,
                )
            return self._vaults[key]

    def close(self) -> None:
        """Close every client's HTTP session."""
        with self._lock:
            for accounts in self._accounts.values():
                accounts.close()
            for vault in self._vaults.values():
                vault.close()
            self._accounts.clear()
            self._vaults.clear()
            self.session.close()
            self._probe_session.close()
