"""SQL for target statuses: upsert one, read all, delete one, on a given connection.

A status row survives restarts and is readable with ``sqlite3``; it has no foreign
key to ``targets`` because file-configured targets have statuses too. The caller
owns the transaction and decides when a status is worth writing (on change only).
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from exporterhub.core.store.records import TargetStatus
from exporterhub.core.store.schema import target_status

__all__ = ["delete_status", "read_statuses", "upsert_status"]


async def upsert_status(conn: AsyncConnection, status: TargetStatus) -> None:
    """Insert or replace the status row of ``status.kind/status.name``."""
    values = {
        "link": status.link,
        "up": status.up,
        "changed_at": status.changed_at,
        "last_error_kind": status.last_error_kind,
        "last_error": status.last_error,
        "last_success": status.last_success,
    }
    # Both dialects spell the upsert the same, from their own insert().
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    query = dialect.insert(target_status).values(
        kind=status.kind, name=status.name, **values
    )
    await conn.execute(
        query.on_conflict_do_update(
            index_elements=[target_status.c.kind, target_status.c.name], set_=values
        )
    )


async def read_statuses(conn: AsyncConnection) -> dict[tuple[str, str], TargetStatus]:
    """Return every status row by (kind, name)."""
    rows = await conn.execute(select(target_status))
    return {
        (row.kind, row.name): TargetStatus(
            kind=row.kind,
            name=row.name,
            link=row.link,
            up=row.up,
            changed_at=row.changed_at,
            last_error_kind=row.last_error_kind,
            last_error=row.last_error,
            last_success=row.last_success,
        )
        for row in rows
    }


async def delete_status(conn: AsyncConnection, kind: str, name: str) -> None:
    """Delete the status row of ``kind/name``, if any."""
    await conn.execute(
        delete(target_status).where(
            target_status.c.kind == kind, target_status.c.name == name
        )
    )
