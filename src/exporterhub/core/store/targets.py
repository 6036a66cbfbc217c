"""The target store: one async repository of targets and statuses, SQLite or PostgreSQL.

``TargetStore.open`` prepares the database (the SQLite file, pragmas, migrations to
head), settles the secret key against the canary, and returns the one instance a
process uses; many coroutines may share it. Every write commits before it returns
(SQLite: WAL with ``synchronous=FULL``), bumps the change counter in the same
transaction, and is a compare-and-swap on ``revision`` where the caller names one.
Statuses are written only when they differ from the last one written. Settings are
stored sealed (``sealing.py``). It must not validate settings (the kind's model does
that) nor know any exporter, and it never logs settings.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from cryptography.fernet import Fernet, MultiFernet
from sqlalchemy import Row
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from exporterhub.core.clock import Clock, SystemClock
from exporterhub.core.store.canary import check_canary, reencrypt, settle_key
from exporterhub.core.store.engine import (
    WRITE,
    make_engine,
    prepare_sqlite_file,
    translate_errors,
)
from exporterhub.core.store.errors import SecretKeyError
from exporterhub.core.store.keys import (
    KeySource,
    discard_pending,
    locate_key,
    parse_key,
    read_key,
    write_key_file,
    write_pending,
)
from exporterhub.core.store.migrate import upgrade
from exporterhub.core.store.records import StoredTarget, TargetStatus
from exporterhub.core.store.rows import (
    change_counter,
    delete_row,
    insert_many,
    insert_row,
    select_row,
    select_rows,
    update_enabled,
    update_row,
)
from exporterhub.core.store.sealing import SealError, seal, unseal
from exporterhub.core.store.status import delete_status, read_statuses, upsert_status
from exporterhub.core.store.url import redact_url, sqlite_path, store_url

__all__ = ["TargetStore"]

_log = structlog.get_logger(__name__)


class TargetStore:
    """Targets and their statuses in SQLite or PostgreSQL; build with ``open``.

    Attributes:
        location: the store's URL with any password redacted, for messages.
        key_file: the key file in use, or None when the key comes from
            ``EXPORTERHUB_SECRET_KEY``.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        location: str,
        key_source: KeySource,
        key: bytes,
        canary: str,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**WRITE)
        self._password = make_url(engine.url).password
        self.location = location
        self.key_file = key_source.path
        self._keys = [key]
        self._fernet = MultiFernet([Fernet(key)])
        self._canary = canary
        self._clock = clock
        # SQLite writes serialise on one file lock anyway; queueing them here
        # leaves the busy timeout to other processes.
        self._serial = engine.dialect.name == "sqlite"
        self._write_lock = asyncio.Lock()
        self._written: dict[tuple[str, str], TargetStatus] = {}

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        key_file: Path | None = None,
        create: bool = True,
        clock: Clock | None = None,
    ) -> TargetStore:
        """Open (and on first use create) the store at ``url``.

        Args:
            url: a path or URL, as ``store_url`` accepts.
            key_file: where the secret key lives when ``EXPORTERHUB_SECRET_KEY``
                is unset; default ``<sqlite file>.key``; required for PostgreSQL
                without the variable.
            create: whether a missing SQLite file or an empty database may be
                made into a new store.
            clock: the wall clock for timestamps.

        Raises:
            ConfigError: ``url`` is neither a path nor a known URL.
            StoreError: the database cannot be reached, or is missing while
                ``create`` is False.
            StoreVersionError: the store's schema is newer than this code.
            SecretKeyError: the key is missing, malformed or not the store's.
        """
        full = store_url(url)
        where = redact_url(full)
        path = sqlite_path(full)
        source = locate_key(path, key_file, where)
        loaded = await asyncio.to_thread(read_key, source)  # a bad key creates nothing
        if path is not None:
            await asyncio.to_thread(
                prepare_sqlite_file, path, create=create, where=where
            )
        engine = make_engine(full)
        try:
            with translate_errors(where, make_url(full).password):
                async with engine.execution_options(**WRITE).begin() as conn:
                    created = await conn.run_sync(upgrade, create=create, where=where)
                key, canary = await settle_key(
                    engine.execution_options(**WRITE), source, loaded, where
                )
        except BaseException:
            await engine.dispose()
            raise
        _log.info(
            "store_opened",
            store=where,
            created=created,
            key_source="env" if source.path is None else str(source.path),
        )
        return cls(
            engine,
            location=where,
            key_source=source,
            key=key,
            canary=canary,
            clock=clock or SystemClock(),
        )

    async def close(self) -> None:
        """Close every connection; the store cannot be used afterwards."""
        await self._engine.dispose()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.time(), UTC)

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        with translate_errors(self.location, self._password):
            async with self._engine.connect() as conn:
                yield conn

    @contextlib.asynccontextmanager
    async def _write(self, *, keyed: bool = True) -> AsyncIterator[AsyncConnection]:
        """Run the body in one write transaction, committed before this returns.

        ``keyed`` writes (targets, whose secrets need the current key) end by
        checking that no other process rotated the key meanwhile.
        """
        lock = self._write_lock if self._serial else contextlib.nullcontext()
        async with lock:
            with translate_errors(self.location, self._password):
                async with self._writer.begin() as conn:
                    yield conn
                    if keyed:
                        await check_canary(conn, self._canary, self.location)

    def _target(self, row: Row[Any]) -> StoredTarget:
        try:
            settings = unseal(row.settings, self._fernet)
        except SealError:
            raise SecretKeyError(
                f"the secret key cannot decrypt target {row.kind}/{row.name} in store "
                f"at {self.location} (was the key rotated by another process?)"
            ) from None
        return StoredTarget(
            id=row.id,
            kind=row.kind,
            name=row.name,
            settings=settings,
            enabled=row.enabled,
            created_at=row.created_at,
            updated_at=row.updated_at,
            revision=row.revision,
        )

    async def list(self, kind: str | None = None) -> list[StoredTarget]:
        """Return every target (of ``kind``, when given), ordered by kind and name."""
        async with self._read() as conn:
            rows = await select_rows(conn, kind)
        return [self._target(row) for row in rows]

    async def get(self, kind: str, name: str) -> StoredTarget | None:
        """Return the target ``kind/name``, or None."""
        async with self._read() as conn:
            row = await select_row(conn, kind, name)
        return None if row is None else self._target(row)

    async def create(
        self, kind: str, name: str, settings: Mapping[str, Any], *, enabled: bool = True
    ) -> StoredTarget:
        """Store a new target at revision 1.

        Args:
            kind: the exporter kind.
            name: unique within ``kind``.
            settings: the kind's settings, ``model_dump()`` in python mode.
            enabled: whether it should run.

        Raises:
            TargetExistsError: ``kind/name`` exists.
        """
        sealed = seal(settings, self._fernet)
        async with self._write() as conn:
            row = await insert_row(
                conn, kind, name, sealed, enabled=enabled, now=self._now()
            )
        return self._target(row)

    async def create_many(
        self, items: Sequence[tuple[str, str, Mapping[str, Any], bool]]
    ) -> tuple[builtins.list[tuple[str, str]], builtins.list[tuple[str, str]]]:
        """Store many new targets in one transaction and one statement (an import).

        Args:
            items: ``(kind, name, settings, enabled)`` each.

        Returns:
            The ``(kind, name)`` pairs stored, and those skipped because they
            exist already (or repeat within ``items``).

        Raises:
            TargetExistsError: another process stored one of them meanwhile;
                nothing was stored.
        """
        sealed = [(k, n, seal(s, self._fernet), e) for k, n, s, e in items]
        async with self._write() as conn:
            return await insert_many(conn, sealed, now=self._now())

    async def update(
        self,
        kind: str,
        name: str,
        settings: Mapping[str, Any],
        *,
        enabled: bool,
        revision: int,
    ) -> StoredTarget:
        """Replace a target's settings and ``enabled`` if it is still at ``revision``.

        Raises:
            TargetNotFoundError: no such target.
            StaleRevisionError: it has moved on; ``.current`` is its revision.
        """
        sealed = seal(settings, self._fernet)
        async with self._write() as conn:
            row = await update_row(
                conn,
                kind,
                name,
                sealed,
                enabled=enabled,
                revision=revision,
                now=self._now(),
            )
        return self._target(row)

    async def set_enabled(
        self, kind: str, name: str, enabled: bool, *, revision: int | None = None
    ) -> StoredTarget:
        """Enable or disable a target; one already so is left as it is.

        Args:
            kind: the target's kind.
            name: the target's name.
            enabled: the wanted state.
            revision: the revision the caller saw, or None to skip the check.

        Raises:
            TargetNotFoundError: no such target.
            StaleRevisionError: ``revision`` given and not the stored one.
        """
        async with self._write() as conn:
            row = await update_enabled(
                conn, kind, name, enabled, revision=revision, now=self._now()
            )
        return self._target(row)

    async def delete(
        self, kind: str, name: str, *, revision: int | None = None
    ) -> None:
        """Delete a target and its status row.

        Raises:
            TargetNotFoundError: no such target.
            StaleRevisionError: ``revision`` given and not the stored one.
        """
        async with self._write() as conn:
            await delete_row(conn, kind, name, revision=revision)
            await delete_status(conn, kind, name)
        self._written.pop((kind, name), None)

    async def change_token(self) -> object:
        """Return a value that differs after any target write, here or elsewhere.

        One small query (the change counter, bumped in each write's own
        transaction), cheap enough to poll every few seconds across replicas.
        Compare tokens with ``==``; they mean nothing else.
        """
        async with self._read() as conn:
            return await change_counter(conn)

    async def set_status(self, status: TargetStatus) -> None:
        """Store ``status`` unless it equals the last one this store wrote for it.

        Upserts by kind and name; file-configured targets have statuses too.
        """
        key = (status.kind, status.name)
        if self._written.get(key) == status:
            return
        async with self._write(keyed=False) as conn:
            await upsert_status(conn, status)
        self._written[key] = status

    async def statuses(self) -> dict[tuple[str, str], TargetStatus]:
        """Return every stored status by (kind, name)."""
        async with self._read() as conn:
            return await read_statuses(conn)

    async def delete_status(self, kind: str, name: str) -> None:
        """Forget the status of ``kind/name``; no error when there is none."""
        async with self._write(keyed=False) as conn:
            await delete_status(conn, kind, name)
        self._written.pop((kind, name), None)

    async def rotate_key(self, new_key: bytes) -> int:
        """Re-encrypt every secret and the canary with ``new_key``, in one transaction.

        With a key file, the new key is first parked beside it as ``<key file>.new``
        (0600), then the database commits, then the key file is replaced
        atomically; a crash in between is finished by the next ``open``. With the
        key in ``EXPORTERHUB_SECRET_KEY`` nothing is written outside the database:
        the caller holds ``new_key`` and must have the variable set to it before
        the next start (``key_file`` is None in that case). Revisions, timestamps
        and the change token stay as they were: no setting changed. Other
        processes still holding the old key must be restarted with the new one:
        their target writes are refused from the rotation on, so they cannot
        store a secret sealed with the old key.

        Returns:
            How many targets hold secrets (all re-encrypted).

        Raises:
            SecretKeyError: ``new_key`` is not a Fernet key, or a stored secret
                does not decrypt with the current key.
        """
        new = parse_key(new_key, "the new key")
        path = self.key_file
        if path is not None:
            await asyncio.to_thread(write_pending, path, new)
        try:
            async with self._write(keyed=False) as conn:
                count, canary = await reencrypt(conn, new, self._keys)
        except BaseException:
            if path is not None:
                await asyncio.to_thread(discard_pending, path)
            raise
        # Keep the old keys for reads that were in flight during the rotation.
        self._keys.insert(0, new)
        self._fernet = MultiFernet([Fernet(k) for k in self._keys])
        self._canary = canary
        if path is not None:
            await asyncio.to_thread(write_key_file, path, new)
            await asyncio.to_thread(discard_pending, path)
        _log.info("store_key_rotated", store=self.location, targets=count)
        return count
