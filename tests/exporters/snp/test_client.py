"""The SNP REST client against a peer that trickles its answer.

httpx's ``timeout`` bounds each read, not the call: a peer sending one byte
every half timeout would hold a login (or a personality poll) for ever. Each
call is bounded as a whole by the connection's ``timeout``. The peer is a plain
asyncio server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from exporterhub.exporters.snp.client import SnpLinkError, SnpRest, tls_context
from exporterhub.exporters.snp.settings import SnpTargetSettings

TIMEOUT = 0.4
"""The connection's timeout: the peer sends a byte every quarter of it."""


@contextlib.asynccontextmanager
async def trickling_peer() -> AsyncIterator[int]:
    """Serve HTTP answers whose 4 KiB body comes one byte per TIMEOUT / 4."""
    handlers: set[asyncio.Task[None]] = set()

    async def answer(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n")
            for _ in range(4096):
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(TIMEOUT / 4)
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


def settings(port: int) -> SnpTargetSettings:
    return SnpTargetSettings(
        name="lab",
        restapi=f"http://127.0.0.1:{port}/api/auth",
        websocket=f"ws://127.0.0.1:{port}/smm",
        username="admin",
        password="secret",
        timeout=TIMEOUT,
    )


class TestWholeCallTimeout:
    async def test_trickled_login_times_out(self):
        async with trickling_peer() as port:
            rest = SnpRest(settings(port), tls_context(settings(port)))
            async with rest.client() as http:
                with pytest.raises(SnpLinkError) as raised:
                    async with asyncio.timeout(10):  # the test's own guard
                        await rest.login(http)
        assert raised.value.reason == "timeout"

    async def test_trickled_poll_times_out(self):
        async with trickling_peer() as port:
            rest = SnpRest(settings(port), tls_context(settings(port)))
            async with rest.client() as http:
                with pytest.raises(SnpLinkError) as raised:
                    async with asyncio.timeout(10):
                        await rest.processor_config(http, "token", "processorA")
        assert raised.value.reason == "timeout"
