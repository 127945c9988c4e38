"""Keys in base64 or base64url text, decoded and scanned again (bounded: runs up to
:data:`MAX_RUN` characters, a window around the marker in longer ones, :data:`MAX_DEPTH` levels
of base64 inside base64, as in a ``.dockerconfigjson``).

A run is decoded only where it can hold a key: at the base64 text of ``JQQJ99`` at any of the
three byte alignments (a plain substring search, so the base64 images of notebooks cost next to
nothing), as every value of a Kubernetes ``data:`` map (a ``Secret``, also one made
``--from-file=.env``), as a ``.dockerconfigjson`` value (its ``password`` and ``auth`` entries)
and, through :func:`value_spans`, as the value of a key-like name. A legacy key in a base64 blob
elsewhere is not looked for: with no marker to find, every base64 run of every file would have
to be decoded.

Also the helpers every form shares: a value's keys (:func:`value_spans`) and the span of a key
found in a form.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator

from keyops.scan.keyformat import is_legacy_key_shape
from keyops.scan.rules import LEGACY, Span, find_annotated

BASE64 = "base64"

#: Longest base64 run decoded whole; in a longer one only a window around the marker is.
MAX_RUN = 8192
_WINDOW = 256
#: Levels of base64 inside base64 followed.
MAX_DEPTH = 2

#: The base64 text of "JQQJ99" at byte offsets 0, 1 and 2 (the characters that depend on it
#: alone); identical in base64url.
_B64_MARKERS = (b"SlFRSjk5", b"pRUUo5O", b"KUVFKOT")
_B64_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_")
_B64_LEFT = _B64_BYTES - {ord("=")}
_DOCKER_VALUE = re.compile(rb"""["']?[ \t]*:[ \t]*["']?([A-Za-z0-9+/=_-]{16,})""")

#: One entry of an indented map, its value a base64 run (the entries follow one another).
_DATA_ENTRY = re.compile(
    rb"""\r?\n[ \t]+["']?[\w.\-]+["']?:[ \t]*["']?([A-Za-z0-9+/=_-]{4,})["']?[ \t]*(?=\r?\n|\Z)"""
)

Rescan = Callable[[bytes, int], list[Span]]


def decode(run: bytes) -> bytes | None:
    """Decode base64 or base64url text (padding optional); None if it is neither."""
    run = run.rstrip(b"=")
    url = b"-" in run or b"_" in run
    if url and (b"+" in run or b"/" in run):
        return None
    if len(run) % 4 == 1:
        run = run[:-1]
    run += b"=" * (-len(run) % 4)
    try:
        return base64.b64decode(run, altchars=b"-_" if url else None, validate=True)
    except (binascii.Error, ValueError):
        return None


def legacy_or_annotated(value: bytes, named: bool) -> Iterator[tuple[bytes, str, str]]:
    """(key, format, detail) of the keys a value is or holds."""
    text = value.strip().strip(b"\"'")
    if named and len(text) == 32 and is_legacy_key_shape(text.decode("latin-1")):
        yield text, LEGACY, "32-hex key under a key-like name"
    for span in find_annotated(value):
        yield span.key, span.key_format, span.detail


def form_span(start: int, end: int, key: bytes, key_format: str, detail: str, form: str) -> Span:
    return Span(start, end, key_format, f"{detail} ({form})", key, form)


def value_spans(
    start: int, end: int, value: bytes, named: bool, form: str, depth: int, rescan: Rescan
) -> list[Span]:
    """Spans for the keys in a value written at data[start:end], plain or base64-encoded."""
    found = [form_span(start, end, k, f, d, form) for k, f, d in legacy_or_annotated(value, named)]
    if found:
        # A key written as is where base64 was looked for is the plain rules' finding.
        return [] if form == BASE64 else found
    if depth >= MAX_DEPTH or len(value) < 24:
        return []
    decoded = decode(value.strip().strip(b"\"'"))
    if decoded is None:
        return []
    found = [
        form_span(start, end, k, f, d, BASE64) for k, f, d in legacy_or_annotated(decoded, named)
    ]
    return found or [
        form_span(start, end, s.key, s.key_format, s.detail, BASE64)
        for s in rescan(decoded, depth + 1)
    ]


def _run_around(data: bytes, pos: int) -> tuple[int, int]:
    start = pos
    # Not over "=": padding ends a run, so one before the run belongs to "name=".
    while start > 0 and data[start - 1] in _B64_LEFT and pos - start < MAX_RUN:
        start -= 1
    end = pos
    while end < len(data) and data[end] in _B64_BYTES and end - pos < MAX_RUN:
        end += 1
    return start, end


def _base64_at_markers(data: bytes, depth: int, rescan: Rescan) -> list[Span]:
    spans: list[Span] = []
    done: set[int] = set()
    for marker in _B64_MARKERS:
        pos = data.find(marker)
        while pos != -1:
            start, end = _run_around(data, pos)
            if start not in done:
                done.add(start)
                spans += _decoded_run(data, start, end, pos, depth, rescan)
            pos = data.find(marker, end)
    return spans


def _decoded_run(
    data: bytes, start: int, end: int, pos: int, depth: int, rescan: Rescan
) -> list[Span]:
    """Keys in the base64 run data[start:end] (a window around ``pos`` if it is long)."""
    # Where the run really starts (its alignment) is a guess: a prefix such as "Basic" or a
    # name's last letters may look like base64; so each of the four alignments is tried.
    lo = start if end - start <= MAX_RUN else max(start, pos - _WINDOW)
    hi = end if end - start <= MAX_RUN else min(end, pos + _WINDOW)
    windows = [(lo + shift, hi) for shift in range(4)]
    for lo, hi in windows:
        decoded = decode(data[lo:hi])
        if decoded is None:
            continue
        inner = rescan(decoded, depth + 1)
        if inner:
            return [form_span(lo, hi, s.key, s.key_format, s.detail, BASE64) for s in inner]
    return []


def _data_maps(data: bytes, lowered: bytes, depth: int, rescan: Rescan) -> list[Span]:
    """Keys in the values of YAML ``data:`` maps (Kubernetes Secrets), each decoded."""
    spans: list[Span] = []
    pos = lowered.find(b"data:")
    while pos != -1:
        line_end = lowered.find(b"\n", pos)
        if line_end != -1 and not lowered[pos + 5 : line_end].strip():
            entry = _DATA_ENTRY.match(data, line_end)
            while entry is not None:
                spans += value_spans(*entry.span(1), entry.group(1), False, BASE64, depth, rescan)
                entry = _DATA_ENTRY.match(data, entry.end())
        pos = lowered.find(b"data:", pos + 5)
    return spans


def _docker(data: bytes, lowered: bytes) -> list[Span]:
    """Keys in a ``.dockerconfigjson`` value: base64 of {"auths": {host: {password, auth}}}."""
    spans: list[Span] = []
    pos = lowered.find(b"dockerconfigjson")
    while pos != -1:
        m = _DOCKER_VALUE.match(data, pos + len(b"dockerconfigjson"))
        decoded = decode(m.group(1)) if m else None
        if m and decoded:
            for value in _docker_values(decoded):
                spans += [
                    form_span(*m.span(1), k, f, d, BASE64)
                    for k, f, d in legacy_or_annotated(value, True)
                ]
        pos = lowered.find(b"dockerconfigjson", pos + 1)
    return spans


def _docker_values(decoded: bytes) -> list[bytes]:
    try:
        auths = json.loads(decoded).get("auths", {})
    except (ValueError, AttributeError):
        return []
    values: list[bytes] = []
    for entry in auths.values() if isinstance(auths, dict) else ():
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("password"), str):
            values.append(entry["password"].encode())
        auth = decode(str(entry.get("auth", "")).encode())
        if auth and b":" in auth:
            values.append(auth.split(b":", 1)[1])
    return values


def find_encoded(data: bytes, lowered: bytes, depth: int, rescan: Rescan) -> list[Span]:
    """Keys in the base64 text of ``data`` (``rescan``: the full detector, for decoded bytes)."""
    spans: list[Span] = []
    if depth < MAX_DEPTH:
        spans += _base64_at_markers(data, depth, rescan)
    if b"dockerconfigjson" in lowered:
        spans += _docker(data, lowered)
    if depth < MAX_DEPTH and b"data:" in lowered:
        spans += _data_maps(data, lowered, depth, rescan)
    return spans
