"""CHAOS simulator server: an HTTP server that answers like AAISP's CHAOS v2 API.

Used by the chaos exporter's integration tests, by benchmarks and by anyone trying
the exporter without an A&A account. It serves ``/<subsystem>/<command>[/json|/xml]``
(``shared/protocols/chaos.md`` §1, §10) from a data file (see
:mod:`~exporterhub.simulators.chaos.accounts`), accepting GET queries, form and JSON
POST bodies and HTTP Basic auth. The fault switches
(:class:`~exporterhub.simulators.chaos.model.ChaosFaults`), switchable while running
and optionally scoped to some paths, add latency, hangs, dropped connections, 5xx,
429 with ``Retry-After``, HTTP 200 rate-limit errors, truncated JSON and missing
fields. Every request lands in :attr:`ChaosSimulator.requests`, passwords removed.

The HTTP/1.1 framing lives in ``http``, the answers in ``model``, their encoding in
``wire``, the command line (``chaos-simulator --port 8099``) in ``command``.

This module must not bind anything but the configured host (127.0.0.1 by default),
import exporter code, block the event loop or store a password.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import structlog

from exporterhub.core.server import bind_socket
from exporterhub.simulators.chaos.accounts import generate_lines, load_data
from exporterhub.simulators.chaos.http import (
    MAX_HEAD,
    REASONS,
    BadRequestError,
    Request,
    read_request,
    write_response,
)
from exporterhub.simulators.chaos.model import Answer, ChaosFaults, ChaosModel
from exporterhub.simulators.chaos.wire import parse_attributes, to_json, to_xml

__all__ = ["ChaosSimConfig", "ChaosSimulator", "LoggedRequest"]

_log = structlog.get_logger(__name__)


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
                    request = await read_request(reader)
                except BadRequestError as exc:
                    await write_response(
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

    async def _handle(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; return whether the connection stays open."""
        url = urlsplit(request.target)
        parts = [p for p in url.path.split("/") if p]
        fmt = "json"
        if len(parts) == 3 and parts[2].lower() in {"json", "xml"}:
            fmt = parts.pop().lower()
        keep = request.headers.get("connection", "").lower() != "close"
        if len(parts) != 2:
            self._record(request, url.path, "", "", {}, 404, None)
            await write_response(writer, 404, "text/plain", b"Not found\n", {}, keep)
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
            reason = REASONS.get(status, "Server Error")
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
        await write_response(
            writer, answer.status, content_type, payload, headers, keep
        )
        return keep

    def _record(
        self,
        request: Request,
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
