"""Turns the original snp-exporter's database at ``DB_PATH`` into a target store, once.

The original kept its connections in SQLite: ``snp_connections`` (``id``, ``name``
unique, ``restapi``, ``websocket``, ``username``, ``password`` in plain text,
``objects_ids`` as JSON text, ``enabled`` 0/1, ``created_at``, ``updated_at``) and
``connection_status`` (``connection_id``, ``status``, ``last_update``). When
``snp-exporter`` finds such a file at ``DB_PATH`` it replaces it by a target store
holding every connection, in four steps:

1. backup: the original is copied with SQLite's backup API to
   ``<DB_PATH>.original.partial``, flushed and renamed to ``<DB_PATH>.original``
   (mode 0600). A backup there already is reused when it holds the same
   connections, else the next free ``.original.N`` is taken: none is overwritten.
2. build: a new store is made in ``<DB_PATH>.migrating`` (leftovers of an earlier
   attempt are deleted first) with every connection of the backup: its id, name,
   enabled flag and times, the password encrypted with the store's key
   (``<DB_PATH>.key``, or ``EXPORTERHUB_SECRET_KEY``), verification off and marked
   ``legacy_tls`` (the original never verified certificates), and its last status.
   A connection the settings model refuses is kept as stored, shown as invalid.
3. verify: the new store is opened again and every connection read back, its
   password decrypted and compared.
4. publish: the new file is flushed and renamed over ``DB_PATH`` in one step.

``DB_PATH`` is only read until step 4 replaces it whole, so a crash at any point
leaves either the original (the next start does it all again, reusing the backup)
or the finished store (the next start opens it): both end in the same store. A
lock file keeps two processes from migrating at once. ``hook`` is called with
each step's name as it completes (``copied``: the backup written but not yet
renamed, ``backup``, ``rows``: the new store written but still open, ``built``,
``verified``, ``published``), for tests that crash there.

The backup still holds the passwords in plain text, as the original did: the log
says so, and where it is. Nothing here logs a password or a setting.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import structlog
from pydantic import SecretStr, ValidationError
from sqlalchemy import create_engine, update

from exporterhub.core.errors import ConfigError
from exporterhub.core.kinds import jsonable
from exporterhub.core.store import StoreError, TargetStatus, TargetStore
from exporterhub.core.store.engine import translate_errors
from exporterhub.core.store.schema import targets as targets_table
from exporterhub.exporters.snp.records import settings_from_record
from exporterhub.exporters.snp.settings import SnpTargetSettings

__all__ = [
    "Found",
    "Layout",
    "MigrationReport",
    "OriginalConnection",
    "inspect",
    "migrate",
    "prepare_store",
    "read_original",
]

_log = structlog.get_logger(__name__)

KIND: Final = "snp"
_MODE: Final = 0o600
_SIDECARS: Final = ("-wal", "-shm", "-journal")
Hook = Callable[[str], None]


class Found(StrEnum):
    """What a ``DB_PATH`` holds."""

    NOTHING = "nothing"  # no file, an empty one, or SQLite without tables
    ORIGINAL = "original"  # the original snp-exporter's database
    STORE = "store"  # a target store
    OTHER = "other"  # something else: left alone, start refused


@dataclass(frozen=True, slots=True)
class Layout:
    """The files beside ``DB_PATH`` that a migration uses."""

    path: Path

    def _beside(self, suffix: str) -> Path:
        return self.path.with_name(self.path.name + suffix)

    @property
    def backup(self) -> Path:
        """The original's copy: ``connections.db.original``."""
        return self._beside(".original")

    @property
    def partial(self) -> Path:
        """The backup while it is being written."""
        return self._beside(".original.partial")

    @property
    def building(self) -> Path:
        """The new store until it is published."""
        return self._beside(".migrating")

    @property
    def lock(self) -> Path:
        """Held while migrating."""
        return self._beside(".migrating.lock")

    @property
    def key(self) -> Path:
        """The store's key file (the store's default: beside the file)."""
        return self._beside(".key")

    def backup_candidates(self) -> Iterator[Path]:
        """Yield ``.original``, then ``.original.1``, ``.original.2`` and so on."""
        yield self.backup
        number = 1
        while True:
            yield self._beside(f".original.{number}")
            number += 1


@dataclass(frozen=True, slots=True, kw_only=True)
class OriginalConnection:
    """One row of the original's ``snp_connections`` with its status."""

    id: int
    name: str
    restapi: str
    websocket: str
    username: str
    password: str
    objects_ids: str
    enabled: bool
    created_at: str | None
    updated_at: str | None
    status: str | None
    last_update: str | None

    def record(self) -> dict[str, Any]:
        """Return the connection as the original's API showed it."""
        try:
            objects: Any = json.loads(self.objects_ids)
        except (TypeError, ValueError):
            objects = self.objects_ids  # kept as it is: shown as invalid
        return {
            "name": self.name,
            "restapi": self.restapi,
            "websocket": self.websocket,
            "username": self.username,
            "password": self.password,
            "objects_ids": objects,
        }


@dataclass(slots=True)
class MigrationReport:
    """What a migration did."""

    backup: Path
    connections: int = 0
    invalid: list[str] = field(default_factory=list)


def _connect(path: Path) -> sqlite3.Connection:
    """Open an existing SQLite file (never creating one); rolls back a hot journal."""
    return sqlite3.connect(f"file:{path}?mode=rw", uri=True)


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {name for (name,) in rows}


def inspect(path: Path) -> Found:
    """Say what ``path`` holds."""
    if not path.exists() or path.stat().st_size == 0:
        return Found.NOTHING
    try:
        with contextlib.closing(_connect(path)) as conn:
            tables = _tables(conn)
    except sqlite3.DatabaseError:
        return Found.OTHER
    if "snp_connections" in tables:
        return Found.ORIGINAL
    if {"targets", "store_meta"} <= tables:
        return Found.STORE
    return Found.NOTHING if not tables else Found.OTHER


def read_original(path: Path) -> list[OriginalConnection]:
    """Read every connection of an original database, by id."""
    with contextlib.closing(_connect(path)) as conn:
        conn.row_factory = sqlite3.Row
        statuses = "connection_status" in _tables(conn)
        query = (
            "SELECT c.*, s.status, s.last_update FROM snp_connections c "
            "LEFT JOIN connection_status s ON c.id = s.connection_id ORDER BY c.id"
            if statuses
            else "SELECT c.*, NULL AS status, NULL AS last_update "
            "FROM snp_connections c ORDER BY c.id"
        )
        rows = conn.execute(query).fetchall()
    return [
        OriginalConnection(
            id=int(row["id"]),
            name=str(row["name"]),
            restapi=row["restapi"],
            websocket=row["websocket"],
            username=row["username"],
            password=row["password"],
            objects_ids=row["objects_ids"],
            enabled=bool(row["enabled"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            status=row["status"],
            last_update=row["last_update"],
        )
        for row in rows
    ]


def _time(text: str | None) -> datetime | None:
    """Read SQLite's ``CURRENT_TIMESTAMP`` text (UTC); None when unreadable."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    for name in (path, *(Path(f"{path}{s}") for s in _SIDECARS)):
        name.unlink(missing_ok=True)


def _backup(layout: Layout, connections: list[OriginalConnection], step: Hook) -> Path:
    """Copy the original beside itself; reuse a backup holding the same rows."""
    for candidate in layout.backup_candidates():
        if not candidate.exists():
            break
        if inspect(candidate) is Found.ORIGINAL and read_original(candidate) == (
            connections
        ):
            return candidate
    _remove(layout.partial)
    fd = os.open(layout.partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _MODE)
    os.close(fd)
    with (
        contextlib.closing(_connect(layout.path)) as source,
        contextlib.closing(sqlite3.connect(layout.partial)) as target,
    ):
        source.backup(target)
    _fsync(layout.partial)
    step("copied")
    os.replace(layout.partial, candidate)
    _fsync(candidate.parent)
    return candidate


def _settings(
    connection: OriginalConnection, interval: float
) -> tuple[dict[str, Any], str | None]:
    """Return the stored settings of a connection and why it is invalid, if so."""
    raw = settings_from_record(connection.record(), interval=interval, legacy=True)
    try:
        model = SnpTargetSettings.model_validate({**raw, "name": connection.name})
    except ValidationError as exc:
        raw["password"] = SecretStr(str(connection.password))  # sealed all the same
        fields = sorted({".".join(map(str, e["loc"])) or "-" for e in exc.errors()})
        return raw, ", ".join(fields)
    stored: dict[str, Any] = jsonable(model.model_dump())
    stored.pop("name")
    return stored, None


def _keep_ids_and_times(path: Path, connections: list[OriginalConnection]) -> None:
    """Give each stored row the original's id and times (before publishing)."""
    engine = create_engine(f"sqlite:///{path}", hide_parameters=True)
    try:
        with translate_errors(str(path)), engine.begin() as conn:
            # Through negative ids first: no two rows ever share one on the way.
            for sign in (-1, 1):
                for connection in connections:
                    row = (targets_table.c.kind == KIND) & (
                        targets_table.c.name == connection.name
                    )
                    values: dict[str, Any] = {"id": sign * connection.id}
                    if sign == 1:
                        for column in ("created_at", "updated_at"):
                            when = _time(getattr(connection, column))
                            if when is not None:
                                values[column] = when
                    conn.execute(update(targets_table).where(row).values(**values))
        with translate_errors(str(path)), engine.connect() as conn:
            # Everything into the main file: only that file is published.
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()


async def _build(
    layout: Layout,
    connections: list[OriginalConnection],
    *,
    interval: float,
    key_file: Path,
    step: Hook,
) -> list[str]:
    """Write the new store into ``layout.building``; return the invalid names."""
    await asyncio.to_thread(_remove, layout.building)
    store = await TargetStore.open(str(layout.building), key_file=key_file)
    invalid: list[str] = []
    try:
        items = []
        for connection in connections:
            stored, problem = _settings(connection, interval)
            if problem is not None:
                invalid.append(connection.name)
                _log.warning(
                    "snp_migrated_connection_invalid",
                    connection=connection.name,
                    fields=problem,
                )
            items.append((KIND, connection.name, stored, connection.enabled))
        await store.create_many(items)
        now = datetime.now(UTC)
        for connection in connections:
            if connection.status:
                await store.set_status(
                    TargetStatus(
                        kind=KIND,
                        name=connection.name,
                        link=connection.status,
                        up=False,
                        changed_at=_time(connection.last_update) or now,
                    )
                )
        step("rows")
    finally:
        await store.close()
    await asyncio.to_thread(_keep_ids_and_times, layout.building, connections)
    return invalid


async def _verify(
    layout: Layout, connections: list[OriginalConnection], key_file: Path
) -> None:
    """Read the new store back; every connection there, every password right."""
    store = await TargetStore.open(
        str(layout.building), key_file=key_file, create=False
    )
    try:
        stored = {row.name: row for row in await store.list(KIND)}
    finally:
        await store.close()
    for connection in connections:
        row = stored.get(connection.name)
        password = row.settings.get("password") if row is not None else None
        if (
            row is None
            or row.id != connection.id
            or row.enabled != connection.enabled
            or not isinstance(password, SecretStr)
            or password.get_secret_value() != connection.password
        ):
            raise StoreError(
                f"migration of {layout.path}: connection {connection.name!r} did "
                "not read back as written; the original is untouched"
            )
    if len(stored) != len(connections):
        raise StoreError(f"migration of {layout.path}: unexpected rows in the store")


def _publish(layout: Layout) -> None:
    """Rename the new store over ``DB_PATH`` in one step, flushed before and after."""
    for suffix in _SIDECARS:
        Path(f"{layout.building}{suffix}").unlink(missing_ok=True)  # empty by now
    _fsync(layout.building)
    os.replace(layout.building, layout.path)
    _fsync(layout.path.parent)


def _lock(path: Path) -> int:
    """Open and lock the lock file (waits for another migrating process)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, _MODE)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


@contextlib.asynccontextmanager
async def _locked(layout: Layout) -> AsyncIterator[None]:
    fd = await asyncio.to_thread(_lock, layout.lock)
    try:
        yield
    finally:
        os.close(fd)  # closing releases the lock


async def migrate(
    path: Path,
    *,
    interval: float,
    key_file: Path | None = None,
    hook: Hook | None = None,
) -> MigrationReport | None:
    """Replace the original's database at ``path`` by a store (see the module).

    Args:
        path: ``DB_PATH``.
        interval: ``INTERVAL``, the migrated connections' base reconnect delay.
        key_file: the store's key file; ``<path>.key`` by default.
        hook: called with each finished step's name.

    Returns:
        What was migrated; None when ``path`` held no original database (any
        more: another process may have just migrated it).

    Raises:
        StoreError: the new store could not be written or read back; the
            original is untouched.
    """
    layout = Layout(path)
    step = hook or (lambda _: None)
    key = key_file or layout.key
    async with _locked(layout):
        if await asyncio.to_thread(inspect, path) is not Found.ORIGINAL:
            return None
        connections = await asyncio.to_thread(read_original, path)
        _log.info(
            "snp_database_migrating", path=str(path), connections=len(connections)
        )
        backup = await asyncio.to_thread(_backup, layout, connections, step)
        step("backup")
        invalid = await _build(
            layout, connections, interval=interval, key_file=key, step=step
        )
        step("built")
        await _verify(layout, connections, key)
        step("verified")
        await asyncio.to_thread(_publish, layout)
        step("published")
    layout.lock.unlink(missing_ok=True)
    report = MigrationReport(
        backup=backup, connections=len(connections), invalid=invalid
    )
    _log.info(
        "snp_database_migrated",
        path=str(path),
        connections=report.connections,
        invalid=report.invalid,
        backup=str(report.backup),
    )
    _log.warning(
        "snp_original_backup_holds_passwords",
        backup=str(report.backup),
        hint="it is the original database, passwords in plain text: keep it safe "
        "and delete it once the migration is confirmed",
    )
    return report


def _locate(location: str) -> tuple[Path, Found]:
    """Return ``DB_PATH`` made absolute, what it holds; make its directory."""
    path = Path(location).expanduser().absolute()
    found = inspect(path)
    if found is not Found.OTHER:
        path.parent.mkdir(parents=True, exist_ok=True)
    if found is Found.STORE:  # a migration that died after publishing: tidy up
        layout = Layout(path)
        _remove(layout.building)
        for leftover in (layout.partial, layout.lock):
            leftover.unlink(missing_ok=True)
    return path, found


async def prepare_store(
    location: str, *, interval: float, hook: Hook | None = None
) -> TargetStore:
    """Open the store at ``DB_PATH``: migrated, created, or as it is.

    A ``postgresql://`` URL is opened as it is (the original never used one).

    Raises:
        ConfigError: ``location`` holds neither the original's database nor a
            store, or the store cannot be opened or migrated (one line).
    """
    try:
        if "://" in location:
            return await TargetStore.open(location)
        path, found = await asyncio.to_thread(_locate, location)
        if found is Found.OTHER:
            raise ConfigError(
                f"DB_PATH {path}: neither the original snp-exporter's database nor "
                "an exporterhub store; move it away or point DB_PATH elsewhere"
            )
        if found is Found.ORIGINAL:
            await migrate(path, interval=interval, hook=hook)
        return await TargetStore.open(str(path), key_file=Layout(path).key)
    except (StoreError, OSError) as exc:
        raise ConfigError(f"DB_PATH {location}: {exc}") from exc
