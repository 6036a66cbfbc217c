"""Helpers shipped for tests: a fake clock, loopback ports, an in-process server.

Used by this project's tests and by anyone testing a plugin. Nothing here may reach
beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

from starlette.types import ASGIApp

from exporterhub.core.connections import ConnectionGuard
from exporterhub.core.server import bind_socket, make_server

__all__ = ["FakeClock", "free_port", "running_server", "wait_until"]


class FakeClock:
    """A clock that only moves when told to; ``sleep`` waits for ``advance``.

    >>> clock = FakeClock(start=100.0)
    >>> clock.advance(5)
    >>> clock.time(), clock.monotonic()
    (105.0, 5.0)
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._wall_start = start
        self._now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self.sleeps: list[float] = []

    def time(self) -> float:
        """Return the fake wall clock."""
        return self._wall_start + self._now

    def monotonic(self) -> float:
        """Return the fake monotonic clock."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been advanced by ``seconds``."""
        self.sleeps.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(
            self._sleepers, (self._now + max(0.0, seconds), next(self._order), future)
        )
        await future

    @property
    def sleeping(self) -> int:
        """Return how many coroutines are waiting on this clock."""
        return sum(1 for _, _, f in self._sleepers if not f.done())

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose time has come."""
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)


PORT_RANGE: Final = range(21000, 32000)
"""Where ``free_port`` looks: below Linux's ephemeral range (32768-60999), so a
client connection's local port cannot take a port between its choice and its use,
and above the simulators' fixed ports (KLAP discovery on 20002)."""


def free_port(*, udp: bool = False, count: int = 1) -> int:
    """Return a loopback port that was free a moment ago (TCP, and UDP if asked).

    With ``count`` the ``count`` consecutive ports from the answer were all free.
    Ports come from ``PORT_RANGE``, in random order.

    Raises:
        OSError: no such run of free ports was found.
    """
    kinds = (socket.SOCK_STREAM, socket.SOCK_DGRAM) if udp else (socket.SOCK_STREAM,)
    last_first = PORT_RANGE.stop - count
    for _ in range(200 if last_first >= PORT_RANGE.start else 0):
        first = random.randint(PORT_RANGE.start, last_first)
        if all(
            _bindable(port, kind)
            for port in range(first, first + count)
            for kind in kinds
        ):
            return first
    raise OSError(f"no {count} free loopback ports in {PORT_RANGE}")


def _bindable(port: int, kind: socket.SocketKind) -> bool:
    """Return whether ``port`` can be bound on 127.0.0.1 as ``kind`` right now."""
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def wait_until(
    condition: Callable[[], bool], *, within: float = 10.0, step: float = 0.01
) -> None:
    """Yield to the event loop until ``condition()`` holds.

    For conditions owned by other processes or servers, where no event exists to
    await; in-process workers should be awaited through their own events instead.

    Raises:
        TimeoutError: the condition did not hold within ``within`` seconds.
    """
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - the condition has no event to await
            await asyncio.sleep(step)


@contextlib.asynccontextmanager
async def running_server(
    app: ASGIApp,
    port: int | None = None,
    *,
    guard: ConnectionGuard | None = None,
    http: str = "httptools",
) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 inside the current loop; yield its base URL.

    The listening socket is bound here (port 0 by default) and handed to uvicorn,
    so no other socket can take the port between choosing and binding it.
    ``guard`` (limits, the connection count) and ``http`` go to ``make_server``.
    """
    sock = bind_socket("127.0.0.1", port or 0)
    chosen = sock.getsockname()[1]
    server = make_server(app, "127.0.0.1", chosen, guard=guard, http=http)
    server.config.install_signal_handlers = False  # type: ignore[attr-defined]
    task: asyncio.Task[Any] = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await wait_until(lambda: server.started or task.done())
        if task.done():
            task.result()
        yield f"http://127.0.0.1:{chosen}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, timeout=10)
        finally:
            sock.close()
