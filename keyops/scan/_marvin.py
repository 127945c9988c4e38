"""Marvin32, the seeded checksum that Microsoft's identifiable keys carry.

A port of the reference algorithm (SymCrypt ``marvin32.c``; the C# and Rust ports in
microsoft/security-utilities). Only the 32-bit collapse is needed: annotated Azure AI keys end in
the first three bytes of ``marvin32(body, seed)``.
"""

from __future__ import annotations

import struct

_MASK = 0xFFFFFFFF


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (32 - shift))) & _MASK


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
    """The 64-bit Marvin hash of ``data`` (unsigned, ``p1 << 32 | p0``)."""
    p0 = seed & _MASK
    p1 = (seed >> 32) & _MASK
    whole = len(data) - len(data) % 4
    for (word,) in struct.iter_unpack("<I", data[:whole]):
        p0 = (p0 + word) & _MASK
        p0, p1 = _block(p0, p1)
    # The tail (0-3 bytes) is padded with a single 0x80 byte, little-endian.
    p0 = (p0 + int.from_bytes(data[whole:] + b"\x80", "little")) & _MASK
    p0, p1 = _block(p0, p1)
    p0, p1 = _block(p0, p1)
    return (p1 << 32) | p0


def marvin32(data: bytes, seed: int) -> int:
    """Marvin64 collapsed to 32 bits (high word XOR low word), as an unsigned int."""
    value = marvin64(data, seed)
    return ((value >> 32) ^ value) & _MASK
