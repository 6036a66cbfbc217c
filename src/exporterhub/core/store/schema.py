"""The store's tables as SQLAlchemy Core objects, the same on SQLite and PostgreSQL.

Queries are built from these tables; the migrations in ``migrations/versions`` create
them, and a test checks that both agree. Column types are kept to what both dialects
read plainly, so a ``sqlite3`` or ``psql`` user can inspect a store: settings are JSON
text, timestamps UTC. Nothing here connects to a database.

    targets         id, kind, name (unique per kind), settings (JSON text, each
                    secret as {"$secret": "<Fernet token>"}), enabled, created_at,
                    updated_at, revision
    target_status   kind, name (primary key; no foreign key: file-configured
                    targets have a status too), link, up, changed_at,
                    last_error_kind, last_error, last_success
    store_meta      one row (id = 1): changes (bumped with every target write),
                    canary (a Fernet token proving the secret key)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "META_ROW",
    "UtcDateTime",
    "metadata",
    "store_meta",
    "target_status",
    "targets",
]

META_ROW: Final = 1


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both dialects.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is
    stored as naive UTC text (``2024-05-01 12:00:00.000000``, what SQLite's own
    ``datetime('now')`` means too) and read back as aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        """Convert an aware datetime to UTC; refuse a naive one."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store keeps timezone-aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        """Return the stored value as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData()

targets = Table(
    "targets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String, nullable=False),
    Column("name", String, nullable=False),
    Column("settings", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("revision", Integer, nullable=False),
    UniqueConstraint("kind", "name", name="uq_targets_kind_name"),
)

target_status = Table(
    "target_status",
    metadata,
    Column("kind", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("link", String, nullable=False),
    Column("up", Boolean, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("last_error_kind", String, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_success", UtcDateTime, nullable=True),
)

store_meta = Table(
    "store_meta",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("changes", BigInteger, nullable=False),
    Column("canary", Text, nullable=True),
)
