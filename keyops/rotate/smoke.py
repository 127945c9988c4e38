"""The rotation's test step: does the new key work on the data plane yet?

A regenerated key can take seconds to minutes before the data plane accepts it, so the test
retries with back-off — "key refused", server errors and timeouts — until the propagation
timeout. A 429 proves the key: Azure OpenAI throttles only callers it authenticated, so it
counts as "key accepted, throttled" at once. The rotation talks to a
:class:`KeyTester`; :class:`ProbeKeyTester` is the real one, built on the shared data-plane
probe (:mod:`keyops.azure.probe`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import requests

    from keyops.azure.arm import Account, Deployment
    from keyops.cloud import AzureEnvironment
    from keyops.secret import SecretValue


@dataclass(frozen=True)
class KeyTestResult:
    """The test step's verdict (never holds a key)."""

    ok: bool
    outcome: str
    detail: str
    attempts: int
    waited: float


class KeyTester(Protocol):
    """Proves that a key works on an account's data plane."""

    def __call__(
        self,
        account: Account,
        deployment: Deployment,
        key: SecretValue,
        *,
        api_version: str | None,
        timeout: timedelta,
    ) -> KeyTestResult:
        """Test ``key`` with a minimal call to ``deployment``, retrying up to ``timeout``."""


class ProbeKeyTester:
    """A :class:`KeyTester` making one ``max_tokens: 1`` completion per attempt.

    ``session`` is shared by every test of a run (connections to a data-plane host are reused
    across accounts); without one, each test makes its own.
    """

    def __init__(self, env: AzureEnvironment, session: requests.Session | None = None) -> None:
        self.env = env
        self.session = session

    def __call__(
        self,
        account: Account,
        deployment: Deployment,
        key: SecretValue,
        *,
        api_version: str | None,
        timeout: timedelta,
    ) -> KeyTestResult:
        from keyops.azure.probe import DEFAULT_API_VERSION, KeyAuth, Outcome, RetryPolicy, probe

        retry = RetryPolicy(
            max_attempts=10_000,  # bounded by max_wait, not by count
            max_wait=timeout.total_seconds(),
            backoff=0.5,
            max_backoff=8.0,
            retry_on=frozenset({Outcome.INVALID_KEY, Outcome.SERVER_ERROR, Outcome.TIMEOUT}),
        )
        result = probe(
            account.endpoint,
            deployment.name,
            KeyAuth(key),
            api="completions" if deployment.api == "completions" else "chat",
            api_version=api_version or DEFAULT_API_VERSION,
            retry=retry,
            verify=self.env.verify,
            session=self.session,
        )
        if result.outcome is Outcome.THROTTLED:
            detail = f"key accepted, throttled (HTTP 429, {result.attempts} attempt(s))"
            return KeyTestResult(True, result.outcome.value, detail, result.attempts, 0.0)
        status = f"HTTP {result.status}" if result.status else "no answer"
        code = f" {result.error_code}" if result.error_code else ""
        detail = (
            f"{result.outcome.description} ({status}{code}, {result.attempts} attempt(s), "
            f"{result.retry_after_waited:.1f}s waited)"
        )
        return KeyTestResult(
            result.ok, result.outcome.value, detail, result.attempts, result.retry_after_waited
        )
