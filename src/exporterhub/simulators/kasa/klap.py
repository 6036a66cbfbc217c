"""KLAP v2 crypto and handshake state of a simulated SMART plug.

Pure code, no I/O (protocol document ``kasa.md`` §5.2). The plug owns one
``auth`` hash, ``SHA256(SHA1(username) ‖ SHA1(password))`` for login version 2.
``handshake1`` takes the client's 16-byte ``local_seed``, picks a ``remote_seed``
and proves knowledge of ``auth``; ``handshake2`` checks the client's proof. Both
sides then derive, from ``local ‖ remote ‖ auth``:

- ``key``: ``SHA256("lsk" ‖ …)[:16]``, the AES-128-CBC key;
- ``iv``: ``SHA256("iv" ‖ …)``; bytes 0-11 are the IV prefix, bytes 28-31 the
  starting sequence number (signed 32-bit big-endian);
- ``sig``: ``SHA256("ldk" ‖ …)[:28]``, prefix of every body signature.

A request or reply body is ``SHA256(sig ‖ seq ‖ ciphertext) ‖ ciphertext`` with
``ciphertext = AES-CBC(key, prefix ‖ seq, PKCS7(json))``; replies reuse the
request's ``seq``.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from dataclasses import dataclass, field
from typing import Final

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["KlapError", "KlapSession", "auth_hash_v2", "handshake1"]

SEED_BYTES: Final = 16
SIG_BYTES: Final = 32  # SHA-256 signature in front of every body
_SEQ: Final = struct.Struct(">i")


class KlapError(ValueError):
    """A KLAP body failed its signature check or could not be decrypted."""


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def auth_hash_v2(username: str, password: str) -> bytes:
    """Return the login-v2 credentials hash ``SHA256(SHA1(user) ‖ SHA1(pass))``."""
    user = hashlib.sha1(username.encode(), usedforsecurity=False).digest()
    pw = hashlib.sha1(password.encode(), usedforsecurity=False).digest()
    return _sha256(user + pw)


@dataclass(slots=True, kw_only=True)
class KlapSession:
    """One negotiated session: seeds, derived key material, confirmation state.

    Attributes:
        local_seed: the client's 16 bytes from handshake1.
        remote_seed: the plug's 16 bytes from handshake1.
        auth: the plug's credentials hash.
        confirmed: set once handshake2 has matched.
    """

    local_seed: bytes
    remote_seed: bytes
    auth: bytes
    confirmed: bool = False
    key: bytes = field(init=False)
    iv_prefix: bytes = field(init=False)
    start_seq: int = field(init=False)
    sig: bytes = field(init=False)

    def __post_init__(self) -> None:
        material = self.local_seed + self.remote_seed + self.auth
        self.key = _sha256(b"lsk" + material)[:16]
        iv = _sha256(b"iv" + material)
        self.iv_prefix = iv[:12]
        self.start_seq = _SEQ.unpack(iv[-4:])[0]
        self.sig = _sha256(b"ldk" + material)[:28]

    def server_proof(self) -> bytes:
        """Return the handshake1 hash ``SHA256(local ‖ remote ‖ auth)``."""
        return _sha256(self.local_seed + self.remote_seed + self.auth)

    def check_client_proof(self, proof: bytes) -> bool:
        """Return whether ``proof`` is ``SHA256(remote ‖ local ‖ auth)``; confirm."""
        expected = _sha256(self.remote_seed + self.local_seed + self.auth)
        self.confirmed = secrets.compare_digest(proof, expected)
        return self.confirmed

    def _cipher(self, seq: int) -> Cipher[modes.CBC]:
        iv = self.iv_prefix + _SEQ.pack(seq)
        return Cipher(algorithms.AES(self.key), modes.CBC(iv))

    def encrypt(self, plain: bytes, seq: int) -> bytes:
        """Return the signed body carrying ``plain`` under sequence number ``seq``."""
        padder = padding.PKCS7(128).padder()
        padded = padder.update(plain) + padder.finalize()
        enc = self._cipher(seq).encryptor()
        cipher = enc.update(padded) + enc.finalize()
        return _sha256(self.sig + _SEQ.pack(seq) + cipher) + cipher

    def decrypt(self, body: bytes, seq: int) -> bytes:
        """Return the plaintext of a signed ``body``.

        Raises:
            KlapError: bad signature, length or padding.
        """
        sig, cipher = body[:SIG_BYTES], body[SIG_BYTES:]
        expected = _sha256(self.sig + _SEQ.pack(seq) + cipher)
        if not secrets.compare_digest(sig, expected):
            msg = "signature mismatch"
            raise KlapError(msg)
        if not cipher or len(cipher) % 16:
            msg = "ciphertext is not a whole number of AES blocks"
            raise KlapError(msg)
        dec = self._cipher(seq).decryptor()
        padded = dec.update(cipher) + dec.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        try:
            return unpadder.update(padded) + unpadder.finalize()
        except ValueError as exc:
            msg = "bad padding"
            raise KlapError(msg) from exc


def handshake1(local_seed: bytes, auth: bytes) -> KlapSession:
    """Start a session for the client's ``local_seed`` with a fresh remote seed.

    Raises:
        KlapError: the seed is not 16 bytes.
    """
    if len(local_seed) != SEED_BYTES:
        msg = "local seed must be 16 bytes"
        raise KlapError(msg)
    return KlapSession(
        local_seed=local_seed, remote_seed=secrets.token_bytes(SEED_BYTES), auth=auth
    )
