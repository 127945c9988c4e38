"""Audit findings and the catalogue of rules that produce them.

Each rule has a stable id (``AUD0NN``, used as the SARIF ``ruleId``), a short name, a default
severity and a recommendation; a :class:`Finding` is one rule firing on one account, with a
message naming what was seen (never a key: fingerprints and slot names only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keyops.severity import Severity


@dataclass(frozen=True)
class Rule:
    """One audit rule."""

    id: str
    name: str
    severity: Severity
    title: str
    recommendation: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "AUD001",
            "vault-secret-matches-no-key",
            Severity.CRITICAL,
            "The Key Vault secret matches neither current key: its consumers are broken",
            "Write the account's current key to the secret (keyops rotate does this), then make "
            "consumers re-read it.",
        ),
        Rule(
            "AUD002",
            "vault-secret-missing",
            Severity.MEDIUM,
            "Key authentication is enabled but no Key Vault secret holds this account's key",
            "Store the key consumers use in Key Vault (keyops rotate writes it) and have consumers "
            "read it from there, or move them to Entra tokens.",
        ),
        Rule(
            "AUD003",
            "vault-secret-expired",
            Severity.HIGH,
            "The Key Vault secret is past its expiry",
            "Rotate: write a fresh key version with a new expiry (keyops rotate).",
        ),
        Rule(
            "AUD004",
            "vault-secret-disabled",
            Severity.HIGH,
            "The latest version of the Key Vault secret is disabled: consumers cannot read it",
            "Enable the version or write a new one holding the current key.",
        ),
        Rule(
            "AUD005",
            "vault-secret-stale",
            Severity.MEDIUM,
            "The Key Vault secret is older than the rotation policy allows",
            "Rotate the key (keyops rotate) and keep to the policy's age.",
        ),
        Rule(
            "AUD006",
            "vault-secret-no-expiry",
            Severity.LOW,
            "The Key Vault secret has no expiry, so nothing announces a due rotation",
            "Set an expiry on each version (keyops rotate sets it from 'validity') so Key Vault "
            "raises SecretNearExpiry.",
        ),
        Rule(
            "AUD007",
            "vault-secret-slot-tag-mismatch",
            Severity.LOW,
            "The secret's CredentialId tag names another slot than the key it holds",
            "Correct the CredentialId tag, or rotation will regenerate the key in use.",
        ),
        Rule(
            "AUD008",
            "entra-works-disable-local-auth",
            Severity.MEDIUM,
            "Entra ID works for this identity while key authentication is still enabled",
            "Move consumers to Entra tokens (Cognitive Services OpenAI User), then set "
            "disableLocalAuth=true so keys stop working.",
        ),
        Rule(
            "AUD009",
            "regional-endpoint",
            Severity.MEDIUM,
            "Regional endpoint: token authentication is impossible until a custom subdomain exists",
            "Give the account a custom subdomain (customSubDomainName; it cannot be changed later) "
            "and move clients to https://<name>.openai.azure.com/.",
        ),
        Rule(
            "AUD010",
            "keys-without-inference",
            Severity.LOW,
            "The identity can read or regenerate keys but cannot call inference with a token",
            "If keyops should verify Entra access, grant it Cognitive Services OpenAI User at the "
            "account; otherwise this split is intended.",
        ),
        Rule(
            "AUD011",
            "inference-without-keys",
            Severity.LOW,
            "The identity can call inference but cannot read or regenerate the keys",
            "Run rotation as an identity with Cognitive Services Contributor at the account, or "
            "stop using keys for this account.",
        ),
        Rule(
            "AUD012",
            "key-access-above-account",
            Severity.LOW,
            "Principals can read or regenerate the keys through assignments above the account",
            "Assign key-management roles at the account's scope, not its resource group, "
            "subscription or management group.",
        ),
        Rule(
            "AUD013",
            "consumer-can-read-keys",
            Severity.MEDIUM,
            "Principals that call inference can also read the keys (e.g. Cognitive Services User)",
            "Give consumers Cognitive Services OpenAI User instead: inference without key access.",
        ),
        Rule(
            "AUD014",
            "secret-for-disabled-key-auth",
            Severity.LOW,
            "Key authentication is disabled but a key is still stored in Key Vault",
            "Delete the unused secret so nobody relies on a key that no longer works.",
        ),
        Rule(
            "AUD015",
            "current-key-refused",
            Severity.HIGH,
            "The data plane refuses a key ARM lists as current",
            "Check for a regeneration in progress (keys take time to propagate) or a network rule; "
            "do not hand this key out.",
        ),
        Rule(
            "AUD016",
            "audit-incomplete",
            Severity.LOW,
            "Part of the audit could not be done for this account",
            "Grant the auditing identity read access (Reader, Cognitive Services Contributor for "
            "keys, Key Vault Secrets User) or fix connectivity, then re-run.",
        ),
        Rule(
            "AUD017",
            "vault-secret-malformed",
            Severity.HIGH,
            "The Key Vault secret's value is not a key's text (whitespace or control characters)",
            "Store the key again without the stray characters (keyops rotate writes a clean "
            "version); consumers that do not strip the value fail, and HTTP libraries refuse it.",
        ),
        Rule(
            "AUD018",
            "vault-secret-unreadable",
            # Like AUD016: a gap in what the audit saw, not a fault of the account; the secret
            # may be fine. Its absence (AUD002) is only claimed when Key Vault says so.
            Severity.LOW,
            "keyops could not read the Key Vault secret: the secret checks were not made",
            "Grant the auditing identity Key Vault Secrets User on the vault (data actions "
            "Microsoft.KeyVault/vaults/secrets/getSecret/action and readMetadata/action; on an "
            "access-policy vault, the secret Get and List permissions), then re-run.",
        ),
        Rule(
            "AUD019",
            "keys-in-use",
            Severity.INFO,
            "The logs show callers still using the account's keys or reading its vault secret",
            "Before revoking a key, see who uses it with `keyops consumers`; move key callers to "
            "the vault (or to Entra ID tokens) and let readers refresh first.",
        ),
        Rule(
            "AUD020",
            "no-usage-evidence",
            # A gap in what keyops can see, like AUD016: not a fault of the keys themselves.
            Severity.LOW,
            "No usage evidence: the logs that say who uses the keys are off or unreadable",
            "Send Key Vault AuditEvent and Azure OpenAI RequestResponse logs to a Log Analytics "
            "workspace with enough retention, and grant the auditing identity Log Analytics "
            "Reader on it.",
        ),
    )
}


@dataclass(frozen=True)
class Finding:
    """One rule firing on one account."""

    rule_id: str
    severity: Severity
    account_id: str
    account: str
    message: str

    @property
    def rule(self) -> Rule:
        """The rule that fired."""
        return RULES[self.rule_id]

    @property
    def recommendation(self) -> str:
        """What to do about it."""
        return self.rule.recommendation

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record."""
        return {
            "rule_id": self.rule_id,
            "rule": self.rule.name,
            "severity": self.severity.label,
            "account": self.account,
            "account_id": self.account_id,
            "message": self.message,
            "recommendation": self.recommendation,
        }


def finding(
    rule_id: str, row_id: str, row_name: str, message: str, severity: Severity | None = None
) -> Finding:
    """A finding of ``rule_id`` (at the rule's severity unless given)."""
    return Finding(rule_id, severity or RULES[rule_id].severity, row_id, row_name, message)


def worst(findings: list[Finding]) -> Severity | None:
    """The highest severity among ``findings`` (None if there are none)."""
    return max((f.severity for f in findings), default=None)
