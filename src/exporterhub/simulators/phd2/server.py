"""PHD2 simulator: a TCP server that speaks PHD2's event-monitoring protocol.

Used by the exporter's integration tests, by ``make demo`` and by anyone trying the
project without a guide camera. Each client gets PHD2's catch-up block on connect
(protocol doc §3), every later event line, and answers to its own JSON-RPC requests
(§9). A seeded session model plays looping, calibration, guiding, dithering,
settling, star loss, pause and stop at ``speed`` times real time, unless
``scripted`` is set, in which case only :meth:`Phd2Simulator.send_event` and
:meth:`Phd2Simulator.send_raw` produce traffic. :class:`Phd2Faults` switches, which
may be flipped while running, split lines across TCP writes, inject malformed and
over-long lines, answer ``null`` pixel scales, imitate PHD2 2.6.5 or stall.

The command line (``phd2-simulator --port 4400``) lives in ``command``.

This module must not bind anything but the configured host (127.0.0.1 by default),
import exporter code, block the event loop or let one misbehaving client affect
the others. The session model and wire format live in the sibling modules
``model``, ``session``, ``rpc`` and ``wire`` and do no I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final

import structlog

from exporterhub.simulators.phd2.model import AppState, Phd2Faults
from exporterhub.simulators.phd2.rpc import Phd2Rpc
from exporterhub.simulators.phd2.session import Phd2Session
from exporterhub.simulators.phd2.wire import RequestBuffer, malformed

__all__ = ["Phd2SimConfig", "Phd2Simulator"]

_log = structlog.get_logger(__name__)

OVERLONG_BYTES: Final = (1 << 20) + 64  # just over 1 MiB, no newline inside
MAX_QUEUED_LINES: Final = 10_000  # a client this far behind is dropped
READ_SIZE: Final = 4096


@dataclass(slots=True, kw_only=True)
class Phd2SimConfig:
    """Settings of one simulated PHD2 instance.

    Attributes:
        host: address to listen on.
        port: TCP port; 0 picks a free one (tests), see :attr:`Phd2Simulator.port`.
        instance: PHD2 instance number, the ``Inst`` field.
        hostname: the ``Host`` field.
        version: ``PHDVersion``; features follow it (2.6.5 under ``legacy_265``).
        speed: time factor; 10.0 runs ten times faster than real time.
        exposure: guide exposure in simulated seconds (real seconds / speed).
        pixel_scale: arcsec/px answered by ``get_pixel_scale``.
        seed: seed of the session's random generator; ``None`` = not reproducible.
        scripted: no autonomous session; traffic only from ``send_event``/``send_raw``.
        faults: fault switches, mutable at run time.
    """

    host: str = "127.0.0.1"
    port: int = 4400
    instance: int = 1
    hostname: str = "SIMULATOR"
    version: str = "2.6.14"
    speed: float = 1.0
    exposure: float = 2.0
    pixel_scale: float = 1.93
    seed: int | None = None
    scripted: bool = False
    faults: Phd2Faults = field(default_factory=Phd2Faults)


class _Client:
    """One connection: an ordered send queue drained by its own writer task."""

    __slots__ = ("handler", "peer", "queue", "reader", "writer", "writer_task")

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.peer = str(writer.get_extra_info("peername"))
        self.queue: asyncio.Queue[tuple[bytes, bool]] = asyncio.Queue(MAX_QUEUED_LINES)
        self.writer_task: asyncio.Task[None] | None = None
        self.handler: asyncio.Task[None] | None = None


class Phd2Simulator:
    """A simulated PHD2 event server on a TCP port.

    ``events_sent`` counts event lines written to sockets, once per client that
    received the line (catch-up and malformed replacements included, RPC responses
    and over-long junk lines not).
    """

    def __init__(self, config: Phd2SimConfig) -> None:
        if config.speed <= 0 or config.exposure <= 0:
            msg = "speed and exposure must be positive"
            raise ValueError(msg)
        self._config = config
        self._session = Phd2Session(
            host=config.hostname,
            instance=config.instance,
            version=config.version,
            exposure=config.exposure,
            pixel_scale=config.pixel_scale,
            seed=config.seed,
            autopilot=not config.scripted,
            faults=config.faults,
        )
        self._rpc = Phd2Rpc(self._session)
        self._fault_rng = random.Random(
            None if config.seed is None else config.seed + 1
        )
        self._server: asyncio.Server | None = None
        self._port = config.port
        self._ticker: asyncio.Task[None] | None = None
        self._clients: set[_Client] = set()
        self._changed = asyncio.Condition()
        self._broadcasts = 0
        self._stopped = False
        self.events_sent = 0

    # ---------------------------------------------------------------- control

    async def start(self) -> None:
        """Bind the listening socket and start the session clock.

        Raises:
            RuntimeError: if already started.
            OSError: if the address cannot be bound.
        """
        if self._server is not None or self._stopped:
            msg = "simulator already started"
            raise RuntimeError(msg)
        self._server = await asyncio.start_server(
            self._on_connect, self._config.host, self._config.port
        )
        self._port = int(self._server.sockets[0].getsockname()[1])
        if not self._config.scripted:
            self._ticker = asyncio.create_task(
                self._run_session(), name="phd2-sim-session"
            )
        _log.info(
            "phd2_simulator_started",
            host=self._config.host,
            port=self.port,
            instance=self._config.instance,
            scripted=self._config.scripted,
        )

    async def stop(self) -> None:
        """Close the server and every client and cancel all tasks; idempotent."""
        if self._server is None or self._stopped:
            return
        self._stopped = True
        self._server.close()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.drop_clients()
        await self._server.wait_closed()
        _log.info("phd2_simulator_stopped", port=self.port)

    async def __aenter__(self) -> Phd2Simulator:
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
    def faults(self) -> Phd2Faults:
        """The live fault switches."""
        return self._config.faults

    @property
    def client_count(self) -> int:
        """Number of connected clients."""
        return len(self._clients)

    @property
    def state(self) -> str:
        """Current PHD2 app state name, as ``get_app_state`` would answer."""
        return self._session.app_state.value

    async def wait_for_clients(self, n: int) -> None:
        """Return once at least ``n`` clients are connected."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self._clients) >= n)

    async def flush(self) -> None:
        """Return once every line queued so far has been written or dropped."""
        await asyncio.gather(*(c.queue.join() for c in list(self._clients)))

    # -------------------------------------------------------------- scripting

    async def send_event(self, event: str, **fields: object) -> None:
        """Broadcast an event built from ``fields`` and fold it into the state.

        Members are Event, Timestamp, Host, Inst, then ``fields`` in the given
        order. Plain floats take the field's PHD2 format where the protocol fixes
        one (``dx`` of a GuideStep is ``%.3f``), else ``%g``; pass
        :class:`~exporterhub.simulators.phd2.wire.Num` for exact text.
        """
        self._broadcast([self._session.emit_external(event, fields)])

    async def send_raw(self, data: bytes) -> None:
        """Broadcast ``data`` verbatim (not counted as an event line)."""
        for client in list(self._clients):
            self._enqueue(client, data, is_event=False)

    def set_state(
        self,
        state: str,
        *,
        star: tuple[float, float] | None = None,
        lock: tuple[float, float] | None = None,
        calibrated: bool | None = None,
    ) -> None:
        """Set the simulated state silently; new clients' catch-up reflects it.

        Args:
            state: an app state name: Stopped, Looping, Selected, Calibrating,
                Guiding, LostLock or Paused.
            star: guide star position in px; (640, 480) where one is needed.
            lock: lock position; defaults to ``star`` when calibrating or guiding.
            calibrated: mount calibrated; defaults to true for guiding states.

        Raises:
            ValueError: for an unknown state name.
        """
        self._session.set_state(state, star=star, lock=lock, calibrated=calibrated)

    def set_guiding(
        self,
        *,
        calibrated: bool = True,
        star: tuple[float, float] = (640.0, 480.0),
        lock: tuple[float, float] | None = None,
        paused: bool = False,
    ) -> None:
        """Shortcut for :meth:`set_state` to Guiding (or Paused while guiding)."""
        state = AppState.PAUSED if paused else AppState.GUIDING
        self.set_state(state, star=star, lock=lock, calibrated=calibrated)

    async def drop_clients(self) -> None:
        """Abort every client connection without a goodbye (the peer sees EOF)."""
        clients = list(self._clients)
        for client in clients:
            client.writer.transport.abort()
        handlers = [c.handler for c in clients if c.handler is not None]
        await asyncio.gather(*handlers, return_exceptions=True)

    # ------------------------------------------------------------- internals

    async def _run_session(self) -> None:
        loop = asyncio.get_running_loop()
        period = self._config.exposure / self._config.speed
        due = loop.time()
        while True:
            due += period
            now = loop.time()
            if due < now - 10 * period:
                due = now  # fell far behind (suspended host): do not burst
            await asyncio.sleep(max(0.0, due - now))
            try:
                lines = self._session.tick()
            except Exception:
                _log.exception("phd2_session_tick_failed")
                raise
            self._broadcast(lines)

    def _broadcast(self, lines: list[bytes]) -> None:
        faults = self.faults
        for line in lines:
            self._broadcasts += 1
            n = self._broadcasts
            out = line
            if faults.malformed_every > 0 and n % faults.malformed_every == 0:
                out = malformed(line, n // faults.malformed_every)
            junk = None
            if faults.overlong_every > 0 and n % faults.overlong_every == 0:
                junk = b"#" * OVERLONG_BYTES + b"\r\n"
            for client in list(self._clients):
                self._enqueue(client, out, is_event=True)
                if junk is not None:
                    self._enqueue(client, junk, is_event=False)

    def _enqueue(self, client: _Client, data: bytes, *, is_event: bool) -> None:
        if self.faults.stall:
            return
        try:
            client.queue.put_nowait((data, is_event))
        except asyncio.QueueFull:
            _log.debug("phd2_client_too_slow", peer=client.peer)
            client.writer.transport.abort()

    async def _on_connect(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        client = _Client(reader, writer)
        client.handler = asyncio.current_task()
        if self._stopped:
            writer.transport.abort()
            return
        # The catch-up is queued before the client joins the broadcast set, with
        # no await in between, so it always precedes the first live event.
        for line in self._session.catch_up():
            self._enqueue(client, line, is_event=True)
        self._clients.add(client)
        client.writer_task = asyncio.create_task(self._write_loop(client))
        _log.debug(
            "phd2_client_connected", peer=client.peer, clients=len(self._clients)
        )
        async with self._changed:
            self._changed.notify_all()
        try:
            await self._read_loop(client)
        except (ConnectionError, OSError) as exc:
            _log.debug("phd2_client_read_failed", peer=client.peer, error=str(exc))
        except Exception:
            # A request the model cannot handle is a simulator bug; it costs this
            # client its connection, never the server or the other clients.
            _log.warning("phd2_client_request_failed", peer=client.peer, exc_info=True)
        finally:
            await self._forget(client)

    async def _forget(self, client: _Client) -> None:
        self._clients.discard(client)
        client.writer.transport.abort()
        if client.writer_task is not None:
            client.writer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await client.writer_task
        while not client.queue.empty():  # release flush() waiters
            client.queue.get_nowait()
            client.queue.task_done()
        _log.debug(
            "phd2_client_disconnected", peer=client.peer, clients=len(self._clients)
        )
        async with self._changed:
            self._changed.notify_all()

    async def _read_loop(self, client: _Client) -> None:
        requests = RequestBuffer()
        while data := await client.reader.read(READ_SIZE):
            if self.faults.stall:
                continue  # a hung PHD2 answers nothing
            first_only = not self._session.features.overlap
            for item in requests.feed(data, first_only=first_only):
                if item is None:
                    self._enqueue(client, self._rpc.too_big(), is_event=False)
                    continue
                response, events = self._rpc.handle_line(item)
                self._broadcast(events)
                if response is not None:
                    self._enqueue(client, response, is_event=False)

    async def _write_loop(self, client: _Client) -> None:
        writer = client.writer
        try:
            while True:
                data, is_event = await client.queue.get()
                try:
                    if not self.faults.stall:
                        await self._write(writer, data)
                        self.events_sent += is_event
                finally:
                    client.queue.task_done()
        except (ConnectionError, OSError) as exc:
            _log.debug("phd2_client_write_failed", peer=client.peer, error=str(exc))
            writer.transport.abort()

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        if not self.faults.split_lines:
            writer.write(data)
            await writer.drain()
            return
        pos = 0
        while pos < len(data):
            size = self._fault_rng.randint(1, 40)
            writer.write(data[pos : pos + size])
            pos += size
            await writer.drain()
            await asyncio.sleep(0)  # let the peer read, so chunks arrive separately
