"""Hostile bodies made without holding what they expand to (tests and bench/hostile.py)."""

from __future__ import annotations

import gzip
import zlib


def gzip_bomb(size: int, layers: int) -> bytes:
    """`layers` gzip layers around `size` zero bytes, made without holding the zeros."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1 << 20)
    body = b"".join(compressor.compress(zeros) for _ in range(size >> 20)) + compressor.flush()
    for _ in range(layers - 1):
        body = gzip.compress(body, 9)
    return body
