"""The ASGI entry in front of FastAPI: the fast ``/metrics`` path and the HTTP rules.

- ``GET``/``HEAD /metrics`` is answered here, from the bytes the exposition's
  renderer prepared, with content negotiation (q-values, OpenMetrics versions) and
  gzip; FastAPI's routing and middleware cost more than the answer itself, and
  this is the route Prometheus calls every few seconds.
- ``HEAD`` works on every ``GET`` route (monitoring probes use it): the ``GET``'s
  status and headers, no body. ``OPTIONS`` answers 204 with the path's ``Allow``.
- A write (``POST``, ``PUT``, ``PATCH``) under ``/api/`` must say
  ``Content-Type: application/json`` or gets 415: a web page the user happens to
  visit can send a form or ``text/plain`` "simple request" without a CORS
  preflight, never a JSON one.
- A request with both ``Content-Length`` and ``Transfer-Encoding`` is refused with
  400 and the connection closed (request smuggling; httptools refuses it already,
  h11 does not).
- ``/metrics/`` and other known paths with a trailing slash redirect to the path
  without it, with a ``Location`` that holds only the path: never built from the
  client's ``Host`` header.
- Scrape hooks (``Exposition.add_scrape_hook``) run before a ``/metrics`` answer;
  when one read something for the scrape, the body is made exact for it.
- ``GET /probe?target=KIND/NAME`` answers one target's series from the same cache
  (the multi-target pattern of blackbox_exporter); an unknown target is 400.
- With basic-auth users configured (``--web.config.file``) every path but the
  liveness probes (and, unless ``protect_metrics``, ``/metrics`` and ``/probe``)
  needs valid credentials: 401 otherwise. A write whose ``Origin`` is another site
  is refused (403) even with them: browsers send cached credentials by themselves.

Every answer made here uses the API's JSON error shape, a failure while making
the ``/metrics`` or ``/probe`` answer too (a JSON 500, logged as
``request_failed``, as the app's own routes do). No route logic, no I/O.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import lru_cache
from typing import Final
from urllib.parse import parse_qs

import orjson
import structlog
from fastapi import FastAPI
from starlette.datastructures import State
from starlette.routing import Match
from starlette.types import Message, Receive, Scope, Send

from exporterhub.core.exposition import Exposition
from exporterhub.core.negotiation import Format, accepts_gzip, negotiate
from exporterhub.core.webconfig import BasicAuthCheck

__all__ = ["USER_SCOPE_KEY", "FrontDoor"]

_WRITES: Final = frozenset({"POST", "PUT", "PATCH"})
_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")
_VARY: Final = (b"vary", b"Accept, Accept-Encoding")
_GZIP: Final = (b"content-encoding", b"gzip")
_METRICS_ALLOW: Final = b"GET, HEAD, OPTIONS"
_ALWAYS_OPEN: Final = frozenset({"/-/healthy", "/-/ready", "/health"})
"""Liveness probes answer without credentials (they reveal nothing)."""
_SCRAPES: Final = frozenset({"/metrics", "/probe"})
_CHALLENGE: Final = b'Basic realm="exporterhub", charset="UTF-8"'
USER_SCOPE_KEY: Final = "exporterhub.user"
"""Where the authenticated user's name is put in the ASGI scope."""
_log = structlog.get_logger(__name__)


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope["headers"]:
        if name == wanted:
            value_bytes: bytes = value
            return value_bytes
    return None


def _same_origin(origin: bytes, scope: Scope) -> bool:
    """Say whether an ``Origin`` header names the host the request was sent to."""
    host = _header(scope, b"host")
    if host is None:
        return False
    scheme = scope.get("scheme", "http")
    return origin.decode("latin-1") == f"{scheme}://{host.decode('latin-1')}"


@lru_cache(maxsize=64)
def _format(accept: bytes) -> tuple[Format, bytes]:
    chosen = negotiate(accept.decode("latin-1"))
    return chosen, chosen.content_type.encode("latin-1")


@lru_cache(maxsize=64)
def _gzip(accept_encoding: bytes) -> bool:
    return accepts_gzip(accept_encoding.decode("latin-1"))


def _error_message(
    status: int, error: str, detail: str, *headers: tuple[bytes, bytes]
) -> tuple[Message, Message]:
    body = orjson.dumps({"error": error, "detail": detail, "fields": []})
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
    }
    return start, {"type": "http.response.body", "body": body}


def _without_body(send: Send) -> Send:
    """Wrap ``send`` so the response keeps its status and headers but no body."""

    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return send_head


class FrontDoor:
    """The ASGI app the server runs: the rules above, then the FastAPI app.

    Args:
        app: the FastAPI app with every route.
        exposition: what ``/metrics`` serves.
    """

    def __init__(
        self,
        app: FastAPI,
        exposition: Exposition,
        *,
        auth: BasicAuthCheck | None = None,
        protect_metrics: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self.exposition = exposition
        self._auth = auth
        self._open_paths = _ALWAYS_OPEN | (frozenset() if protect_metrics else _SCRAPES)
        self._headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in (headers or {}).items()
        ]
        app.router.redirect_slashes = False  # redirected here, without Host

    @property
    def state(self) -> State:
        """The FastAPI app's state (``state.hub`` is the served hub)."""
        return self.app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope["path"]
        if self._headers:
            send = self._with_headers(send)
        if self._auth is not None and path not in self._open_paths:
            user = self._auth(_header(scope, b"authorization"))
            if user is None:
                await self._answer(
                    401,
                    "unauthorized",
                    "Credentials are required (basic auth).",
                    (
                        b"www-authenticate",
                        b'Basic realm="exporterhub", charset="UTF-8"',
                    ),
                )(send)
                return
            scope = {**scope, USER_SCOPE_KEY: user}
        if path == "/probe" and (method == "GET" or method == "HEAD"):
            await self._guarded(self._probe, scope, send, head=method == "HEAD")
            return
        if path == "/metrics":
            if method == "GET" or method == "HEAD":
                await self._guarded(self._metrics, scope, send, head=method == "HEAD")
                return
            if method != "OPTIONS":
                await self._answer(
                    405,
                    "method_not_allowed",
                    "Method Not Allowed",
                    (b"allow", _METRICS_ALLOW),
                )(send)
                return
        refusal = self._refusal(scope, method, path)
        if refusal is not None:
            await refusal(send)
            return
        if method == "HEAD":
            scope = {**scope, "method": "GET"}
            send = _without_body(send)
        await self.app(scope, receive, self._full_allow(scope, send))

    async def _guarded(
        self,
        answer: Callable[..., Awaitable[None]],
        scope: Scope,
        send: Send,
        *,
        head: bool,
    ) -> None:
        """Run one of the answers made here; a failure is a logged JSON 500.

        As the app's routes answer a crash (``core.api``): never a plain-text
        500, never a traceback to the client. Once the answer has started it
        can only be cut short.
        """
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await answer(scope, tracking, head=head)
        except Exception:
            _log.exception("request_failed", path=scope["path"], method=scope["method"])
            if not started:
                reply = self._answer(
                    500, "internal_error", "The server failed; see its log."
                )
                await reply(_without_body(send) if head else send)

    async def _metrics(self, scope: Scope, send: Send, *, head: bool) -> None:
        accept = encoding = b""
        for name, value in scope["headers"]:
            if name == b"accept":
                accept = value
            elif name == b"accept-encoding":
                encoding = value
        (chosen, content_type), compressed = _format(accept), _gzip(encoding)
        exposition = self.exposition
        body = exposition.served(chosen.openmetrics, compressed)
        if await exposition.before_scrape():  # read for this scrape: show it
            body = exposition.prepare_now(chosen.openmetrics, compressed)
        elif body is None:  # not prepared yet, or out of date: made for this scrape
            body = await exposition.prepare(chosen.openmetrics, compressed)
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            _VARY,
        ]
        if compressed:
            headers.append(_GZIP)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else body})

    async def _probe(self, scope: Scope, send: Send, *, head: bool) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        wanted = query.get("target", [""])[0]
        kind, sep, name = wanted.partition("/")
        (chosen, content_type) = _format(_header(scope, b"accept") or b"")
        body = (
            self.exposition.target_body(kind, name, chosen.openmetrics) if sep else None
        )
        if body is None:
            detail = (
                f"Unknown target {wanted!r}: see /api/sd or /api/targets."
                if wanted
                else "Name the target: /probe?target=KIND/NAME."
            )
            await self._answer(400, "bad_request", detail)(send)
            return
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            _VARY,
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else body})

    def _full_allow(self, scope: Scope, send: Send) -> Send:
        """Wrap ``send`` so a 405's ``Allow`` names every method of the path.

        The router stops at the first route whose path matches, and a path
        served by several routes (``GET`` and ``POST /api/targets``) would name
        only that one's methods.
        """

        async def send_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allowed = ", ".join(self.allowed_methods(scope)).encode()
                headers = [(k, v) for k, v in message["headers"] if k != b"allow"]
                message = {**message, "headers": [*headers, (b"allow", allowed)]}
            await send(message)

        return send_allow

    def _with_headers(self, send: Send) -> Send:
        """Wrap ``send`` so every answer carries the configured extra headers."""
        extra = self._headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], *extra]}
            await send(message)

        return send_with_headers

    def _refusal(
        self, scope: Scope, method: str, path: str
    ) -> Callable[[Send], Awaitable[None]] | None:
        """Return the answer that stops this request here, or None to route it."""
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        names = {name for name, _ in headers}
        if method in _WRITES or method == "DELETE":
            origin = _header(scope, b"origin")
            if origin and not _same_origin(origin, scope):
                return self._answer(403, "forbidden", "Cross-site writes are refused.")
        if b"content-length" in names and b"transfer-encoding" in names:
            return self._answer(
                400,
                "bad_request",
                "Content-Length and Transfer-Encoding together are refused.",
                (b"connection", b"close"),
            )
        if method in _WRITES and path.startswith("/api/"):
            content_type = next((v for n, v in headers if n == b"content-type"), b"")
            media = content_type.split(b";", 1)[0].strip().lower()
            if media != b"application/json" and not media.endswith(b"+json"):
                return self._answer(
                    415,
                    "unsupported_media_type",
                    "Send the body as JSON with Content-Type: application/json.",
                )
        if method == "OPTIONS":
            allowed = self.allowed_methods(scope)
            if not allowed:
                return self._answer(404, "not_found", "Not Found")
            return self._empty(204, (b"allow", ", ".join(allowed).encode()))
        # The raw path decides: a name ending in an encoded slash (%2F) is no
        # trailing slash to redirect away.
        raw: bytes = scope.get("raw_path") or path.encode()
        if path != "/" and raw.endswith(b"/"):
            bare = path.rstrip("/") or "/"
            if self.allowed_methods({**scope, "path": bare}):
                query = scope.get("query_string", b"")
                location = bare.encode() + (b"?" + query if query else b"")
                return self._empty(308, (b"location", location))
        return None

    def allowed_methods(self, scope: Scope) -> list[str]:
        """Return the methods the app answers on the scope's path (none: unknown)."""
        if scope["path"] == "/metrics":  # answered above the app's routes
            return ["GET", "HEAD", "OPTIONS"]
        # Probe method by method: included routers do not list their methods.
        allowed = {
            method
            for method in _METHODS
            if any(
                route.matches({**scope, "method": method})[0] is Match.FULL
                for route in self.app.router.routes
            )
        }
        if allowed and "GET" in allowed:
            allowed.add("HEAD")
        if allowed:
            allowed.add("OPTIONS")
        return sorted(allowed)

    @staticmethod
    def _answer(
        status: int, error: str, detail: str, *headers: tuple[bytes, bytes]
    ) -> Callable[[Send], Awaitable[None]]:
        start, body = _error_message(status, error, detail, *headers)

        async def answer(send: Send) -> None:
            await send(start)
            await send(body)

        return answer

    @staticmethod
    def _empty(
        status: int, *headers: tuple[bytes, bytes]
    ) -> Callable[[Send], Awaitable[None]]:
        async def answer(send: Send) -> None:
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"content-length", b"0"), *headers],
                }
            )
            await send({"type": "http.response.body", "body": b""})

        return answer
