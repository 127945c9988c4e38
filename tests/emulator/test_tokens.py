"""The core token service every surface relies on: what ``emu.tokens.verify`` accepts.

No server: a Signer, a Clock and a TokenService, driven directly.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from keyops.emulator.core.clock import Clock
from keyops.emulator.core.tokens import (
    Signer,
    TokenError,
    TokenService,
    bearer_from,
    new_private_key_pem,
)

TENANT = "6513270e-269e-4d37-b2a7-4de452e6b438"
BASE = "https://127.0.0.1:8443"
ARM = "https://management.azure.com/"
OID = "36f675cc-81e7-4ef5-a8e2-5d940ed90475"
APPID = "9531985d-5d9d-49f8-9818-e811892f902b"


@pytest.fixture(scope="module")
def signer() -> Signer:
    """The tenant's signing key (one per module: RSA generation is slow)."""
    return Signer(new_private_key_pem())


@pytest.fixture(scope="module")
def other_signer() -> Signer:
    """A key the tenant does not publish."""
    return Signer(new_private_key_pem())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tokens(signer: Signer, clock: Clock) -> TokenService:
    return TokenService(signer, clock, BASE, TENANT)


def issue(tokens: TokenService, audience: str = ARM, **kwargs: Any) -> str:
    return tokens.issue(audience=audience, oid=OID, appid=APPID, **kwargs)[0]


def reason(tokens: TokenService, token: str, audiences: list[str] | None = None) -> str:
    """The check that refuses ``token``."""
    with pytest.raises(TokenError) as info:
        tokens.verify(token, audiences or [ARM])
    return info.value.reason


def test_issued_token_verifies_and_carries_entra_claims(
    tokens: TokenService, signer: Signer
) -> None:
    token, exp = tokens.issue(audience=ARM, oid=OID, appid=APPID, roles=["Reader"])
    caller = tokens.verify(token, [ARM])
    assert (caller.oid, caller.appid, caller.tid) == (OID, APPID, TENANT)
    c = caller.claims
    assert (c["iss"], c["aud"], c["tid"], c["azp"], c["ver"]) == (
        f"{BASE}/{TENANT}/v2.0",
        ARM,
        TENANT,
        APPID,
        "2.0",
    )
    assert c["exp"] == exp == c["iat"] + 3599 and c["nbf"] == c["iat"]
    assert c["roles"] == ["Reader"]
    # Any JWT library can check it with the published key.
    key = jwt.PyJWK(signer.jwks()["keys"][0]).key
    assert jwt.decode(token, key, algorithms=["RS256"], audience=ARM)["oid"] == OID
    assert jwt.get_unverified_header(token)["kid"] == signer.kid


@pytest.mark.parametrize(
    ("audience", "accepted"),
    [
        ("https://management.azure.com", ["https://management.azure.com/"]),
        ("https://management.azure.com/", ["https://MANAGEMENT.azure.com"]),
        (
            "https://vault.azure.net",
            ["https://cognitiveservices.azure.com", "https://vault.azure.net"],
        ),
    ],
)
def test_audience_matches_without_trailing_slash_or_case(
    tokens: TokenService, audience: str, accepted: list[str]
) -> None:
    assert tokens.verify(issue(tokens, audience), accepted).oid == OID


def test_wrong_audience(tokens: TokenService) -> None:
    token = issue(tokens, "https://vault.azure.net")
    assert reason(tokens, token, ["https://cognitiveservices.azure.com"]) == "invalid audience"
    listed = issue(tokens, extra={"aud": ["https://a.example", "https://vault.azure.net"]})
    assert tokens.verify(listed, ["https://vault.azure.net"]).oid == OID


def test_expired_by_lifetime(tokens: TokenService) -> None:
    assert reason(tokens, issue(tokens, lifetime=-301)) == "token expired"


def test_expiry_follows_the_emulated_clock_with_five_minutes_skew(
    tokens: TokenService, clock: Clock
) -> None:
    token = issue(tokens)
    clock.advance(3599 + 290)
    assert tokens.verify(token, [ARM]).oid == OID
    clock.advance(20)
    assert reason(tokens, token) == "token expired"


def test_not_yet_valid(tokens: TokenService, clock: Clock) -> None:
    now = int(clock.now())
    assert reason(tokens, issue(tokens, extra={"nbf": now + 600})) == "token not yet valid"
    assert tokens.verify(issue(tokens, extra={"nbf": now + 200}), [ARM]).oid == OID


def test_signature_checks(tokens: TokenService, signer: Signer, other_signer: Signer) -> None:
    claims = tokens.verify(issue(tokens), [ARM]).claims
    # Signed elsewhere under its own key id: not a key the tenant publishes.
    assert reason(tokens, other_signer.sign(claims)) == "unknown signing key"
    # Signed elsewhere but claiming the tenant's key id.
    impostor = jwt.encode(
        claims, other_signer.private_key, algorithm="RS256", headers={"kid": signer.kid}
    )
    assert reason(tokens, impostor) == "invalid signature"
    # The tenant's signature over other claims.
    header, _, sig = issue(tokens).split(".")
    payload = issue(tokens, extra={"oid": "0fd630f1-f29d-4da9-953f-48f1a09f76b5"}).split(".")[1]
    assert reason(tokens, ".".join([header, payload, sig])) == "invalid signature"


def test_algorithm_must_be_rs256(tokens: TokenService) -> None:
    claims = tokens.verify(issue(tokens), [ARM]).claims
    hs = jwt.encode(claims, "a-shared-secret-of-sufficient-length!", algorithm="HS256")
    assert reason(tokens, hs) == "unsupported signing algorithm"
    unsigned = jwt.encode(claims, "", algorithm="none")
    assert reason(tokens, unsigned) == "unsupported signing algorithm"


def test_wrong_issuer_or_tenant(tokens: TokenService) -> None:
    v1_issuer = f"https://sts.windows.net/{TENANT}/"
    assert reason(tokens, issue(tokens, extra={"iss": v1_issuer})) == "invalid issuer"
    other = TokenService(tokens.signer, tokens.clock, BASE, "7f1c1c83-8d3f-4b1e-a0e5-2b0d5b8e1f00")
    assert reason(tokens, other.issue(audience=ARM, oid=OID, appid=APPID)[0]) == "invalid issuer"
    assert reason(tokens, issue(tokens, extra={"tid": "someone-else"})) == "invalid tenant"


def test_malformed_tokens(tokens: TokenService, signer: Signer, clock: Clock) -> None:
    assert reason(tokens, "not.a.jwt") == "malformed token"
    assert reason(tokens, "") == "malformed token"
    assert reason(tokens, issue(tokens, extra={"oid": None})) == "token has no oid"
    no_exp = signer.sign({"aud": ARM, "iss": tokens.issuer, "tid": TENANT, "oid": OID})
    assert reason(tokens, no_exp) == "token expired"


def test_errors_never_carry_the_token(tokens: TokenService) -> None:
    token = issue(tokens, lifetime=-3600)
    with pytest.raises(TokenError) as info:
        tokens.verify(token, [ARM])
    assert token not in str(info.value) and token not in repr(info.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer ", None),
        (None, None),
        ("", None),
    ],
)
def test_bearer_from(header: str | None, expected: str | None) -> None:
    assert bearer_from(header) == expected


def test_a_token_checked_before_is_still_checked_in_full_for_what_can_change(
    tokens: TokenService, clock: Clock
) -> None:
    """The signature of a token seen before is remembered (by its exact text); its claims are
    a copy, and audience and expiry are checked on every use."""
    token = issue(tokens)
    first = tokens.verify(token, [ARM])
    first.claims["oid"] = "0fd630f1-f29d-4da9-953f-48f1a09f76b5"  # a caller edits its copy
    assert tokens.verify(token, [ARM]).oid == OID
    assert reason(tokens, token, ["https://vault.azure.net"]) == "invalid audience"
    header, _, sig = token.split(".")
    other = issue(tokens, extra={"oid": "0fd630f1-f29d-4da9-953f-48f1a09f76b5"}).split(".")[1]
    assert reason(tokens, ".".join([header, other, sig])) == "invalid signature"
    clock.advance(3599 + 301)
    assert reason(tokens, token) == "token expired"
