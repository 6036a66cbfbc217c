"""The SNP exporter's only network code: REST calls (httpx) and the WebSocket (picows).

REST (``shared/protocols/snp.md`` §2-§3): ``login`` posts the credentials and
returns the token text verbatim; ``logout`` deletes it; ``processor_config``
reads one processor's configuration envelope. A client lives for one round of
calls, so an idle target holds no REST socket open.

WebSocket (§4): ``open_stream`` upgrades ``/smm`` and returns an ``SnpStream``
whose listener hands every complete data message (text or binary, fragments
joined) to a callback **as it arrives**, inside the event loop's read of the
socket: no queue, no task switch, no sleep per frame. picows was chosen by
measurement (``benchmarks/snp.py``: the same devices read by bare websockets,
aiohttp and picows clients; picows used a quarter of their CPU at 5,000
devices); uvloop's own transports and the standard ``ssl`` module carry it.

TLS: verification on by default (system trust store, a CA file, or a pinned
SHA-256 certificate fingerprint checked inside the TLS handshake, before a byte
of HTTP or WebSocket data is sent); off for legacy connections. Errors tree:

    ExporterError
    └── SnpError
        ├── SnpAuthError       login refused (401/403, empty token) or token
        │                      refused by the socket (1008, 4001-4003, closed
        │                      before any frame); retried at the capped delay
        ├── SnpTlsError        certificate not trusted, pin mismatch, unusable
        │                      CA file; retried at the capped delay
        └── SnpLinkError       (also a ConnectionLostError) unreachable, refused,
                               timed out, rejected, closed: retried with backoff
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
from collections.abc import Callable
from typing import Any, Final

import httpx
import orjson
import structlog
from picows import (
    WSCloseCode,
    WSError,
    WSFrame,
    WSHandshakeError,
    WSListener,
    WSMsgType,
    WSTransport,
    ws_connect,
)

from exporterhub.core.errors import AuthError, ConnectionLostError, ExporterError
from exporterhub.exporters.snp.protocol import token_from_body
from exporterhub.exporters.snp.settings import SnpTargetSettings

__all__ = [
    "MAX_MESSAGE_BYTES",
    "SnpAuthError",
    "SnpError",
    "SnpLinkError",
    "SnpRest",
    "SnpStream",
    "SnpTlsError",
    "open_stream",
    "tls_context",
]

_log = structlog.get_logger(__name__)

MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024
"""Largest message read (§1: ``allObjects`` answers pass 1 MiB)."""
_READ_BUFFER: Final = 4096
"""picows' initial read buffer per socket; it grows for larger frames (the
16 KiB default costs ~12 KiB more per device)."""
_AUTH_CLOSE_CODES: Final = frozenset({1008, 4001, 4002, 4003})
_REFUSED_STATUSES: Final = frozenset({401, 403})


class SnpError(ExporterError):
    """Base of the SNP exporter's errors; ``kind`` is its short fixed kind."""

    kind = "error"


class SnpAuthError(SnpError, AuthError):
    """The SNP refused the credentials or the token."""

    kind = "auth"
    retryable = False


class SnpTlsError(SnpError):
    """The SNP's certificate is not trusted (or the CA file is unusable)."""

    kind = "tls"
    retryable = False


class SnpLinkError(SnpError, ConnectionLostError):
    """The SNP could not be reached, refused, timed out or closed the link.

    Args:
        message: what happened, for logs.
        reason: the short fixed kind (``refused``, ``timeout``, ``unreachable``,
            ``rejected``, ``unavailable``, ``closed``, ``stale``).
    """

    def __init__(self, message: str, reason: str) -> None:
        ConnectionLostError.__init__(self, message, reason)
        self.kind = reason


class _PinnedObject(ssl.SSLObject):
    """An SSL object that accepts only the pinned certificate (in the handshake)."""

    def do_handshake(self) -> None:
        super().do_handshake()
        der = self.getpeercert(binary_form=True)
        pin = getattr(self.context, "pin", None)
        if der is None or hashlib.sha256(der).hexdigest() != pin:
            raise ssl.SSLCertVerificationError(
                "the certificate's SHA-256 fingerprint is not the pinned one"
            )


class _PinnedContext(ssl.SSLContext):
    """A client context whose connections check a pinned fingerprint."""

    pin = ""


_SHARED: dict[bool, ssl.SSLContext] = {}


def tls_context(settings: SnpTargetSettings) -> ssl.SSLContext:
    """Return the TLS context of a connection's https/wss URLs.

    Verification off and the system trust store are shared by every target;
    a CA file or a pin gets a context of its own.

    Raises:
        SnpTlsError: the CA file cannot be read or holds no certificate.
    """
    if settings.fingerprint is not None:
        pinned = _PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
        pinned.check_hostname = False
        pinned.verify_mode = ssl.CERT_NONE  # the pin replaces chain and name
        pinned.pin = settings.fingerprint
        pinned.sslobject_class = _PinnedObject
        return pinned
    if settings.verifies and settings.ca_file is not None:
        try:
            return ssl.create_default_context(cafile=settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise SnpTlsError(f"CA file {settings.ca_file}: {exc}") from exc
    verify = settings.verifies
    shared = _SHARED.get(verify)
    if shared is None:
        shared = ssl.create_default_context()
        if not verify:  # the original's behaviour, for legacy connections
            shared.check_hostname = False
            shared.verify_mode = ssl.CERT_NONE
        _SHARED[verify] = shared
    return shared


def _causes(exc: BaseException) -> list[BaseException]:
    """Return ``exc`` and the exceptions it was raised from, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _link_error(exc: BaseException, what: str) -> SnpError:
    """Classify a failure to reach the SNP into a fixed kind (its root cause's)."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = getattr(cause, "verify_message", None) or cause
            return SnpTlsError(f"{what}: {detail}")
        if isinstance(cause, ssl.SSLError):
            return SnpTlsError(f"{what}: {cause.reason or cause}")
        if isinstance(cause, TimeoutError | httpx.TimeoutException):
            return SnpLinkError(f"{what}: timed out", "timeout")
        if isinstance(cause, ConnectionRefusedError):
            return SnpLinkError(f"{what}: refused", "refused")
    return SnpLinkError(f"{what}: {type(exc).__name__}: {exc}", "unreachable")


class SnpRest:
    """The REST calls of one connection (§2, §3.1); one client per round.

    Args:
        settings: the connection.
        context: its TLS context.
    """

    def __init__(self, settings: SnpTargetSettings, context: ssl.SSLContext) -> None:
        self._settings = settings
        self._context = context

    def client(self) -> httpx.AsyncClient:
        """Return a client for one round of calls (use it as a context manager)."""
        return httpx.AsyncClient(
            verify=self._context,
            timeout=self._settings.timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": "exporterhub-snp-exporter"},
        )

    async def login(self, http: httpx.AsyncClient) -> str:
        """Post the credentials; return the token text, verbatim (§2).

        Raises:
            SnpAuthError: 401/403, or a 2xx with an empty body.
            SnpTlsError: the certificate is not trusted.
            SnpLinkError: unreachable, timed out, or any other status
                (``unavailable``: a rebooting SNP answers 503).
            SnpError: the answer's body does not decode in its declared charset.
        """
        settings = self._settings
        body = {
            "username": settings.username,
            "password": settings.password.get_secret_value(),
        }
        try:
            async with asyncio.timeout(settings.timeout):  # the call, not each read
                response = await http.post(settings.restapi, json=body)
        except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
            raise _link_error(exc, "login") from exc
        if response.status_code in _REFUSED_STATUSES:
            raise SnpAuthError(f"login refused: HTTP {response.status_code}")
        if not response.is_success:
            raise SnpLinkError(
                f"login answered HTTP {response.status_code}", "unavailable"
            )
        try:
            text = response.text
        except (UnicodeError, LookupError) as exc:  # a charset the body breaks
            raise SnpError("login answer is not text in its declared charset") from exc
        token = token_from_body(text)
        if token is None:
            raise SnpAuthError("login answered without a token")
        return token

    async def logout(self, http: httpx.AsyncClient, token: str) -> None:
        """Delete the token (§2: ``DELETE /api/auth``); never raises."""
        with contextlib.suppress(httpx.HTTPError, OSError, ssl.SSLError):
            await http.delete(self._settings.restapi, headers={"Authorization": token})

    async def processor_config(
        self, http: httpx.AsyncClient, token: str, processor: str
    ) -> object:
        """Return one processor's configuration envelope (§3.1), parsed.

        Raises:
            SnpAuthError: 401/403 (the token expired).
            SnpError: any other failure (unreachable, status, not JSON).
        """
        settings = self._settings
        url = (
            f"{settings.rest_base}/api/elements/{settings.element_ip}"
            f"/config/{processor}"
        )
        try:
            async with asyncio.timeout(settings.timeout):  # the call, not each read
                response = await http.get(url, headers={"Authorization": token})
        except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
            raise _link_error(exc, processor) from exc
        if response.status_code in _REFUSED_STATUSES:
            raise SnpAuthError(f"{processor}: HTTP {response.status_code}")
        if not response.is_success:
            raise SnpError(f"{processor}: HTTP {response.status_code}")
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise SnpError(f"{processor}: not JSON") from exc


class _Listener(WSListener):
    """Hands complete data messages to ``on_message``; remembers the close code."""

    def __init__(self, on_message: Callable[[bytes], None]) -> None:
        super().__init__()
        self.on_message = on_message
        self.close_code: int | None = None
        self._parts: list[bytes] | None = None
        self._size = 0

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            if frame.fin:
                self.on_message(frame.get_payload_as_bytes())
            else:
                self._parts = [frame.get_payload_as_bytes()]
                self._size = frame.payload_size
        elif kind is WSMsgType.CONTINUATION and self._parts is not None:
            self._size += frame.payload_size
            if self._size > MAX_MESSAGE_BYTES:
                self._parts = None
                transport.send_close(WSCloseCode.MESSAGE_TOO_BIG)
                transport.disconnect()
                return
            self._parts.append(frame.get_payload_as_bytes())
            if frame.fin:
                message, self._parts = b"".join(self._parts), None
                self.on_message(message)
        elif kind is WSMsgType.CLOSE:
            self.close_code = frame.get_close_code().value
            transport.send_close(frame.get_close_code())
            transport.disconnect()


class SnpStream:
    """One open WebSocket to an SMM: send frames, wait for its end."""

    def __init__(self, transport: WSTransport, listener: _Listener) -> None:
        self._transport = transport
        self._listener = listener

    def send(self, text: bytes | str) -> None:
        """Send one text frame (the token, the subscription)."""
        data = text.encode() if isinstance(text, str) else text
        self._transport.send(WSMsgType.TEXT, data)

    @property
    def close_code(self) -> int | None:
        """Return the code of the SNP's close frame, if one came."""
        return self._listener.close_code

    @property
    def closed_for_auth(self) -> bool:
        """Say whether the SNP closed with a code that means "bad token" (§4.1)."""
        return self._listener.close_code in _AUTH_CLOSE_CODES

    async def wait_closed(self) -> None:
        """Return once the socket is closed, by either side."""
        await self._transport.wait_disconnected()

    def close(self) -> None:
        """Close the socket (a close frame, then the TCP connection)."""
        if not self._transport.is_disconnected:
            with contextlib.suppress(Exception):  # already half gone: nothing to do
                self._transport.send_close(WSCloseCode.GOING_AWAY)
            self._transport.disconnect(graceful=False)


async def open_stream(
    settings: SnpTargetSettings,
    context: ssl.SSLContext,
    on_message: Callable[[bytes], None],
) -> SnpStream:
    """Open the WebSocket (§4.1: no subprotocol, no auth header).

    Pings go out after ``ping_interval`` seconds without incoming data; a pong
    missing for ``timeout`` seconds closes the socket (a half-open link).

    Raises:
        SnpTlsError: the certificate is not trusted.
        SnpLinkError: unreachable, refused, timed out, or the upgrade was
            rejected (``rejected``: a rebooting SNP answers 403/503).
    """
    secure = settings.websocket.startswith("wss://")
    options: dict[str, Any] = {
        "ssl_context": context if secure else None,
        "websocket_handshake_timeout": settings.timeout,
        "enable_auto_ping": True,
        "auto_ping_idle_timeout": settings.ping_interval,
        "auto_ping_reply_timeout": settings.timeout,
        "max_frame_size": MAX_MESSAGE_BYTES,
        "read_buffer_init_size": _READ_BUFFER,
        "use_aiofastnet": False,  # the loop's transports and the stdlib's ssl
        "max_redirects": 0,
    }
    try:
        async with asyncio.timeout(settings.timeout):
            transport, listener = await ws_connect(
                lambda: _Listener(on_message), settings.websocket, **options
            )
    except WSHandshakeError as exc:
        status = exc.response.status if exc.response is not None else None
        raise SnpLinkError(f"upgrade rejected: HTTP {status}", "rejected") from exc
    except (WSError, OSError, TimeoutError, ssl.SSLError) as exc:
        raise _link_error(exc, "websocket") from exc
    assert isinstance(listener, _Listener)  # noqa: S101 - built by our factory
    return SnpStream(transport, listener)
