"""A tiny protobuf writer for tests: frames built by hand from field numbers.

It lets the wire tests check the bridge against the protocol note's numbers
directly, not only against classes generated from our own .proto files.
"""

from __future__ import annotations

import struct


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32/int64 are ten-byte two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def uint(field: int, value: int) -> bytes:
    """A varint field (int32, int64, uint64, bool, enum)."""
    return varint(field << 3) + varint(value)


def data(field: int, value: bytes | str) -> bytes:
    """A length-delimited field (string, bytes, embedded message)."""
    raw = value.encode() if isinstance(value, str) else value
    return varint(field << 3 | 2) + varint(len(raw)) + raw


def f32(field: int, value: float) -> bytes:
    """A 32-bit float field (the historical price/amount fields)."""
    return varint(field << 3 | 5) + struct.pack("<f", value)


def message(*parts: bytes) -> bytes:
    return b"".join(parts)
