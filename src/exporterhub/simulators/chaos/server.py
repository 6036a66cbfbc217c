"""CHAOS simulator: an HTTP server that answers like AAISP's CHAOS v2 API.

Used by the chaos exporter's integration tests, by benchmarks and by anyone trying
the exporter without an A&A account. It serves ``/<subsystem>/<command>[/json|/xml]``
(``shared/protocols/chaos.md`` §1, §10) from a data file (see
:mod:`~exporterhub.simulators.chaos.model`), accepting GET queries, form and JSON
POST bodies and HTTP Basic auth. :class:`ChaosFaults`, switchable while running and
optionally scoped to some paths, adds latency, hangs, dropped connections, 5xx,
429 with ``Retry-After``, HTTP 200 rate-limit errors, truncated JSON and missing
fields. Every request lands in :attr:`ChaosSimulator.requests`, passwords removed.

The server is a small HTTP/1.1 implementation on asyncio streams rather than an
ASGI app, because a dropped connection and a request that never gets an answer
must be real socket behaviour.

This module must not bind anything but the configured host (127.0.0.1 by default),
import exporter code, block the event loop or store a password.

Run it with ``chaos-simulator --port 8099`` (see :func:`build_parser`).

Example:
    >>> config = config_from_args(build_parser().parse_args(["--drop-every", "3"]))
    >>> config.port, config.faults.drop_every
    (8099, 3)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

import structlog

from exporterhub.core.server import bind_socket
from exporterhub.simulators._serve import run_until_stopped
from exporterhub.simulators.chaos.model import (
    Answer,
    ChaosModel,
    generate_lines,
    load_data,
    parse_attributes,
    to_json,
    to_xml,
)

__all__ = [
    "ChaosFaults",
    "ChaosSimConfig",
    "ChaosSimulator",
    "LoggedRequest",
    "build_parser",
    "config_from_args",
    "main",
    "serve",
]

_log = structlog.get_logger(__name__)

DEFAULT_PORT: Final = 8099
MAX_BODY: Final = 1 << 20  # bytes; CHAOS requests are a few hundred
MAX_HEAD: Final = 64 * 1024
_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    413: "Content Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass(slots=True, kw_only=True)
class ChaosFaults:
    """Fault switches; mutable while the simulator runs.

    ``*_every`` counters count requests in scope (1-based); 0 disables a switch.
    When several fire on one request the first in this order wins: hang/timeout,
    drop, 5xx, 429, 200 rate limit, malformed.

    Attributes:
        latency: seconds to wait before every answer in scope.
        hang: never answer any request in scope (the client times out).
        timeout_every: never answer every N-th request.
        drop_every: close the connection without an answer every N-th request.
        status_5xx_every: answer every N-th request with ``status_5xx`` and HTML.
        status_5xx: the 5xx status used, 502 or 503.
        rate_limit_429_every: answer every N-th request with HTTP 429.
        retry_after: seconds in the 429 ``Retry-After`` header; None omits it.
        rate_limit_200_every: answer every N-th request with an HTTP 200 error.
        malformed_every: truncate the JSON of every N-th answer.
        missing_fields: drop rate and quota fields from every other line.
        paths: scope, e.g. ``{"/broadband/quota"}`` (suffix-less); None = all.
    """

    latency: float = 0.0
    hang: bool = False
    timeout_every: int = 0
    drop_every: int = 0
    status_5xx_every: int = 0
    status_5xx: int = 503
    rate_limit_429_every: int = 0
    retry_after: int | None = 60
    rate_limit_200_every: int = 0
    malformed_every: int = 0
    missing_fields: bool = False
    paths: frozenset[str] | None = None

    def applies_to(self, path: str) -> bool:
        """Return whether ``path`` (``/subsystem/command``) is in scope."""
        return self.paths is None or path in self.paths


@dataclass(slots=True, kw_only=True)
class ChaosSimConfig:
    """Settings of one simulated CHAOS server.

    Attributes:
        host: address to listen on.
        port: TCP port; 0 picks a free one (tests), see :attr:`ChaosSimulator.port`.
        data: data file (JSON or YAML); None = the packaged ``data/chaos.json``.
        lines: pad or cut the first login's lines to this many (benchmarks).
        seed: seed for UUIDs, generated lines and quota ticks.
        faults: fault switches, mutable at run time.
    """

    host: str = "127.0.0.1"
    port: int = 0
    data: Path | None = None
    lines: int | None = None
    seed: int | None = None
    faults: ChaosFaults = field(default_factory=ChaosFaults)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedRequest:
    """One request as the simulator saw it; never holds a password.

    Attributes:
        method: HTTP method.
        path: request path without query, suffix included (``/broadband/info/json``).
        subsystem: first path segment, ``""`` if none.
        command: second path segment, ``""`` if none.
        attributes: normalised request attributes minus any ``*password*`` one.
        status: HTTP status sent; None when no answer was sent (drop, hang).
        fault: the fault applied (``hang``, ``drop``, ``5xx``, ``429``,
            ``rate_limit_200``, ``malformed``), None for a normal answer.
    """

    method: str
    path: str
    subsystem: str
    command: str
    attributes: dict[str, str]
    status: int | None
    fault: str | None


@dataclass(slots=True)
class _Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class _BadRequest(Exception):
    pass


class ChaosSimulator:
    """A simulated CHAOS v2 API on an HTTP port."""

    def __init__(self, config: ChaosSimConfig) -> None:
        data = load_data(config.data)
        if config.lines is not None:
            if config.lines < 0 or not data.logins:
                msg = "lines must be >= 0 and the data must have a login"
                raise ValueError(msg)
            generate_lines(data.logins[0], config.lines, config.seed)
        self._config = config
        self._model = ChaosModel(data, seed=config.seed)
        self._server: asyncio.Server | None = None
        self._port = config.port
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._stopping = asyncio.Event()
        self._in_scope = 0
        self.requests: list[LoggedRequest] = []

    # ---------------------------------------------------------------- control

    async def start(self) -> None:
        """Bind the listening socket and start serving.

        Raises:
            RuntimeError: if already started.
            ConfigError: if the address cannot be bound.
        """
        if self._server is not None:
            msg = "simulator already started"
            raise RuntimeError(msg)
        sock = bind_socket(self._config.host, self._config.port)
        self._server = await asyncio.start_server(
            self._on_connect, sock=sock, limit=MAX_HEAD
        )
        self._port = int(sock.getsockname()[1])
        _log.info("chaos_simulator_started", host=self._config.host, port=self.port)

    async def stop(self) -> None:
        """Close the server and every connection, hung ones included; idempotent."""
        if self._server is None or self._stopping.is_set():
            return
        self._stopping.set()
        self._server.close()
        # Aborting (not cancelling) ends every handler, hung ones included: the
        # reader sees EOF and waits on _stopping return.
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        _log.info("chaos_simulator_stopped", port=self.port)

    async def __aenter__(self) -> ChaosSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port (the real one when configured with port 0)."""
        return self._port

    @property
    def base_url(self) -> str:
        """Base URL for clients, e.g. ``http://127.0.0.1:8099``."""
        host = self._config.host
        return (
            f"http://[{host}]:{self.port}"
            if ":" in host
            else f"http://{host}:{self.port}"
        )

    @property
    def faults(self) -> ChaosFaults:
        """The live fault switches."""
        return self._config.faults

    @property
    def model(self) -> ChaosModel:
        """The answer model; its ``data`` may be edited while running."""
        return self._model

    def quota_tick(self) -> None:
        """Advance every line's ``quota_timestamp`` by an hour and use some quota."""
        self._model.quota_tick()

    # ------------------------------------------------------------- internals

    async def _on_connect(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:  # always true: start_server runs callbacks as tasks
            self._tasks.add(task)
        self._writers.add(writer)
        try:
            while not self._stopping.is_set():
                try:
                    request = await _read_request(reader)
                except _BadRequest as exc:
                    await _write(
                        writer, 400, "text/plain", f"{exc}\n".encode(), {}, False
                    )
                    break
                if request is None or not await self._handle(request, writer):
                    break
        except (ConnectionError, OSError, asyncio.IncompleteReadError) as exc:
            _log.debug("chaos_client_io_failed", error=str(exc))
        finally:
            writer.transport.abort()
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)

    async def _handle(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; return whether the connection stays open."""
        url = urlsplit(request.target)
        parts = [p for p in url.path.split("/") if p]
        fmt = "json"
        if len(parts) == 3 and parts[2].lower() in {"json", "xml"}:
            fmt = parts.pop().lower()
        keep = request.headers.get("connection", "").lower() != "close"
        if len(parts) != 2:
            self._record(request, url.path, "", "", {}, 404, None)
            await _write(writer, 404, "text/plain", b"Not found\n", {}, keep)
            return keep
        subsystem, command = (p.lower() for p in parts)
        attributes = parse_attributes(request.headers, url.query, request.body)
        scope = f"/{subsystem}/{command}"
        faults = self.faults
        fault: str | None = None
        n = 0
        if faults.applies_to(scope):
            self._in_scope += 1
            n = self._in_scope
            if faults.latency > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), faults.latency)
        if subsystem == "broadband" and command == "kill":
            _log.warning(
                "chaos_simulator_kill_received",
                service=attributes.get("service", ""),
                control_login=attributes.get("control_login", ""),
            )
        if self._stopping.is_set():
            return False
        if n and (faults.hang or _every(n, faults.timeout_every)):
            self._record(
                request, url.path, subsystem, command, attributes, None, "hang"
            )
            await self._stopping.wait()
            return False
        if n and _every(n, faults.drop_every):
            self._record(
                request, url.path, subsystem, command, attributes, None, "drop"
            )
            return False
        headers: dict[str, str] = {}
        answer: Answer
        if n and _every(n, faults.status_5xx_every):
            fault = "5xx"
            status = faults.status_5xx
            reason = _REASONS.get(status, "Server Error")
            body = (
                f"<html><head><title>{status} {reason}</title></head>"
                f"<body><h1>{reason}</h1></body></html>\n"
            )
            answer = Answer(status=status, body=body, content_type="text/html")
        elif n and _every(n, faults.rate_limit_429_every):
            fault = "429"
            answer = Answer(
                status=429, body="Too many requests\n", content_type="text/plain"
            )
            if faults.retry_after is not None:
                headers["Retry-After"] = str(faults.retry_after)
        elif n and _every(n, faults.rate_limit_200_every):
            fault = "rate_limit_200"
            answer = self._model.rate_limited(subsystem, command, attributes)
        else:
            answer = self._model.answer(
                subsystem,
                command,
                attributes,
                missing_fields=bool(n) and faults.missing_fields,
            )
        if answer.document is None:
            payload = answer.body.encode()
            content_type = answer.content_type
        elif fmt == "xml":
            payload, content_type = to_xml(answer.document), "text/xml"
        else:
            payload, content_type = to_json(answer.document), "application/json"
            if n and fault is None and _every(n, faults.malformed_every):
                fault = "malformed"
                payload = payload[: len(payload) // 2]
        self._record(
            request, url.path, subsystem, command, attributes, answer.status, fault
        )
        await _write(writer, answer.status, content_type, payload, headers, keep)
        return keep

    def _record(
        self,
        request: _Request,
        path: str,
        subsystem: str,
        command: str,
        attributes: dict[str, str],
        status: int | None,
        fault: str | None,
    ) -> None:
        self.requests.append(
            LoggedRequest(
                method=request.method,
                path=path,
                subsystem=subsystem,
                command=command,
                attributes={k: v for k, v in attributes.items() if "password" not in k},
                status=status,
                fault=fault,
            )
        )


def _every(n: int, every: int) -> bool:
    return every > 0 and n % every == 0


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """Read one HTTP/1.1 request; None on a clean EOF between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise _BadRequest("truncated request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise _BadRequest("request head too large") from None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ")
    except ValueError:
        raise _BadRequest("bad request line") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise _BadRequest("chunked bodies are not supported")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise _BadRequest("bad content-length") from None
    if not 0 <= length <= MAX_BODY:
        raise _BadRequest("bad content-length")
    body = await reader.readexactly(length) if length else b""
    return _Request(method.upper(), target, headers, body)


async def _write(
    writer: asyncio.StreamWriter,
    status: int,
    content_type: str,
    body: bytes,
    headers: dict[str, str],
    keep: bool,
) -> None:
    head = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        f"Connection: {'keep-alive' if keep else 'close'}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()


# -------------------------------------------------------------------- CLI


async def serve(config: ChaosSimConfig, stop: asyncio.Event | None = None) -> None:
    """Run a simulator until ``stop`` is set, or until SIGINT/SIGTERM.

    Args:
        config: simulator settings.
        stop: set it to shut down; when ``None`` the process signals do it.
    """
    await run_until_stopped(ChaosSimulator(config), stop)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``chaos-simulator`` argument parser."""
    p = argparse.ArgumentParser(
        prog="chaos-simulator", description="Simulated AAISP CHAOS v2 API (HTTP)."
    )
    p.add_argument("--host", default="127.0.0.1", help="listen address")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port")
    p.add_argument("--data", type=Path, help="data file, JSON or YAML")
    p.add_argument("--lines", type=int, metavar="N", help="lines of the first login")
    p.add_argument("--seed", type=int, help="random seed")
    f = p.add_argument_group("faults")
    f.add_argument("--latency", type=float, default=0.0, metavar="S", help="delay, s")
    f.add_argument("--hang", action="store_true", help="never answer")
    for name, text in (
        ("timeout", "never answer every N-th request"),
        ("drop", "close without answer every N-th request"),
        ("status-5xx", "HTTP 5xx every N-th request"),
        ("rate-limit-429", "HTTP 429 every N-th request"),
        ("rate-limit-200", "HTTP 200 rate-limit error every N-th request"),
        ("malformed", "truncated JSON every N-th request"),
    ):
        f.add_argument(f"--{name}-every", type=int, default=0, metavar="N", help=text)
    f.add_argument("--status-5xx", type=int, default=503, choices=(502, 503))
    f.add_argument("--retry-after", type=int, default=60, metavar="S")
    f.add_argument("--missing-fields", action="store_true", help="drop line fields")
    f.add_argument(
        "--fault-path",
        action="append",
        metavar="PATH",
        help="limit faults to /subsystem/command (repeatable)",
    )
    return p


def config_from_args(args: argparse.Namespace) -> ChaosSimConfig:
    """Build a :class:`ChaosSimConfig` from parsed :func:`build_parser` arguments."""
    return ChaosSimConfig(
        host=args.host,
        port=args.port,
        data=args.data,
        lines=args.lines,
        seed=args.seed,
        faults=ChaosFaults(
            latency=args.latency,
            hang=args.hang,
            timeout_every=args.timeout_every,
            drop_every=args.drop_every,
            status_5xx_every=args.status_5xx_every,
            status_5xx=args.status_5xx,
            rate_limit_429_every=args.rate_limit_429_every,
            retry_after=args.retry_after,
            rate_limit_200_every=args.rate_limit_200_every,
            malformed_every=args.malformed_every,
            missing_fields=args.missing_fields,
            paths=frozenset(args.fault_path) if args.fault_path else None,
        ),
    )


def main(argv: list[str] | None = None) -> int:
    """Run ``chaos-simulator`` until SIGINT/SIGTERM; return the exit status 0."""
    config = config_from_args(build_parser().parse_args(argv))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config))
    return 0
