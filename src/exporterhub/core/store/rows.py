"""SQL on the ``targets`` table, each statement on a connection the caller holds.

Every write here bumps the change counter in the caller's transaction and is a
compare-and-swap where a revision is given (``UPDATE … WHERE revision = :r``), so
two writers naming the same revision cannot both win. Rows come back raw: settings
stay sealed, and decrypting them is the caller's business. No locking, no keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from exporterhub.core.store.errors import (
    StaleRevisionError,
    TargetExistsError,
    TargetNotFoundError,
)
from exporterhub.core.store.schema import META_ROW, store_meta, targets

__all__ = [
    "change_counter",
    "delete_row",
    "insert_row",
    "select_row",
    "select_rows",
    "update_enabled",
    "update_row",
]


def _named(kind: str, name: str) -> ColumnElement[bool]:
    return and_(targets.c.kind == kind, targets.c.name == name)


async def _bump(conn: AsyncConnection) -> None:
    await conn.execute(
        update(store_meta)
        .where(store_meta.c.id == META_ROW)
        .values(changes=store_meta.c.changes + 1)
    )


async def _refusal(
    conn: AsyncConnection, kind: str, name: str, revision: int
) -> TargetNotFoundError | StaleRevisionError:
    """Explain why a write conditional on ``revision`` matched no row."""
    query = select(targets.c.revision).where(_named(kind, name))
    current: int | None = await conn.scalar(query)
    if current is None:
        return TargetNotFoundError(f"no target {kind}/{name}")
    return StaleRevisionError(
        f"target {kind}/{name} is at revision {current}, not {revision}: "
        "reload it and apply the change again",
        current,
    )


async def change_counter(conn: AsyncConnection) -> int:
    """Return the change counter: +1 with every target write."""
    query = select(store_meta.c.changes).where(store_meta.c.id == META_ROW)
    counter: int = (await conn.execute(query)).scalar_one()
    return counter


async def select_rows(conn: AsyncConnection, kind: str | None) -> list[Row[Any]]:
    """Return every row (of ``kind``, when given), ordered by kind and name."""
    query = select(targets).order_by(targets.c.kind, targets.c.name)
    if kind is not None:
        query = query.where(targets.c.kind == kind)
    return list((await conn.execute(query)).all())


async def select_row(conn: AsyncConnection, kind: str, name: str) -> Row[Any] | None:
    """Return the row of ``kind/name``, or None."""
    query = select(targets).where(_named(kind, name))
    return (await conn.execute(query)).one_or_none()


async def insert_many(
    conn: AsyncConnection,
    items: list[tuple[str, str, str, bool]],
    *,
    now: datetime,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Insert rows at revision 1 in one statement, skipping names that exist.

    Returns:
        The ``(kind, name)`` pairs inserted, and those skipped (taken already, or
        repeated within ``items``).

    Raises:
        TargetExistsError: another writer took a name between the check and the
            insert (the transaction is rolled back: nothing is stored).
    """
    taken = {
        (row.kind, row.name)
        for row in await conn.execute(select(targets.c.kind, targets.c.name))
    }
    values = []
    inserted: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    for kind, name, settings, enabled in items:
        if (kind, name) in taken:
            skipped.append((kind, name))
            continue
        taken.add((kind, name))
        inserted.append((kind, name))
        values.append(
            {
                "kind": kind,
                "name": name,
                "settings": settings,
                "enabled": enabled,
                "created_at": now,
                "updated_at": now,
                "revision": 1,
            }
        )
    if values:
        try:
            await conn.execute(insert(targets), values)
        except IntegrityError as exc:
            raise TargetExistsError(
                "a target being imported was created meanwhile"
            ) from exc
        await _bump(conn)
    return inserted, skipped


async def insert_row(
    conn: AsyncConnection,
    kind: str,
    name: str,
    settings: str,
    *,
    enabled: bool,
    now: datetime,
) -> Row[Any]:
    """Insert a row at revision 1.

    Raises:
        TargetExistsError: ``kind/name`` exists.
    """
    values = {
        "kind": kind,
        "name": name,
        "settings": settings,
        "enabled": enabled,
        "created_at": now,
        "updated_at": now,
        "revision": 1,
    }
    query = insert(targets).values(values).returning(targets)
    try:
        row: Row[Any] = (await conn.execute(query)).one()
    except IntegrityError as exc:
        raise TargetExistsError(f"target {kind}/{name} already exists") from exc
    await _bump(conn)
    return row


async def update_row(
    conn: AsyncConnection,
    kind: str,
    name: str,
    settings: str,
    *,
    enabled: bool,
    revision: int,
    now: datetime,
) -> Row[Any]:
    """Replace settings and ``enabled`` if the row is at ``revision``; revision + 1.

    Raises:
        TargetNotFoundError: no such row.
        StaleRevisionError: the row is at another revision.
    """
    query = (
        update(targets)
        .where(_named(kind, name), targets.c.revision == revision)
        .values(
            settings=settings,
            enabled=enabled,
            revision=targets.c.revision + 1,
            updated_at=now,
        )
        .returning(targets)
    )
    row: Row[Any] | None = (await conn.execute(query)).one_or_none()
    if row is None:
        raise await _refusal(conn, kind, name, revision)
    await _bump(conn)
    return row


async def update_enabled(
    conn: AsyncConnection,
    kind: str,
    name: str,
    enabled: bool,
    *,
    revision: int | None,
    now: datetime,
) -> Row[Any]:
    """Set ``enabled``; a row already so is returned untouched (no new revision).

    Raises:
        TargetNotFoundError: no such row.
        StaleRevisionError: ``revision`` given and the row is at another.
    """
    condition = [_named(kind, name), targets.c.enabled != enabled]
    if revision is not None:
        condition.append(targets.c.revision == revision)
    query = (
        update(targets)
        .where(*condition)
        .values(enabled=enabled, revision=targets.c.revision + 1, updated_at=now)
        .returning(targets)
    )
    row: Row[Any] | None = (await conn.execute(query)).one_or_none()
    if row is not None:
        await _bump(conn)
        return row
    current = await select_row(conn, kind, name)
    if current is None:
        raise TargetNotFoundError(f"no target {kind}/{name}")
    if revision is not None and current.revision != revision:
        raise await _refusal(conn, kind, name, revision)
    return current


async def delete_row(
    conn: AsyncConnection, kind: str, name: str, *, revision: int | None
) -> None:
    """Delete the row of ``kind/name`` (at ``revision``, when given).

    Raises:
        TargetNotFoundError: no such row.
        StaleRevisionError: ``revision`` given and the row is at another.
    """
    condition = [_named(kind, name)]
    if revision is not None:
        condition.append(targets.c.revision == revision)
    result = await conn.execute(delete(targets).where(*condition))
    if result.rowcount == 0:
        if revision is None:
            raise TargetNotFoundError(f"no target {kind}/{name}")
        raise await _refusal(conn, kind, name, revision)
    await _bump(conn)
