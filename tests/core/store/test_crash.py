"""kill -9 of a writing process loses no write whose create had returned."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys

from exporterhub.core.store import TargetStore
from exporterhub.core.store.url import sqlite_path, store_url

ANSWERED_BEFORE_KILL = 150
WRITES_AT_MOST = 100_000  # the child stops by itself if never killed


async def test_kill_during_burst_loses_no_answered_write(location, key_file):
    """Every create the child saw return is stored after SIGKILL; the file is sound."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.core.store.writer",
        location, "crash", str(WRITES_AT_MOST), str(key_file),
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    answered: list[str] = []
    try:
        async with asyncio.timeout(60):
            assert (await child.stdout.readline()).strip() == b"ready"
            while len(answered) < ANSWERED_BEFORE_KILL:
                line = await child.stdout.readline()
                assert line, "the writer stopped before it was killed"
                answered.append(line.decode().split()[1])
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    # Lines the child printed after we stopped reading were answered too.
    rest = (await child.stdout.read()).decode().splitlines()
    answered += [line.split()[1] for line in rest if line.startswith("created ")]

    store = await TargetStore.open(location, key_file=key_file)
    try:
        stored = {t.name: t for t in await store.list("crash")}
    finally:
        await store.close()
    missing = [name for name in answered if name not in stored]
    assert missing == []
    assert len(stored) >= len(answered)
    assert stored[answered[-1]].settings["password"].get_secret_value() == (
        f"pw{int(answered[-1][1:])}"
    )
    path = sqlite_path(store_url(location))
    if path is not None:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
