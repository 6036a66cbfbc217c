"""The original snp-exporter's database becomes a target store: all kept, safely."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from exporterhub.core.errors import ConfigError
from exporterhub.core.store import TargetStore
from exporterhub.exporters.snp.migrate import (
    Found,
    Layout,
    inspect,
    migrate,
    prepare_store,
    read_original,
)
from exporterhub.exporters.snp.settings import SnpTargetSettings

from .original_db import OBJECTS, connection, file_bytes, password, write_original

ROOT = Path(__file__).resolve().parents[3]
STEPS = ("copied", "backup", "rows", "built", "verified", "published")
RECORDS = [connection(1), connection(2, enabled=False), connection(3)]
STATUSES = {"SNP-1": "connected", "SNP-3": "error"}


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch):
    monkeypatch.delenv("EXPORTERHUB_SECRET_KEY", raising=False)


@pytest.fixture
def original(tmp_path) -> tuple[Path, dict[str, int]]:
    path = tmp_path / "connections.db"
    return path, write_original(path, RECORDS, statuses=STATUSES)


def plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return ("secret", value.get_secret_value())
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


async def stored_state(path: Path) -> dict[str, Any]:
    """Everything the store at ``path`` holds, secrets decrypted, as plain data."""
    store = await TargetStore.open(str(path), key_file=Layout(path).key, create=False)
    try:
        rows = await store.list()
        statuses = await store.statuses()
    finally:
        await store.close()
    return {
        "rows": {
            r.name: (r.kind, r.id, r.enabled, r.created_at, plain(r.settings))
            for r in rows
        },
        "statuses": {k: (s.link, s.up, s.changed_at) for k, s in statuses.items()},
    }


def leftovers(path: Path) -> list[str]:
    """Files a migration uses on the way that must not outlive it."""
    layout = Layout(path)
    names = [layout.partial, layout.building, layout.lock]
    names += [Path(f"{layout.building}{s}") for s in ("-wal", "-shm", "-journal")]
    return sorted(p.name for p in names if p.exists())


def backups(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.glob(f"{path.name}.original*"))


class TestMigration:
    async def test_every_connection_kept_with_its_id_times_and_status(self, original):
        """Ids, names, enabled flags, times, objects and statuses all survive."""
        path, ids = original
        report = await migrate(path, interval=7.0)
        assert report is not None
        assert (report.connections, report.invalid) == (3, [])
        state = await stored_state(path)
        assert {n: row[1] for n, row in state["rows"].items()} == ids
        assert min(ids.values()) == 3  # the gaps of a used database are kept
        assert {n: row[2] for n, row in state["rows"].items()} == {
            "SNP-1": True,
            "SNP-2": False,
            "SNP-3": True,
        }
        kind, _, _, created, settings = state["rows"]["SNP-3"]
        assert kind == "snp"
        assert created == datetime(2026, 2, 3, 20, 31, 19, tzinfo=UTC)
        assert settings["password"] == ("secret", password(3))
        assert settings["restapi"] == "https://192.0.2.3:9089/api/auth"
        assert settings["objects_ids"] == [
            {"objectId": None, **o} for o in OBJECTS[:2]
        ] + [OBJECTS[2]]
        assert (settings["tls_verify"], settings["legacy_tls"]) == (False, True)
        assert settings["interval"] == 7.0
        assert state["statuses"] == {
            ("snp", "SNP-1"): (
                "connected",
                False,
                datetime(2026, 2, 9, 9, 18, 42, tzinfo=UTC),
            ),
            ("snp", "SNP-3"): (
                "error",
                False,
                datetime(2026, 2, 9, 9, 18, 42, tzinfo=UTC),
            ),
        }

    async def test_passwords_encrypted_at_rest_and_the_original_backed_up(
        self, original
    ):
        """No password is in the new file; the backup beside it is the original."""
        path, _ = original
        before = read_original(path)
        report = await migrate(path, interval=5.0)
        assert report is not None
        for n in (1, 2, 3):
            assert password(n).encode() not in file_bytes(path)
        assert report.backup == Layout(path).backup
        assert backups(path) == ["connections.db.original"]
        assert read_original(report.backup) == before
        assert stat.S_IMODE(report.backup.stat().st_mode) == 0o600
        assert stat.S_IMODE(Layout(path).key.stat().st_mode) == 0o600
        assert inspect(path) is Found.STORE
        assert leftovers(path) == []

    async def test_an_invalid_connection_is_kept_sealed_and_flagged(self, tmp_path):
        """A row the settings model refuses is stored all the same, password sealed."""
        path = tmp_path / "connections.db"
        bad = connection(9, ws="ftp://192.0.2.9/smm", objects_ids="not json")
        write_original(path, [connection(1), bad])
        report = await migrate(path, interval=5.0)
        assert report is not None
        assert report.invalid == ["SNP-9"]
        state = await stored_state(path)
        settings = state["rows"]["SNP-9"][4]
        assert settings["password"] == ("secret", password(9))
        assert settings["objects_ids"] == "not json"
        assert password(9).encode() not in file_bytes(path)
        with pytest.raises(ValidationError):
            SnpTargetSettings.model_validate(
                {"name": "SNP-9", **settings, "password": password(9)}
            )

    async def test_a_database_without_status_table_migrates(self, tmp_path):
        """A database missing connection_status still gives every connection."""
        path = tmp_path / "connections.db"
        write_original(path, [connection(1)], deleted_before=0)
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("DROP TABLE connection_status")
        report = await migrate(path, interval=5.0)
        assert report is not None
        state = await stored_state(path)
        assert list(state["rows"]) == ["SNP-1"]
        assert state["statuses"] == {}

    async def test_a_backup_holding_other_connections_is_never_overwritten(
        self, original
    ):
        """An older backup with other rows stays; the new one takes .original.1."""
        path, _ = original
        older = Layout(path).backup
        write_original(older, [connection(8)])
        report = await migrate(path, interval=5.0)
        assert report is not None
        assert report.backup.name == "connections.db.original.1"
        assert [c.name for c in read_original(older)] == ["SNP-8"]
        assert [c.name for c in read_original(report.backup)] == [
            "SNP-1",
            "SNP-2",
            "SNP-3",
        ]

    async def test_a_store_is_left_alone(self, original):
        """migrate() on a store does nothing (another process migrated it)."""
        path, _ = original
        await migrate(path, interval=5.0)
        before = file_bytes(path)
        assert await migrate(path, interval=5.0) is None
        assert file_bytes(path) == before
        assert backups(path) == ["connections.db.original"]


class TestPrepareStore:
    async def test_migrates_once_then_opens_the_store(self, original):
        """The first start migrates; the second opens the store as it is."""
        path, ids = original
        store = await prepare_store(str(path), interval=5.0)
        try:
            first = {t.name: t.id for t in await store.list("snp")}
        finally:
            await store.close()
        again = await prepare_store(str(path), interval=5.0)
        try:
            second = {t.name: t.id for t in await again.list("snp")}
        finally:
            await again.close()
        assert first == second == ids
        assert backups(path) == ["connections.db.original"]

    async def test_no_file_gives_an_empty_store_in_a_new_directory(self, tmp_path):
        """A missing DB_PATH (and directory) becomes an empty store."""
        path = tmp_path / "etc" / "snp_exporter" / "connections.db"
        store = await prepare_store(str(path), interval=5.0)
        try:
            assert await store.list() == []
        finally:
            await store.close()
        assert inspect(path) is Found.STORE
        assert backups(path) == []

    @pytest.mark.parametrize(
        "content",
        [
            pytest.param(b"not a database at all, just text" * 64, id="text"),
            pytest.param(None, id="other-sqlite"),
        ],
    )
    async def test_something_else_is_refused_untouched(self, tmp_path, content):
        """A file that is neither the original's nor a store stops the start."""
        path = tmp_path / "connections.db"
        if content is None:
            with contextlib.closing(sqlite3.connect(path)) as conn:
                conn.execute("CREATE TABLE unrelated (x)")
                conn.commit()
        else:
            path.write_bytes(content)
        before = path.read_bytes()
        with pytest.raises(ConfigError, match=r"DB_PATH .*neither"):
            await prepare_store(str(path), interval=5.0)
        assert path.read_bytes() == before
        assert backups(path) == []

    async def test_a_postgres_url_is_opened_as_it_is(self):
        """A URL is not migrated; without a key for it the start fails in one line."""
        with pytest.raises(ConfigError, match="EXPORTERHUB_SECRET_KEY"):
            await prepare_store("postgresql://127.0.0.1:1/hub", interval=5.0)


async def _killed_at(path: Path, step: str) -> int:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.exporters.snp.migrator", str(path), step,
        cwd=ROOT,
    )  # fmt: skip
    async with asyncio.timeout(60):
        return await child.wait()


class TestInterrupted:
    @pytest.mark.parametrize("step", STEPS)
    async def test_a_crash_at_any_step_reruns_to_the_same_store(self, tmp_path, step):
        """SIGKILL after each step; the next start ends where a clean run ends."""
        clean = tmp_path / "clean" / "connections.db"
        clean.parent.mkdir()
        write_original(clean, RECORDS, statuses=STATUSES)
        await migrate(clean, interval=5.0)
        wanted = await stored_state(clean)

        path = tmp_path / "crashed" / "connections.db"
        path.parent.mkdir()
        write_original(path, RECORDS, statuses=STATUSES)
        assert await _killed_at(path, step) == -signal.SIGKILL
        assert inspect(path) is (Found.STORE if step == "published" else Found.ORIGINAL)
        left = leftovers(path)
        assert "connections.db.migrating.lock" in left
        assert ("connections.db.original.partial" in left) == (step == "copied")
        assert ("connections.db.migrating" in left) == (
            step in ("rows", "built", "verified")
        )
        store = await prepare_store(str(path), interval=5.0)
        await store.close()
        assert await stored_state(path) == wanted
        assert backups(path) == ["connections.db.original"]
        assert leftovers(path) == []
        for n in (1, 2, 3):
            assert password(n).encode() not in file_bytes(path)
