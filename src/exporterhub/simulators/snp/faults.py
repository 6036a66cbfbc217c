"""Fault switches and one-shots of one simulated SNP (``snp.md`` §8 "Faults").

:class:`SnpFaults` is what tests and the command line flip while a device runs:

- one-shots on every open WebSocket session, each returning how many sessions it
  hit: :meth:`~SnpFaults.close` (1000, 1001, 1011 …), :meth:`~SnpFaults.drop`
  (TCP closed without a close frame), :meth:`~SnpFaults.drop_mid_frame`,
  :meth:`~SnpFaults.send_malformed` (a :class:`MalformedKind`),
  :meth:`~SnpFaults.expire_tokens` (every issued token stops working);
- switches: :attr:`~SnpFaults.silent` (send nothing and read nothing, so not
  even pings are answered, while the socket stays open),
  :meth:`~SnpFaults.reject_login` and :meth:`~SnpFaults.reject_upgrade`
  (401/403/503 for a while or until :meth:`~SnpFaults.accept`),
  :meth:`~SnpFaults.slow_rest`, :meth:`~SnpFaults.fail_processor` (per processor
  config: 500, a slow answer, or no ``personality``), and
  :meth:`~SnpFaults.reboot`, which combines them like a restarting device.

Timed switches use the device's clock. This module holds no sockets: the
one-shots go through the :class:`FaultTarget` (the device).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Protocol

from exporterhub.simulators.snp.malformed import MalformedKind, malformed_frame
from exporterhub.simulators.snp.timers import Clock

__all__ = ["FaultTarget", "ProcessorFault", "SnpFaults"]


class ProcessorFault(StrEnum):
    """How ``GET …/config/processorX`` misbehaves."""

    ERROR = "error"  # 500 with a JSON error body
    SLOW = "slow"  # answers after SnpFaults.processor_delay seconds
    NO_PERSONALITY = "no_personality"  # the inner config lacks general.personality


class FaultSession(Protocol):
    """What a one-shot needs of an open WebSocket session."""

    def close(self, code: int, reason: str) -> None:
        """Start a close handshake with ``code``."""

    def drop(self, *, mid_frame: bool) -> None:
        """Drop the TCP connection without a close frame."""

    def send(self, payload: bytes, opcode: int = ...) -> bool:
        """Send one frame; return whether it was written."""


class FaultTarget(Protocol):
    """What the faults need of their device."""

    def live_sessions(self) -> Sequence[FaultSession]:
        """Return the authenticated, open sessions."""

    def expire_tokens(self) -> int:
        """Expire every issued token; return how many were valid."""

    def status_object(self, object_type: str) -> dict[str, Any]:
        """Return a status object (``ptp``, ``system``)."""


class SnpFaults:
    """Fault switches and one-shots of one device.

    Attributes:
        rest_delay: seconds every REST answer waits (0 = none).
        processor_delay: seconds a ``slow`` processor config waits.
        processors: the active per-processor faults.
    """

    def __init__(self, target: FaultTarget, clock: Clock) -> None:
        self._target = target
        self._clock = clock
        self._speaking = asyncio.Event()
        self._speaking.set()
        self._login: tuple[int, float] | None = None
        self._upgrade: tuple[int, float] | None = None
        self.rest_delay = 0.0
        self.processor_delay = 30.0
        self.processors: dict[str, ProcessorFault] = {}

    # ------------------------------------------------------------ switches

    @property
    def silent(self) -> bool:
        """Whether sessions send and read nothing (a half-open socket)."""
        return not self._speaking.is_set()

    @silent.setter
    def silent(self, value: bool) -> None:
        if value:
            self._speaking.clear()
        else:
            self._speaking.set()

    async def wait_speaking(self) -> None:
        """Return once :attr:`silent` is off."""
        await self._speaking.wait()

    def reject_login(self, status: int = 503, for_seconds: float | None = None) -> None:
        """Answer ``POST /api/auth`` with ``status`` (401 or 503 …) for a while.

        Args:
            status: the HTTP status to answer.
            for_seconds: how long on the device's clock; ``None`` = until
                :meth:`accept`.
        """
        self._login = (status, self._until(for_seconds))

    def reject_upgrade(
        self, status: int = 503, for_seconds: float | None = None
    ) -> None:
        """Refuse upgrades on ``/smm`` with ``status`` (403, 503) for a while."""
        self._upgrade = (status, self._until(for_seconds))

    def accept(self) -> None:
        """End :meth:`reject_login` and :meth:`reject_upgrade`."""
        self._login = self._upgrade = None

    def login_rejection(self) -> int | None:
        """Return the status a login gets now, ``None`` when logins work."""
        return self._active(self._login)

    def upgrade_rejection(self) -> int | None:
        """Return the status an upgrade gets now, ``None`` when upgrades work."""
        return self._active(self._upgrade)

    def slow_rest(self, seconds: float) -> None:
        """Delay every REST answer by ``seconds`` on the device's clock (0 = off)."""
        self.rest_delay = seconds

    def fail_processor(
        self, processor: str, fault: ProcessorFault | str = ProcessorFault.ERROR
    ) -> None:
        """Make ``GET …/config/<processor>`` fail the given way."""
        self.processors[processor] = ProcessorFault(fault)

    def restore_processor(self, processor: str | None = None) -> None:
        """Clear one processor's fault, or every one's."""
        if processor is None:
            self.processors.clear()
        else:
            self.processors.pop(processor, None)

    def clear(self) -> None:
        """Turn every switch off."""
        self.silent = False
        self.accept()
        self.rest_delay = 0.0
        self.processors.clear()

    # ------------------------------------------------------------ one-shots

    def close(self, code: int = 1000, reason: str = "") -> int:
        """Close every open session with ``code`` (1000, 1001, 1011 …)."""
        sessions = self._target.live_sessions()
        for session in sessions:
            session.close(code, reason)
        return len(sessions)

    def drop(self) -> int:
        """Drop every open session's TCP connection without a close frame."""
        sessions = self._target.live_sessions()
        for session in sessions:
            session.drop(mid_frame=False)
        return len(sessions)

    def drop_mid_frame(self) -> int:
        """Drop every open session after writing half of a ``statusState`` frame."""
        sessions = self._target.live_sessions()
        for session in sessions:
            session.drop(mid_frame=True)
        return len(sessions)

    def send_malformed(self, kind: MalformedKind | str) -> int:
        """Send one malformed frame of ``kind`` to every open session.

        Raises:
            ValueError: ``kind`` is not a :class:`MalformedKind`.
        """
        payload, opcode = malformed_frame(
            kind,
            ptp=self._target.status_object("ptp"),
            system=self._target.status_object("system"),
        )
        return sum(1 for s in self._target.live_sessions() if s.send(payload, opcode))

    def expire_tokens(self) -> int:
        """Expire every issued token (REST gets 401, new sockets 1008)."""
        return self._target.expire_tokens()

    def reboot(self, for_seconds: float = 30.0) -> int:
        """Act like a rebooting device; return the number of sessions closed.

        Closes every session with 1001 ("going away"), expires every token and
        answers logins and upgrades with 503 for ``for_seconds``.
        """
        closed = self.close(1001, "rebooting")
        self.expire_tokens()
        self.reject_login(503, for_seconds)
        self.reject_upgrade(503, for_seconds)
        return closed

    # ------------------------------------------------------------ helpers

    def _until(self, seconds: float | None) -> float:
        return float("inf") if seconds is None else self._clock.monotonic() + seconds

    def _active(self, rejection: tuple[int, float] | None) -> int | None:
        if rejection is None or self._clock.monotonic() >= rejection[1]:
            return None
        return rejection[0]
