"""Prove the secret key against the store's canary; name what a wrong key cannot open.

``settle_key`` runs once per open: a store without a canary gets one (and a key file,
when the key lives in one and is missing); a store with one must be opened with the
key that made it, or with the pending key of an unfinished rotation, which is then
finished. Otherwise one ``SecretKeyError`` names every target whose secrets cannot be
decrypted. ``reencrypt`` is the database half of a key rotation, and
``check_canary`` keeps a process whose key was rotated away from writing secrets
nobody can read. It must not hold keys beyond the call, nor log one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

import structlog
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from exporterhub.core.store.errors import SecretKeyError
from exporterhub.core.store.keys import (
    KEY_ENV,
    KeySource,
    LoadedKey,
    create_key_file,
    discard_pending,
    finish_pending,
    read_key,
)
from exporterhub.core.store.schema import META_ROW, store_meta, targets
from exporterhub.core.store.sealing import SealError, reseal, secret_tokens

__all__ = ["CANARY", "check_canary", "reencrypt", "settle_key", "undecryptable"]

_log = structlog.get_logger(__name__)

CANARY: Final = b"exporterhub store canary v1"
_NAMED: Final = 20


def _proves(key: bytes | None, canary: str | None) -> bool:
    if key is None or canary is None:
        return False
    try:
        return Fernet(key).decrypt(canary.encode("ascii")) == CANARY
    except InvalidToken:
        return False


def _decrypts(key: Fernet | None, tokens: Sequence[str]) -> bool:
    try:
        for token in tokens:
            if key is None:
                return False
            key.decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


async def undecryptable(conn: AsyncConnection, key: bytes | None) -> list[str]:
    """Return ``kind/name`` of every target holding a secret ``key`` cannot decrypt."""
    fernet = Fernet(key) if key is not None else None
    rows = await conn.execute(
        select(targets.c.kind, targets.c.name, targets.c.settings).order_by(
            targets.c.kind, targets.c.name
        )
    )
    return [
        f"{row.kind}/{row.name}"
        for row in rows
        if not _decrypts(fernet, secret_tokens(row.settings))
    ]


def _listing(names: Sequence[str]) -> str:
    if not names:
        return "no target holds a secret yet"
    shown = ", ".join(names[:_NAMED])
    more = f" and {len(names) - _NAMED} more" if len(names) > _NAMED else ""
    return f"cannot decrypt the secrets of {len(names)} target(s): {shown}{more}"


async def _read_canary(conn: AsyncConnection) -> str | None:
    canary: str | None = await conn.scalar(
        select(store_meta.c.canary).where(store_meta.c.id == META_ROW)
    )
    return canary


async def _set_canary(conn: AsyncConnection, key: bytes) -> str:
    token = Fernet(key).encrypt(CANARY).decode("ascii")
    await conn.execute(
        update(store_meta).where(store_meta.c.id == META_ROW).values(canary=token)
    )
    return token


async def check_canary(conn: AsyncConnection, expected: str, where: str) -> None:
    """Refuse a write whose process holds a key another process has rotated away.

    Call last in a write transaction that bumped the change counter: that row is
    then locked, so a rotation either committed before (and is seen here) or waits
    until this transaction is over and re-encrypts what it wrote.

    Raises:
        SecretKeyError: the canary changed since this process proved its key;
            raised inside the transaction, so nothing is written.
    """
    if await _read_canary(conn) != expected:
        raise SecretKeyError(
            f"the secret key of store at {where} was rotated by another process: "
            "restart this one with the new key (nothing was written)"
        )


async def settle_key(
    writer: AsyncEngine, source: KeySource, loaded: LoadedKey, where: str
) -> tuple[bytes, str]:
    """Return the store's key and canary, creating the key and canary if new.

    Args:
        writer: the store's engine with the write option set.
        source: where the key lives.
        loaded: what ``read_key(source)`` found there.
        where: the store's redacted URL, for messages.

    Raises:
        SecretKeyError: the key is malformed, missing while the store has a
            canary, or not the store's key; the message names the targets whose
            secrets it cannot decrypt.
    """
    key, pending = loaded.key, loaded.pending
    async with writer.begin() as conn:  # BEGIN IMMEDIATE: one process keys a store
        canary = await _read_canary(conn)
        if canary is None:
            if key is None and source.path is not None:
                key = await asyncio.to_thread(create_key_file, source.path)
                _log.info("store_key_created", key_file=str(source.path))
            if key is not None:
                token = Fernet(key).encrypt(CANARY).decode("ascii")
                await conn.execute(  # only if no other process keyed it meanwhile
                    update(store_meta)
                    .where(store_meta.c.id == META_ROW, store_meta.c.canary.is_(None))
                    .values(canary=token)
                )
                canary = await _read_canary(conn)
        elif not (_proves(key, canary) or _proves(pending, canary)):
            # Another process may have keyed this new store after we read the source.
            again = await asyncio.to_thread(read_key, source)
            key, pending = again.key, again.pending
        chosen = next((k for k in (key, pending) if _proves(k, canary)), None)
        if chosen is None:
            names = await undecryptable(conn, key)
    if chosen is None or canary is None:
        if key is None:
            raise SecretKeyError(
                f"{source.describe()} is missing, and store at {where} was keyed "
                f"before: restore it or set ${KEY_ENV}; {_listing(names)}"
            )
        raise SecretKeyError(
            f"{source.describe()} does not hold the key of store at {where}: "
            f"{_listing(names)}"
        )
    if source.path is not None and pending is not None:
        if chosen == key:
            await asyncio.to_thread(discard_pending, source.path)
        else:  # a rotation committed but crashed before replacing the key file
            await asyncio.to_thread(finish_pending, source.path)
            _log.warning("store_key_rotation_finished", key_file=str(source.path))
    return chosen, canary


async def reencrypt(
    conn: AsyncConnection, new: bytes, old: Sequence[bytes]
) -> tuple[int, str]:
    """Re-encrypt the canary and every secret with ``new``, in the caller's transaction.

    The canary goes first: its row lock makes writers of other processes either
    finish before the targets are read or fail ``check_canary`` afterwards.

    Args:
        conn: a connection in a write transaction.
        new: the new key.
        old: keys the stored secrets may be encrypted with.

    Returns:
        How many targets hold secrets (and were rewritten), and the new canary.

    Raises:
        SecretKeyError: a target's secret decrypts with none of the keys.
    """
    canary = await _set_canary(conn, new)
    keys = MultiFernet([Fernet(k) for k in (new, *old)])
    rows = await conn.execute(
        select(targets.c.id, targets.c.kind, targets.c.name, targets.c.settings)
    )
    count = 0
    for row in rows.all():
        try:
            settings, secrets = reseal(row.settings, keys)
        except SealError:
            raise SecretKeyError(
                f"cannot rotate the key: target {row.kind}/{row.name} holds a secret "
                "the current key does not decrypt"
            ) from None
        if secrets:
            await conn.execute(
                update(targets).where(targets.c.id == row.id).values(settings=settings)
            )
            count += 1
    return count, canary
