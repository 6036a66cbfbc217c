"""One simulated SNP on loopback: its SMM's REST API and WebSocket on aiohttp.

Why aiohttp (its low-level ``web.Server``) rather than the ``websockets``
server: one listener per device serves both ``/api/…`` and ``/smm``, as the SMM
does on port 443 (``snp.md`` §1), without a second port or an HTTP shim in front
of ``websockets``; the low-level server keeps per-device overhead small enough
for thousands of devices in one process; and it exposes the raw transport, which
the faults need (dropping TCP without a close frame or in the middle of a frame)
and which lets the fleet's shared timers write frames synchronously. An optional
second listener serves the REST API alone, like the SMM's port 9089.

:class:`SnpDevice` wires the ``model`` (state), ``auth`` (tokens), ``faults``,
``rest`` (REST answers) and ``session`` (one WebSocket each) together, keeps the
logs tests read (``logins``, ``subscriptions``, ``requests``, ``messages``) and
pushes the model's changes to its sessions. Its ``fleet`` drives the shared
timers. This module must not bind anything but the device's configured host and
ports, import exporter code or log credentials or tokens.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections import deque
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Final

import orjson
import structlog
from aiohttp import web

from exporterhub.core.server import bind_socket
from exporterhub.simulators.snp import rest
from exporterhub.simulators.snp.auth import TokenBook
from exporterhub.simulators.snp.catalog import Catalog, ObjectKey, load_catalog
from exporterhub.simulators.snp.config import (
    DeviceSpec,
    SnpSimConfig,
    device_address,
    fme_ip_of,
)
from exporterhub.simulators.snp.faults import SnpFaults
from exporterhub.simulators.snp.model import SnpModel
from exporterhub.simulators.snp.rest import LoggedRequest
from exporterhub.simulators.snp.session import Session, SubscriptionRecord
from exporterhub.simulators.snp.timers import Scheduler
from exporterhub.simulators.snp.wire import (
    active_alarm_status,
    all_objects,
    objects_state,
    permissions_msg,
)

__all__ = ["DEFAULT_OBJECT_IDS", "SnpDevice"]

_log = structlog.get_logger(__name__)

MAX_CLIENT_MESSAGE: Final = 16 * 1024 * 1024
LOG_LENGTH: Final = 1000  # entries kept in requests and messages
DEFAULT_OBJECT_IDS: Final = (
    {"elementIP": "127.0.0.1", "objectType": "ptp"},
    {"elementIP": "127.0.0.1", "objectType": "system"},
    {"elementIP": "127.0.0.1", "objectType": "ipVidRx"},
    {"elementIP": "127.0.0.1", "objectType": "procChannelHD", "objectId": "A-HD-1"},
    {"elementIP": "127.0.0.1", "objectType": "procChannelHD", "objectId": "B-HD-2"},
)
"""The subscription of ``client_statusListSubscribe.json``, for connection records."""


class SnpDevice:
    """One simulated SNP: state, faults, REST + WebSocket listener(s) and logs.

    Attributes:
        spec: the device's settings (behaviour options may be flipped live).
        name: ``spec.name``.
        host: listen address.
        model: the device state and its control methods.
        faults: fault switches and one-shots.
        tokens: issued tokens.
        logins: successful ``POST /api/auth`` calls so far.
        connections: WebSocket upgrades accepted so far.
        subscriptions: every ``statusListSubscribe`` received, in order.
        requests: the last REST requests (method, path, status).
        messages: the last client text frames after the token.
    """

    def __init__(
        self,
        spec: DeviceSpec,
        *,
        index: int,
        config: SnpSimConfig,
        scheduler: Scheduler,
        catalog: Catalog | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.index = index
        self.config = config
        self.scheduler = scheduler
        self.clock = scheduler.clock
        self.catalog = catalog or load_catalog()
        self.host, self._port = device_address(config, spec, index)
        self._rest_port = spec.rest_port
        self.model = SnpModel(
            clock=self.clock,
            fme_ip=fme_ip_of(spec, index),
            index=index,
            seed=index if spec.seed is None else spec.seed,
            catalog=self.catalog,
        )
        self.model.listener = self
        self.tokens = TokenBook(self.clock, config.token_lifetime)
        self.faults = SnpFaults(self, self.clock)
        self.logins = 0
        self.connections = 0
        self.subscriptions: list[SubscriptionRecord] = []
        self.requests: deque[LoggedRequest] = deque(maxlen=LOG_LENGTH)
        self.messages: deque[str] = deque(maxlen=LOG_LENGTH)
        self._tls = False
        self._sessions: dict[int, Session] = {}
        self._open: set[Session] = set()
        self._servers: list[asyncio.Server] = []
        self._webs: list[web.Server] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._activity = asyncio.Event()
        self._permissions: bytes | None = None

    # ------------------------------------------------------------ addresses

    @property
    def port(self) -> int:
        """The REST + WebSocket port (known once started when configured as 0)."""
        return self._port

    @property
    def rest_port(self) -> int:
        """The port ``rest_url`` names: the separate REST port, else :attr:`port`."""
        return self._rest_port if self._rest_port is not None else self._port

    @property
    def rest_url(self) -> str:
        """The connection record's ``restapi``: the full auth URL."""
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{self.host}:{self.rest_port}/api/auth"

    @property
    def ws_url(self) -> str:
        """The connection record's ``websocket``: the full WebSocket URL."""
        scheme = "wss" if self._tls else "ws"
        return f"{scheme}://{self.host}:{self.port}/smm"

    @property
    def sessions(self) -> int:
        """Open, authenticated WebSocket sessions."""
        return len(self._sessions)

    def connection(
        self, objects_ids: Sequence[Mapping[str, str]] = DEFAULT_OBJECT_IDS
    ) -> dict[str, Any]:
        """Return this device as an exporter connection record (``COMPAT.md``)."""
        return {
            "name": self.name,
            "restapi": self.rest_url,
            "websocket": self.ws_url,
            "username": self.spec.username,
            "password": self.spec.password,
            "objects_ids": [dict(o) for o in objects_ids],
            "enabled": True,
        }

    # ------------------------------------------------------------ life cycle

    async def start(self, tls: ssl.SSLContext | None = None) -> None:
        """Bind the listener(s) and serve.

        Raises:
            ConfigError: a port cannot be bound; nothing stays bound then.
        """
        self._tls = tls is not None
        loop = asyncio.get_running_loop()
        listeners = [(self._port, True)]
        if self._rest_port is not None:
            listeners.append((self._rest_port, False))
        try:
            for index, (port, websocket) in enumerate(listeners):
                sock = bind_socket(self.host, port)
                handler = functools.partial(self._handle, websocket=websocket)
                server_web = web.Server(
                    handler, handler_cancellation=True, access_log=None
                )
                self._webs.append(server_web)
                self._servers.append(
                    await loop.create_server(
                        server_web, sock=sock, ssl=tls, backlog=128
                    )
                )
                bound = int(sock.getsockname()[1])
                if index == 0:
                    self._port = bound
                else:
                    self._rest_port = bound
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Close the listeners and every connection; idempotent."""
        for server in self._servers:
            server.close()
        for session in list(self._open):
            session.drop(mid_frame=False)
        for task in list(self._tasks):
            task.cancel()
        for server_web in self._webs:
            await server_web.shutdown(0.5)
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        self._webs.clear()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` in a task the device cancels on stop."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------ waiting (tests)

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - the API promises a plain bound
    ) -> None:
        """Wait until ``condition()`` holds; it is checked after every device event.

        Raises:
            TimeoutError: not within ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            while not condition():
                await self._activity.wait()

    async def wait_subscribed(
        self,
        timeout: float = 10.0,  # noqa: ASYNC109 - see wait_until
        *,
        count: int = 1,
    ) -> SubscriptionRecord:
        """Wait until ``count`` subscriptions have arrived; return the latest."""
        await self.wait_until(lambda: len(self.subscriptions) >= count, timeout)
        return self.subscriptions[-1]

    async def wait_sessions(
        self,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - see wait_until
    ) -> None:
        """Wait until exactly ``count`` authenticated sessions are open."""
        await self.wait_until(lambda: self.sessions == count, timeout)

    def _poke(self) -> None:
        self._activity.set()
        self._activity = asyncio.Event()

    # ------------------------------------------------------------ HTTP

    async def _handle(
        self, request: web.BaseRequest, *, websocket: bool
    ) -> web.StreamResponse:
        if request.path == "/smm" and websocket:
            return await self._websocket(request)
        return await rest.answer(self, request)

    async def _websocket(self, request: web.BaseRequest) -> web.StreamResponse:
        status = self.faults.upgrade_rejection()
        if status is not None:
            _log.info("snp_upgrade_rejected", device=self.name, status=status)
            return web.Response(
                status=status,
                body=orjson.dumps({"error": "WebSocket unavailable"}),
                content_type="application/json",
            )
        ws = web.WebSocketResponse(
            autoping=False, compress=False, max_msg_size=MAX_CLIENT_MESSAGE
        )
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="expected a WebSocket upgrade")
        await ws.prepare(request)
        transport = request.transport
        if transport is None:  # the client left during the upgrade
            return ws
        session = Session(self, ws, transport)
        self._open.add(session)
        self.connections += 1
        try:
            await session.run()
        finally:
            self._open.discard(session)
        return ws

    # ------------------------------------------------------------ hooks (session, rest)

    def session_opened(self, session: Session) -> None:
        """Count an authenticated session."""
        self._sessions[session.id] = session
        self._poke()

    def session_closed(self, session: Session) -> None:
        """Forget a session."""
        self._sessions.pop(session.id, None)
        self._poke()

    def subscribed(self, record: SubscriptionRecord) -> None:
        """Log a subscription."""
        self.subscriptions.append(record)
        self._poke()

    def message_received(self, text: str) -> None:
        """Log a client text frame."""
        self.messages.append(text)
        self._poke()

    def logged_in(self) -> None:
        """Count a successful login."""
        self.logins += 1
        self._poke()

    def log_request(self, request: LoggedRequest) -> None:
        """Log a REST request."""
        self.requests.append(request)
        self._poke()

    # ------------------------------------------------------------ fault target

    def live_sessions(self) -> list[Session]:
        """Return the open, authenticated sessions."""
        return [s for s in self._sessions.values() if not s.closed]

    def expire_tokens(self) -> int:
        """Expire every issued token; return how many were valid."""
        return self.tokens.expire_all()

    def status_object(self, object_type: str) -> dict[str, Any]:
        """Return a singleton status object by type."""
        return self.model.get(object_type)

    # ------------------------------------------------------------ pushes

    def _live(self) -> list[Session]:
        if self.spec.script is not None or not self._sessions:
            return []
        return list(self._sessions.values())

    def status_changed(self, key: ObjectKey) -> None:
        """Model hook: push a changed object to the subscribed sessions."""
        now = self.scheduler.now()
        for session in self._live():
            session.object_changed(key, now)

    def alarms_changed(self) -> None:
        """Model hook: send the new active alarm set."""
        self.send_alarms()

    def config_changed(self, object_id: str) -> None:
        """Model hook: send ``objectsState`` with the changed configuration."""
        payload = objects_state([self.model.configs.item(object_id)])
        for session in self._live():
            session.send(payload)

    def send_alarms(self) -> None:
        """Send ``activeAlarmStatus`` to every live session."""
        sessions = self._live()
        if sessions:
            payload = active_alarm_status(self.model.alarms)
            for session in sessions:
                session.send(payload)

    def tick(self, now: float) -> None:
        """Fleet timer: flush rate-limited changes (and resend in load mode)."""
        for session in self._live():
            session.tick(now)

    def keepalive(self, fmm_status: bytes) -> None:
        """Fleet timer: send ``fmmStatus`` and ``permissionsMsg`` to every session."""
        sessions = self._live()
        if not sessions:
            return
        if self._permissions is None:
            user = self.model.configs.user(self.spec.username)
            self._permissions = permissions_msg(user, self.catalog.group)
        for session in sessions:
            session.send(fmm_status)
            session.send(self._permissions)

    # ------------------------------------------------------------ answers

    def all_objects(self) -> bytes:
        """Return the ``allObjects`` answer, padded as configured."""
        return all_objects(
            self.model.configs.items(),
            fme_ip=self.model.fme_ip,
            pad_to=self.config.all_objects_bytes,
        )
