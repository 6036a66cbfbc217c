"""A loopback TCP proxy that injects faults between an exporter and its simulator.

``FaultProxy`` listens on 127.0.0.1 (a port the OS picks) and forwards each
connection to an upstream simulator. Its mode is switched while it runs:

- ``PASS``: bytes flow both ways unchanged.
- ``REFUSE``: the listener is closed and open connections are reset, so a
  connect gets ``ECONNREFUSED``; leaving the mode binds the same port again.
- ``SILENT``: connections are accepted (and kept) but nothing is forwarded in
  either direction: a half-open peer that never answers.
- ``SLOW``: the peer's bytes reach the exporter ``chunk`` bytes every ``delay``
  seconds (a trickle); the exporter's bytes flow unchanged.
- ``RESET``: after ``reset_after`` more bytes from the peer (counted per
  connection from the switch), the connection is cut with a TCP RST, in the
  middle of whatever frame was passing; new connections are cut the same way.

Only loopback: the proxy binds 127.0.0.1 and connects to the upstream the test
gives (always a simulator on 127.0.0.1). Buffers are bounded: each direction
holds at most one read (64 KiB) at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
import struct
from dataclasses import dataclass, field
from typing import Final

__all__ = ["FaultProxy", "Mode"]

_READ: Final = 65536


class Mode(enum.StrEnum):
    """What the proxy does with connections."""

    PASS = "pass"
    REFUSE = "refuse"
    SILENT = "silent"
    SLOW = "slow"
    RESET = "reset"


@dataclass(eq=False)
class _Link:
    """One proxied connection: the exporter's side and the peer's side."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    budget: int | None = None  # bytes from the peer left before a reset
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def _reset(writer: asyncio.StreamWriter | None) -> None:
    """Close ``writer``'s socket with an RST (SO_LINGER 0), not a FIN."""
    if writer is None or writer.is_closing():
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
    writer.transport.abort()


class FaultProxy:
    """Forward 127.0.0.1:``port`` to ``upstream``; switch faults with ``set``.

    Attributes:
        upstream: (host, port) of the peer; change it to point at a restarted one.
        accepted: connections accepted so far (a reconnecting client raises it).
        dropped: bytes swallowed in SILENT mode.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.mode = Mode.PASS
        self.delay = 0.05
        self.chunk = 1
        self.reset_after = 0
        self.accepted = 0
        self.dropped = 0
        self._port = 0
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()

    @property
    def port(self) -> int:
        """Return the port the exporter should connect to."""
        return self._port

    async def start(self) -> None:
        """Bind 127.0.0.1 (the same port again after a restart) and serve."""
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self._port, reuse_address=True
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and reset every open connection."""
        await self._close_listener()
        self.cut()

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def cut(self) -> None:
        """Reset every open connection (both sides), as a peer restart does."""
        for link in list(self._links):
            self._drop(link)

    def _drop(self, link: _Link) -> None:
        _reset(link.client)
        _reset(link.upstream)
        for task in link.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self._links.discard(link)

    @property
    def connections(self) -> int:
        """Return the connections open now."""
        return len(self._links)

    async def set(
        self,
        mode: Mode,
        *,
        delay: float | None = None,
        chunk: int | None = None,
        reset_after: int | None = None,
    ) -> None:
        """Switch to ``mode`` (with its parameters) for new and open connections."""
        if delay is not None:
            self.delay = delay
        if chunk is not None:
            self.chunk = chunk
        if reset_after is not None:
            self.reset_after = reset_after
        self.mode = mode
        if mode is Mode.REFUSE:
            await self._close_listener()
            self.cut()
            return
        if self._server is None:
            await self.start()
        if mode is Mode.RESET:
            for link in self._links:
                link.budget = self.reset_after

    async def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.accepted += 1
        link = _Link(client=writer)
        if self.mode is Mode.RESET:
            link.budget = self.reset_after
        self._links.add(link)
        try:
            if self.mode is not Mode.SILENT:
                up_reader, link.upstream = await asyncio.open_connection(*self.upstream)
            else:  # half-open: hold the client, reach the peer only if asked later
                up_reader = None
            if up_reader is not None:
                down = asyncio.create_task(self._down(link, up_reader))
                link.tasks.append(down)
            await self._up(link, reader)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._close(link)

    async def _up(self, link: _Link, reader: asyncio.StreamReader) -> None:
        """Exporter to peer: forwarded except in SILENT mode (swallowed)."""
        while data := await reader.read(_READ):
            if self.mode is Mode.SILENT or link.upstream is None:
                self.dropped += len(data)
                continue
            link.upstream.write(data)
            await link.upstream.drain()

    async def _down(self, link: _Link, reader: asyncio.StreamReader) -> None:
        """Peer to exporter: the faults that shape what the exporter receives."""
        try:
            while data := await reader.read(_READ):
                if self.mode is Mode.SILENT:
                    self.dropped += len(data)
                    continue
                if link.budget is not None and self.mode is Mode.RESET:
                    if len(data) >= link.budget:
                        link.client.write(data[: link.budget])
                        with contextlib.suppress(OSError, ConnectionError):
                            await link.client.drain()
                        self._drop(link)
                        return
                    link.budget -= len(data)
                if self.mode is Mode.SLOW:
                    start = 0
                    while start < len(data) and self.mode is Mode.SLOW:
                        link.client.write(data[start : start + self.chunk])
                        await link.client.drain()
                        await asyncio.sleep(self.delay)  # the trickle is the fault
                        start += self.chunk
                    data = data[start:]  # the fault cleared: the rest at once
                link.client.write(data)
                await link.client.drain()
        except (OSError, ConnectionError):
            pass
        finally:
            self._close(link)

    def _close(self, link: _Link) -> None:
        """End a link the peer or the exporter ended: FIN on both sides."""
        if link not in self._links:
            return
        self._links.discard(link)
        for writer in (link.client, link.upstream):
            if writer is not None and not writer.is_closing():
                writer.close()
        for task in link.tasks:
            if task is not asyncio.current_task():
                task.cancel()
