"""The rules for a key written out whole, run over the bytes of one file (or of a decoded
blob, see :mod:`keyops.scan.forms`).

* **annotated** — an 84-character Azure AI key (see :mod:`keyops.scan.keyformat`) bounded by
  non-base62 characters, with a valid checksum. Found by searching for the ``JQQJ99`` marker
  (a plain substring search, so clean text costs almost nothing) and validating the window.
* **legacy** — a 32-hex token (bounded, not a placeholder) on the same line as, and at most
  60 characters (8 words) after, a key-like name: an identifier containing ``key`` whose
  letters and digits contain ``apikey``, ``openaikey``, ``subscriptionkey``,
  ``keycredential``, ... or are exactly ``key1``/``key2`` (``az ... keys list`` output), and
  do not end in ``hash``, ``id``, ``name``, ... (so ``cache_key``, ``api_key_sha`` or
  ``"key": "<md5>"`` are not keys). The search runs on the lower-cased bytes and is anchored
  on the literal ``key``, which the regex engine skips to quickly.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from keyops.scan.excerpt import mask_runs
from keyops.scan.keyformat import (
    ANNOTATED_KEY_LENGTH,
    SIGNATURE_OFFSET,
    STANDARD_SIGNATURE,
    is_legacy_key_shape,
    parse_annotated_key,
)

#: How a key was written: whole, or in one of the forms of :mod:`keyops.scan.forms`.
PLAIN = "plain"

ANNOTATED = "annotated"
LEGACY = "legacy"

MARKER = STANDARD_SIGNATURE.encode("ascii")
BASE62_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
NAME_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_.-")
#: ``key``, the rest of its identifier, then up to 8 words on the same line, then a 32-hex word.
#: The gap is matched a word at a time (possessive runs): 4x faster than a character at a time.
_LEGACY_NEAR_NAME = re.compile(
    rb"key[a-z0-9_.\-]*+(?P<gap>(?:[^0-9a-z\n]++[0-9a-z]++){0,8}?[^0-9a-z\n]++)"
    rb"(?P<hex>[0-9a-f]{32})(?![0-9a-z])"
)
_MAX_GAP = 60
_KEY_NAME = re.compile(
    r"(?:api|openai|aoai|subscription|cognitive|cognitiveservices|aiservices|ai|speech"
    r"|translator|vision|language|search)key[12]?|keycredential|^key[12]$"
)
_NOT_KEY_NAME = re.compile(
    r"(?:hash|digest|checksum|md5|sha\d*|fingerprint|thumbprint|etag|names?|ids?|ref|version"
    r"|path|file|url|uri|headers?|length|len|type|prefix|suffix|field|placeholder|example)$"
)
#: Another ``name: value`` / ``name=value`` pair between the key name and the hex token.
_OTHER_PAIR = re.compile(rb"[,;&|]\s*[\"']?[a-z_][a-z0-9_.\-]*[\"']?\s*(?::(?!//)|=)")


@dataclass(frozen=True)
class Span:
    """Where a key is (``start``..``end`` of the scanned bytes), the key itself as decoded,
    and how it was written. Never leaves the scanner: :class:`~keyops.scan.detectors.Hit`
    keeps a digest and a fingerprint only."""

    start: int
    end: int
    key_format: str
    detail: str
    key: bytes
    form: str = PLAIN


@functools.lru_cache(maxsize=4096)
def is_key_name(identifier: str) -> bool:
    """True when an identifier (any case and punctuation) names an Azure AI key."""
    normalized = "".join(ch for ch in identifier.lower() if ch.isalnum())
    return bool(_KEY_NAME.search(normalized)) and not _NOT_KEY_NAME.search(normalized)


def bounded(data: bytes, start: int, end: int) -> bool:
    """True when the token data[start:end] is not part of a longer base62 run."""
    return (start == 0 or data[start - 1] not in BASE62_BYTES) and (
        end == len(data) or data[end] not in BASE62_BYTES
    )


def find_annotated(data: bytes) -> list[Span]:
    spans: list[Span] = []
    index = data.find(MARKER)
    while index != -1:
        start = index - SIGNATURE_OFFSET
        end = start + ANNOTATED_KEY_LENGTH
        if start >= 0 and end <= len(data) and bounded(data, start, end):
            info = parse_annotated_key(data[start:end].decode("latin-1"))
            if info is not None:
                detail = (
                    f"{info.service} annotated key ({info.rule_id}, "
                    f"issued {info.year}-{info.month:02d})"
                )
                spans.append(Span(start, end, ANNOTATED, detail, data[start:end]))
        index = data.find(MARKER, index + 1)
    return spans


def _name_before(lowered: bytes, name_start: int, name_end: int) -> bytes:
    """The whole identifier around the ``key`` found at ``name_start``."""
    begin = name_start
    while begin > 0 and lowered[begin - 1] in NAME_BYTES:
        begin -= 1
    return lowered[begin:name_end]


def find_legacy(data: bytes, lowered: bytes) -> list[Span]:
    spans: list[Span] = []
    pos = 0
    while True:
        match = _LEGACY_NEAR_NAME.search(lowered, pos)
        if match is None:
            return spans
        pos = match.start() + 3
        name_end = match.start("gap")
        name = _name_before(lowered, match.start(), name_end).decode("ascii")
        start, end = match.span("hex")
        gap = match.group("gap")
        if (
            len(gap) <= _MAX_GAP
            and is_key_name(name)
            and not _OTHER_PAIR.search(gap)
            and is_legacy_key_shape(match.group("hex").decode("ascii"))
        ):
            original_name = data[name_end - len(name) : name_end].decode("ascii")
            detail = f"32-hex key next to '{mask_runs(original_name[-40:])}'"
            spans.append(Span(start, end, LEGACY, detail, data[start:end]))
            pos = end
