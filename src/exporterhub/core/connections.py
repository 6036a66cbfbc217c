"""Keeps slow, stuck or too many HTTP clients from taking the server down.

uvicorn closes idle keep-alive connections but never times out a request that is
still arriving: a socket that sends nothing, half its headers or 1 of 1,000
announced body bytes stays open for ever, and enough of them use up the process's
file descriptors, after which nothing (``/metrics``, ``/health``) is answered and
every failed ``accept()`` is logged. This module wraps uvicorn's HTTP protocol:

- a request's headers must arrive within ``header_timeout`` seconds of its first
  byte (or of the connection opening), its body within ``body_timeout`` seconds
  after the headers, and a response the client stops reading is dropped after
  ``write_timeout`` seconds;
- at most ``max_connections`` connections are open: a new connection at the cap
  closes the one that has waited longest for a request of its own (idle keep-alive,
  still sending one, or not reading its answer), so a held slow socket can never
  lock out a scrape; only when every connection is being answered is it refused;
- ``accept()`` failures (no file descriptors left) and evictions are logged once
  per interval with a count, not once each;
- parser-level 400s answer in the API's JSON error shape.

Nothing here knows routes or the app; ``server`` builds the uvicorn server with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, Final

import orjson
import structlog

__all__ = [
    "AcceptErrorThrottle",
    "ConnectionGuard",
    "ServerLimits",
    "guarded_protocol",
    "raise_open_file_limit",
]

_log = structlog.get_logger(__name__)


def _answer(status: bytes, error: str, detail: str, *headers: bytes) -> bytes:
    """Return a whole HTTP/1.1 answer in the API's JSON error shape, then close."""
    body = orjson.dumps({"error": error, "detail": detail, "fields": []})
    head = [
        b"HTTP/1.1 " + status,
        b"content-type: application/json",
        b"connection: close",
        *headers,
        b"content-length: " + str(len(body)).encode(),
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


_TIMEOUT_ANSWER: Final = _answer(
    b"408 Request Timeout", "request_timeout", "The request took too long to arrive."
)
_REFUSED_ANSWER: Final = _answer(
    b"503 Service Unavailable",
    "unavailable",
    "Too many open connections.",
    b"retry-after: 1",
)
_MALFORMED_ANSWER: Final = _answer(
    b"400 Bad Request", "bad_request", "The HTTP request is malformed."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerLimits:
    """How long a client may take and how many may be connected.

    Attributes:
        header_timeout: seconds from a request's first byte (or the connection's
            opening) to its last header.
        body_timeout: seconds from the last header to the last body byte.
        write_timeout: seconds a response may wait for the client to read it.
        idle_timeout: seconds a keep-alive connection may wait for its next request.
        max_connections: open connections at most (lowered to half the open-file
            limit when that is smaller).
        log_interval: seconds between two log lines about the same kind of event.
    """

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    write_timeout: float = 30.0
    idle_timeout: float = 30.0
    max_connections: int = 512
    log_interval: float = 10.0


class _RateLimitedLog:
    """Logs an event at most once per interval, with how often it happened."""

    def __init__(self, event: str, interval: float) -> None:
        self._event = event
        self._interval = interval
        self._count = 0
        self._last = -float("inf")

    def note(self, **context: object) -> None:
        self._count += 1
        now = time.monotonic()
        if now - self._last >= self._interval:
            _log.warning(self._event, count=self._count, **context)
            self._count = 0
            self._last = now


class _Phase(Enum):
    IDLE = "idle"  # between requests; uvicorn's keep-alive timer runs
    RECEIVING = "receiving"  # a request (or the first one) is arriving
    HANDLING = "handling"  # the request is complete; the app answers it


class ConnectionGuard:
    """Counts open connections, evicts the slowest at the cap, reports drops.

    Args:
        limits: the limits to enforce.
        on_drop: called with a short reason (``header_timeout``, ``body_timeout``,
            ``write_timeout``, ``evicted``, ``refused``) for every dropped
            connection; the hub counts them in a metric.
    """

    def __init__(
        self, limits: ServerLimits, on_drop: Callable[[str], None] | None = None
    ) -> None:
        self.limits = limits
        self._on_drop = on_drop
        self._open: dict[_GuardedMixin, None] = {}
        self._evictions = _RateLimitedLog(
            "http_connections_evicted", limits.log_interval
        )
        self._refusals = _RateLimitedLog(
            "http_connections_refused", limits.log_interval
        )

    @property
    def open(self) -> int:
        """Return how many connections are open."""
        return len(self._open)

    def admit(self, connection: _GuardedMixin) -> bool:
        """Take a new connection in, evicting the slowest one at the cap."""
        if len(self._open) >= self.limits.max_connections:
            victim = min(
                (c for c in self._open if c.waiting and not c.closing),
                key=lambda c: c.waiting_since,
                default=None,
            )
            if victim is None:
                self.dropped("refused")
                self._refusals.note(max_connections=self.limits.max_connections)
                return False
            victim.drop("evicted")
            self._open.pop(victim, None)
            self._evictions.note(max_connections=self.limits.max_connections)
        self._open[connection] = None
        return True

    def forget(self, connection: _GuardedMixin) -> None:
        """Drop a closed connection from the count."""
        self._open.pop(connection, None)

    def dropped(self, reason: str) -> None:
        """Report one dropped connection."""
        if self._on_drop is not None:
            self._on_drop(reason)


class _GuardedMixin:
    """Deadlines and admission on top of a uvicorn HTTP protocol class."""

    guard: ClassVar[ConnectionGuard]
    # Provided by the uvicorn protocol class this is mixed into.
    transport: asyncio.Transport
    cycle: Any
    loop: asyncio.AbstractEventLoop

    _phase: _Phase = _Phase.RECEIVING
    _seen_cycle: Any = None
    _deadline: asyncio.TimerHandle | None = None
    _write_deadline: asyncio.TimerHandle | None = None
    _stalled: bool = False
    _admitted: bool = False
    waiting_since: float = 0.0

    @property
    def waiting(self) -> bool:
        """True while the connection waits on its client, not on the app."""
        return self._phase is not _Phase.HANDLING or self._stalled

    @property
    def closing(self) -> bool:
        """True once the connection is being closed."""
        return self.transport is None or self.transport.is_closing()

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self.waiting_since = time.monotonic()
        if not self.guard.admit(self):
            transport.write(_REFUSED_ANSWER)
            transport.close()
            return
        self._admitted = True
        self._arm(self.guard.limits.header_timeout, "header_timeout")

    def data_received(self, data: bytes) -> None:
        if self._phase is _Phase.IDLE:
            self._enter(_Phase.RECEIVING)
            self._arm(self.guard.limits.header_timeout, "header_timeout")
        super().data_received(data)  # type: ignore[misc]
        self._observe()

    def _observe(self) -> None:
        """Follow the parser: headers complete → body deadline; body complete → app."""
        cycle = self.cycle
        if cycle is None or self._phase is not _Phase.RECEIVING:
            return
        if cycle is not self._seen_cycle:
            self._seen_cycle = cycle
            self._arm(self.guard.limits.body_timeout, "body_timeout")
        if not cycle.more_body:
            self._enter(_Phase.HANDLING)
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            return  # a pipelined request started: still handling
        self._enter(_Phase.IDLE)
        self._disarm()

    def pause_writing(self) -> None:
        super().pause_writing()  # type: ignore[misc]
        self._stalled = True
        self.waiting_since = time.monotonic()
        self._write_deadline = self.loop.call_later(
            self.guard.limits.write_timeout, self.drop, "write_timeout"
        )

    def resume_writing(self) -> None:
        super().resume_writing()  # type: ignore[misc]
        self._stalled = False
        if self._write_deadline is not None:
            self._write_deadline.cancel()
            self._write_deadline = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._write_deadline is not None:
            self._write_deadline.cancel()
        self.guard.forget(self)
        super().connection_lost(exc)  # type: ignore[misc]

    def send_400_response(self, msg: str) -> None:
        """Answer a request the parser refused, in the API's JSON error shape."""
        self.transport.write(_MALFORMED_ANSWER)
        self.transport.close()

    def drop(self, reason: str) -> None:
        """Close the connection now and report why."""
        if self.closing:
            return
        self.guard.dropped(reason)
        if reason == "header_timeout" and self._seen_cycle is None:
            self.transport.write(_TIMEOUT_ANSWER)
            self.transport.close()
        else:
            # abort, not close: close would wait for a reader that never reads.
            self.transport.abort()

    def _enter(self, phase: _Phase) -> None:
        self._phase = phase
        if phase is not _Phase.HANDLING:
            self.waiting_since = time.monotonic()
        if phase is _Phase.IDLE:
            self._seen_cycle = None

    def _arm(self, seconds: float, reason: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self.drop, reason)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


def _base_protocol(http: str) -> type[asyncio.Protocol]:
    if http == "httptools":
        with contextlib.suppress(ImportError):
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

            return HttpToolsProtocol
    from uvicorn.protocols.http.h11_impl import H11Protocol

    return H11Protocol


def guarded_protocol(
    guard: ConnectionGuard, http: str = "httptools"
) -> type[asyncio.Protocol]:
    """Return uvicorn's HTTP protocol class with ``guard``'s deadlines and cap.

    Args:
        guard: shared by every connection of one server.
        http: ``httptools`` (the C parser, h11 when it is not installed) or ``h11``.
    """
    base = _base_protocol(http)
    return type(f"Guarded{base.__name__}", (_GuardedMixin, base), {"guard": guard})


class AcceptErrorThrottle:
    """An event-loop exception handler that logs accept failures once per interval.

    When the process runs out of file descriptors, asyncio reports every failed
    ``accept()``; this folds them into one warning per interval with a count and
    hands every other report to the loop's default handler.
    """

    def __init__(self, interval: float = 10.0) -> None:
        self._log = _RateLimitedLog("http_accept_failed", interval)

    def __call__(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        """Fold an accept failure into the count; pass anything else on."""
        message = str(context.get("message", ""))
        if message.startswith("socket.accept() out of system resource"):
            error = context.get("exception")
            self._log.note(error=str(error) if error is not None else message)
            return
        loop.default_exception_handler(context)


def raise_open_file_limit() -> int:
    """Raise the soft open-file limit to the hard one; return the soft limit now.

    Devices (thousands of SNP streams) and HTTP clients share this limit; the
    default soft limit of 1,024 is a historical accident, as Go's runtime agrees.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return int(soft)
