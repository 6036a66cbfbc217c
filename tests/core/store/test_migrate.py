"""Schema revisions: migrating, refusing newer stores, and reaching the database."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from structlog.testing import capture_logs

from exporterhub.core.store import StoreError, StoreVersionError, TargetStore
from exporterhub.core.store.migrate import head_revision, known_revisions
from exporterhub.core.store.schema import metadata
from exporterhub.core.store.url import redact_url, store_url
from exporterhub.core.testing import free_port

from ...databases import PASSWORD, raw_query


class TestMigrations:
    """A store is migrated to head on open, once, and newer stores are refused."""

    async def test_new_store_at_head(self, store, location):
        """A new store records the head revision and has the three tables."""
        assert head_revision() == "0001"
        assert known_revisions() == {"0001"}
        assert await raw_query(location, "SELECT version_num FROM alembic_version") == [
            ("0001",)
        ]
        assert await raw_query(location, "SELECT id, changes FROM store_meta") == [
            (1, 0)
        ]

    async def test_schema_matches_the_migrations(self, store, location):
        """The tables the queries use are exactly what the migrations created."""
        engine = create_async_engine(store_url(location))
        try:
            async with engine.connect() as conn:
                diff = await conn.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync), metadata
                    )
                )
        finally:
            await engine.dispose()
        assert diff == []

    async def test_reopen_does_not_migrate(self, store, location, key_file):
        """Opening a store already at head runs no migration."""
        with capture_logs() as logs:
            again = await TargetStore.open(location, key_file=key_file)
            await again.close()
        events = [e["event"] for e in logs]
        assert "store_opened" in events
        assert "store_migrated" not in events

    async def test_newer_schema_refused(self, store, location, key_file):
        """A revision this code does not know is refused with the upgrade hint."""
        await raw_query(location, "UPDATE alembic_version SET version_num = '9999'")
        with pytest.raises(StoreVersionError) as caught:
            await TargetStore.open(location, key_file=key_file)
        where = redact_url(store_url(location))
        assert str(caught.value) == (
            f"store at {where} has schema revision 9999, newer than this exporterhub "
            "(knows up to 0001): upgrade exporterhub or point --store elsewhere"
        )
        assert PASSWORD not in str(caught.value)

    async def test_simultaneous_first_opens(self, location, key_file):
        """Two processes creating one store at once both open it, migrated once."""
        first, second = await asyncio.gather(
            TargetStore.open(location, key_file=key_file),
            TargetStore.open(location, key_file=key_file),
        )
        try:
            await first.create("phd2", "rig", {})
            assert [t.name for t in await second.list()] == ["rig"]
        finally:
            await first.close()
            await second.close()
        assert await raw_query(location, "SELECT version_num FROM alembic_version") == [
            ("0001",)
        ]


class TestPostgresReach:
    """PostgreSQL failures are one StoreError naming the URL without its password."""

    async def test_empty_database_with_create_false(self, postgres_server, key_file):
        """create=False does not turn an empty database into a store."""
        url = postgres_server.url(await postgres_server.create_database())
        with pytest.raises(StoreError, match="it is empty") as caught:
            await TargetStore.open(url, key_file=key_file, create=False)
        assert PASSWORD not in str(caught.value)
        assert ":***@" in str(caught.value)

    async def test_unreachable(self, key_file):
        """Nothing listening is a StoreError, the password redacted."""
        url = f"postgresql://app:{PASSWORD}@127.0.0.1:{free_port()}/hub"
        with pytest.raises(
            StoreError, match=r"store at postgresql\+asyncpg://app:\*\*\*@"
        ) as caught:
            await TargetStore.open(url, key_file=key_file)
        assert PASSWORD not in str(caught.value)
        assert not key_file.exists()

    async def test_missing_database(self, postgres_server, key_file):
        """A database that does not exist is a StoreError saying so."""
        url = postgres_server.url("no_such_database")
        with pytest.raises(StoreError, match="no_such_database") as caught:
            await TargetStore.open(url, key_file=key_file)
        assert PASSWORD not in str(caught.value)
