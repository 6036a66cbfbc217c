"""Exposition text in chunks that are compressed once and joined into one gzip.

A ``Chunk`` is a run of the `/metrics` body (one family's lines over every target,
or the self-metrics) with its raw DEFLATE stream, made the first time a gzip is
asked for and kept with the chunk. Each stream is compressed on its own and ends
with a sync flush (non-final blocks, byte-aligned, no back-reference into another
chunk), so the streams of any sequence of chunks, concatenated and closed with
an empty final block, are one valid DEFLATE stream: ``gzip_join`` wraps it as a
single-member gzip (RFC 1952) that any client reads, as ``pigz`` does. A render
after a few targets changed then compresses only the families they changed
instead of the whole body. This module does no I/O and keeps no state beyond
each chunk's own bytes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from typing import Final

__all__ = ["Chunk", "deflate", "gzip_join", "join"]

LEVEL: Final = 1
"""zlib's fast level: 2.1 ms of CPU for a 900 KB body against 5.1 ms at level 5,
for a body 20 % larger (88 KB against 73 KB); a scraper asking for gzip every
second pays the difference on every change."""

_HEADER: Final = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
"""gzip member header: DEFLATE, no flags, mtime 0, no extra flags, OS unknown."""
_FINAL: Final = b"\x03\x00"
"""An empty final block with fixed Huffman codes: closes the DEFLATE stream."""


def deflate(text: bytes | memoryview) -> bytes:
    r"""Return ``text`` as raw DEFLATE blocks ending in a sync flush (not final).

    >>> import zlib
    >>> zlib.decompress(deflate(b"a 1\n") + deflate(b"b 2\n") + _FINAL, -15)
    b'a 1\nb 2\n'
    """
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(text) + compressor.flush(zlib.Z_SYNC_FLUSH)


class Chunk:
    """A run of the body and, once asked for, its DEFLATE stream (kept).

    ``text`` starts as the bytes the chunk was made from; once a body is joined
    from it, ``settle`` points it at that body's own copy (a view), so a family's
    text is held once, in the body, instead of once more in the chunk.
    """

    __slots__ = ("_packed", "text")

    def __init__(self, text: bytes | memoryview) -> None:
        self.text = text
        self._packed: bytes | None = None

    def packed(self) -> bytes:
        """Return the chunk's DEFLATE stream, compressing it the first time."""
        packed = self._packed
        if packed is None:
            packed = self._packed = deflate(self.text)
        return packed


def join(chunks: Sequence[Chunk]) -> bytes:
    r"""Return the chunks' texts joined; each chunk's text then views the result.

    The previous body a chunk's text was a view of is released with the last
    chunk that pointed into it.

    >>> parts = [Chunk(b"a 1\n"), Chunk(b"b 2\n")]
    >>> body = join(parts)
    >>> body, bytes(parts[1].text), parts[1].text.obj is body
    (b'a 1\nb 2\n', b'b 2\n', True)
    """
    body = b"".join([chunk.text for chunk in chunks])
    view = memoryview(body)
    start = 0
    for chunk in chunks:
        end = start + len(chunk.text)
        chunk.text = view[start:end]
        start = end
    return body


def gzip_join(chunks: Sequence[Chunk], body: bytes) -> bytes:
    r"""Return ``body`` gzipped from its chunks' streams.

    Args:
        chunks: the chunks ``body`` is the concatenation of, in order.
        body: their texts joined (the CRC and length of the trailer are its).

    >>> import gzip
    >>> parts = [Chunk(b"a 1\n"), Chunk(b"b 2\n")]
    >>> gzip.decompress(gzip_join(parts, b"a 1\nb 2\n"))
    b'a 1\nb 2\n'
    """
    trailer = struct.pack("<II", zlib.crc32(body), len(body) & 0xFFFFFFFF)
    return b"".join([_HEADER, *(chunk.packed() for chunk in chunks), _FINAL, trailer])
