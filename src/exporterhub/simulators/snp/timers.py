"""Clocks and the one timer task that every simulated SNP of a fleet shares.

A fleet of thousands of devices must not run a task per device per timer
(keepalive, drift, first ``statusState`` delay, scripted frames): a single
:class:`Scheduler` task sleeps until the earliest due :class:`Timer` and runs its
callback. Time comes from an injected :class:`Clock`, so tests drive keepalives,
drift and rate limits with ``exporterhub.core.testing.FakeClock``.

This module must not touch sockets or read the wall clock except through the
injected clock. Callbacks are plain functions; they must not block.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol

import structlog

__all__ = ["Clock", "Scheduler", "SystemClock", "Timer"]

_log = structlog.get_logger(__name__)


class Clock(Protocol):
    """What the simulator needs of a clock (``FakeClock`` has all of it)."""

    def time(self) -> float:
        """Return the wall clock, Unix seconds."""

    def monotonic(self) -> float:
        """Return a monotonic clock, seconds."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on this clock."""


class SystemClock:
    """The real clocks and ``asyncio.sleep``."""

    def time(self) -> float:
        """Return ``time.time()``."""
        return time.time()

    def monotonic(self) -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Wait with ``asyncio.sleep``."""
        await asyncio.sleep(seconds)


class Timer:
    """A callback due at a monotonic time, optionally repeating.

    Attributes:
        due: monotonic seconds at which it runs next.
        interval: seconds between runs for a periodic timer, else ``None``.
        cancelled: set by :meth:`cancel`; a cancelled timer never runs again.
    """

    __slots__ = ("callback", "cancelled", "due", "interval")

    def __init__(
        self, due: float, callback: Callable[[], None], interval: float | None
    ) -> None:
        self.due = due
        self.callback = callback
        self.interval = interval
        self.cancelled = False

    def cancel(self) -> None:
        """Never run this timer again."""
        self.cancelled = True


class Scheduler:
    """Runs every timer of a fleet from one task on one clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: float | None = None

    def now(self) -> float:
        """Return the time a timer callback runs for: its due time, else the clock.

        Work a periodic timer does for thousands of devices takes a while; reading
        the due time keeps every device on the same, evenly spaced instants.
        """
        return self.clock.monotonic() if self._running is None else self._running

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` once, ``delay`` seconds from now on the clock."""
        return self._push(Timer(self.clock.monotonic() + delay, callback, None))

    def every(
        self,
        interval: float,
        callback: Callable[[], None],
        *,
        first: float | None = None,
    ) -> Timer:
        """Run ``callback`` every ``interval`` seconds, first after ``first``.

        A run that comes late (a loaded loop, or a fake clock advanced by several
        intervals at once) is not repeated to catch up.

        Raises:
            ValueError: ``interval`` is not positive.
        """
        if interval <= 0:
            msg = f"interval must be > 0, not {interval}"
            raise ValueError(msg)
        delay = interval if first is None else first
        return self._push(Timer(self.clock.monotonic() + delay, callback, interval))

    def start(self) -> None:
        """Start the timer task in the running loop (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="snp-sim-timers")

    async def stop(self) -> None:
        """Stop the timer task; pending timers are kept but never run."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _push(self, timer: Timer) -> Timer:
        if not self._heap or timer.due < self._heap[0][0]:
            self._wake.set()
        heapq.heappush(self._heap, (timer.due, next(self._order), timer))
        return timer

    def run_due(self) -> None:
        """Run every timer that is due now (the task calls it; tests may too)."""
        now = self.clock.monotonic()
        while self._heap and self._heap[0][0] <= now:
            _, _, timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self._running = timer.due
            try:
                timer.callback()
            except Exception:
                _log.exception("snp_timer_failed")
            finally:
                self._running = None
            if timer.interval is not None and not timer.cancelled:
                timer.due += timer.interval
                if timer.due <= now:
                    timer.due = now + timer.interval
                heapq.heappush(self._heap, (timer.due, next(self._order), timer))

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            self.run_due()
            if not self._heap:
                await self._wake.wait()
                continue
            due = self._heap[0][0]
            if due <= self.clock.monotonic():
                await asyncio.sleep(0)
                continue
            # The clock's sleep races the wake-up for a new, earlier timer.
            sleeper = asyncio.ensure_future(self._sleep_until(due))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait(
                    (sleeper, waker), return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                sleeper.cancel()
                waker.cancel()

    async def _sleep_until(self, due: float) -> None:
        # Measured when the sleeper task runs, not when it was created: a fake
        # clock advanced in between must not push the wake-up later.
        remaining = due - self.clock.monotonic()
        if remaining > 0:
            await self.clock.sleep(remaining)
