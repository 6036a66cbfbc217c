"""Fixtures shared across the test tree: logging restored after every test, a
target store on SQLite and PostgreSQL.

The store's own tests and the control plane's (catalog, reconcile, API) run on
both dialects through ``location`` and ``store``; the PostgreSQL server is started
once per session (``tests/databases.py``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog

from exporterhub.core.store import TargetStore

from .databases import PostgresServer, start_server, stop_server


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Undo configure_logging after every test: structlog defaults, root logger.

    A command run in-process (``main([...])``) configures logging for the whole
    interpreter; without this, a later test's ``capture_logs`` would miss the
    debug events the command's level filters out.
    """
    root = logging.getLogger()
    level = root.level
    handlers = list(root.handlers)
    try:
        yield
    finally:
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
        root.setLevel(level)
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Run one PostgreSQL server for the whole session."""
    server = start_server()
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(params=["sqlite", "postgresql"])
async def location(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    """Yield where a fresh, empty store lives: a SQLite path or a new database."""
    if request.param == "sqlite":
        yield str(tmp_path / "store.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = await server.create_database()
    yield server.url(name)
    await server.drop_database(name)


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
