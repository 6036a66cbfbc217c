"""Fixtures for the store tests: every repository test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from exporterhub.core.store import TargetStore
from exporterhub.core.store.url import sqlite_path, store_url

from .postgres import PostgresServer, start_server, stop_server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Run one PostgreSQL server for the whole session."""
    server = start_server()
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(params=["sqlite", "postgresql"])
async def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return where a fresh, empty store lives: a SQLite path or a new database."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.url(await server.create_database())


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """Return a key file path beside the test's files (PostgreSQL needs one)."""
    return tmp_path / "secret.key"


@pytest.fixture
async def store(location: str, key_file: Path) -> AsyncIterator[TargetStore]:
    """Open a fresh store on the parametrized dialect."""
    opened = await TargetStore.open(location, key_file=key_file)
    try:
        yield opened
    finally:
        await opened.close()


async def raw_query(location: str, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` with the plain driver, outside the project's code."""
    path = sqlite_path(store_url(location))
    if path is not None:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
            return list(conn.execute(sql).fetchall())
    import asyncpg

    conn = await asyncpg.connect(location)
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()
