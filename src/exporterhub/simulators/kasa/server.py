"""One simulated Kasa/Tapo plug: a TCP (XOR) or HTTP (KLAP v2) server on loopback.

:class:`PlugSimulator` answers python-kasa's wire protocols for one plug
(``kasa.md`` §5): legacy IOT over XOR-framed TCP or SMART over KLAP v2 on HTTP,
from the ``model``, honouring the :class:`PlugFaults` switches
(refuse, silent, garbage) and, with :attr:`PlugSpec.discovery`, UDP discovery
through ``discovery``. :class:`PlugSpec` holds one plug's settings.

The public face is ``exporterhub.simulators.kasa``, which re-exports these names;
several plugs, bundled profiles and the command line live in ``fleet`` and
``command``. This module must not import the package (it re-exports from here),
bind anything but the plug's configured host, import exporter code or log
credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal

import structlog
from aiohttp import web

from exporterhub.simulators.kasa.discovery import (
    SMART_DISCOVERY_PORT,
    DiscoveryResponder,
    discovery_result,
    open_responder,
    smart_reply,
    xor_reply,
)
from exporterhub.simulators.kasa.klap import KlapError, KlapSession, auth_hash_v2
from exporterhub.simulators.kasa.klap import handshake1 as klap_handshake1
from exporterhub.simulators.kasa.model import PlugFaults, PlugModel
from exporterhub.simulators.kasa.xor import HEADER, MAX_FRAME, decrypt, frame

__all__ = ["PlugFaults", "PlugSimulator", "PlugSpec", "load_profile"]

_log = structlog.get_logger(__name__)

FAULT_POLL_S: Final = 0.05  # how fast a flipped ``refuse`` switch takes effect
SESSION_COOKIE: Final = "TP_SESSIONID"
SESSION_TIMEOUT_S: Final = 86_400  # KLAP sessions last a day (kasa.md §6)
MAX_SESSIONS: Final = 64
EPHEMERAL_TRIES: Final = 5  # fresh ephemeral ports tried when UDP has the TCP one


@dataclass(slots=True, kw_only=True)
class PlugSpec:
    """Settings of one simulated plug.

    Attributes:
        profile: a fixture-shaped JSON file or its parsed dict.
        protocol: ``"xor"`` (legacy IOT) or ``"klap"`` (SMART over KLAP v2).
        host: address to listen on.
        port: TCP port; 0 picks a free one, see :attr:`PlugSimulator.port`.
        discovery: also answer UDP discovery: XOR plugs on UDP ``port`` (the
            same number as TCP), KLAP plugs on UDP ``(host, 20002)``.
        username: KLAP account e-mail (ignored by XOR plugs).
        password: KLAP account password (ignored by XOR plugs).
        seed: shapes the load profile; ``None`` = the default shape.
        frozen: every value stays at the profile's forever.
        clock: wall-clock seconds; ``None`` = ``time.time``.
        alias: overrides the profile's (masked) alias.
        mac: overrides the profile's MAC, ``AA:BB:CC:DD:EE:FF``.
        device_id: overrides the profile's device id.
    """

    profile: Path | dict[str, Any]
    protocol: Literal["xor", "klap"]
    host: str = "127.0.0.1"
    port: int = 0
    username: str = "user@example.com"
    password: str = "plug-password"  # noqa: S105 - the simulator's made-up secret
    seed: int | None = None
    frozen: bool = False
    clock: Callable[[], float] | None = None
    alias: str | None = None
    mac: str | None = None
    device_id: str | None = None
    discovery: bool = False


def load_profile(profile: Path | dict[str, Any]) -> dict[str, Any]:
    """Return a profile: a dict as is, a path parsed as a JSON object.

    Raises:
        TypeError: the file holds JSON that is not an object.
    """
    if isinstance(profile, dict):
        return profile
    data = json.loads(Path(profile).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        msg = f"profile {profile} is not a JSON object"
        raise TypeError(msg)
    return data


class PlugSimulator:
    """One simulated plug on a TCP port (XOR) or HTTP port (KLAP v2).

    ``requests`` counts answered requests: XOR frames, KLAP ``/app/request`` POSTs.
    """

    def __init__(self, spec: PlugSpec) -> None:
        self._spec = spec
        self.faults = PlugFaults()
        kwargs: dict[str, Any] = {"clock": spec.clock} if spec.clock else {}
        profile = load_profile(spec.profile)
        self.model = PlugModel(
            profile,
            faults=self.faults,
            frozen=spec.frozen,
            seed=spec.seed,
            alias=spec.alias,
            mac=spec.mac,
            device_id=spec.device_id,
            **kwargs,
        )
        if self.model.is_iot != (spec.protocol == "xor"):
            msg = "IOT profiles need protocol 'xor', SMART profiles 'klap'"
            raise ValueError(msg)
        self.host = spec.host
        self.port = spec.port
        self.requests = 0
        self._auth = auth_hash_v2(spec.username, spec.password)
        self._sessions: dict[str, KlapSession] = {}
        self._server: asyncio.Server | None = None
        self._web: web.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._running = False
        self._stored_discovery = copy.deepcopy(profile.get("discovery_result"))
        self._udp: asyncio.DatagramTransport | None = None
        self._responder: DiscoveryResponder | None = None

    @property
    def protocol(self) -> Literal["xor", "klap"]:
        """The wire protocol, ``"xor"`` or ``"klap"``."""
        return self._spec.protocol

    @property
    def discovery_port(self) -> int | None:
        """UDP port answering discovery on :attr:`host`; ``None`` without it."""
        if not self._spec.discovery:
            return None
        return self.port if self.protocol == "xor" else SMART_DISCOVERY_PORT

    @property
    def discovery_replies(self) -> int:
        """Discovery probes answered so far (garbage answers included)."""
        return self._responder.answered if self._responder is not None else 0

    # ------------------------------------------------------------ control

    async def start(self) -> None:
        """Bind the port(s) and start watching the fault switches.

        Raises:
            RuntimeError: if already started.
            OSError: if an address cannot be bound; nothing stays bound then.
        """
        if self._running:
            msg = "simulator already started"
            raise RuntimeError(msg)
        self._running = True
        try:
            await self._open()
            if self._spec.discovery:
                await self._open_discovery()
        except BaseException:
            self._running = False
            await self._close()
            raise
        self._watcher = asyncio.create_task(self._watch(), name="kasa-sim-faults")
        _log.info(
            "kasa_plug_started", host=self.host, port=self.port, protocol=self.protocol
        )

    async def stop(self) -> None:
        """Close the port and every connection; idempotent."""
        if not self._running:
            return
        self._running = False
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self._close()
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        _log.info("kasa_plug_stopped", port=self.port)

    async def __aenter__(self) -> PlugSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def reboot(self) -> None:
        """Reset the energy counters and uptime and forget KLAP sessions."""
        self.model.reboot()
        self._sessions.clear()

    def forget_sessions(self) -> None:
        """Drop every KLAP session; the next request gets 403 and re-handshakes."""
        self._sessions.clear()

    async def _open(self) -> None:
        if self.protocol == "xor":
            self._server = await asyncio.start_server(
                self._xor_connection, self.host, self.port
            )
        else:
            # handler_cancellation: a silent plug's pending handler ends when the
            # client gives up, instead of piling up until stop().
            self._web = web.Server(self._klap_request, handler_cancellation=True)
            loop = asyncio.get_running_loop()
            self._server = await loop.create_server(self._web, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _open_discovery(self, tries: int = EPHEMERAL_TRIES) -> None:
        """Bind the discovery endpoint; on failure close the TCP/HTTP side too."""
        port = self.port if self.protocol == "xor" else SMART_DISCOVERY_PORT
        try:
            self._udp, self._responder = await open_responder(
                self.host, port, self.faults, self._discovery_answer
            )
        except OSError:
            await self._close()
            # An ephemeral TCP port may be taken on UDP: an XOR plug needs both
            # numbers equal (kasa.md §5.1), so it tries a fresh pair.
            if self._spec.port or self.protocol == "klap" or tries <= 1:
                raise
            self.port = 0
            await self._open()
            await self._open_discovery(tries - 1)

    def _discovery_answer(self, datagram: bytes) -> bytes | None:
        if self.protocol == "xor":
            return xor_reply(datagram, self.model.handle_iot)
        info = self.model.handle_smart({"method": "get_device_info"})["result"]
        result = discovery_result(
            self._stored_discovery, info, host=self.host, http_port=self.port
        )
        return smart_reply(result)

    async def _close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._web is not None:
            await self._web.shutdown(0.1)
            self._web = None
        await self._server.wait_closed()
        self._server = None

    async def _watch(self) -> None:
        """Apply the ``refuse`` switch: close the port, reopen it when cleared."""
        while True:
            await asyncio.sleep(FAULT_POLL_S)
            if self.faults.refuse and self._server is not None:
                await self._close()
                _log.info("kasa_plug_refusing", port=self.port)
            elif not self.faults.refuse and self._server is None:
                await self._open()
                _log.info("kasa_plug_accepting", port=self.port)

    # ------------------------------------------------------------ XOR

    async def _xor_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._writers.add(writer)
        try:
            while True:
                (length,) = HEADER.unpack(await reader.readexactly(HEADER.size))
                if length > MAX_FRAME:
                    _log.warning("kasa_frame_too_long", port=self.port, length=length)
                    return
                payload = await reader.readexactly(length)
                if self.faults.silent:
                    while await reader.read(4096):  # swallow until the client quits
                        pass
                    return
                writer.write(self._xor_answer(payload))
                await writer.drain()
                self.requests += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _xor_answer(self, payload: bytes) -> bytes:
        if self.faults.garbage:
            return HEADER.pack(12) + secrets.token_bytes(12)
        try:
            request = json.loads(decrypt(payload))
        except ValueError:
            _log.warning("kasa_bad_request", port=self.port, protocol="xor")
            return frame(b'{"err_code": -1, "err_msg": "bad request"}')
        reply = self.model.handle_iot(request if isinstance(request, dict) else {})
        return frame(json.dumps(reply).encode())

    # ------------------------------------------------------------ KLAP

    async def _klap_request(self, request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        if self.faults.silent:
            await asyncio.Event().wait()  # cancelled when the client hangs up
        if self.faults.garbage:
            return web.Response(body=secrets.token_bytes(7))
        if request.method != "POST":
            return web.Response(status=405)
        if request.path == "/app/handshake1":
            return self._handshake1(body)
        session = self._sessions.get(request.cookies.get(SESSION_COOKIE, ""))
        if request.path == "/app/handshake2":
            ok = session is not None and session.check_client_proof(body)
            return web.Response(status=200 if ok else 403)
        if request.path == "/app/request":
            if session is None or not session.confirmed:
                return web.Response(status=403)
            return self._klap_answer(session, request, body)
        return web.Response(status=404)

    def _handshake1(self, body: bytes) -> web.StreamResponse:
        try:
            session = klap_handshake1(body, self._auth)
        except KlapError:
            return web.Response(status=400)
        session_id = secrets.token_hex(16)
        if len(self._sessions) >= MAX_SESSIONS:
            self._sessions.pop(next(iter(self._sessions)))
        self._sessions[session_id] = session
        response = web.Response(body=session.remote_seed + session.server_proof())
        response.set_cookie(SESSION_COOKIE, session_id)
        response.set_cookie("TIMEOUT", str(SESSION_TIMEOUT_S))
        return response

    def _klap_answer(
        self, session: KlapSession, request: web.BaseRequest, body: bytes
    ) -> web.StreamResponse:
        try:
            seq = int(request.query.get("seq", ""))
            payload = json.loads(session.decrypt(body, seq))
        except (ValueError, KlapError):
            _log.warning("kasa_bad_request", port=self.port, protocol="klap")
            return web.Response(status=400)
        reply = self.model.handle_smart(payload if isinstance(payload, dict) else {})
        self.requests += 1
        return web.Response(body=session.encrypt(json.dumps(reply).encode(), seq))
