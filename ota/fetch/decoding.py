"""Undo a response's content encodings (`Content-Encoding: gzip`, `deflate`, stacked), bounded.

httpx decodes each layer of a stacked encoding whole before handing over a chunk: a 6 kB body
of gzip(gzip(1 GiB of zeros)) with `Content-Encoding: gzip, gzip` becomes a 1 GiB string in one
call, before any size limit can be checked. Here every layer inflates at most `CHUNK` bytes at
a time and hands them to the next, and the size limit applies to what the last layer gives: memory
stays within the limit plus a few chunks per layer, whatever the ratio and the number of layers.

Like httpx, `identity` and encodings it does not know are passed through as they are; `deflate` is
zlib's format or, as some servers send it, raw deflate. More than `MAX_LAYERS` encodings are
refused, as curl does: no server stacks more to compress better.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx

CHUNK = 64 * 1024  # bytes of output of one inflation step
MAX_LAYERS = 5


class TooLarge(Exception):
    """The decoded body passed the limit."""


class TooManyEncodings(Exception):
    """More content encodings than `MAX_LAYERS`."""


class _Inflater:
    """One gzip or deflate layer, its output in pieces of at most `CHUNK` bytes."""

    def __init__(self, encoding: str) -> None:
        self._deflate = encoding == "deflate"
        wbits = zlib.MAX_WBITS if self._deflate else zlib.MAX_WBITS | 16
        self._inflater = zlib.decompressobj(wbits)
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = self._inflater.decompress(data, CHUNK)
            except zlib.error as exc:
                if self._deflate and not self._started:  # raw deflate, without zlib's header
                    self._deflate = False
                    self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise httpx.DecodingError(str(exc)) from exc
            self._started = True
            data = self._inflater.unconsumed_tail
            if out:
                yield out
            # A full chunk may leave output pending inside zlib even with no input left.
            if not data and len(out) < CHUNK:
                return

    def flush(self) -> Iterator[bytes]:
        yield from self.feed(b"")


class BoundedDecoder:
    """The decoded body of a response, through `content_encoding`'s layers, at most `limit` bytes."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        encodings = [value.strip().lower() for value in content_encoding.split(",") if value.strip()]
        if len(encodings) > MAX_LAYERS:
            raise TooManyEncodings(f"{len(encodings)} content encodings (at most {MAX_LAYERS})")
        # The last encoding named was applied last: it is undone first.
        self._layers = [
            _Inflater(encoding)
            for encoding in reversed(encodings)
            if encoding in ("gzip", "x-gzip", "deflate")
        ]
        self._limit = limit
        self.size = 0

    def decode(self, data: bytes) -> list[bytes]:
        """The decoded bytes that `data` (the next raw bytes) gives; raises `TooLarge`."""
        return list(self._counted(self._through(0, data, final=False)))

    def flush(self) -> list[bytes]:
        """The decoded bytes still held once the raw body has ended; raises `TooLarge`."""
        return list(self._counted(self._through(0, b"", final=True)))

    def _through(self, index: int, data: bytes, *, final: bool) -> Iterator[bytes]:
        if index == len(self._layers):
            if data:
                yield data
            return
        layer = self._layers[index]
        for piece in layer.feed(data):
            yield from self._through(index + 1, piece, final=False)
        if final:
            for piece in layer.flush():
                yield from self._through(index + 1, piece, final=False)
            yield from self._through(index + 1, b"", final=True)

    def _counted(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            self.size += len(piece)
            if self.size > self._limit:
                raise TooLarge
            yield piece
