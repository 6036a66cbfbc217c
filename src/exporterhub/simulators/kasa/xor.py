r"""XOR "autokey" obfuscation and TCP framing of the legacy Kasa IOT protocol.

Pure functions, no I/O (protocol document ``kasa.md`` §5.1). Each plaintext byte
``p`` is sent as ``c = key ^ p``, after which ``key = c``; the first key is 171.
TCP frames carry a 4-byte big-endian length of the plaintext before the obfuscated
bytes; UDP discovery datagrams carry the obfuscated bytes alone.

Example:
    >>> decrypt(encrypt(b'{"system":{}}'))
    b'{"system":{}}'
    >>> frame(b"ab")[:4]
    b'\x00\x00\x00\x02'
"""

from __future__ import annotations

import struct
from typing import Final

__all__ = ["HEADER", "INITIAL_KEY", "MAX_FRAME", "decrypt", "encrypt", "frame"]

INITIAL_KEY: Final = 171
HEADER: Final = struct.Struct(">I")  # plaintext length, bytes
MAX_FRAME: Final = 1 << 20  # a request longer than 1 MiB is not from a Kasa client


def encrypt(plain: bytes) -> bytes:
    """Return ``plain`` obfuscated with the autokey XOR (no length prefix)."""
    key = INITIAL_KEY
    out = bytearray(len(plain))
    for i, p in enumerate(plain):
        key = key ^ p
        out[i] = key
    return bytes(out)


def decrypt(cipher: bytes) -> bytes:
    """Return the plaintext of autokey-XOR obfuscated ``cipher``."""
    key = INITIAL_KEY
    out = bytearray(len(cipher))
    for i, c in enumerate(cipher):
        out[i] = key ^ c
        key = c
    return bytes(out)


def frame(plain: bytes) -> bytes:
    """Return the TCP frame of ``plain``: length prefix, then obfuscated bytes."""
    return HEADER.pack(len(plain)) + encrypt(plain)
