"""Run a simulator until told to stop: the loop every ``*-simulator`` shares.

No protocol here; only the wait for a stop event or SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from contextlib import AbstractAsyncContextManager
from typing import Any

__all__ = ["run_until_stopped"]


async def run_until_stopped(
    simulator: AbstractAsyncContextManager[Any], stop: asyncio.Event | None = None
) -> None:
    """Enter ``simulator`` and wait until ``stop`` is set, or until SIGINT/SIGTERM.

    Args:
        simulator: started on entry, stopped on exit.
        stop: set it to shut down; when ``None`` the process signals do it.
    """
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
    try:
        async with simulator:
            await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
