"""The fault proxy itself: each mode does to a client what its name says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from .proxy import FaultProxy, Mode

ANSWER = b"0123456789" * 10


@pytest.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    """A proxy in front of a peer that answers every line with ANSWER."""

    async def answer(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while await reader.readline():
            writer.write(ANSWER)
            await writer.drain()
        writer.close()

    peer = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with peer, FaultProxy(("127.0.0.1", peer.sockets[0].getsockname()[1])) as p:
        yield p


async def ask(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"hello\n")
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(len(ANSWER)), 2)
    finally:
        writer.close()


async def read_until_closed(
    reader: asyncio.StreamReader,
) -> tuple[bytes, BaseException | None]:
    """Read until EOF or an error; return the bytes and the error (None at EOF)."""
    received = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(1024), 2):
            received += chunk
    except (ConnectionError, OSError) as exc:
        return received, exc
    return received, None


class TestModes:
    async def test_pass(self, proxy):
        """Bytes flow unchanged."""
        assert await ask(proxy.port) == ANSWER

    async def test_refuse_then_pass_on_the_same_port(self, proxy):
        """Refused while refusing; the same port answers once it passes again."""
        await proxy.set(Mode.REFUSE)
        with pytest.raises(ConnectionRefusedError):
            await ask(proxy.port)
        await proxy.set(Mode.PASS)
        assert await ask(proxy.port) == ANSWER

    async def test_silent_accepts_and_never_answers(self, proxy):
        """The connection opens; no byte comes back."""
        await proxy.set(Mode.SILENT)
        with pytest.raises(TimeoutError):
            await ask(proxy.port)
        assert proxy.dropped > 0 or proxy.accepted == 1

    async def test_reset_cuts_mid_answer(self, proxy):
        """After reset_after bytes the client gets an RST, not the rest."""
        await proxy.set(Mode.RESET, reset_after=7)
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"hello\n")
        received, error = await read_until_closed(reader)
        writer.close()
        assert isinstance(error, ConnectionResetError)  # an RST, not a FIN
        assert received == ANSWER[:7]

    async def test_slow_trickles_then_flushes_when_cleared(self, proxy):
        """Slow: a few bytes at a time; cleared: the rest at once."""
        await proxy.set(Mode.SLOW, delay=0.05, chunk=1)
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"hello\n")
        first = await asyncio.wait_for(reader.read(1024), 2)
        assert 0 < len(first) < len(ANSWER)
        await proxy.set(Mode.PASS)
        rest = await asyncio.wait_for(reader.readexactly(len(ANSWER) - len(first)), 2)
        assert first + rest == ANSWER
        writer.close()
