"""gzip/deflate response bodies inflated a bounded amount at a time (a gzip bomb never fills memory)."""

from __future__ import annotations

import zlib


class Inflater:
    """gzip/deflate bytes -> at most ``room`` decompressed bytes per call (zlib's max_length)."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.first = True
        self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if coding != "deflate" else zlib.MAX_WBITS)

    def __call__(self, data: bytes, room: int) -> bytes:
        try:
            out = self.inflater.decompress(data, room)
        except zlib.error:
            if not (self.first and self.coding == "deflate"):
                raise
            self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send it
            out = self.inflater.decompress(data, room)
        self.first = False
        while self.inflater.unconsumed_tail and len(out) < room:
            out += self.inflater.decompress(self.inflater.unconsumed_tail, room - len(out))
        return out
