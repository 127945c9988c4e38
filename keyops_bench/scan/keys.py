"""Keys in Azure's two formats, generated for tests and benchmarks (never for use: real keys come
from Azure). Deterministic for a seeded ``random.Random``."""

from __future__ import annotations

import base64
import random
import struct

from keyops.scan._marvin import marvin32
from keyops.scan.keyformat import (
    AZURE_OPENAI,
    BASE62,
    BASE64_DIGITS,
    CHECKSUM_SEED,
    PROVIDER_SIGNATURE,
    SIGNATURE_OFFSET,
    STANDARD_SIGNATURE,
    is_base62,
)


def make_annotated_key(
    rng: random.Random,
    *,
    service_index: int = AZURE_OPENAI,
    year: int | None = None,
    month: int | None = None,
) -> str:
    """Generate a well-formed annotated key (valid checksum) from ``rng``.

    Deterministic for a seeded ``rng``. ``year`` (2024-2085) and ``month`` default to values
    drawn from ``rng`` in 2024-2026. The platform data follows the shape of public samples.
    For tests, benchmarks and the emulator only: real keys come from Azure.
    """
    year = year if year is not None else rng.randint(2024, 2026)
    month = month if month is not None else rng.randint(1, 12)
    if not (2024 <= year < 2024 + 62 and 1 <= month <= 12 and 0 <= service_index < 62):
        raise ValueError("year, month or service index out of range")
    date = BASE64_DIGITS[year - 2024] + BASE64_DIGITS[month - 1]
    provider = "AAA" + BASE64_DIGITS[service_index]
    while True:
        random_part = "".join(rng.choice(BASE62) for _ in range(SIGNATURE_OFFSET))
        platform = "AC" + "".join(rng.choice(BASE62) for _ in range(5)) + "XJ3w3"
        body = random_part + STANDARD_SIGNATURE + date + platform + provider + PROVIDER_SIGNATURE
        digest = marvin32(base64.b64decode(body), CHECKSUM_SEED)
        checksum = base64.b64encode(struct.pack("<I", digest)).decode("ascii")
        # Like Azure's generator: retry until the checksum text is base62 (no '+' or '/').
        if is_base62(checksum[:6]):
            return body + checksum[:4]


def make_legacy_key(rng: random.Random) -> str:
    """Generate a legacy 32-hex key from ``rng`` (for tests and benchmarks)."""
    return f"{rng.getrandbits(128):032x}"
