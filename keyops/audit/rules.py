"""Audit rules: findings from matrix rows. Plain functions over dataclasses, no Azure calls."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from keyops.audit.findings import Finding, finding
from keyops.audit.model import AccountRow
from keyops.azure.vault import vault_name

#: Outcomes (probe :class:`~keyops.azure.probe.Outcome` values) that prove a credential works.
ACCEPTED = frozenset({"ok", "throttled"})


@dataclass(frozen=True)
class AuditPolicy:
    """Thresholds the rules judge against."""

    max_secret_age_days: int = 90


Check = Callable[[AccountRow, AuditPolicy], Iterable[Finding]]


def _f(rule_id: str, row: AccountRow, message: str) -> Finding:
    return finding(rule_id, row.id, row.name, message)


def secret_rules(row: AccountRow, policy: AuditPolicy) -> Iterable[Finding]:
    """AUD001-AUD007, AUD014, AUD017 and AUD018: the vault secret against the keys and the
    policy."""
    s = row.secret
    if s is None:
        return
    where = f"secret {s.name!r} in vault {vault_name(s.vault_url)}"
    if s.present is None:
        # Neither its value nor its versions answered: no claim about the secret can be made.
        if s.denied_actions:
            yield _unreadable(row, where, s.denied_actions, "whether it exists is unknown")
        return
    if not s.present:
        if not row.disable_local_auth:
            yield _f("AUD002", row, f"no {where}")
        return
    if row.disable_local_auth:
        yield _f("AUD014", row, f"{where} holds a key, but disableLocalAuth is true")
        return
    if s.denied_actions:
        yield _unreadable(row, where, s.denied_actions, "its value was not compared with the keys")
    if s.enabled is False:
        yield _f("AUD004", row, f"the latest version of {where} is disabled")
    if s.text_problem:
        held = f"; without it, it is {s.matches}" if s.matches else ""
        yield _f("AUD017", row, f"{where} ({s.fingerprint}) {s.text_problem}{held}")
    if s.compared and s.matches is None:
        yield _f("AUD001", row, f"{where} ({s.fingerprint}) matches neither Key1 nor Key2")
    elif not s.compared and row.check("vault").outcome == "invalid_key":
        yield _f("AUD001", row, f"{where} ({s.fingerprint}) is refused by the data plane")
    if s.expired and s.expires_on is not None:
        yield _f("AUD003", row, f"{where} expired on {s.expires_on.date().isoformat()}")
    if s.age_days is not None and s.age_days > policy.max_secret_age_days:
        yield _f(
            "AUD005",
            row,
            f"{where} is {s.age_days} days old (policy: {policy.max_secret_age_days} days)",
        )
    if s.expires_on is None and s.enabled is not False:
        yield _f("AUD006", row, f"{where} has no expiry")
    tag = s.credential_id_tag
    if s.matches and tag and tag.lower() != s.matches.lower():
        yield _f("AUD007", row, f"{where} holds {s.matches} but is tagged CredentialId={tag}")


def _unreadable(row: AccountRow, where: str, denied: tuple[str, ...], unknown: str) -> Finding:
    me = row.identity.principal_id
    who = f"identity {me}" if me else "the identity keyops runs as"
    return _f(
        "AUD018",
        row,
        f"keyops could not read {where}: {who} lacks {' and '.join(denied)}; {unknown}",
    )


def auth_rules(row: AccountRow, policy: AuditPolicy) -> Iterable[Finding]:
    """AUD008, AUD009, AUD015: which auth methods work and what that means."""
    entra = row.check("entra")
    if not row.disable_local_auth and entra.outcome in ACCEPTED:
        yield _f("AUD008", row, "an Entra token works for this identity; keys are still enabled")
    if row.endpoint_type == "regional":
        yield _f("AUD009", row, f"endpoint {row.endpoint} is regional (no custom subdomain)")
    if not row.disable_local_auth:
        for slot in ("Key1", "Key2"):
            check = row.check(slot)
            if check.outcome == "invalid_key":
                yield _f(
                    "AUD015", row, f"{slot} ({check.fingerprint}) is refused by the data plane"
                )


def identity_rules(row: AccountRow, policy: AuditPolicy) -> Iterable[Finding]:
    """AUD010, AUD011: the role split of the identity keyops runs as."""
    me = row.identity
    manages = bool(me.can_read_keys or me.can_regenerate_keys)
    if manages and me.can_call_inference is False:
        yield _f(
            "AUD010",
            row,
            f"identity {me.principal_id} can manage keys but holds no inference data action",
        )
    if me.can_call_inference and me.can_read_keys is False and me.can_regenerate_keys is False:
        yield _f(
            "AUD011",
            row,
            f"identity {me.principal_id} can call inference "
            "but can neither read nor regenerate keys",
        )


def access_rules(row: AccountRow, policy: AuditPolicy) -> Iterable[Finding]:
    """AUD012, AUD013: least privilege over everyone who holds a role at the account."""
    access = row.access
    if access is None:
        return
    broad = access.principals(
        tuple(g for g in access.read_keys + access.regenerate_keys if g.above_account)
    )
    if broad:
        yield _f(
            "AUD012",
            row,
            f"{len(broad)} principal(s) reach the keys from above the account: {', '.join(broad)}",
        )
    regenerators = set(access.principals(access.regenerate_keys))
    inferers = set(access.principals(access.inference))
    consumers = sorted(
        p for p in access.principals(access.read_keys) if p in inferers and p not in regenerators
    )
    if consumers:
        yield _f(
            "AUD013",
            row,
            f"{len(consumers)} principal(s) can call inference and read "
            f"the keys: {', '.join(consumers)}",
        )


def usage_rules(row: AccountRow, policy: AuditPolicy) -> Iterable[Finding]:
    """AUD019, AUD020: who the logs say uses the keys, or why they say nothing."""
    from keyops.audit.usage import in_use_by

    item = row.usage
    if item is None:
        return
    if item.evidence is None:
        yield _f("AUD020", row, f"the logs could not be read: {item.error}")
        return
    keys, _, readers = in_use_by(item)
    if keys or readers:
        yield _f(
            "AUD019",
            row,
            f"keys still in use by {keys + readers} caller(s): {keys} calling with a key "
            f"(slot unknown), {readers} reading the vault secret",
        )
    for gap in item.evidence.coverage.findings:
        yield _f("AUD020", row, f"{gap.message} (fix: {gap.fix})")


def completeness_rules(row: AccountRow, policy: AuditPolicy) -> Iterable[Finding]:
    """AUD016: what the audit could not find out."""
    for problem in row.problems:
        yield _f("AUD016", row, problem)


CHECKS: tuple[Check, ...] = (
    secret_rules,
    auth_rules,
    identity_rules,
    access_rules,
    usage_rules,
    completeness_rules,
)


def evaluate(rows: Iterable[AccountRow], policy: AuditPolicy | None = None) -> list[Finding]:
    """Every finding for ``rows``, most severe first (stable within a severity)."""
    policy = policy or AuditPolicy()
    found = [f for row in rows for check in CHECKS for f in check(row, policy)]
    return sorted(found, key=lambda f: -int(f.severity))
