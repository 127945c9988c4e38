"""Workload identity federation: the emulator-hosted test issuers and assertion checks.

Two CI token services are hosted at ``/_issuer/<name>`` (``github``, ``azure-pipelines``), each
with its own RSA key (not the tenant's), made on first use and kept in Entra's state. A
federated identity credential names its issuer by one of those names or by URL; an assertion
from an issuer that is not hosted here cannot be validated (its keys are out of reach), so it
is refused as Entra refuses an assertion it cannot match (AADSTS70021).
"""

from __future__ import annotations

import functools
import re
import uuid
from typing import Any

import jwt

from keyops.emulator.core.context import Emulator
from keyops.emulator.core.layout import issuer_url
from keyops.emulator.core.tokens import Signer, TokenError, new_private_key_pem
from keyops.emulator.services.entra import exceptions as exc

HOSTED_ISSUERS = ("github", "azure-pipelines")
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"  # noqa: S105 (an audience, not a secret)
#: GitHub's and Azure DevOps' ID tokens are valid for a few minutes.
ASSERTION_LIFETIME = 300
_FALLBACK_SUBJECTS = {
    "github": "repo:contoso/ai-platform:ref:refs/heads/main",
    "azure-pipelines": "sc://contoso/ai-platform/keyops-rotation",
}
_GITHUB_SUBJECT = re.compile(r"^repo:(?P<owner>[^/:]+)/(?P<repo>[^:]+)(?::ref:(?P<ref>.+))?")


@functools.lru_cache(maxsize=32)
def _signer(private_pem: str) -> Signer:
    # Loading a PEM costs milliseconds; keys never change once made, so cache by value.
    return Signer(private_pem)


def issuer_signer(emu: Emulator, name: str) -> Signer:
    """The signing key of a hosted issuer, made (and saved) the first time it is needed."""
    issuers: dict[str, Any] = emu.store.section("entra").setdefault("issuers", {})
    entry = issuers.get(name)
    if not isinstance(entry, dict):
        # Made lazily: most emulators never use an issuer, and RSA key generation is slow.
        entry = issuers[name] = {"signing_key": new_private_key_pem()}
        emu.commit()
    return _signer(str(entry["signing_key"]))


def resolve_issuer(emu: Emulator, issuer: str) -> str:
    """A federated credential's issuer as a URL (a hosted issuer's name becomes its URL)."""
    return issuer if "://" in issuer else issuer_url(emu.base_url, issuer)


def hosted_name(emu: Emulator, url: str) -> str | None:
    """The hosted issuer behind a URL, or None when the issuer lives elsewhere."""
    for name in HOSTED_ISSUERS:
        if issuer_url(emu.base_url, name) == url:
            return name
    return None


def default_subject(emu: Emulator, name: str) -> str:
    """The subject a hosted issuer puts in its tokens unless asked otherwise.

    The first federated credential in the world that trusts this issuer, so that a token from
    the runner works out of the box, as a correctly configured pipeline's does.
    """
    url = issuer_url(emu.base_url, name)
    for p in emu.world.principals:
        for f in p.federated_credentials:
            if resolve_issuer(emu, f.issuer) == url:
                return f.subject
    return _FALLBACK_SUBJECTS[name]


def mint(
    emu: Emulator,
    name: str,
    *,
    subject: str | None = None,
    audience: str | list[str] = TOKEN_EXCHANGE_AUDIENCE,
    expires_in: int = ASSERTION_LIFETIME,
    not_before: int = 0,
    extra: dict[str, Any] | None = None,
) -> str:
    """An ID token from a hosted issuer; times are seconds from the emulated now."""
    now = int(emu.clock.now())
    subject = subject or default_subject(emu, name)
    claims: dict[str, Any] = {
        "jti": str(uuid.uuid4()),
        "sub": subject,
        "aud": audience,
        "iss": issuer_url(emu.base_url, name),
        "iat": now,
        "nbf": now + not_before,
        "exp": now + expires_in,
    }
    claims.update(_context_claims(name, subject))
    if extra:
        claims.update(extra)
    return issuer_signer(emu, name).sign(claims)


def _context_claims(name: str, subject: str) -> dict[str, Any]:
    """The run context GitHub adds beside ``sub`` (Azure DevOps adds none that matter here)."""
    m = _GITHUB_SUBJECT.match(subject) if name == "github" else None
    if m is None:
        return {}
    claims = {
        "repository": f"{m['owner']}/{m['repo']}",
        "repository_owner": m["owner"],
        "runner_environment": "github-hosted",
    }
    if m["ref"]:
        claims["ref"] = m["ref"]
        claims["ref_type"] = "tag" if m["ref"].startswith("refs/tags/") else "branch"
    return claims


def _unverified(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(
            assertion,
            options={
                "verify_signature": False,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.PyJWTError:
        raise exc.malformed_assertion() from None
    if not isinstance(claims.get("iss"), str) or not isinstance(claims.get("sub"), str):
        raise exc.malformed_assertion()
    return header, claims


def _check_signature(
    emu: Emulator, name: str, assertion: str, header: dict[str, Any], claims: dict[str, Any]
) -> None:
    signer = issuer_signer(emu, name)
    if header.get("kid") != signer.kid:
        raise exc.signing_key_not_found(str(header.get("kid") or ""), str(claims["iss"]))
    now = emu.clock.now()
    try:
        signer.verify(assertion, now=now, issuer=None, audiences=None)
    except TokenError as err:
        if err.reason in ("token expired", "token not yet valid"):
            raise exc.assertion_out_of_time(
                now, _number(claims.get("nbf")), _number(claims.get("exp"))
            ) from None
        if err.reason == "invalid signature":
            raise exc.invalid_assertion_signature() from None
        raise exc.malformed_assertion() from None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def verify_assertion(emu: Emulator, who: dict[str, Any], assertion: str) -> None:
    """Accept a federated ``client_assertion`` for principal ``who`` or raise Entra's error.

    Order as Entra reports it: an issuer the app trusts (700211), one whose keys can be read
    (70021), a key it publishes (7000272) and a valid signature (700027), the time window
    (700024), then a credential matching the audience (700212) and the subject (700213).
    """
    header, claims = _unverified(assertion)
    iss, sub = str(claims["iss"]), str(claims["sub"])
    aud = claims.get("aud")
    audiences = [a for a in (aud if isinstance(aud, list) else [aud]) if isinstance(a, str)]
    records = [
        f
        for f in who.get("federated_credentials", [])
        if resolve_issuer(emu, str(f["issuer"])) == iss
    ]
    if not records:
        raise exc.no_issuer_record(iss)
    name = hosted_name(emu, iss)
    if name is None:
        raise exc.no_federated_record(iss, sub, ", ".join(audiences))
    _check_signature(emu, name, assertion, header, claims)
    records = [f for f in records if f.get("audience", TOKEN_EXCHANGE_AUDIENCE) in audiences]
    if not records:
        raise exc.no_audience_record(", ".join(audiences))
    # Subjects match case-sensitively (Entra's behaviour since 2025).
    if not any(f["subject"] == sub for f in records):
        raise exc.no_subject_record(sub)
