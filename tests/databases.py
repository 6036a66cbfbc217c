"""Databases for tests of the store and the control plane, on SQLite and PostgreSQL.

A throwaway PostgreSQL server (initdb + pg_ctl in a temp dir) and ``raw_query``,
which reads either dialect with its plain driver, outside the project's code.
CI has no running server, so the session starts its own from Debian's
``postgresql`` package, listening on a free 127.0.0.1 port with its unix socket in
the temporary directory, and removes it afterwards. initdb refuses to run as root;
as root the server runs as the ``postgres`` user the package creates (``runuser``).
Missing binaries fail the test with the install hint, never skip it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from exporterhub.core.store.url import sqlite_path, store_url
from exporterhub.core.testing import free_port

INSTALL_HINT = (
    "PostgreSQL's server binaries (initdb, pg_ctl) are missing; install Debian's "
    "package: apt-get install postgresql (make test does this when run as root)"
)
SERVER_USER = "postgres"
SUPERUSER = "exporterhub"
# The server trusts every local login; the password in test URLs is never checked,
# so the tests can prove that no message ever shows it.
PASSWORD = "pg-pass-7c1e"


def find_bindir() -> Path:
    """Return the directory of initdb and pg_ctl, newest installed version first."""
    on_path = shutil.which("pg_ctl")
    if on_path is not None and shutil.which("initdb") is not None:
        return Path(on_path).resolve().parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: (
            int(Path(p).parent.parent.name)
            if Path(p).parent.parent.name.isdigit()
            else 0
        ),
    )
    if not versions:
        pytest.fail(INSTALL_HINT)
    return Path(versions[-1]).parent


def _as_server_user(argv: list[str]) -> list[str]:
    """Wrap ``argv`` to run as the postgres user when we are root."""
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser is not None:
        return [runuser, "-u", SERVER_USER, "--", *argv]
    return ["su", SERVER_USER, "-s", "/bin/sh", "-c", shlex.join(argv)]


def _run(argv: list[str], cwd: Path, what: str) -> None:
    result = subprocess.run(  # noqa: S603 - PostgreSQL's own binaries
        _as_server_user(argv), cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )


@dataclass(frozen=True)
class PostgresServer:
    """A running server: where it listens and how to reach a database on it."""

    port: int
    base: Path

    def url(self, database: str, *, password: str = PASSWORD) -> str:
        """Return a ``postgresql://`` URL of ``database`` (password never checked)."""
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{database}"

    async def create_database(self) -> str:
        """Create a fresh, empty database and return its name."""
        import asyncpg

        name = f"store_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, database="postgres"
        )
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return name

    async def drop_database(self, name: str) -> None:
        """Drop a database a test made (its connections ended), freeing its files.

        Hundreds of copies of template1 (~8 MB each) would otherwise pile up
        until the session ends, and removing them then takes long.
        """
        import asyncpg

        conn = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, database="postgres"
        )
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def start_server() -> PostgresServer:
    """initdb a temporary directory and start a server on a free loopback port."""
    bindir = find_bindir()
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(SERVER_USER)
        except KeyError:
            pytest.fail(
                f"running as root, and initdb refuses root: the {SERVER_USER!r} user "
                f"is missing. {INSTALL_HINT}"
            )
    base = Path(tempfile.mkdtemp(prefix="exporterhub-pg-"))
    sockets = base / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        for path in (base, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    data = base / "data"
    _run(
        [
            str(bindir / "initdb"),
            "--pgdata", str(data),
            "--username", SUPERUSER,
            "--auth", "trust",
            "--encoding", "UTF8",
            "--locale", "C",
            "--no-sync",
        ],
        base,
        "initdb",
    )  # fmt: skip
    port = free_port()
    options = (
        f"-h 127.0.0.1 -p {port} -k {shlex.quote(str(sockets))} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c max_connections=200 -c shared_buffers=32MB"
    )
    _run(
        [
            str(bindir / "pg_ctl"),
            "--pgdata", str(data),
            "--log", str(base / "server.log"),
            "--wait", "--timeout", "60",
            "--options", options,
            "start",
        ],
        base,
        "pg_ctl start",
    )  # fmt: skip
    return PostgresServer(port=port, base=base)


def stop_server(server: PostgresServer) -> None:
    """Stop the server at once and remove its directory."""
    bindir = find_bindir()
    try:
        _run(
            [
                str(bindir / "pg_ctl"),
                "--pgdata", str(server.base / "data"),
                "--mode", "immediate",
                "--wait",
                "stop",
            ],
            server.base,
            "pg_ctl stop",
        )  # fmt: skip
    finally:
        shutil.rmtree(server.base, ignore_errors=True)


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
