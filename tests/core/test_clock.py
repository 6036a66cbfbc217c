"""Tests of the injectable clocks and the shipped test helpers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import pytest

from exporterhub.core.clock import SystemClock
from exporterhub.core.testing import PORT_RANGE, FakeClock, free_port, wait_until

from .helpers import settle, until_sleeping


class TestSystemClock:
    """The real clock delegates to time and asyncio."""

    def test_time_is_wall_clock(self):
        """time() is within a second of time.time()."""
        assert abs(SystemClock().time() - time.time()) < 1.0

    def test_monotonic_never_goes_back(self):
        """monotonic() does not decrease and tracks time.monotonic()."""
        clock = SystemClock()
        first = clock.monotonic()
        second = clock.monotonic()
        assert first <= second
        assert abs(second - time.monotonic()) < 1.0

    async def test_sleep_zero_returns(self):
        """sleep(0) completes on the event loop."""
        await SystemClock().sleep(0)


class TestFakeClock:
    """The fake clock moves only when advanced and wakes due sleepers."""

    def test_start_and_advance(self):
        """Wall time starts at ``start``, monotonic at 0; advance moves both."""
        clock = FakeClock(start=50.0)
        assert (clock.time(), clock.monotonic()) == (50.0, 0.0)
        clock.advance(2.5)
        assert (clock.time(), clock.monotonic()) == (52.5, 2.5)

    async def test_sleep_waits_for_advance(self):
        """A sleeper wakes only once the clock has moved far enough."""
        clock = FakeClock()
        task = asyncio.create_task(clock.sleep(10))
        await until_sleeping(clock)
        assert clock.sleeps == [10]
        clock.advance(9.5)
        await asyncio.sleep(0)
        assert not task.done()
        assert clock.sleeping == 1
        clock.advance(0.5)
        await settle(task.done)
        assert clock.sleeping == 0

    async def test_wakes_in_deadline_order(self):
        """Sleepers wake in the order of their deadlines, only when due."""
        clock = FakeClock()
        woken: list[str] = []

        async def sleeper(name: str, seconds: float) -> None:
            await clock.sleep(seconds)
            woken.append(name)

        tasks = [
            asyncio.create_task(sleeper(n, s))
            for n, s in (("c", 3), ("a", 1), ("b", 2))
        ]
        await until_sleeping(clock, 3)
        clock.advance(2)
        await settle(lambda: len(woken) == 2)
        assert woken == ["a", "b"]
        assert clock.sleeping == 1
        clock.advance(5)
        await asyncio.gather(*tasks)
        assert woken == ["a", "b", "c"]

    async def test_negative_sleep_wakes_on_zero_advance(self):
        """A negative sleep counts as zero and wakes on advance(0)."""
        clock = FakeClock()
        task = asyncio.create_task(clock.sleep(-5))
        await until_sleeping(clock)
        clock.advance(0)
        await task
        assert clock.sleeps == [-5]

    async def test_cancelled_sleeper_not_counted(self):
        """A cancelled sleeper no longer counts and is skipped on advance."""
        clock = FakeClock()
        task = asyncio.create_task(clock.sleep(1))
        await until_sleeping(clock)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert clock.sleeping == 0
        clock.advance(1)
        assert clock.sleeping == 0


class TestHelpers:
    """wait_until and free_port."""

    async def test_wait_until_true(self):
        """wait_until returns at once when the condition holds."""
        await wait_until(lambda: True)

    async def test_wait_until_times_out(self):
        """wait_until raises TimeoutError when the condition never holds."""
        with pytest.raises(TimeoutError):
            await wait_until(lambda: False, within=0, step=0)

    def test_free_port_is_bindable(self):
        """free_port returns a port that can be bound on 127.0.0.1."""
        port = free_port()
        assert port in PORT_RANGE
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", port))

    def test_free_port_run_is_bindable_for_tcp_and_udp(self):
        """With udp and count, every port of the run binds both ways."""
        first = free_port(udp=True, count=3)
        with contextlib.ExitStack() as held:
            for port in range(first, first + 3):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    sock = held.enter_context(socket.socket(socket.AF_INET, kind))
                    sock.bind(("127.0.0.1", port))

    def test_free_port_gives_up_when_nothing_is_free(self):
        """A run longer than the range cannot be found: OSError says so."""
        with pytest.raises(OSError, match="free loopback ports"):
            free_port(count=len(PORT_RANGE) + 1)
