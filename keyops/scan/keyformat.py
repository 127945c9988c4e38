"""The two shapes an Azure OpenAI / Azure AI Services account key takes, and how to tell them.

Legacy keys
    32 hexadecimal characters (128 random bits), e.g. what ``listKeys`` returned for accounts
    created before the annotated format. Nothing in the value says what it is, so a scanner only
    trusts one when a key-like name sits next to it.

Annotated keys (84 characters)
    Newer Azure AI Services keys (Azure OpenAI included) are *legacy common annotated security
    keys* ("legacy CASK") with the Cognitive Services provider signature ``ACOG``. The layout below
    comes from microsoft/security-utilities: ``LegacyCommonAnnotatedSecurityKey.cs`` (offsets),
    ``IdentifiableSecrets.GenerateCommonAnnotatedTestKey`` (generation and checksum),
    ``CognitiveServiceLegacyCommonAnnotatedSecurityKey.cs`` with ``AzureCognitiveServices.cs``
    (provider data) and ``LegacyCaskProviderSignatures.cs`` (``ACOG``); rule SEC101/205 covers
    Azure AI Services, SEC101/206 Azure OpenAI, SEC101/207-245 the other cognitive services.

    The key is the standard-base64 text of 63 bytes whose every character is base62
    (``A-Z a-z 0-9``; a key containing ``+`` or ``/`` is never issued: the generator retries).
    0-based character offsets::

        [ 0:52]  52 random base62 characters (39 random bytes)
        [52:58]  "JQQJ99"  standard fixed signature ("JQQJ" + "99"; "JQQJ9D" marks a *derived*
                           key and is not an access key)
        [58]     creation year, base64 digit: "A" = 2024, "B" = 2025, "C" = 2026 ...
        [59]     creation month, "A".."L" = January..December
        [60:72]  12 characters of platform-reserved data (9 bytes); in every public sample seen it
                 is "AC" + 5 base62 characters + "XJ3w3"
        [72:76]  provider-reserved data: "AAA" + the base64 digit of the service index
                 (``AzureCognitiveServices`` enum): "AAAA" Azure AI Services (0),
                 "AAAB" Azure OpenAI (1), "AAAE" Cognitive Services multi-service (4),
                 "AAAb" Text Translation (27), ...
        [76:80]  "ACOG"    provider fixed signature (upper case: customer-managed key)
        [80:84]  checksum: base64 of the first 3 little-endian bytes of
                 ``marvin32(base64decode(key[0:80]), seed)``, where ``seed`` is the 8 ASCII bytes
                 "Default0" reversed and read as a little-endian uint64 (0x44656661756C7430),
                 i.e. IdentifiableSecrets.VersionTwoChecksumSeed

    The full 64-byte form of the same key would append two more checksum characters and ``==``;
    Azure hands out the 84-character short form. The checksum was checked against publicly leaked
    Azure OpenAI keys.

:func:`is_annotated_key` accepts exactly the access keys above (``JQQJ99``, month ``A``-``L``,
``ACOG``, valid checksum), :func:`parse_annotated_key` says which service and month a key claims,
Generators of keys in these formats, for tests and benchmarks, live outside the runtime package
(``keyops_bench/scan/keys.py``). Nothing here ever logs or returns a key.
"""

from __future__ import annotations

import base64
import string
import struct
from dataclasses import dataclass

from keyops.scan._marvin import marvin32

#: Characters of the base62 alphabet (every character of an annotated key is one of these).
BASE62 = string.ascii_uppercase + string.ascii_lowercase + string.digits
#: Standard base64 digits, in value order (used for the date and service characters).
BASE64_DIGITS = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"

ANNOTATED_KEY_LENGTH = 84
LEGACY_KEY_LENGTH = 32
STANDARD_SIGNATURE = "JQQJ99"
PROVIDER_SIGNATURE = "ACOG"
SIGNATURE_OFFSET = 52
DATE_OFFSET = 58
PLATFORM_OFFSET = 60
PROVIDER_DATA_OFFSET = 72
PROVIDER_SIGNATURE_OFFSET = 76
CHECKSUM_OFFSET = 80
#: IdentifiableSecrets.VersionTwoChecksumSeed: the ASCII of "Default0", reversed, as a uint64.
CHECKSUM_SEED = int.from_bytes(b"Default0"[::-1], "little")

#: Service index (provider-reserved data) -> name, for the services keyops cares about.
SERVICES: dict[int, str] = {
    0: "Azure AI Services",
    1: "Azure OpenAI",
    4: "Azure Cognitive Services",
    5: "Azure Computer Vision",
    7: "Azure Content Safety",
    11: "Azure Form Recognizer",
    24: "Azure Speech",
    26: "Azure Text Analytics",
    27: "Azure Text Translation",
}
AZURE_OPENAI = 1
AZURE_AI_SERVICES = 0

_MONTHS = frozenset("ABCDEFGHIJKL")
_HEX_SET = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class AnnotatedKeyInfo:
    """What an annotated key says about itself (never the key)."""

    service_index: int
    year: int
    month: int

    @property
    def service(self) -> str:
        """The service name, e.g. ``Azure OpenAI``."""
        return SERVICES.get(self.service_index, f"Azure AI service #{self.service_index}")

    @property
    def rule_id(self) -> str:
        """The microsoft/security-utilities rule for this service (SEC101/205 + index)."""
        return f"SEC101/{205 + self.service_index}"


def _checksum_text(body: str) -> str:
    """The 4 checksum characters for the first 80 characters of a key (may contain ``+/``)."""
    digest = marvin32(base64.b64decode(body), CHECKSUM_SEED)
    return base64.b64encode(struct.pack("<I", digest)).decode("ascii")[:4]


def is_base62(text: str) -> bool:
    """True when ``text`` is ASCII letters and digits only."""
    # For ASCII text, isalnum() is exactly [A-Za-z0-9].
    return text.isascii() and text.isalnum()


def is_annotated_key(text: str) -> bool:
    """True when ``text`` is exactly one 84-character Azure AI annotated access key.

    Checks the length, the alphabet, ``JQQJ99``, the month character, ``ACOG`` and the checksum.
    """
    if len(text) != ANNOTATED_KEY_LENGTH or not is_base62(text):
        return False
    if text[SIGNATURE_OFFSET:DATE_OFFSET] != STANDARD_SIGNATURE or text[59] not in _MONTHS:
        return False
    if text[PROVIDER_SIGNATURE_OFFSET:CHECKSUM_OFFSET] != PROVIDER_SIGNATURE:
        return False
    return _checksum_text(text[:CHECKSUM_OFFSET]) == text[CHECKSUM_OFFSET:]


def parse_annotated_key(text: str) -> AnnotatedKeyInfo | None:
    """The service and creation month an annotated key claims, or None if it is not one."""
    if not is_annotated_key(text):
        return None
    provider = text[PROVIDER_DATA_OFFSET:PROVIDER_SIGNATURE_OFFSET]
    index = BASE64_DIGITS.index(provider[3]) if provider.startswith("AAA") else -1
    year = 2024 + BASE64_DIGITS.index(text[DATE_OFFSET])
    month = 1 + BASE64_DIGITS.index(text[59])
    return AnnotatedKeyInfo(service_index=index, year=year, month=month)


def is_legacy_key_shape(text: str) -> bool:
    """True when ``text`` looks like a random 32-hex key rather than a placeholder.

    Random 128-bit hex almost always mixes digits and letters and uses many distinct digits;
    ``0000...``, ``0123456789abcdef...`` and ``deadbeef...`` style placeholders do not.
    """
    lowered = text.lower()
    if len(lowered) != LEGACY_KEY_LENGTH or not _HEX_SET.issuperset(lowered):
        return False
    # All hex: "not isalpha" means some digit, "not isdigit" means some letter.
    mixed = not lowered.isalpha() and not lowered.isdigit()
    return mixed and len(set(lowered)) >= 7 and lowered[:16] != lowered[16:]
