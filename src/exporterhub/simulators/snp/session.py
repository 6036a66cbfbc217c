"""One authenticated WebSocket session on ``/smm``: the SMM's side of §4.

A :class:`Session` waits for the token as the first frame (anything else, or
nothing within ``token_timeout``, closes with 1008), then sends
``activeAlarmStatus`` and answers client messages: ``statusListSubscribe``
(validated ``frequency``; ``elementIP`` 127.0.0.1 gets one ``statusState`` of the
subscribed objects ``first_status_delay`` later, any other address silence),
``statusListUnsubscribe``, ``getAllStatuses``, ``getStatuses``, ``getObjects``,
``syncMe`` and ``getAllObjects``. Changes pushed by the device go out at most once
per object per ``frequency``; a change inside the window waits for the fleet's
next tick. With a script it replays the script's frames instead.

Frames are written straight to the transport as RFC 6455 frames (``wire.ws_frame``)
so the fleet's timers can push synchronously; aiohttp still owns the read side,
pings and the close handshake. This module must not bind sockets or read the
wall clock except through the device's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import structlog
from aiohttp import WSMsgType, web

from exporterhub.simulators.snp.catalog import ObjectKey
from exporterhub.simulators.snp.config import Close, Drop, ScriptFrame
from exporterhub.simulators.snp.timers import Timer
from exporterhub.simulators.snp.wire import (
    LOCAL_ELEMENT_IP,
    OP_BINARY,
    OP_TEXT,
    ClientMessageError,
    ObjectRef,
    active_alarm_status,
    alarm_configure,
    all_statuses,
    dumps,
    element_status,
    logs_state,
    objects_state,
    parse_client_message,
    parse_subscription,
    status_state,
    ws_frame,
)

if TYPE_CHECKING:
    from asyncio import Transport

    from exporterhub.simulators.snp.server import SnpDevice

__all__ = ["Session", "SubscriptionRecord"]

_log = structlog.get_logger(__name__)

POLICY_VIOLATION: Final = 1008
RATE_SLACK_S: Final = 0.05  # timer jitter tolerated by the per-object rate limit
MAX_WRITE_BUFFER: Final = 64 * 1024 * 1024  # a client this far behind is dropped
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionRecord:
    """A ``statusListSubscribe`` as the device received it.

    Attributes:
        session: the session's number.
        frequency: seconds between pushes of one object; ``None`` if invalid.
        refs: the ``objectIds`` entries (empty if unparsable).
        accepted: whether it was valid.
        error: why not, else ``None``.
        answered: whether it will get a ``statusState`` (some ``elementIP`` was
            127.0.0.1 and named an existing object).
    """

    session: int
    frequency: float | None
    refs: tuple[ObjectRef, ...]
    accepted: bool
    error: str | None = None
    answered: bool = False


class Session:
    """One WebSocket connection to a simulated SMM."""

    def __init__(
        self, device: SnpDevice, ws: web.WebSocketResponse, transport: Transport
    ) -> None:
        self.id = next(_ids)
        self.device = device
        self.authenticated = False
        self.closed = False
        self.frames_sent = 0
        self._ws = ws
        self._transport = transport
        self._subs: dict[tuple[str, str | None], float] = {}
        self._keys: list[ObjectKey] = []
        self._last: dict[ObjectKey, float] = {}
        self._pending: set[ObjectKey] = set()
        self._waiting: set[ObjectKey] = set()
        self._timers: list[Timer] = []

    @property
    def scripted(self) -> bool:
        """Whether this session replays a script instead of live behaviour."""
        return self.device.spec.script is not None

    # ------------------------------------------------------------ life cycle

    async def run(self) -> None:
        """Authenticate, then read client messages until the socket closes."""
        try:
            if not await self._authenticate():
                return
            self.device.session_opened(self)
            if self.device.spec.script is not None:
                self._play(self.device.spec.script)
            else:
                self.send(active_alarm_status(self.device.model.alarms))
            await self._read()
        finally:
            self.closed = True
            for timer in self._timers:
                timer.cancel()
            self.device.session_closed(self)

    async def _authenticate(self) -> bool:
        try:
            async with asyncio.timeout(self.device.config.token_timeout):
                msg = await self._ws.receive()
        except TimeoutError:
            msg = None
        if msg is None or msg.type is not WSMsgType.TEXT:
            if msg is not None and msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING):
                return False
            await self._ws.close(code=POLICY_VIOLATION, message=b"token expected")
            return False
        if not self.device.tokens.valid(msg.data):
            _log.info("snp_token_rejected", device=self.device.name, session=self.id)
            await self._ws.close(code=POLICY_VIOLATION, message=b"invalid token")
            return False
        self.authenticated = True
        return True

    async def _read(self) -> None:
        faults = self.device.faults
        while True:
            msg = await self._ws.receive()
            if faults.silent:  # read nothing, answer nothing, not even pings
                await faults.wait_speaking()
            if msg.type is WSMsgType.TEXT:
                self.device.message_received(msg.data)
                if not self.scripted:
                    self._handle(msg.data)
            elif msg.type is WSMsgType.PING:
                await self._ws.pong(msg.data)
            elif msg.type in (WSMsgType.BINARY, WSMsgType.PONG):
                continue
            else:  # CLOSE (answered by aiohttp), CLOSING, CLOSED, ERROR
                return

    # ------------------------------------------------------------ sending

    def send(self, payload: bytes, opcode: int = OP_TEXT) -> bool:
        """Write one frame unless closed or silent; return whether it was written."""
        transport = self._transport
        if self.closed or self.device.faults.silent or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            _log.warning("snp_client_too_slow", device=self.device.name)
            self.drop(mid_frame=False)
            return False
        transport.write(ws_frame(payload, opcode))
        self.frames_sent += 1
        return True

    def close(self, code: int, reason: str) -> None:
        """Start a close handshake with ``code`` (a fault or a script step)."""
        if self.closed:
            return
        self.closed = True
        message = reason.encode()
        self.device.spawn(self._ws.close(code=code, message=message))

    def drop(self, *, mid_frame: bool) -> None:
        """Close the TCP connection without a close frame (after half a frame)."""
        if mid_frame and not self._transport.is_closing():
            model = self.device.model
            frame = ws_frame(status_state([model.objects.item(("ptp", "ptp"))]))
            self._transport.write(frame[: len(frame) // 2])
        self.closed = True
        self._transport.abort()

    # ------------------------------------------------------------ scripts

    def _play(self, script: Sequence[tuple[float, ScriptFrame]]) -> None:
        at = 0.0
        scheduler = self.device.scheduler
        for delay, frame in script:
            at += delay
            self._timers.append(
                scheduler.call_later(at, lambda frame=frame: self._step(frame))  # type: ignore[misc]
            )

    def _step(self, frame: ScriptFrame) -> None:
        if isinstance(frame, Close):
            self.close(frame.code, frame.reason)
        elif isinstance(frame, Drop):
            self.drop(mid_frame=frame.mid_frame)
        elif isinstance(frame, bytes):
            self.send(frame, OP_BINARY)
        elif isinstance(frame, str):
            self.send(frame.encode())
        else:
            self.send(dumps(frame))

    # ------------------------------------------------------------ client messages

    def _handle(self, text: str) -> None:
        try:
            message = parse_client_message(text)
        except ClientMessageError as exc:
            _log.info("snp_bad_client_message", device=self.device.name, error=str(exc))
            return
        kind = message["msgType"]
        model = self.device.model
        element_ok = message.get("elementIp") in (LOCAL_ELEMENT_IP, model.fme_ip)
        if kind == "statusListSubscribe":
            self._subscribe(message)
        elif kind == "statusListUnsubscribe":
            self._unsubscribe(message)
        elif kind == "getAllStatuses" and element_ok:
            items = [model.objects.item(k) for k in model.objects.all_keys()]
            self.send(all_statuses(message["elementIp"], items))
        elif kind == "getStatuses" and element_ok:
            self._get_statuses(message)
        elif kind == "getObjects" and element_ok:
            with contextlib.suppress(KeyError):
                item = model.configs.item(str(message.get("objectId")))
                self.send(objects_state([item]))
        elif kind == "getAllObjects" and element_ok:
            self.send(self.device.all_objects())
        elif kind == "syncMe":
            self.send(element_status(model.configs.element_status()))
            self.send(alarm_configure(model.configs.alarm_config()))
            self.send(logs_state(self.device.catalog.logs))
        else:
            _log.debug("snp_message_ignored", device=self.device.name, msg_type=kind)

    def _get_statuses(self, message: Mapping[str, Any]) -> None:
        model = self.device.model
        try:
            key = model.objects.find(
                str(message.get("objectType")),
                message.get("objectId")
                if isinstance(message.get("objectId"), str)
                else None,
            )
        except KeyError:
            return
        self.send(status_state([model.objects.item(key)]))

    def _subscribe(self, message: Mapping[str, Any]) -> None:
        try:
            sub = parse_subscription(message, unsubscribe=False)
        except ClientMessageError as exc:
            self.device.subscribed(
                SubscriptionRecord(
                    session=self.id,
                    frequency=None,
                    refs=(),
                    accepted=False,
                    error=str(exc),
                )
            )
            return
        assert sub.frequency is not None  # noqa: S101 - a subscription always has one
        local = [r for r in sub.refs if r.local]
        for ref in local:
            self._subs[(ref.object_type, ref.object_id)] = sub.frequency
        keys = self._expand(local)
        self._keys = self._expand(self._refs())
        if keys:
            self._waiting.update(keys)
            self._timers.append(
                self.device.scheduler.call_later(
                    self.device.config.first_status_delay, lambda: self._answer(keys)
                )
            )
        self.device.subscribed(
            SubscriptionRecord(
                session=self.id,
                frequency=sub.frequency,
                refs=sub.refs,
                accepted=True,
                answered=bool(keys),
            )
        )

    def _unsubscribe(self, message: Mapping[str, Any]) -> None:
        try:
            sub = parse_subscription(message, unsubscribe=True)
        except ClientMessageError:
            return
        for ref in sub.refs:
            self._subs.pop((ref.object_type, ref.object_id), None)
        self._keys = self._expand(self._refs())
        self._pending.intersection_update(self._keys)

    def _refs(self) -> list[ObjectRef]:
        return [
            ObjectRef(element_ip=LOCAL_ELEMENT_IP, object_type=t, object_id=i)
            for t, i in self._subs
        ]

    def _expand(self, refs: Iterable[ObjectRef]) -> list[ObjectKey]:
        keys: dict[ObjectKey, None] = {}
        all_keys = self.device.model.objects.all_keys()
        for ref in refs:
            for key in all_keys:
                if key[0] == ref.object_type and ref.object_id in (None, key[1]):
                    keys[key] = None
        return list(keys)

    def _answer(self, keys: list[ObjectKey]) -> None:
        self._waiting.difference_update(keys)
        model = self.device.model
        if self.device.spec.answer_with_all_statuses:
            items = [model.objects.item(k) for k in model.objects.all_keys()]
            self.send(all_statuses(LOCAL_ELEMENT_IP, items))
        else:
            self.send(status_state([model.objects.item(k) for k in keys]))
        now = self.device.scheduler.now()
        for key in keys:
            self._last[key] = now
            self._pending.discard(key)

    # ------------------------------------------------------------ pushes

    def _frequency(self, key: ObjectKey) -> float | None:
        return self._subs.get(key, self._subs.get((key[0], None)))

    def object_changed(self, key: ObjectKey, now: float) -> None:
        """Push a changed object now, or at the next tick inside its window."""
        frequency = self._frequency(key)
        if frequency is None or key in self._waiting:
            return
        last = self._last.get(key)
        if last is not None and now - last < frequency - RATE_SLACK_S:
            self._pending.add(key)
        else:
            self._push([key], now)

    def tick(self, now: float) -> None:
        """Push the changes whose window has passed (and, in load mode, the rest)."""
        if not self._pending and not self.device.spec.resend_unchanged:
            return
        due = []
        resend = self.device.spec.resend_unchanged
        candidates = self._keys if resend else sorted(self._pending)
        for key in candidates:
            frequency = self._frequency(key)
            if frequency is None or key in self._waiting:
                continue
            if now - self._last.get(key, float("-inf")) >= frequency - RATE_SLACK_S:
                due.append(key)
        if due:
            self._push(due, now)

    def _push(self, keys: list[ObjectKey], now: float) -> None:
        model = self.device.model
        self.send(status_state([model.objects.item(k) for k in keys]))
        for key in keys:
            self._last[key] = now
            self._pending.discard(key)
