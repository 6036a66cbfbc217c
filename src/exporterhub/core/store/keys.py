"""The secret key: where it comes from, and creating or replacing the key file.

``EXPORTERHUB_SECRET_KEY`` (a Fernet key) wins; otherwise a key file: the one given,
or ``<sqlite file>.key`` beside a SQLite store, created with mode 0600 the first time
a store is keyed. PostgreSQL has no "beside the store", so it needs the variable or
an explicit key file. Rotation writes the new key to ``<key file>.new`` before the
database commits and renames it over the key file afterwards; ``read_key`` returns
a leftover ``.new`` as ``pending`` so the next open can finish (or discard) it, and a
crash between the two steps loses nothing. Blocking file I/O: call from a thread.
Never logs or prints a key, and knows nothing of the database.
"""

from __future__ import annotations

import binascii
import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.fernet import Fernet

from exporterhub.core.store.errors import SecretKeyError

__all__ = [
    "KEY_ENV",
    "KeySource",
    "LoadedKey",
    "create_key_file",
    "discard_pending",
    "finish_pending",
    "generate_key",
    "locate_key",
    "parse_key",
    "pending_path",
    "read_key",
    "write_key_file",
    "write_pending",
]

KEY_ENV: Final = "EXPORTERHUB_SECRET_KEY"
_FILE_MODE: Final = 0o600


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where the key lives: the environment (``path`` None) or a key file."""

    path: Path | None

    def describe(self) -> str:
        """Name the source for messages: the variable or the file's path."""
        return f"${KEY_ENV}" if self.path is None else f"key file {self.path}"


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedKey:
    """What a source held: the key (None: the file is missing) and a pending one."""

    key: bytes | None
    pending: bytes | None = None


def generate_key() -> bytes:
    """Return a new random Fernet key (url-safe base64 of 32 bytes)."""
    return Fernet.generate_key()


def parse_key(raw: bytes | str, source: str) -> bytes:
    """Return ``raw`` stripped, after checking that it is a Fernet key.

    Raises:
        SecretKeyError: not 32 url-safe base64-encoded bytes; names ``source``.
    """
    key = (raw.encode() if isinstance(raw, str) else raw).strip()
    try:
        Fernet(key)
    except (ValueError, binascii.Error) as exc:
        raise SecretKeyError(
            f"{source} is not a Fernet key (32 url-safe base64-encoded bytes, as "
            "made by `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`)"
        ) from exc
    return key


def locate_key(store_file: Path | None, key_file: Path | None, where: str) -> KeySource:
    """Decide where the key comes from.

    Args:
        store_file: the SQLite file, or None for PostgreSQL.
        key_file: an explicit key file, or None for the default.
        where: the store's redacted URL, for the message.

    Raises:
        SecretKeyError: PostgreSQL with neither the variable nor a key file.
    """
    if os.environ.get(KEY_ENV, "").strip():
        return KeySource(None)
    if key_file is not None:
        return KeySource(key_file.expanduser().absolute())
    if store_file is not None:
        return KeySource(store_file.with_name(store_file.name + ".key"))
    raise SecretKeyError(
        f"store at {where} is PostgreSQL, which has no place beside it for a key "
        f"file: set {KEY_ENV} to a Fernet key, or pass a key file"
    )


def pending_path(path: Path) -> Path:
    """Return where a rotation parks the new key until the database commits."""
    return path.with_name(path.name + ".new")


def _read_file(path: Path) -> bytes | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SecretKeyError(
            f"key file {path}: cannot read: {exc.strerror or exc}"
        ) from exc
    return parse_key(raw, f"key file {path}")


def read_key(source: KeySource) -> LoadedKey:
    """Read the key (and any pending one) from ``source``.

    Raises:
        SecretKeyError: the variable or the file does not hold a Fernet key, or
            the file cannot be read.
    """
    if source.path is None:
        return LoadedKey(key=parse_key(os.environ[KEY_ENV], f"${KEY_ENV}"))
    pending = None
    with contextlib.suppress(SecretKeyError):  # a torn .new is no key at all
        pending = _read_file(pending_path(source.path))
    return LoadedKey(key=_read_file(source.path), pending=pending)


def _aside(path: Path) -> Path:
    """Return a fresh temporary name beside ``path`` (unique per call)."""
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file at ``path`` with mode 0600 and flush it to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_key_file(path: Path) -> bytes:
    """Create ``path`` with a new key, mode 0600; return the key it holds.

    The file appears whole or not at all (written aside, then hard-linked into
    place), and if another process created it first, its key is returned instead.

    Raises:
        SecretKeyError: the file cannot be written.
    """
    key = generate_key()
    temporary = _aside(path)
    try:
        _write_private(temporary, key + b"\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            existing = _read_file(path)
            if existing is not None:
                return existing
            raise  # pragma: no cover - the file vanished between link and read
        _sync_dir(path.parent)
    except OSError as exc:
        raise SecretKeyError(
            f"key file {path}: cannot create: {exc.strerror or exc}"
        ) from exc
    finally:
        temporary.unlink(missing_ok=True)
    return key


def write_key_file(path: Path, key: bytes) -> None:
    """Replace the key file with ``key`` atomically: written aside, synced, renamed."""
    temporary = _aside(path)
    try:
        _write_private(temporary, key + b"\n")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _sync_dir(path.parent)


def write_pending(path: Path, key: bytes) -> None:
    """Park ``key`` beside the key file as ``<key file>.new`` (mode 0600, synced)."""
    pending = pending_path(path)
    pending.unlink(missing_ok=True)
    _write_private(pending, key + b"\n")
    _sync_dir(path.parent)


def finish_pending(path: Path) -> None:
    """Move ``<key file>.new`` over the key file atomically and sync the directory."""
    os.replace(pending_path(path), path)
    _sync_dir(path.parent)


def discard_pending(path: Path) -> None:
    """Remove a ``<key file>.new`` the database never committed to."""
    pending_path(path).unlink(missing_ok=True)
