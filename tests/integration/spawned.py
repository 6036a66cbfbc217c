"""``exporterhub serve`` as users run it: a subprocess on loopback, its log in a file.

``serving`` starts the command with the given flags, waits (bounded) until it
answers ``/-/healthy`` or exits, yields the process and its log file, and stops it
with SIGTERM afterwards (SIGKILL if it ignores that). The log is the process's
stderr, JSON lines at debug level unless the flags say otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent


@dataclass
class Served:
    """A running ``exporterhub serve``: the process, its URL and its log."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


async def until_serving(
    url: str, proc: subprocess.Popen[bytes], verify: ssl.SSLContext | bool = True
) -> None:
    """Return once ``url`` answers /-/healthy; fail if the process exits first."""
    async with httpx.AsyncClient(base_url=url, timeout=2, verify=verify) as http:
        async with asyncio.timeout(30):
            while proc.poll() is None:
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/-/healthy")).status_code == 200:
                        return
                await asyncio.sleep(0.05)
    pytest.fail(f"exporterhub serve exited at start ({proc.returncode})")


def spawn(args: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``exporterhub serve ARGS`` with stderr into ``log``."""
    with log.open("wb") as sink:
        return subprocess.Popen(  # noqa: S603 - our own console script
            [str(BIN / "exporterhub"), "serve", *args],
            stdout=subprocess.DEVNULL,
            stderr=sink,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process and wait; SIGKILL it if it does not exit in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.asynccontextmanager
async def serving(
    args: Sequence[str],
    url: str,
    log: Path,
    verify: ssl.SSLContext | bool = True,
) -> AsyncIterator[Served]:
    """Run ``exporterhub serve ARGS`` until the block ends; ``url`` is where."""
    proc = spawn(["--log.format", "json", *args], log)
    try:
        await until_serving(url, proc, verify)
        yield Served(proc, url, log)
    finally:
        stop(proc)
