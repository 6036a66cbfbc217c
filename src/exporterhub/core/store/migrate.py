"""Bring a store's schema to the newest revision this code knows; refuse newer ones.

Runs Alembic programmatically on a connection the caller holds in a write
transaction (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so two
processes opening one store migrate it once. The scripts ship in ``migrations/``.
It must not create databases, keys or files, nor run anything but migrations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from exporterhub.core.store.errors import StoreError, StoreVersionError

__all__ = ["MIGRATIONS", "head_revision", "known_revisions", "upgrade"]

_log = structlog.get_logger(__name__)

MIGRATIONS: Final = Path(__file__).with_name("migrations")
# Any fixed 64-bit number; names the lock every replica takes to migrate.
_PG_LOCK: Final = 0x65787068_75620001


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """Return the newest schema revision this code knows (``0001`` …)."""
    head = _script().get_current_head()
    if head is None:  # pragma: no cover - only a broken install ships no revision
        raise StoreError(f"no schema revisions found in {MIGRATIONS}")
    return head


def known_revisions() -> frozenset[str]:
    """Return every schema revision this code knows."""
    return frozenset(script.revision for script in _script().walk_revisions())


def upgrade(connection: Connection, *, create: bool, where: str) -> bool:
    """Migrate the store behind ``connection`` to the head revision.

    Args:
        connection: a connection inside the caller's write transaction.
        create: whether an empty database may be given the schema.
        where: the store's redacted URL, for messages.

    Returns:
        True when the store was empty and has been created.

    Raises:
        StoreVersionError: the store is at a revision this code does not know.
        StoreError: the store is empty and ``create`` is False.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK}
        )
    current = MigrationContext.configure(connection).get_current_heads()
    head = head_revision()
    unknown = sorted(set(current) - known_revisions())
    if unknown:
        raise StoreVersionError(
            f"store at {where} has schema revision {', '.join(unknown)}, newer than "
            f"this exporterhub (knows up to {head}): upgrade exporterhub or point "
            "--store elsewhere"
        )
    if not current and not create:
        raise StoreError(f"no exporterhub store at {where} (it is empty)")
    if current != (head,):
        config = _config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        _log.info(
            "store_migrated",
            store=where,
            schema_from=",".join(current) or None,
            schema_to=head,
        )
    return not current
