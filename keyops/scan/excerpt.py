"""Masked one-line excerpts: enough context to find the leak, never 8 characters of a key.

Every key found on the line is replaced by :func:`keyops.scan.findings.mask_key` (4 characters,
an ellipsis and the fingerprint). Any other long random-looking token (24+ letters and digits,
mixing both) is cut to 4 characters too, because it may be a key in a shape no rule knows (or one
that a rule rejected, e.g. a checksum typo); that keeps the canary rule independent of the rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from keyops.scan.findings import mask_key

#: Bytes of the line kept on each side of a key before masking (the rest is never decoded).
_RAW_CONTEXT = 240
#: Characters of masked context shown on each side of the key.
_SHOWN_CONTEXT = 48
_LONG_RUN = re.compile(r"[A-Za-z0-9]{24,}")
_EDGE_HEAD = re.compile(r"^[A-Za-z0-9]+")
_EDGE_TAIL = re.compile(r"[A-Za-z0-9]+$")


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if any(ch.isdigit() for ch in run) and any(ch.isalpha() for ch in run):
        return run[:4] + "…"
    return run


def mask_runs(text: str) -> str:
    """Cut every long token mixing letters and digits to its first 4 characters."""
    return _LONG_RUN.sub(_mask_run, text)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def build_excerpt(
    data: bytes, spans: Sequence[tuple[int, int]], target: int, keys: Sequence[str]
) -> str:
    """The masked line around ``spans[target]``; ``spans`` are all key spans (sorted, disjoint
    but for the keys decoded from one value, which share its bounds) and ``keys`` the keys they
    hold, as decoded (a base64 or joined key is shown by the hint and fingerprint of the key,
    not of its encoded text). A span over several lines is shown on one line; the other keys
    of the target's value are not shown.

    Only a window of the line is decoded, so a minified multi-megabyte line costs little.
    """
    start, end = spans[target]
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", end)
    line_end = len(data) if line_end == -1 else line_end
    lo = max(line_start, start - _RAW_CONTEXT)
    hi = min(line_end, end + _RAW_CONTEXT)
    before: list[str] = []
    after: list[str] = []
    cursor = lo
    for index, (s, e) in enumerate(spans):
        if e <= lo or s >= hi or ((s, e) == (start, end) and index != target):
            continue
        side = before if index <= target else after
        side.append(mask_runs(_decode(data[cursor:s])))
        side.append(mask_key(keys[index]) if index != target else "")
        cursor = e
    after.append(mask_runs(_decode(data[cursor:hi])))
    head = "".join(before)
    tail = "".join(after)
    # A token cut by the raw window is dropped whole: its visible part would escape mask_runs.
    if lo > line_start:
        head = _EDGE_HEAD.sub("", head)
    if hi < line_end:
        tail = _EDGE_TAIL.sub("", tail)
    head, tail = head.lstrip(), tail.rstrip()
    if len(head) > _SHOWN_CONTEXT or lo > line_start:
        head = "…" + head[-_SHOWN_CONTEXT:]
    if len(tail) > _SHOWN_CONTEXT or hi < line_end:
        tail = tail[:_SHOWN_CONTEXT] + "…"
    return head + mask_key(keys[target]) + tail
