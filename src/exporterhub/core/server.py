"""Runs an ASGI app on uvicorn with the project's listen-address syntax and shutdown.

The server parses HTTP with httptools (the C parser; h11 when it is missing) inside
``connections``' guard (read deadlines, a connection cap), and ``run`` drives a
command's coroutine on uvloop when it is installed (plain asyncio otherwise): uvicorn
picks neither by itself when its ``serve()`` runs inside our own loop. SIGINT/SIGTERM
stop accepting scrapes, run the app's lifespan shutdown (which closes device
connections) and return within about two seconds. No app logic lives here.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from ssl import SSLContext
from typing import Any, TypeVar

import uvicorn
from starlette.types import ASGIApp

from exporterhub.core.connections import ConnectionGuard, ServerLimits, guarded_protocol
from exporterhub.core.errors import ConfigError
from exporterhub.core.memory import fix_mmap_threshold

__all__ = [
    "bind_socket",
    "loop_factory",
    "make_server",
    "parse_listen_address",
    "run",
]

T = TypeVar("T")


def parse_listen_address(address: str) -> tuple[str, int]:
    """Split ``host:port``, ``:port`` or ``[v6]:port`` into host and port.

    >>> parse_listen_address(":9753"), parse_listen_address("[::1]:80")
    (('0.0.0.0', 9753), ('::1', 80))

    Raises:
        ConfigError: no port, or the port is not a number in 0..65535.
    """
    host, sep, port_text = address.rpartition(":")
    if not sep:
        raise ConfigError(f"listen address {address!r}: expected host:port")
    host = host.strip("[]") or "0.0.0.0"  # noqa: S104 - ':port' means all interfaces
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"listen address {address!r}: port is not a number") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"listen address {address!r}: port out of range")
    return host, port


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket before serving, so a busy port is a clean error.

    Raises:
        ConfigError: the address cannot be bound (in use, not local, no permission).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only
    # when the listening socket says TCP, and without it a keep-alive scrape of a
    # small body waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"listen address {host}:{port}: cannot bind: {exc.strerror or exc}"
        ) from exc
    sock.set_inheritable(True)
    return sock


def make_server(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    guard: ConnectionGuard | None = None,
    http: str = "httptools",
    ssl: SSLContext | None = None,
) -> uvicorn.Server:
    """Return a uvicorn server for ``app`` (call ``await server.serve()``).

    Args:
        app: the ASGI app.
        host: listen host (for uvicorn's own messages; the socket is bound apart).
        port: listen port, likewise.
        guard: deadlines and the connection cap; one with the default limits
            when None.
        http: ``httptools`` or ``h11`` (tests run both parsers).
        ssl: the TLS context of ``--web.config.file``; plain HTTP when None.
    """
    guard = guard or ConnectionGuard(ServerLimits())
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded_protocol(guard, http),
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=max(1, round(guard.limits.idle_timeout)),
        server_header=False,
    )
    if ssl is not None:
        config.load()
        config.ssl = ssl  # uvicorn builds its own from files; ours has the toolkit's
    return uvicorn.Server(config)


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """Return uvloop's loop factory when uvloop is installed, else None (asyncio)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a declared dependency
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine to completion on the fastest loop available."""
    fix_mmap_threshold()
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
