"""Tiered poll scheduler: each tier polls at its interval, with jitter and timeouts.

Every tier of every target is its own loop, so one slow or dead target (or tier) never
delays another beyond the shared concurrency limit, and every call sits inside its own
timeout. Failures are reported, never raised out of the loop. This module knows no
protocol and does no I/O itself.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from exporterhub.core.clock import Clock

__all__ = ["PollResult", "PollScheduler", "Tier"]

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Tier:
    """One polling tier of one target.

    Attributes:
        name: tier name for logs and labels (``fast``, ``medium``, ``slow``…).
        interval: seconds between the starts of two polls.
        timeout: seconds one poll may take before it is abandoned.
        poll: the coroutine function that polls and folds the result.
        jitter: fraction of the interval randomised, so targets spread out.
    """

    name: str
    interval: float
    timeout: float
    poll: Callable[[], Awaitable[None]]
    jitter: float = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class PollResult:
    """The outcome of one poll, handed to the result callback."""

    tier: str
    ok: bool
    duration: float
    error: str | None = None


class PollScheduler:
    """Runs the tiers of one target until cancelled.

    Args:
        name: the target's name, for logs.
        tiers: tiers in start-up order: each runs once, in this order, before the
            regular loops start (so slow metadata can come before fast values).
        clock: time source.
        limit: semaphore shared by all targets of an exporter to bound concurrency.
        on_result: called after every poll.
        rng: random source for jitter.
    """

    def __init__(
        self,
        name: str,
        tiers: Sequence[Tier],
        *,
        clock: Clock,
        limit: asyncio.Semaphore | None = None,
        on_result: Callable[[PollResult], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self._tiers = list(tiers)
        self._clock = clock
        self._limit = limit
        self._on_result = on_result
        self._rng = rng or random.Random()

    async def run(self) -> None:
        """Run one start-up round in order, then every tier's loop concurrently."""
        for tier in self._tiers:
            await self.poll_once(tier)
        async with asyncio.TaskGroup() as group:
            for tier in self._tiers:
                group.create_task(self._loop(tier), name=f"{self.name}:{tier.name}")

    def _spread(self, tier: Tier) -> float:
        spread = tier.interval * tier.jitter
        return max(0.0, tier.interval + self._rng.uniform(-spread, spread))

    async def _loop(self, tier: Tier) -> None:
        due = self._clock.monotonic() + self._spread(tier)
        while True:
            wait = due - self._clock.monotonic()
            if wait > 0:
                await self._clock.sleep(wait)
            await self.poll_once(tier)
            due += self._spread(tier)
            now = self._clock.monotonic()
            if due < now:  # the poll overran: skip the missed ticks, keep the phase
                missed = int((now - due) // tier.interval) + 1
                due += missed * tier.interval

    async def poll_once(self, tier: Tier) -> PollResult:
        """Run one poll of ``tier`` under the limit and its timeout; never raises."""
        started = self._clock.monotonic()
        error: str | None = None
        try:
            if self._limit is None:
                async with asyncio.timeout(tier.timeout):
                    await tier.poll()
            else:
                async with self._limit, asyncio.timeout(tier.timeout):
                    await tier.poll()
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            error = "timeout"
        except Exception as exc:  # a poll must never kill the loop
            error = type(exc).__name__
        result = PollResult(
            tier=tier.name,
            ok=error is None,
            duration=self._clock.monotonic() - started,
            error=error,
        )
        if error is None:
            _log.debug("poll_done", target=self.name, tier=tier.name)
        else:
            _log.debug("poll_failed", target=self.name, tier=tier.name, error=error)
        if self._on_result is not None:
            self._on_result(result)
        return result
