"""The shared scheduler on a fake and on the real clock."""

from __future__ import annotations

import asyncio

import pytest

from exporterhub.simulators.snp import SystemClock
from exporterhub.simulators.snp.timers import Scheduler


@pytest.fixture
async def scheduler(clock):
    running = Scheduler(clock)
    running.start()
    running.start()  # idempotent
    yield running
    await running.stop()


async def settle(scheduler: Scheduler, done: asyncio.Event) -> None:
    async with asyncio.timeout(5):
        await done.wait()


class TestScheduler:
    async def test_order_and_periodic(self, scheduler, clock):
        """Timers run in due order; periodic ones repeat without catching up."""
        runs: list[str] = []
        done = asyncio.Event()
        scheduler.call_later(2.0, lambda: runs.append("two"))
        scheduler.call_later(1.0, lambda: runs.append("one"))
        tick = scheduler.every(1.0, lambda: runs.append("tick"))
        scheduler.call_later(3.0, done.set)
        clock.advance(3.0)  # one jump: the periodic timer runs once, not thrice
        await settle(scheduler, done)
        assert runs == ["one", "tick", "two"]
        done.clear()
        scheduler.call_later(1.0, done.set)
        clock.advance(1.0)
        await settle(scheduler, done)
        assert runs[-1] == "tick"
        tick.cancel()

    async def test_now_is_the_due_time_inside_a_callback(self, scheduler, clock):
        """Inside a callback now() is the timer's due time, outside the clock's."""
        seen: list[float] = []
        done = asyncio.Event()
        scheduler.call_later(1.0, lambda: seen.append(scheduler.now()))
        scheduler.call_later(1.0, done.set)
        clock.advance(1.5)
        await settle(scheduler, done)
        assert seen == [1.0]
        assert scheduler.now() == 1.5

    async def test_earlier_timer_wakes_the_task(self, scheduler, clock):
        """A new timer earlier than the one being waited for runs on time."""
        done = asyncio.Event()
        scheduler.call_later(100.0, lambda: None)
        await asyncio.sleep(0)  # let the task start waiting for t=100
        scheduler.call_later(1.0, done.set)
        clock.advance(1.0)
        await settle(scheduler, done)

    async def test_cancel_and_failures(self, scheduler, clock):
        """A cancelled timer never runs; a failing callback does not stop others."""
        runs: list[str] = []
        done = asyncio.Event()

        def boom() -> None:
            raise RuntimeError("boom")

        scheduler.call_later(1.0, lambda: runs.append("cancelled")).cancel()
        scheduler.call_later(1.0, boom)
        scheduler.call_later(1.0, done.set)
        clock.advance(1.0)
        await settle(scheduler, done)
        assert runs == []

    def test_bad_interval(self, clock):
        """A periodic timer needs a positive interval."""
        with pytest.raises(ValueError, match="interval"):
            Scheduler(clock).every(0, lambda: None)

    async def test_real_clock(self):
        """On the system clock a short timer fires by itself."""
        scheduler = Scheduler(SystemClock())
        scheduler.start()
        done = asyncio.Event()
        scheduler.call_later(0.01, done.set)
        try:
            await settle(scheduler, done)
        finally:
            await scheduler.stop()
        assert SystemClock().time() > 1e9
