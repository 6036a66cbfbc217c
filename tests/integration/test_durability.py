"""kill -9 of ``exporterhub serve`` amid 1,000 API writes loses no answered write.

The real command runs as a subprocess with a store; several concurrent clients POST
targets as fast as it answers; the server is killed with SIGKILL partway. Every
target whose POST was answered 201 must be in the store afterwards, and SQLite's
``PRAGMA integrity_check`` must pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from exporterhub.core.store import KEY_ENV, TargetStore, generate_key
from exporterhub.core.testing import free_port

from .spawned import spawn, until_serving

WRITES = 1000
CLIENTS = 8
KILL_AFTER = 300
"""Answered writes before the kill: well inside the burst, whatever the speed."""


async def burst(
    url: str, proc: subprocess.Popen[bytes], log: Path
) -> tuple[list[str], int]:
    """POST up to WRITES targets from CLIENTS clients; kill the server partway.

    Returns the names answered 201 and how many POSTs were sent in all. A
    transport error before the kill fails the test with the server's log.
    """
    answered: list[str] = []
    names = iter(f"t{n:04d}" for n in range(WRITES))
    sent = 0
    killed = False

    async def client() -> None:
        nonlocal sent, killed
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            for name in names:
                sent += 1
                body = {
                    "kind": "phd2",
                    "name": name,
                    "enabled": False,
                    "settings": {"host": "127.0.0.1", "port": 4400},
                }
                try:
                    response = await http.post("/api/targets", json=body)
                except httpx.TransportError as exc:
                    if killed:
                        return  # the server is gone: this write was never answered
                    tail = log.read_text(errors="replace")[-2000:]
                    pytest.fail(
                        f"no answer before the kill ({exc!r}, server exit "
                        f"{proc.poll()}); its log:\n{tail}"
                    )
                assert response.status_code == 201, response.text
                answered.append(name)
                if len(answered) == KILL_AFTER:
                    killed = True
                    proc.send_signal(signal.SIGKILL)

    async with asyncio.timeout(45):
        await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return answered, sent


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_location(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    """A fresh store: a SQLite file, or a PostgreSQL database (key in the env)."""
    if request.param == "sqlite":
        yield str(tmp_path / "targets.db")
        return
    monkeypatch.setenv(KEY_ENV, generate_key().decode())
    server = request.getfixturevalue("postgres_server")
    name = await server.create_database()
    yield str(server.url(name))
    await server.drop_database(name)


async def test_kill_during_burst_loses_no_answered_write(tmp_path, store_location):
    """Every 201 before SIGKILL is stored; the store opens and checks clean."""
    config = tmp_path / "exporterhub.yaml"
    config.write_text("exporters: {}\n", encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = spawn(
        [
            "--config", str(config),
            "--store", store_location,
            "--web.listen-address", f"127.0.0.1:{port}",
            "--log.level", "warning",
        ],
        tmp_path / "serve.log",
    )  # fmt: skip
    try:
        await until_serving(url, proc)
        answered, sent = await burst(url, proc, tmp_path / "serve.log")
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert KILL_AFTER <= len(answered) < sent <= WRITES  # killed mid-burst

    store = await TargetStore.open(store_location, create=False)
    try:
        stored = {t.name: t for t in await store.list("phd2")}
    finally:
        await store.close()
    missing = sorted(set(answered) - set(stored))
    assert missing == []
    assert all(stored[name].enabled is False for name in answered)
    if not store_location.startswith("postgresql"):
        with contextlib.closing(sqlite3.connect(store_location)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
