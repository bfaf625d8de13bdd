"""Content-Encoding decoding with a cap on the DECODED size, applied while decoding.

httpx decodes each body piece whole (``zlib`` without ``max_length``), so a 64 KiB gzip piece of
zeros becomes 64 MiB before any size check can run: a 1 MB gzip bomb peaked at 267 MiB. Here every
``decompress`` call is given the room left under the cap, so at most ``limit + 1`` decoded bytes exist.
"""

from __future__ import annotations

import zlib

import httpx

#: Codings decoded here; httpx decodes any other (the clients ask for these two only).
CODINGS = frozenset({"gzip", "x-gzip", "deflate", "identity"})


class DecodedTooLarge(Exception):
    """The decoded body passed the cap (the caller turns it into its own "too large" error)."""


class _Zlib:
    """One gzip or deflate layer, decoding at most ``room`` bytes per call."""

    def __init__(self, coding: str) -> None:
        self.gzip = coding != "deflate"
        self.started = False
        self.obj = self._new(zlib.MAX_WBITS)

    def _new(self, wbits: int) -> zlib._Decompress:
        return zlib.decompressobj(wbits | 16 if self.gzip else wbits)

    def decode(self, data: bytes, room: int) -> bytes:
        out: list[bytes] = []
        while data:
            try:
                piece = self.obj.decompress(data, room + 1)
            except zlib.error as error:
                if not self.gzip and not self.started:  # deflate sent raw, without the zlib wrapper
                    self.started = True
                    self.obj = self._new(-zlib.MAX_WBITS)
                    continue
                raise httpx.DecodingError(f"The body could not be decoded ({error}).") from None
            self.started = True
            room -= len(piece)
            if room < 0:
                raise DecodedTooLarge
            out.append(piece)
            data = self.obj.unconsumed_tail
            if not data and self.obj.eof and self.obj.unused_data and self.gzip:  # another gzip member
                data = self.obj.unused_data
                self.obj = self._new(zlib.MAX_WBITS)
        return b"".join(out)


class CappedDecoder:
    """Decodes a Content-Encoding (gzip, deflate, or a list of them) into at most ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        # Applied in the order listed, so decoded in reverse.
        self.layers = [_Zlib(c) for c in reversed(codings) if c != "identity"]
        self.limit = limit
        self.size = 0

    @staticmethod
    def handles(encoding: str) -> bool:
        """True when every coding of ``encoding`` is one this decoder knows."""
        return all(c.strip().lower() in CODINGS for c in encoding.split(",") if c.strip())

    def decode(self, data: bytes) -> bytes:
        """The decoded bytes of the next raw piece; raises :class:`DecodedTooLarge` past the cap."""
        for layer in self.layers:
            data = layer.decode(data, self.limit - self.size)
        self.size += len(data)
        if self.size > self.limit:
            raise DecodedTooLarge
        return data
