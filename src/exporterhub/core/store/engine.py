"""The store's database connections: SQLite file and pragmas, PostgreSQL, errors.

``make_engine`` builds the one ``AsyncEngine`` a store uses. A SQLite file is created
with mode 0600 before SQLAlchemy touches it (its ``-wal`` and ``-shm`` files inherit
the mode). Every SQLite connection gets WAL, ``synchronous=FULL`` (a commit is on
disk before a write is answered), ``foreign_keys=ON`` and a busy timeout, so a second
process such as the CLI waits its turn instead of failing with "database is
locked"; and BEGIN is emitted here, ``BEGIN IMMEDIATE`` for write transactions
(``WRITE`` option), so a writer queues for the lock up front rather than failing to
upgrade a read lock. ``translate_errors`` turns driver failures into ``StoreError``
naming the redacted URL. It must not know the tables.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import structlog
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from exporterhub.core.store.errors import StoreError

__all__ = [
    "BUSY_TIMEOUT_MS",
    "WRITE",
    "make_engine",
    "prepare_sqlite_file",
    "translate_errors",
]

_log = structlog.get_logger(__name__)

BUSY_TIMEOUT_MS: Final = 15_000
WRITE: Final[dict[str, Any]] = {"exporterhub_write": True}
_FILE_MODE: Final = 0o600


def prepare_sqlite_file(path: Path, *, create: bool, where: str) -> bool:
    """Make sure the SQLite file exists, creating it empty with mode 0600.

    Returns:
        True when the file was created here.

    Raises:
        StoreError: the file is missing and ``create`` is False, its directory is
            missing, or it cannot be created.
    """
    if not create and not path.exists():
        raise StoreError(f"no exporterhub store at {where} (no such file)")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            _log.warning("store_file_permissions", store=where, mode=oct(mode))
        return False
    except FileNotFoundError as exc:
        raise StoreError(
            f"store at {where}: directory {path.parent} does not exist"
        ) from exc
    except OSError as exc:
        raise StoreError(
            f"store at {where}: cannot create: {exc.strerror or exc}"
        ) from exc
    os.close(fd)
    return True


def _sqlite_connect(dbapi_connection: Any, _record: object) -> None:  # noqa: ANN401 - the driver's connection
    # Leave BEGIN to _sqlite_begin: the driver's own transaction control would
    # skip BEGIN for DDL and SELECT (see SQLAlchemy's "sqlite_transactions").
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get("exporterhub_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: str) -> AsyncEngine:
    """Return an engine for a ``store_url`` result, with the SQLite hooks in place.

    Statement parameters are kept out of error messages (``hide_parameters``):
    they hold settings, and settings are nobody's business in a log.
    """
    engine = create_async_engine(url, hide_parameters=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def _reason(exc: BaseException, password: str | None) -> str:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    text = (str(orig) or type(orig).__name__).splitlines()[0]
    if password:
        text = text.replace(password, "***")
    return text


@contextlib.contextmanager
def translate_errors(where: str, password: str | None = None) -> Iterator[None]:
    """Turn driver and connection failures into ``StoreError`` naming ``where``.

    The driver's first line of text is kept, with ``password`` blanked should a
    driver ever echo it. Callers catch the errors they expect (a duplicate key)
    inside, before this sees them.
    """
    try:
        yield
    except (DBAPIError, PoolTimeout, OSError) as exc:
        raise StoreError(f"store at {where}: {_reason(exc, password)}") from exc
