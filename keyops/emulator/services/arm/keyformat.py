"""Account key formats: legacy hex keys and Azure AI "annotated" (legacy CASK) keys.

**Legacy**: 32 lower-case hex characters (16 random bytes), as older accounts show them.

**Annotated** (microsoft/security-utilities "legacy common annotated security key", rules
SEC101/206 *AzureOpenAILegacyCommonAnnotatedSecurityKey* for ``OpenAI`` accounts and
SEC101/205 *AzureAIServicesLegacyCommonAnnotatedSecurityKey* for ``AIServices`` ones):
84 base62 characters that are also valid base64 of 63 bytes::

    offset  len  content
    0       52   random base62
    52      6    "JQQJ99"   fixed CASK signature ('9' = a standard, not derived, key)
    58      1    year  = base64 alphabet['A' + (year - 2024)]
    59      1    month = 'A'..'L'
    60      12   platform-reserved data (base62; Azure puts region/platform bits here)
    72      4    provider-reserved data "AAA" + base64 alphabet[service]
                 (service 0 = AzureAIServices -> "AAAA", 1 = AzureOpenAI -> "AAAB")
    76      4    provider signature "ACOG" (Cognitive Services; upper case = customer managed)
    80      4    checksum

The checksum: decode the first 80 characters as base64 (60 bytes), take Marvin32 of them with
the seed ``VersionTwoChecksumSeed`` (the ASCII bytes of ``"Default0"`` read as a big-endian
64-bit number), fold to 32 bits (``p1 ^ p0``), and base64-encode the first three little-endian
bytes of that int (4 characters). Keys whose checksum characters would contain ``+`` or ``/``
are drawn again, as the reference generator does, so the whole key is base62.
"""

from __future__ import annotations

import base64
import random
import string
from datetime import datetime, timezone

_HEX = "0123456789abcdef"
BASE62 = string.ascii_uppercase + string.ascii_lowercase + string.digits
_B64 = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
_MASK = 0xFFFFFFFF

CASK_SIGNATURE = "JQQJ99"
PROVIDER_SIGNATURE = "ACOG"
#: Provider-reserved data per account kind (AzureCognitiveService enum index in base64).
PROVIDER_DATA = {"AIServices": "AAAA", "OpenAI": "AAAB"}
CHECKSUM_SEED = int.from_bytes(b"Default0", "big")
ANNOTATED_LENGTH = 84


def _rotl(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & _MASK


def _block(p0: int, p1: int) -> tuple[int, int]:
    p1 ^= p0
    p0 = _rotl(p0, 20)
    p0 = (p0 + p1) & _MASK
    p1 = _rotl(p1, 9)
    p1 ^= p0
    p0 = _rotl(p0, 27)
    p0 = (p0 + p1) & _MASK
    p1 = _rotl(p1, 19)
    return p0, p1


def marvin64(data: bytes, seed: int) -> int:
    """Marvin32 of ``data`` as the 64-bit value ``(p1 << 32) | p0`` (SymCrypt's definition)."""
    p0, p1 = seed & _MASK, (seed >> 32) & _MASK
    whole = len(data) - len(data) % 4
    for i in range(0, whole, 4):
        p0 = (p0 + int.from_bytes(data[i : i + 4], "little")) & _MASK
        p0, p1 = _block(p0, p1)
    # The tail (0-3 bytes) is padded with a single 0x80 byte, little-endian.
    tail = data[whole:] + b"\x80"
    p0 = (p0 + int.from_bytes(tail, "little")) & _MASK
    p0, p1 = _block(p0, p1)
    p0, p1 = _block(p0, p1)
    return (p1 << 32) | p0


def marvin32(data: bytes, seed: int) -> int:
    """Marvin32 folded to an unsigned 32-bit value (``p1 ^ p0``), as .NET's ComputeHash32."""
    value = marvin64(data, seed)
    return (value >> 32) ^ (value & _MASK)


def annotated_checksum(body: str) -> str:
    """The 4 checksum characters for the first 80 characters of an annotated key."""
    raw = base64.b64decode(body, validate=True)
    checksum = marvin32(raw, CHECKSUM_SEED).to_bytes(4, "little")
    return base64.b64encode(checksum[:3]).decode("ascii")


def is_annotated_key(key: str) -> bool:
    """Whether ``key`` is a well-formed annotated Cognitive Services key with a valid checksum."""
    if len(key) != ANNOTATED_LENGTH or any(ch not in BASE62 for ch in key):
        return False
    if key[52:58] != CASK_SIGNATURE or key[59] not in "ABCDEFGHIJKL":
        return False
    if key[76:80] != PROVIDER_SIGNATURE:
        return False
    return annotated_checksum(key[:80]) == key[80:]


def legacy_key(rng: random.Random) -> str:
    """A legacy key: 32 lower-case hex characters."""
    return "".join(rng.choice(_HEX) for _ in range(32))


def annotated_key(rng: random.Random, kind: str, created: float) -> str:
    """An 84-character annotated key for an account of ``kind`` made at ``created`` (Unix s)."""
    when = datetime.fromtimestamp(created, tz=timezone.utc)
    year = _B64[min(max(when.year - 2024, 0), 61)]
    month = "ABCDEFGHIJKL"[when.month - 1]
    provider = PROVIDER_DATA.get(kind, PROVIDER_DATA["OpenAI"])
    while True:
        random_part = "".join(rng.choice(BASE62) for _ in range(52))
        platform = "".join(rng.choice(BASE62) for _ in range(12))
        body = f"{random_part}{CASK_SIGNATURE}{year}{month}{platform}{provider}{PROVIDER_SIGNATURE}"
        checksum = annotated_checksum(body)
        if all(ch in BASE62 for ch in checksum):
            return body + checksum


def new_key(
    key_format: str, rng: random.Random, *, kind: str = "OpenAI", created: float = 0.0
) -> str:
    """A new key value in ``key_format`` (``legacy`` or ``annotated``)."""
    if key_format == "legacy":
        return legacy_key(rng)
    return annotated_key(rng, kind, created)
