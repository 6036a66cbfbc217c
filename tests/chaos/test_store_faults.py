"""The target store under faults: full, read-only, restarted, corrupt.

A hub with every exporter serves a real store (SQLite, or PostgreSQL from
``tests/databases.py``); a target is created through the API and runs. Then the
store fails underneath:

- full: SQLite's ``max_page_count`` pinned at the file's size, so the next write
  gets SQLITE_FULL, the error a full disk gives;
- read-only: ``PRAGMA query_only`` on every connection, so writes get
  SQLITE_READONLY, the error a read-only file or mount gives;
- PostgreSQL stopped and started again while writes keep coming;
- a store file that is not a SQLite database at start.

Writes must be refused with a JSON error naming the problem (never a 500), the
running target must keep running, nothing may be half-written (the refused
target neither stored nor started, the file intact), and no acknowledged write
may be lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from exporterhub.core.app import create_app
from exporterhub.core.errors import ConfigError
from exporterhub.core.store import TargetStore
from exporterhub.core.testing import running_server
from exporterhub.hub import StoreSettings, build_hub, open_store
from tests.databases import (
    PostgresServer,
    _run,
    find_bindir,
    raw_query,
    start_server,
    stop_server,
)
from tests.integration.conftest import Scrape

from .rig import PLUGINS, JumpClock

DISH = {
    "kind": "starlink",
    "name": "dish",
    "settings": {"config": {"update_interval_seconds": 0.2, "seed": 1}},
}


def big(name: str) -> dict[str, Any]:
    """An SNP target nobody listens for, with 500 objects (~35 kB of settings:
    more than any page has left, so storing it needs new pages)."""
    objects = [
        {
            "elementIP": "127.0.0.1",
            "objectType": "procChannelHD",
            "objectId": f"A-HD-{i}",
        }
        for i in range(1, 501)
    ]
    return {
        "kind": "snp",
        "name": name,
        "settings": {
            "restapi": "http://127.0.0.1:9/api/auth",
            "websocket": "ws://127.0.0.1:9/smm",
            "username": "monitor",
            "password": "example-only-password",
            "objects_ids": objects,
        },
    }


@contextlib.asynccontextmanager
async def hub_on(store: TargetStore) -> AsyncIterator[httpx.AsyncClient]:
    """Serve every exporter on ``store``; yield a client on the listener."""

    async def load() -> list[Any]:
        return []

    state = build_hub(PLUGINS, load, clock=JumpClock(), store=store, poll_interval=1)
    state.render_interval = 0
    async with (
        running_server(create_app(state)) as url,
        httpx.AsyncClient(base_url=url, timeout=30, trust_env=False) as client,
    ):
        client.state = state  # type: ignore[attr-defined]
        yield client


async def dish_refreshed(client: httpx.AsyncClient, after: float) -> float:
    """Return the dish's last success once it is later than ``after`` (bounded)."""
    async with asyncio.timeout(10):
        while True:
            scrape = Scrape((await client.get("/metrics")).text)
            stamp = scrape.value("starlink_last_success_timestamp_seconds") or 0.0
            if stamp > after and scrape.value("starlink_up") == 1.0:
                return stamp
            await asyncio.sleep(0.05)


def on_every_connection(store: TargetStore, pragma: str) -> None:
    """Run ``pragma`` on each new SQLite connection of ``store``."""

    def apply(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(pragma)
        finally:
            cursor.close()

    event.listen(store._engine.sync_engine, "connect", apply)


def names(answer: httpx.Response) -> set[str]:
    return {f"{t['kind']}/{t['name']}" for t in answer.json()}


class TestSqliteWritesRefused:
    @pytest.mark.parametrize(
        ("fault", "status", "error"),
        [
            pytest.param("full", 507, "store_full", id="disk-full"),
            pytest.param("read_only", 503, "store_read_only", id="read-only"),
        ],
    )
    async def test_write_refused_targets_keep_running(
        self, tmp_path: Path, fault: str, status: int, error: str
    ) -> None:
        """A write the store cannot take is a clear JSON error; nothing else moves."""
        path = tmp_path / "store.db"
        store = await TargetStore.open(str(path), key_file=tmp_path / "key")
        try:
            async with hub_on(store) as client:
                created = await client.post("/api/targets", json=DISH)
                assert created.status_code == 201, created.text
                stamp = await dish_refreshed(client, 0.0)

                if fault == "full":
                    with contextlib.closing(sqlite3.connect(path)) as db:
                        db.execute("VACUUM")  # no free page left to reuse
                        (pages,) = db.execute("PRAGMA page_count").fetchone()
                    on_every_connection(store, f"PRAGMA max_page_count = {pages}")
                else:
                    on_every_connection(store, "PRAGMA query_only = ON")
                await store._engine.dispose()

                refused = await client.post("/api/targets", json=big("late"))
                assert refused.status_code == status, refused.text
                body = refused.json()
                assert body["error"] == error
                assert str(path) in body["detail"]
                assert refused.headers["Retry-After"]
                if fault == "read_only":  # a full store may still delete (no new page)
                    gone = await client.delete("/api/targets/starlink/dish")
                    assert gone.status_code == 503, gone.text
                    assert gone.json()["error"] == error

                # The running target keeps running; the refused one never started.
                await dish_refreshed(client, stamp)
                listed = await client.get("/api/targets")
                assert listed.status_code == 200
                assert names(listed) == {"starlink/dish"}
                runner = client.state.runner  # type: ignore[attr-defined]
                assert [t.name for t in runner.targets] == ["dish"]
        finally:
            await store.close()
        # Nothing half-written: the file is sound and holds exactly the dish.
        with contextlib.closing(sqlite3.connect(path)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            rows = db.execute("SELECT kind, name FROM targets").fetchall()
        assert rows == [("starlink", "dish")]


class TestCorruptStore:
    async def test_refused_at_start_and_never_overwritten(self, tmp_path: Path) -> None:
        """A file that is not a store stops the start with one line; it is kept."""
        path = tmp_path / "exporterhub.db"
        path.write_bytes(b"SQLite format 3\x00" + os.urandom(4096 - 16) + b"x" * 4096)
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        with pytest.raises(ConfigError) as caught:
            await open_store(StoreSettings(path=path), None)
        message = str(caught.value)
        assert str(path) in message
        assert "\n" not in message
        proc = subprocess.run(  # noqa: S603 - our own console script
            [
                str(Path(sys.executable).parent / "exporterhub"),
                "serve",
                "--store", str(path),
                "--web.listen-address", "127.0.0.1:0",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "EXPORTERHUB_SECRET_KEY": ""},
            check=False,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        assert str(path) in proc.stderr
        assert "Traceback" not in proc.stderr
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def _pg_ctl(server: PostgresServer, *args: str) -> None:
    """Run pg_ctl on ``server``'s data directory (as the server's user)."""
    _run(
        [str(find_bindir() / "pg_ctl"), "--pgdata", str(server.base / "data"), *args],
        server.base,
        f"pg_ctl {args[-1]}",
    )


def restart(server: PostgresServer) -> None:
    """Stop the server cleanly (fast: sessions are ended) and start it again."""
    _pg_ctl(server, "--mode", "fast", "--wait", "stop")
    options = (
        f"-h 127.0.0.1 -p {server.port} "
        f"-k {shlex.quote(str(server.base / 'sockets'))} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c max_connections=200 -c shared_buffers=32MB"
    )
    _pg_ctl(
        server,
        "--log", str(server.base / "server.log"),
        "--wait", "--timeout", "60",
        "--options", options,
        "start",
    )  # fmt: skip


class TestPostgresRestartedUnderLoad:
    @pytest.mark.timeout(180)
    async def test_no_500_and_no_write_lost(self, tmp_path: Path) -> None:
        """Writes during a restart answer 201 or 503 (JSON), never 500; every 201
        is in the database afterwards; writes succeed again once it is back."""
        server = await asyncio.to_thread(start_server)
        try:
            database = await server.create_database()
            store = await TargetStore.open(
                server.url(database), key_file=tmp_path / "key"
            )
            acknowledged: list[str] = []
            answers: dict[int, int] = {}
            try:
                async with hub_on(store) as client:
                    assert (
                        await client.post("/api/targets", json=DISH)
                    ).status_code == 201
                    await dish_refreshed(client, 0.0)
                    restarted = asyncio.Event()

                    async def write(index: int) -> None:
                        body = {
                            "kind": "phd2",
                            "name": f"w{index}",
                            "settings": {"host": "127.0.0.1", "port": 9},
                        }
                        while True:
                            answer = await client.post("/api/targets", json=body)
                            answers[answer.status_code] = (
                                answers.get(answer.status_code, 0) + 1
                            )
                            assert answer.status_code in (201, 409, 503), answer.text
                            assert (
                                answer.json()["error"]
                                if answer.status_code != 201
                                else True
                            )
                            if answer.status_code in (201, 409):
                                # 409: stored by a try whose answer was lost
                                acknowledged.append(body["name"])
                                return
                            assert answer.json()["error"] == "store_unavailable"
                            assert answer.headers["Retry-After"]
                            await asyncio.sleep(0.1)  # a client's pause before retrying

                    async def load() -> None:
                        index = 0
                        while not restarted.is_set() or index < 40:
                            await write(index)
                            index += 1

                    writer = asyncio.create_task(load())
                    await asyncio.sleep(0.5)  # let writes run before the restart
                    await asyncio.to_thread(restart, server)
                    restarted.set()
                    async with asyncio.timeout(90):
                        await writer
                    stamp = await dish_refreshed(client, 0.0)
                    await dish_refreshed(client, stamp)  # the dish never stopped
                    listed = await client.get("/api/targets")
                    assert listed.status_code == 200
            finally:
                await store.close()
            rows = await raw_query(
                server.url(database), "SELECT name FROM targets WHERE kind = 'phd2'"
            )
            stored = {r[0] for r in rows}
            assert set(acknowledged) <= stored, set(acknowledged) - stored
            assert len(acknowledged) >= 40
            assert answers.get(500, 0) == 0
            assert answers.get(503, 0) >= 1, answers  # the restart was felt
        finally:
            await asyncio.to_thread(stop_server, server)
