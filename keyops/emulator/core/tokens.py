"""RS256 access tokens: issued by the emulated Entra ID, verified by every other surface."""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from keyops.emulator.core.clock import Clock

TOKEN_LIFETIME = 3599


def new_private_key_pem() -> str:
    """A fresh 2048-bit RSA private key in PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _b64url_uint(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


#: Verified tokens remembered per signing key (a few per principal and audience in use).
VERIFIED_TOKENS_KEPT = 512


class TokenError(Exception):
    """A bearer token failed validation; ``reason`` names the check (never the token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Caller:
    """The verified identity behind a bearer token."""

    oid: str
    appid: str
    tid: str
    claims: dict[str, Any]


class Signer:
    """One RSA signing key with its ``kid``, able to sign and verify JWTs and publish a JWKS."""

    def __init__(self, private_pem: str) -> None:
        # The emulator's own key (made by new_private_key_pem, kept in its state directory): the
        # RSA consistency checks, about 50 ms a key, would only check what it generated.
        loaded = serialization.load_pem_private_key(
            private_pem.encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True
        )
        assert isinstance(loaded, rsa.RSAPrivateKey)
        self.private_key = loaded
        self.public_key = loaded.public_key()
        #: Claims of tokens whose signature checked out, by token (see :meth:`_signed_claims`).
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._verified_lock = threading.Lock()
        numbers = self.public_key.public_numbers()
        self.kid = hashlib.sha256(str(numbers.n).encode()).hexdigest()[:27]
        self._jwk = {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set document publishing this key."""
        return {"keys": [dict(self._jwk)]}

    def sign(self, claims: dict[str, Any]) -> str:
        """Sign claims as an RS256 JWT with this key's ``kid``."""
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})

    def verify(
        self,
        token: str,
        *,
        now: float,
        issuer: str | None,
        audiences: list[str] | None,
    ) -> dict[str, Any]:
        """Verify signature, ``nbf``, ``exp``, issuer and audience; raise :class:`TokenError`."""
        claims = self._signed_claims(token)
        skew = 300  # Azure's validators allow five minutes of clock skew.
        if "exp" not in claims or now > float(claims["exp"]) + skew:
            raise TokenError("token expired")
        if "nbf" in claims and now + skew < float(claims["nbf"]):
            raise TokenError("token not yet valid")
        if issuer is not None and claims.get("iss") != issuer:
            raise TokenError("invalid issuer")
        if audiences is not None:
            aud = claims.get("aud")
            auds = aud if isinstance(aud, list) else [aud]
            wanted = {a.rstrip("/").lower() for a in audiences}
            if not any(isinstance(a, str) and a.rstrip("/").lower() in wanted for a in auds):
                raise TokenError("invalid audience")
        return claims

    def _signed_claims(self, token: str) -> dict[str, Any]:
        """The claims of ``token`` once its header and signature check out.

        A client sends the same token for an hour, on every request: its signature is checked
        once and remembered by the exact token text (any other text is checked afresh), while
        the time, issuer and audience checks run on every use. Checking the signature (and
        PyJWT's character-by-character base64 check) was a quarter of the emulator's CPU.
        """
        with self._verified_lock:
            known = self._verified.get(token)
        if known is not None:
            return dict(known)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenError("malformed token") from None
        if header.get("alg") != "RS256":
            raise TokenError("unsupported signing algorithm")
        if header.get("kid") not in (None, self.kid):
            raise TokenError("unknown signing key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.public_key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_aud": False,
                    "verify_iat": False,
                    "verify_iss": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise TokenError("invalid signature") from None
        except jwt.PyJWTError:
            raise TokenError("malformed token") from None
        with self._verified_lock:
            self._verified[token] = claims
            while len(self._verified) > VERIFIED_TOKENS_KEPT:
                self._verified.popitem(last=False)
        return dict(claims)


class TokenService:
    """Issues and verifies the emulated tenant's access tokens."""

    def __init__(self, signer: Signer, clock: Clock, base_url: str, tenant_id: str) -> None:
        self.signer = signer
        self.clock = clock
        self.base_url = base_url.rstrip("/")
        self.tenant_id = tenant_id

    @property
    def issuer(self) -> str:
        """The v2 issuer of this tenant (matches the discovery document)."""
        return f"{self.base_url}/{self.tenant_id}/v2.0"

    def issue(
        self,
        *,
        audience: str,
        oid: str,
        appid: str,
        roles: list[str] | None = None,
        lifetime: int = TOKEN_LIFETIME,
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, int]:
        """Mint an access token for ``audience``; return it with its ``exp``."""
        now = int(self.clock.now())
        exp = now + lifetime
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": exp,
            "tid": self.tenant_id,
            "oid": oid,
            "sub": oid,
            "appid": appid,
            "azp": appid,
            "idtyp": "app",
            "ver": "2.0",
            "uti": uuid.uuid4().hex[:22],
        }
        if roles:
            claims["roles"] = roles
        if extra:
            claims.update(extra)
        return self.signer.sign(claims), exp

    def verify(self, token: str, audiences: list[str]) -> Caller:
        """Verify a bearer token presented to a surface that accepts ``audiences``."""
        claims = self.signer.verify(
            token, now=self.clock.now(), issuer=self.issuer, audiences=audiences
        )
        if claims.get("tid") != self.tenant_id:
            raise TokenError("invalid tenant")
        oid = claims.get("oid")
        if not isinstance(oid, str):
            raise TokenError("token has no oid")
        return Caller(
            oid=oid, appid=str(claims.get("appid", "")), tid=self.tenant_id, claims=claims
        )


def bearer_from(authorization: str | None) -> str | None:
    """The token in an ``Authorization: Bearer`` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
