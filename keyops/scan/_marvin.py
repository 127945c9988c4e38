"""Marvin32, the seeded checksum that Microsoft's identifiable keys carry.

A port of the reference algorithm (SymCrypt ``marvin32.c``; the C# and Rust ports in
microsoft/security-utilities). Only the 32-bit collapse is needed: annotated Azure AI keys end in
the first three bytes of ``marvin32(body, seed)``. The mixing block is written out inline because
the scanner validates every candidate key with it and a function call per block doubles the cost.
"""

from __future__ import annotations

import struct

_MASK = 0xFFFFFFFF


def marvin64(data: bytes, seed: int) -> int:
    """The 64-bit Marvin hash of ``data`` (unsigned, ``p1 << 32 | p0``)."""
    p0 = seed & _MASK
    p1 = (seed >> 32) & _MASK
    whole = len(data) - len(data) % 4
    words = list(struct.unpack_from(f"<{whole // 4}I", data))
    # The tail (0-3 bytes) is padded with a single 0x80 byte, little-endian; then one more
    # block runs with nothing added (the reference's second final Block call).
    words.append(int.from_bytes(data[whole:] + b"\x80", "little"))
    words.append(0)
    for word in words:
        p0 = (p0 + word) & _MASK
        # Block(): p1 ^= p0; p0 = rotl(p0, 20); p0 += p1; p1 = rotl(p1, 9);
        #          p1 ^= p0; p0 = rotl(p0, 27); p0 += p1; p1 = rotl(p1, 19)
        p1 ^= p0
        p0 = (((p0 << 20) | (p0 >> 12)) + p1) & _MASK
        p1 = ((p1 << 9) | (p1 >> 23)) & _MASK
        p1 ^= p0
        p0 = (((p0 << 27) | (p0 >> 5)) + p1) & _MASK
        p1 = ((p1 << 19) | (p1 >> 13)) & _MASK
    return (p1 << 32) | p0


def marvin32(data: bytes, seed: int) -> int:
    """Marvin64 collapsed to 32 bits (high word XOR low word), as an unsigned int."""
    value = marvin64(data, seed)
    return ((value >> 32) ^ value) & _MASK
