"""Tests of the server's guard against slow, stuck and too many clients.

Real uvicorn on 127.0.0.1 with both HTTP parsers (httptools and h11), real sockets
that behave badly. The deadlines are short real timers; each wait is bounded and
waits for the server's own action (a close, an answer), never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import resource
import socket

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from structlog.testing import capture_logs

from exporterhub.core.connections import (
    AcceptErrorThrottle,
    ConnectionGuard,
    ServerLimits,
    raise_open_file_limit,
)
from exporterhub.core.testing import running_server

PARSERS = [pytest.param("httptools", id="httptools"), pytest.param("h11", id="h11")]


def _app(
    release: asyncio.Event | None = None, entered: list[int] | None = None
) -> FastAPI:
    """A small app: a cheap GET, a POST that reads its body, a big answer."""
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.get("/big")
    async def big() -> Response:
        return Response(b"x" * (32 << 20), media_type="application/octet-stream")

    @app.get("/hold")
    async def hold() -> dict[str, str]:
        assert release is not None
        assert entered is not None
        entered.append(1)
        await release.wait()
        return {"status": "released"}

    return app


async def _open(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def _read_until_closed(reader: asyncio.StreamReader, within: float) -> bytes:
    """Read everything until the server closes the connection (bounded)."""
    chunks = []
    async with asyncio.timeout(within):
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture
def drops() -> list[str]:
    return []


def _guard(drops: list[str], **limits: float) -> ConnectionGuard:
    return ConnectionGuard(ServerLimits(**limits), drops.append)  # type: ignore[arg-type]


@pytest.mark.parametrize("http", PARSERS)
class TestReadDeadlines:
    """A request must arrive in time; the server closes slow ones itself."""

    async def test_silent_socket_gets_408_and_is_closed(self, http, drops):
        """A connection that sends nothing is answered 408 (JSON) and closed."""
        guard = _guard(drops, header_timeout=0.3)
        async with running_server(_app(), guard=guard, http=http) as url:
            reader, writer = await _open(url)
            answer = await _read_until_closed(reader, within=5)
            writer.close()
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert answer.endswith(
            b'{"error":"request_timeout","detail":"The request took too long to '
            b'arrive.","fields":[]}'
        )
        assert drops == ["header_timeout"]

    async def test_half_the_headers_is_closed(self, http, drops):
        """Headers that stop arriving halfway are cut off at the header deadline."""
        guard = _guard(drops, header_timeout=0.3)
        async with running_server(_app(), guard=guard, http=http) as url:
            reader, writer = await _open(url)
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            answer = await _read_until_closed(reader, within=5)
            writer.close()
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert drops == ["header_timeout"]

    async def test_body_that_stops_arriving_is_closed(self, http, drops):
        """1 of 1,000 announced body bytes: closed at the body deadline, no answer."""
        guard = _guard(drops, header_timeout=5, body_timeout=0.3)
        async with running_server(_app(), guard=guard, http=http) as url:
            reader, writer = await _open(url)
            writer.write(
                b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nx"
            )
            answer = await _read_until_closed(reader, within=5)
            writer.close()
        assert b"200 OK" not in answer
        assert drops == ["body_timeout"]

    async def test_keep_alive_requests_each_get_their_own_deadline(self, http, drops):
        """Prompt requests on one connection are all answered; nothing is dropped."""
        guard = _guard(drops, header_timeout=0.5, body_timeout=0.5)
        async with (
            running_server(_app(), guard=guard, http=http) as url,
            httpx.AsyncClient(base_url=url, trust_env=False) as client,
        ):
            for _ in range(5):
                assert (await client.get("/health")).status_code == 200
                posted = await client.post("/upload", content=b"y" * 5000)
                assert posted.json() == {"received": 5000}
        assert drops == []

    async def test_unread_answer_is_dropped(self, http, drops):
        """A client that never reads a large answer is cut off at the write deadline."""
        guard = _guard(drops, write_timeout=0.3)
        async with running_server(_app(), guard=guard, http=http) as url:
            sock = socket.create_connection(tuple(_host_port(url)))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            async with asyncio.timeout(10):
                while "write_timeout" not in drops:  # noqa: ASYNC110 - no event
                    await asyncio.sleep(0.02)
            sock.close()
        assert drops == ["write_timeout"]

    async def test_malformed_request_is_a_json_400(self, http):
        """A request the parser refuses gets the API's JSON error shape."""
        async with running_server(_app(), http=http) as url:
            reader, writer = await _open(url)
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
            answer = await _read_until_closed(reader, within=5)
            writer.close()
        assert answer.startswith(b"HTTP/1.1 400 ")
        assert answer.endswith(
            b'{"error":"bad_request","detail":"The HTTP request is malformed.",'
            b'"fields":[]}'
        )


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


@pytest.mark.parametrize("http", PARSERS)
class TestConnectionCap:
    """At the cap the slowest waiting client goes, so scrapes are still answered."""

    async def test_health_answers_while_slow_sockets_are_held(self, http, drops):
        """Three times the cap in silent sockets: /health still answers at once."""
        guard = _guard(drops, max_connections=20, header_timeout=60)
        slow: list[socket.socket] = []
        try:
            async with running_server(_app(), guard=guard, http=http) as url:
                for _ in range(60):
                    slow.append(socket.create_connection(_host_port(url)))
                async with httpx.AsyncClient(
                    base_url=url, trust_env=False, timeout=5
                ) as client:
                    for _ in range(3):
                        reply = await client.get("/health")
                        assert reply.json() == {"status": "ok"}
                        assert guard.open <= 20
        finally:
            for sock in slow:
                sock.close()
        assert drops.count("evicted") >= 40
        assert "refused" not in drops

    async def test_connections_all_answering_refuse_the_next(self, http, drops):
        """When every connection is being answered, a new one gets 503 and closes."""
        release = asyncio.Event()
        entered: list[int] = []
        guard = _guard(drops, max_connections=2)
        async with running_server(
            _app(release, entered), guard=guard, http=http
        ) as url:
            held = []
            for _ in range(2):
                reader, writer = await _open(url)
                writer.write(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
                held.append((reader, writer))
            async with asyncio.timeout(5):
                while len(entered) < 2:  # noqa: ASYNC110 - the handlers' own count
                    await asyncio.sleep(0.01)
            reader, writer = await _open(url)
            answer = await _read_until_closed(reader, within=5)
            writer.close()
            release.set()
            for reader, writer in held:
                first = await reader.readuntil(b"\r\n")
                assert first.startswith(b"HTTP/1.1 200")
                writer.close()
        assert answer.startswith(b"HTTP/1.1 503 ")
        assert b'"error":"unavailable"' in answer
        assert drops == ["refused"]


class TestGuard:
    """The guard counts what it admits and forgets closed connections."""

    async def test_count_follows_connections(self, drops):
        """Open connections are counted and the count falls when they close."""
        guard = _guard(drops)
        async with running_server(_app(), guard=guard) as url:
            reader, writer = await _open(url)
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            await reader.readuntil(b"\r\n\r\n")
            assert guard.open == 1
            writer.close()
            await writer.wait_closed()
            async with asyncio.timeout(5):
                while guard.open:  # noqa: ASYNC110 - no event to await
                    await asyncio.sleep(0.01)
        assert guard.open == 0
        assert drops == []


class TestAcceptErrors:
    """Running out of file descriptors is logged once per interval, with a count."""

    async def test_accept_failures_are_folded_into_one_line(self):
        """Hundreds of failed accept() calls give one warning with their count."""
        loop = asyncio.get_running_loop()
        previous = loop.get_exception_handler()
        loop.set_exception_handler(AcceptErrorThrottle(interval=60))
        server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        clients = []
        for _ in range(10):
            client = socket.socket()
            client.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                client.connect(("127.0.0.1", port))
            clients.append(client)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        try:
            with capture_logs() as logs:
                resource.setrlimit(
                    resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")), hard)
                )
                try:
                    # asyncio retries accept() on its own; give it a few rounds.
                    for _ in range(30):
                        await asyncio.sleep(0.02)
                finally:
                    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        finally:
            loop.set_exception_handler(previous)
            server.close()
            for client in clients:
                client.close()
        failures = [e for e in logs if e["event"] == "http_accept_failed"]
        assert len(failures) == 1
        assert failures[0]["count"] == 1
        assert (
            str(errno.EMFILE) in failures[0]["error"]
            or "Too many" in (failures[0]["error"])
        )

    def test_other_reports_reach_the_default_handler(self):
        """Anything but an accept failure goes to the loop's default handler."""
        seen: list[dict[str, object]] = []

        class Loop:
            def default_exception_handler(self, context):
                seen.append(context)

        AcceptErrorThrottle()(Loop(), {"message": "something else"})  # type: ignore[arg-type]
        assert seen == [{"message": "something else"}]


def test_open_file_limit_is_raised_to_the_hard_limit():
    """The soft open-file limit is raised to the hard one (devices need many)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
        raised = raise_open_file_limit()
        assert raised == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert raised == hard or hard == resource.RLIM_INFINITY
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
