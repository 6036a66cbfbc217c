"""The PHD2 exporter's only network code: one TCP session with PHD2's event server.

``Phd2Connection`` reads the stream with real line buffering, hands events to the
caller in batches (one batch per socket read) and matches JSON-RPC answers to the one
request in flight (PHD2 before 2.6.7 drops pipelined requests, so never more than
one). It never interprets events; ``state.py`` (with ``events.py``) does. Errors tree:

    ExporterError
    └── Phd2Error
        └── RpcError            PHD2 answered a request with an ``error`` object
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Final

import structlog

from exporterhub.core.errors import ConnectionLostError, ExporterError
from exporterhub.exporters.phd2.framing import LineBuffer
from exporterhub.exporters.phd2.protocol import (
    EventFields,
    Malformed,
    RpcResponse,
    encode_request,
    parse_message,
)

__all__ = ["Phd2Connection", "Phd2Error", "RpcError", "open_connection"]

_log = structlog.get_logger(__name__)
_READ_SIZE: Final = 65536


class Phd2Error(ExporterError):
    """Base of the PHD2 exporter's errors."""


class RpcError(Phd2Error):
    """PHD2 answered with an error object (e.g. camera not connected)."""

    def __init__(self, method: str, code: int | None, message: str) -> None:
        super().__init__(f"{method}: {code}: {message}")
        self.method = method
        self.code = code


async def open_connection(
    host: str, port: int, connect_timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open the TCP connection within ``connect_timeout`` seconds.

    Raises:
        ConnectionLostError: refused, unreachable or timed out.
    """
    try:
        async with asyncio.timeout(connect_timeout):
            return await asyncio.open_connection(host, port, limit=_READ_SIZE * 2)
    except TimeoutError as exc:
        raise ConnectionLostError(
            f"connect {host}:{port}: timed out", "timeout"
        ) from exc
    except ConnectionRefusedError as exc:
        raise ConnectionLostError(f"connect {host}:{port}: refused", "refused") from exc
    except OSError as exc:
        raise ConnectionLostError(
            f"connect {host}:{port}: {exc.strerror or exc!r}", "unreachable"
        ) from exc


class Phd2Connection:
    """One live session: a read loop plus request/response matching.

    Args:
        reader: the stream's reader.
        writer: the stream's writer.
        on_events: called with the events of one socket read, in order, as
            ``parse_message`` returns them (``EventFields``); also with an empty
            list after a read that held only unusable lines, so the caller can
            publish its error counts. Events that precede an RPC answer in the
            stream are delivered before that answer is resolved.
        on_malformed: called with a short reason for every unusable line.
        max_line: lines longer than this many bytes are rejected.
        rpc_timeout: seconds to wait for an answer.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        on_events: Callable[[list[EventFields]], None],
        on_malformed: Callable[[str], None],
        max_line: int,
        rpc_timeout: float,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._on_events = on_events
        self._on_malformed = on_malformed
        # JSON reads the "\r" before each "\n" as whitespace: leaving it on saves
        # a copy of every line.
        self._buffer = LineBuffer(max_line=max_line, strip_cr=False)
        self._rpc_timeout = rpc_timeout
        self._lock = asyncio.Lock()
        self._next_id = 0
        self._pending: tuple[int, asyncio.Future[RpcResponse]] | None = None
        self.lines = 0
        self.events_delivered = 0
        """Events handed to ``on_events`` so far on this connection."""
        self.events_before_answer = 0
        """``events_delivered`` when the last RPC answer was resolved: an answer is
        PHD2's view at that point of the stream, older than any later event."""

    async def read_loop(self) -> None:
        """Read until EOF, then raise ``ConnectionLostError``.

        Raises:
            ConnectionLostError: the peer closed the connection or reset it.
        """
        overlong_seen = 0
        while True:
            try:
                data = await self._reader.read(_READ_SIZE)
            except OSError as exc:
                raise ConnectionLostError(f"read failed: {exc!r}", "reset") from exc
            if not data:
                raise ConnectionLostError("PHD2 closed the connection", "eof")
            events: list[EventFields] = []
            append = events.append
            unusable = False
            lines = self._buffer.feed(data)
            self.lines += len(lines)
            for line in lines:
                message = parse_message(line)
                if isinstance(message, dict):
                    append(message)
                elif isinstance(message, RpcResponse):
                    if events:  # keep stream order: earlier events first
                        self._deliver(events)
                        events = []
                        append = events.append
                    self._resolve(message)
                else:
                    unusable = True
                    self._malformed(message)
            while overlong_seen < self._buffer.overlong:
                overlong_seen += 1
                unusable = True
                self._on_malformed("overlong")
            if events or unusable:
                self._deliver(events)

    def _deliver(self, events: list[EventFields]) -> None:
        self.events_delivered += len(events)
        self._on_events(events)

    def _malformed(self, message: Malformed) -> None:
        _log.debug("phd2_malformed_line", reason=message.reason)
        self._on_malformed(message.reason)

    def _resolve(self, response: RpcResponse) -> None:
        pending = self._pending
        if pending is None or pending[0] != response.id or pending[1].done():
            # An answer to a request we gave up on, or another client's id scheme.
            self._on_malformed("unexpected_response")
            return
        self.events_before_answer = self.events_delivered
        pending[1].set_result(response)

    async def call(self, method: str, params: object | None = None) -> object:
        """Send one request and return its result (``None`` stays ``None``).

        Raises:
            RpcError: PHD2 answered with an error object.
            TimeoutError: no answer within the RPC timeout.
            ConnectionLostError: the request could not be written.
        """
        async with self._lock:
            self._next_id += 1
            request_id = self._next_id
            future: asyncio.Future[RpcResponse] = (
                asyncio.get_running_loop().create_future()
            )
            self._pending = (request_id, future)
            try:
                async with asyncio.timeout(self._rpc_timeout):
                    self._writer.write(encode_request(method, request_id, params))
                    await self._writer.drain()
                    response = await future
            except TimeoutError:
                raise  # TimeoutError is an OSError: keep it from the branch below
            except OSError as exc:
                raise ConnectionLostError(f"write failed: {exc!r}", "reset") from exc
            finally:
                self._pending = None
        if response.error is not None:
            raise RpcError(method, response.error.code, response.error.message)
        return response.result

    async def close(self) -> None:
        """Close the socket; never raises."""
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()
