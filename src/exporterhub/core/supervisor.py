"""Reconnecting stream runner: connect, read until the stream ends, back off, repeat.

The supervisor knows nothing of any protocol. It runs a *session* coroutine that
connects, calls ``connected()`` once the link is usable, and reads until the peer goes
away (return) or something fails (raise). Between sessions it waits a capped
exponential backoff with jitter, reset after a healthy period. It reports link state
changes to a callback and logs them; it must not swallow cancellation.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import structlog

from exporterhub.core.backoff import Backoff
from exporterhub.core.clock import Clock
from exporterhub.core.errors import ConnectionLostError, ExporterError
from exporterhub.core.snapshot import LinkState

__all__ = ["Session", "StreamSupervisor"]

Session = Callable[[Callable[[], None]], Awaitable[None]]
"""A session: ``await session(connected)``; returns on EOF, raises on failure."""

_log = structlog.get_logger(__name__)


class StreamSupervisor:
    """Keeps one stream session alive for one target.

    Args:
        name: the target's name, for logs.
        session: the protocol's session coroutine function.
        backoff: delay policy between sessions.
        clock: time source (inject a fake one in tests).
        on_link: called with every new link state and the error kind (or None).
        rng: random source for the backoff jitter.
    """

    def __init__(
        self,
        name: str,
        session: Session,
        *,
        backoff: Backoff,
        clock: Clock,
        on_link: Callable[[LinkState, str | None], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self._session = session
        self._backoff = backoff
        self._clock = clock
        self._on_link = on_link
        self._rng = rng or random.Random()
        self.state = LinkState.DISCONNECTED
        self.attempts = 0
        self.sessions = 0
        self.connections = 0
        """Sessions that reached CONNECTED; reconnects are this minus one."""
        self._connected_at: float | None = None

    def _set(self, state: LinkState, error: str | None = None) -> None:
        previous = self.state
        self.state = state
        if self._on_link is not None:
            self._on_link(state, error)
        if state is previous:
            return
        if state is LinkState.CONNECTED:
            _log.info("stream_connected", target=self.name, sessions=self.sessions)
        elif state in (LinkState.DISCONNECTED, LinkState.ERROR):
            # Losing a working link is news; every failed retry after it is not.
            log = _log.warning if previous is LinkState.CONNECTED else _log.debug
            log("stream_lost", target=self.name, state=state.value, reason=error)

    def _mark_connected(self) -> None:
        if self._connected_at is not None:
            return  # a session may report "usable" more than once
        self._connected_at = self._clock.monotonic()
        self.connections += 1
        self._set(LinkState.CONNECTED)

    async def run(self) -> None:
        """Run sessions forever; returns only by cancellation."""
        while True:
            self.sessions += 1
            self._connected_at = None
            self._set(LinkState.CONNECTING)
            failed_for_good = False
            try:
                await self._session(self._mark_connected)
                self._set(LinkState.DISCONNECTED, "eof")
            except asyncio.CancelledError:
                raise
            except ConnectionLostError as exc:
                self._set(LinkState.DISCONNECTED, exc.reason)
            except ExporterError as exc:
                failed_for_good = not exc.retryable
                self._set(LinkState.ERROR, type(exc).__name__)
            except TimeoutError:
                self._set(LinkState.DISCONNECTED, "timeout")
            except OSError as exc:
                self._set(LinkState.DISCONNECTED, type(exc).__name__)
            except Exception as exc:  # a peer must never kill the worker
                _log.exception("session_crashed", target=self.name)
                self._set(LinkState.ERROR, type(exc).__name__)
            await self._clock.sleep(self._next_delay(failed_for_good))

    def _next_delay(self, failed_for_good: bool) -> float:
        if self._connected_at is not None:
            healthy = self._clock.monotonic() - self._connected_at
            if self._backoff.healthy_long_enough(healthy):
                self.attempts = 0
        self.attempts += 1
        if failed_for_good:
            delay = self._backoff.maximum
        else:
            delay = self._backoff.delay(self.attempts, self._rng)
        _log.debug("stream_retry", target=self.name, attempt=self.attempts, delay=delay)
        return delay
