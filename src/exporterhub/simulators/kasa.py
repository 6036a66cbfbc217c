"""Kasa/Tapo plug simulator: plugs on loopback that speak the real wire protocols.

Used by the plug exporter's tests, by ``make demo`` and by anyone trying the
project without plugs. Each :class:`PlugSimulator` is one plug on its own port:
legacy IOT over XOR-framed TCP (``protocol="xor"``) or SMART over KLAP v2 on
HTTP (``protocol="klap"``), answering from a fixture-shaped profile whose values
move over time (``_kasa_device``). The unmodified python-kasa client talks to it
(protocol document ``kasa.md`` §5). :class:`PlugFaults` switches, mutable while
running, refuse connections, swallow requests, answer garbage or fail meter
queries; :meth:`PlugSimulator.reboot` resets the counters.

With ``PlugSpec.discovery`` a plug also answers python-kasa's UDP discovery
(``Discover.discover``/``discover_single``; ``kasa.md`` §5.1, §5.3): an XOR plug
on UDP at its own TCP port number, a KLAP plug on UDP 20002 of its own address.
Port 20002 is fixed, so each discoverable KLAP plug needs its own loopback
address; :func:`default_specs` with ``first_address`` hands out 127.0.0.2,
127.0.0.3, … (all routed to ``lo`` on Linux without setup).

Run it with ``kasa-simulator --xor 2 --klap 2 --base-port 9999``, or with
``--discovery`` for discoverable plugs on 127.0.0.2 onwards (see
:func:`build_parser`).

This module must not bind anything but the configured hosts (127.0.0.1 by
default, loopback addresses with discovery), import exporter code or log
credentials. Framing, crypto, discovery replies and the device model live in the
private ``_kasa_*`` modules; only ``_kasa_discovery``'s responder touches a
socket there.

Example:
    >>> [s.protocol for s in default_specs(1, 1)]
    ['xor', 'klap']
    >>> [(s.host, s.port) for s in default_specs(1, 1, first_address="127.0.0.2")]
    [('127.0.0.2', 9999), ('127.0.0.3', 0)]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal

import structlog
from aiohttp import web

from exporterhub.simulators._kasa_device import PlugFaults, PlugModel
from exporterhub.simulators._kasa_discovery import (
    SMART_DISCOVERY_PORT,
    DiscoveryResponder,
    discovery_result,
    open_responder,
    plug_address,
    smart_reply,
    xor_reply,
)
from exporterhub.simulators._kasa_klap import KlapError, KlapSession, auth_hash_v2
from exporterhub.simulators._kasa_klap import handshake1 as klap_handshake1
from exporterhub.simulators._kasa_xor import HEADER, MAX_FRAME, decrypt, frame
from exporterhub.simulators._serve import run_until_stopped

__all__ = [
    "KasaSimulator",
    "PlugFaults",
    "PlugSimulator",
    "PlugSpec",
    "build_parser",
    "default_specs",
    "main",
    "serve",
]

_log = structlog.get_logger(__name__)

FAULT_POLL_S: Final = 0.05  # how fast a flipped ``refuse`` switch takes effect
SESSION_COOKIE: Final = "TP_SESSIONID"
SESSION_TIMEOUT_S: Final = 86_400  # KLAP sessions last a day (kasa.md §6)
MAX_SESSIONS: Final = 64
EPHEMERAL_TRIES: Final = 5  # fresh ephemeral ports tried when UDP has the TCP one
DEFAULT_FIRST_ADDRESS: Final = "127.0.0.2"
_PROFILES: Final = {
    "xor": ("hs110_like.json", "hs100_like.json"),
    "klap": ("p110_like.json", "p100_like.json"),
}


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


def _load_profile(profile: Path | dict[str, Any]) -> dict[str, Any]:
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
        profile = _load_profile(spec.profile)
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


class KasaSimulator:
    """Several simulated plugs started and stopped together."""

    def __init__(self, specs: Sequence[PlugSpec]) -> None:
        self.plugs = [PlugSimulator(spec) for spec in specs]

    async def start(self) -> None:
        """Start every plug; on failure stop the ones already started."""
        try:
            for plug in self.plugs:
                await plug.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop every plug; idempotent."""
        for plug in self.plugs:
            await plug.stop()

    async def __aenter__(self) -> KasaSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _bundled(name: str) -> Path:
    return Path(str(resources.files("exporterhub.simulators") / "data" / "kasa" / name))


def default_specs(
    n_xor: int = 2,
    n_klap: int = 2,
    *,
    base_port: int = 0,
    host: str = "127.0.0.1",
    discovery: bool = False,
    first_address: str | None = None,
) -> list[PlugSpec]:
    """Return specs for ``n_xor`` IOT and ``n_klap`` SMART plugs from bundled profiles.

    Metering and non-metering profiles alternate; each plug gets its own alias,
    MAC and seed. Hosts and ports follow ``_kasa_discovery.plug_address``:
    without ``first_address`` all plugs share ``host`` on ports ``base_port + i``;
    with it plug ``i`` gets the ``i``-th loopback address from ``first_address``,
    XOR plugs port ``base_port`` (9999 if 0), KLAP plugs ``base_port + i``.

    Args:
        n_xor: IOT plugs (XOR), listed first.
        n_klap: SMART plugs (KLAP v2).
        base_port: first port; 0 = ephemeral ports.
        host: the address of every plug when ``first_address`` is ``None``.
        discovery: plugs answer UDP discovery (:attr:`PlugSpec.discovery`).
        first_address: give plug ``i`` its own loopback address, ``i`` after this.

    Raises:
        ValueError: ``first_address`` is not IPv4 or runs past loopback.
    """
    specs: list[PlugSpec] = []
    for index in range(n_xor + n_klap):
        protocol: Literal["xor", "klap"] = "xor" if index < n_xor else "klap"
        nth = index if index < n_xor else index - n_xor
        names = _PROFILES[protocol]
        spec = PlugSpec(
            profile=_bundled(names[nth % len(names)]),
            protocol=protocol,
            seed=index,
            alias=f"Simulated plug {index + 1}",
            mac=f"02:00:5E:00:{index // 256:02X}:{index % 256:02X}",
            discovery=discovery,
        )
        spec.host, spec.port = plug_address(
            protocol, index, base_port=base_port, host=host, first=first_address
        )
        specs.append(spec)
    return specs


# -------------------------------------------------------------------- CLI


async def serve(specs: Sequence[PlugSpec], stop: asyncio.Event | None = None) -> None:
    """Run plugs until ``stop`` is set, or until SIGINT/SIGTERM.

    Args:
        specs: one entry per plug.
        stop: set it to shut down; when ``None`` the process signals do it.
    """
    await run_until_stopped(_Announced(KasaSimulator(specs)), stop)


class _Announced:
    """Starts the plugs and logs each one's port once it listens."""

    def __init__(self, sim: KasaSimulator) -> None:
        self._sim = sim

    async def __aenter__(self) -> KasaSimulator:
        await self._sim.start()
        for plug in self._sim.plugs:
            _log.info(
                "kasa_plug_ready",
                host=plug.host,
                port=plug.port,
                protocol=plug.protocol,
                discovery_port=plug.discovery_port,
            )
        return self._sim

    async def __aexit__(self, *exc: object) -> None:
        await self._sim.stop()


def build_parser() -> argparse.ArgumentParser:
    """Return the ``kasa-simulator`` argument parser."""
    p = argparse.ArgumentParser(
        prog="kasa-simulator",
        description="Simulated TP-Link Kasa (XOR) and Tapo (KLAP v2) plugs. "
        "Each plug's host and port are logged (kasa_plug_ready) once it listens.",
    )
    p.add_argument("profiles", nargs="*", type=Path, help="fixture-shaped JSON files")
    p.add_argument("--xor", type=int, default=2, help="bundled IOT plugs (XOR)")
    p.add_argument("--klap", type=int, default=2, help="bundled SMART plugs (KLAP)")
    p.add_argument("--base-port", type=int, default=9999, help="first port")
    p.add_argument(
        "--host", default="127.0.0.1", help="listen address (without --discovery)"
    )
    p.add_argument(
        "--discovery",
        action="store_true",
        help="answer python-kasa UDP discovery: each plug gets its own loopback "
        "address from --first-address on; XOR plugs listen on --base-port (TCP "
        "and UDP; 9999 if 0), KLAP plugs on --base-port + index (HTTP; ephemeral "
        "if 0) and UDP 20002",
    )
    p.add_argument(
        "--first-address",
        default=DEFAULT_FIRST_ADDRESS,
        help="first plug's loopback address with --discovery (default %(default)s)",
    )
    p.add_argument("--username", default="user@example.com", help="KLAP e-mail")
    p.add_argument(
        "--password-env",
        default="KASA_SIM_PASSWORD",
        help="environment variable holding the KLAP password",
    )
    p.add_argument("--frozen", action="store_true", help="values never move")
    return p


def specs_from_args(args: argparse.Namespace) -> list[PlugSpec]:
    """Build plug specs from parsed :func:`build_parser` arguments."""
    password = os.environ.get(args.password_env, "plug-password")
    if args.profiles:
        specs = [
            PlugSpec(
                profile=path,
                protocol="xor" if "system" in _load_profile(path) else "klap",
                seed=index,
            )
            for index, path in enumerate(args.profiles)
        ]
    else:
        specs = default_specs(args.xor, args.klap)
    first = args.first_address if args.discovery else None
    for index, spec in enumerate(specs):
        spec.host, spec.port = plug_address(
            spec.protocol, index, base_port=args.base_port, host=args.host, first=first
        )
        spec.discovery = args.discovery
        spec.username = args.username
        spec.password = password
        spec.frozen = args.frozen
    return specs


def main(argv: list[str] | None = None) -> int:
    """Run ``kasa-simulator`` until SIGINT/SIGTERM; return the exit status 0."""
    specs = specs_from_args(build_parser().parse_args(argv))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(specs))
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    raise SystemExit(main())
