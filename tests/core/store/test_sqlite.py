"""SQLite specifics: file mode, pragmas, a second writer, integrity after bursts."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import stat
import subprocess
import sys

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from exporterhub.core.store import StoreError, TargetStore
from exporterhub.core.store.engine import BUSY_TIMEOUT_MS

from ...databases import raw_query


@pytest.fixture
async def sqlite_store(tmp_path):
    store = await TargetStore.open(str(tmp_path / "store.db"))
    try:
        yield store
    finally:
        await store.close()


def integrity(path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


class TestFile:
    """The store file is private, in WAL mode, and refused when it cannot be one."""

    async def test_created_0600(self, tmp_path, sqlite_store):
        """The file and its WAL are created with mode 0600."""
        await sqlite_store.create("phd2", "rig", {})
        for name in ("store.db", "store.db-wal"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name

    async def test_pragmas_on_every_connection(self, sqlite_store):
        """Each connection has WAL, synchronous=FULL, foreign keys, a busy timeout."""
        engine = sqlite_store._engine
        async with engine.connect() as one, engine.connect() as two:
            for conn in (one, two):
                values = [
                    (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                    for name in (
                        "journal_mode",
                        "synchronous",
                        "foreign_keys",
                        "busy_timeout",
                    )
                ]
                assert values == ["wal", 2, 1, BUSY_TIMEOUT_MS]

    async def test_loose_mode_warned(self, tmp_path):
        """An existing store readable by others is opened with a warning."""
        path = tmp_path / "store.db"
        await (await TargetStore.open(str(path))).close()
        path.chmod(0o644)
        with capture_logs() as logs:
            await (await TargetStore.open(str(path))).close()
        assert {"event": "store_file_permissions", "mode": "0o644"}.items() <= next(
            e for e in logs if e["event"] == "store_file_permissions"
        ).items()

    async def test_create_false_needs_the_file(self, tmp_path):
        """With create=False a missing file is an error and is not created."""
        with pytest.raises(StoreError, match="no such file"):
            await TargetStore.open(str(tmp_path / "store.db"), create=False)
        assert list(tmp_path.iterdir()) == []

    async def test_create_false_opens_existing(self, tmp_path):
        """With create=False an existing store opens as usual."""
        path = tmp_path / "store.db"
        store = await TargetStore.open(str(path))
        await store.create("phd2", "rig", {})
        await store.close()
        store = await TargetStore.open(str(path), create=False)
        try:
            assert [t.name for t in await store.list()] == ["rig"]
        finally:
            await store.close()

    async def test_create_false_on_empty_file(self, tmp_path):
        """With create=False an empty file is not turned into a store."""
        path = tmp_path / "store.db"
        path.touch()
        with pytest.raises(StoreError, match="it is empty"):
            await TargetStore.open(str(path), create=False)

    async def test_missing_directory(self, tmp_path):
        """A store in a directory that does not exist is one clear error."""
        with pytest.raises(StoreError, match="does not exist"):
            await TargetStore.open(str(tmp_path / "nope" / "store.db"))

    async def test_uncreatable_file(self, tmp_path):
        """A file that cannot be created is one clear error naming the store."""
        (tmp_path / "plain").write_text("a file, not a directory")
        with pytest.raises(StoreError, match=r"plain/store\.db: cannot create"):
            await TargetStore.open(
                str(tmp_path / "plain" / "store.db"), key_file=tmp_path / "store.key"
            )

    async def test_not_a_database(self, tmp_path):
        """A file that is not SQLite is refused, naming the store."""
        path = tmp_path / "store.db"
        path.write_bytes(b"this is not a database, just some text" * 100)
        with pytest.raises(StoreError, match=r"store\.db: file is not a database"):
            await TargetStore.open(str(path))


class TestConcurrency:
    """Several writers on one file wait for each other instead of failing."""

    async def test_second_instance_sees_writes(self, tmp_path, sqlite_store):
        """A second TargetStore on the same file reads what the first wrote."""
        other = await TargetStore.open(str(tmp_path / "store.db"))
        try:
            await sqlite_store.create("phd2", "rig", {"password": SecretStr("pw")})
            seen = await other.get("phd2", "rig")
            assert seen.settings["password"].get_secret_value() == "pw"
            await other.update("phd2", "rig", {}, enabled=False, revision=1)
            assert (await sqlite_store.get("phd2", "rig")).enabled is False
        finally:
            await other.close()

    async def test_waits_for_a_locked_database(self, tmp_path, sqlite_store):
        """A write while another connection holds the lock waits, then succeeds."""
        with contextlib.closing(
            sqlite3.connect(tmp_path / "store.db", isolation_level=None)
        ) as blocker:
            blocker.execute("BEGIN IMMEDIATE")
            blocker.execute("UPDATE store_meta SET changes = changes + 100")
            write = asyncio.create_task(sqlite_store.create("phd2", "rig", {}))
            done, _ = await asyncio.wait({write}, timeout=0.5)
            assert not done  # waiting on the lock, not failing with "locked"
            blocker.execute("COMMIT")
        created = await asyncio.wait_for(write, timeout=BUSY_TIMEOUT_MS / 1000)
        assert created.revision == 1
        assert await sqlite_store.change_token() == 101

    async def test_writer_in_another_process(self, tmp_path, sqlite_store):
        """Another process writing a burst at the same time causes no lock errors."""
        path = tmp_path / "store.db"
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.core.store.writer", str(path), "other", "150",
            stdout=subprocess.PIPE,
        )  # fmt: skip
        assert child.stdout is not None
        assert (await child.stdout.readline()).strip() == b"ready"
        await asyncio.gather(
            *(sqlite_store.create("here", f"t{n:03d}", {"n": n}) for n in range(150))
        )
        await asyncio.wait_for(child.wait(), timeout=60)
        assert child.returncode == 0
        assert len(await sqlite_store.list("here")) == 150
        assert len(await sqlite_store.list("other")) == 150
        assert integrity(path) == "ok"

    async def test_integrity_after_burst(self, tmp_path, sqlite_store):
        """A burst of concurrent creates, updates and deletes leaves a sound file."""
        await asyncio.gather(
            *(
                sqlite_store.create(
                    "phd2", f"t{n:03d}", {"password": SecretStr(str(n))}
                )
                for n in range(200)
            )
        )
        await asyncio.gather(
            *(
                sqlite_store.update(
                    "phd2", f"t{n:03d}", {"n": n}, enabled=False, revision=1
                )
                for n in range(0, 200, 2)
            ),
            *(sqlite_store.delete("phd2", f"t{n:03d}") for n in range(1, 200, 4)),
        )
        assert len(await sqlite_store.list()) == 150
        assert await sqlite_store.change_token() == 200 + 100 + 50
        assert integrity(tmp_path / "store.db") == "ok"
        rows = await raw_query(
            str(tmp_path / "store.db"), "SELECT count(*) FROM targets"
        )
        assert rows == [(150,)]
