"""Tests of the tiered poll scheduler, driven by a fake clock."""

from __future__ import annotations

import asyncio
import random

import pytest
from structlog.testing import capture_logs

from exporterhub.core.scheduler import PollResult, PollScheduler, Tier

from .helpers import running, settle, until_sleeping


class Polls:
    """Records every poll start (tier and fake monotonic time) and every result."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.starts: list[tuple[str, float]] = []
        self.results: list[PollResult] = []

    def tier(self, name: str, interval: float, *, timeout: float = 5.0, poll=None):
        async def record() -> None:
            self.starts.append((name, self.clock.monotonic()))
            if poll is not None:
                await poll()

        return Tier(
            name=name, interval=interval, timeout=timeout, poll=record, jitter=0
        )

    def count(self, name: str) -> int:
        return sum(1 for tier, _ in self.starts if tier == name)

    def times(self, name: str) -> list[float]:
        return [t for tier, t in self.starts if tier == name]


@pytest.fixture
def polls(clock) -> Polls:
    return Polls(clock)


def make(clock, polls: Polls, tiers, **kwargs) -> PollScheduler:
    return PollScheduler(
        "rig", tiers, clock=clock, on_result=polls.results.append, **kwargs
    )


async def step(clock, seconds: float, sleepers: int) -> None:
    """Advance the fake clock, then wait until ``sleepers`` loops sleep again."""
    clock.advance(seconds)
    await until_sleeping(clock, sleepers)


class TestStartup:
    """Each tier polls once, in the given order, before the loops start."""

    async def test_startup_round_in_order(self, clock, polls):
        """The start-up round polls slow, medium, fast in that order, at time 0."""
        tiers = [
            polls.tier("slow", 60),
            polls.tier("medium", 10),
            polls.tier("fast", 1),
        ]
        async with running(make(clock, polls, tiers).run):
            await until_sleeping(clock, 3)
            assert polls.starts == [("slow", 0.0), ("medium", 0.0), ("fast", 0.0)]
            assert sorted(clock.sleeps) == [1.0, 10.0, 60.0]

    async def test_startup_is_sequential(self, clock, polls):
        """The second tier's start-up poll waits for the first one to finish."""
        gate = asyncio.Event()
        tiers = [polls.tier("first", 5, poll=gate.wait), polls.tier("second", 5)]
        async with running(make(clock, polls, tiers).run):
            await settle(lambda: polls.count("first") == 1)
            await asyncio.sleep(0)
            assert polls.count("second") == 0
            gate.set()
            await until_sleeping(clock, 2)
            assert [t for t, _ in polls.starts] == ["first", "second"]


class TestIntervals:
    """Each tier polls at its own interval."""

    async def test_counts_follow_intervals(self, clock, polls):
        """Over 12 s a 1 s tier polls 13 times and a 3 s tier 5 times."""
        tiers = [polls.tier("fast", 1.0), polls.tier("slow", 3.0)]
        async with running(make(clock, polls, tiers).run):
            await until_sleeping(clock, 2)
            for _ in range(12):
                await step(clock, 1.0, 2)
            assert polls.count("fast") == 13
            assert polls.count("slow") == 5
            assert polls.times("slow") == [0.0, 3.0, 6.0, 9.0, 12.0]
            assert polls.times("fast") == [float(n) for n in range(13)]

    async def test_no_poll_before_interval(self, clock, polls):
        """Advancing less than the interval triggers no poll."""
        async with running(make(clock, polls, [polls.tier("t", 5.0)]).run):
            await until_sleeping(clock)
            clock.advance(4.9)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            assert polls.count("t") == 1
            await step(clock, 0.1, 1)
            assert polls.count("t") == 2

    async def test_jitter_spreads_within_bounds(self, clock, polls):
        """With jitter 0.2 every wait lies within ±20 % of the interval."""

        async def noop() -> None:
            return None

        tier = Tier(name="j", interval=10.0, timeout=1.0, poll=noop, jitter=0.2)
        scheduler = make(clock, polls, [tier], rng=random.Random(3))
        async with running(scheduler.run):
            for _ in range(20):
                await until_sleeping(clock)
                clock.advance(clock.sleeps[-1])
            await until_sleeping(clock)
        waits = clock.sleeps
        assert len(waits) == 21
        assert all(8.0 <= w <= 12.0 for w in waits)
        assert len(set(waits)) > 10

    async def test_results_reported_ok(self, clock, polls):
        """Every successful poll is reported with ok True and its duration."""
        async with running(make(clock, polls, [polls.tier("t", 1.0)]).run):
            await until_sleeping(clock)
            await step(clock, 1.0, 1)
        assert polls.results == [
            PollResult(tier="t", ok=True, duration=0.0, error=None),
            PollResult(tier="t", ok=True, duration=0.0, error=None),
        ]


class TestFailures:
    """Failing polls are reported and never stop the loop."""

    async def test_raising_poll_is_reported_and_loop_continues(self, clock, polls):
        """A poll raising ValueError reports ok False and the tier polls again."""
        failures = iter([True, False, True])

        async def flaky() -> None:
            if next(failures):
                raise ValueError("bad answer")

        async with running(make(clock, polls, [polls.tier("t", 2.0, poll=flaky)]).run):
            await until_sleeping(clock)
            await step(clock, 2.0, 1)
            await step(clock, 2.0, 1)
        assert [(r.ok, r.error) for r in polls.results] == [
            (False, "ValueError"),
            (True, None),
            (False, "ValueError"),
        ]
        assert polls.count("t") == 3

    async def test_failure_logged_as_poll_failed(self, clock, polls):
        """A failed poll logs poll_failed with the error name."""

        async def broken() -> None:
            raise KeyError("x")

        tier = polls.tier("t", 1.0, poll=broken)
        scheduler = make(clock, polls, [tier])
        with capture_logs() as logs:
            result = await scheduler.poll_once(tier)
        assert result.error == "KeyError"
        assert [(e["event"], e["error"]) for e in logs] == [("poll_failed", "KeyError")]

    async def test_hung_poll_times_out(self, clock, polls):
        """A poll that never returns is cut by its timeout and reported as timeout."""
        reported = asyncio.Event()

        def on_result(result: PollResult) -> None:
            polls.results.append(result)
            reported.set()

        never = asyncio.Event()
        tier = polls.tier("hung", 5.0, timeout=0.05, poll=never.wait)
        scheduler = PollScheduler("rig", [tier], clock=clock, on_result=on_result)
        async with running(scheduler.run):
            await asyncio.wait_for(reported.wait(), timeout=10)
            assert polls.results[0].ok is False
            assert polls.results[0].error == "timeout"
            # The loop carries on: it now sleeps until the next poll is due.
            await until_sleeping(clock)
            assert clock.sleeps == [5.0]

    async def test_poll_once_without_callback(self, clock):
        """poll_once returns the result even without on_result."""

        async def broken() -> None:
            raise RuntimeError("x")

        tier = Tier(name="t", interval=1.0, timeout=1.0, poll=broken)
        result = await PollScheduler("rig", [tier], clock=clock).poll_once(tier)
        assert result == PollResult(
            tier="t", ok=False, duration=0.0, error="RuntimeError"
        )

    async def test_cancellation_of_poll_propagates(self, clock, polls):
        """Cancelling the scheduler during a poll propagates and reports nothing."""
        started = asyncio.Event()

        async def forever() -> None:
            started.set()
            await asyncio.Event().wait()

        tier = polls.tier("t", 1.0, timeout=3600, poll=forever)
        task = asyncio.create_task(make(clock, polls, [tier]).run())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert polls.results == []


class TestIsolation:
    """One target's hung poll does not stop another target's polls."""

    async def test_hung_target_does_not_block_other(self, clock):
        """With a shared Semaphore(2), B keeps polling while A's poll hangs."""
        limit = asyncio.Semaphore(2)
        a_polls = Polls(clock)
        b_polls = Polls(clock)
        never = asyncio.Event()
        hung = a_polls.tier("a", 1.0, timeout=3600, poll=never.wait)
        scheduler_a = make(clock, a_polls, [hung], limit=limit)
        scheduler_b = make(clock, b_polls, [b_polls.tier("b", 1.0)], limit=limit)
        async with running(scheduler_a.run), running(scheduler_b.run):
            await settle(lambda: a_polls.count("a") == 1)
            await until_sleeping(clock)  # B finished its start-up poll
            for _ in range(5):
                await step(clock, 1.0, 1)
            assert b_polls.count("b") == 6
            assert all(r.ok for r in b_polls.results)
            assert a_polls.count("a") == 1
            assert a_polls.results == []

    async def test_limit_bounds_concurrency(self, clock):
        """With Semaphore(1), a second target waits while the first one polls."""
        limit = asyncio.Semaphore(1)
        gate = asyncio.Event()
        a_polls = Polls(clock)
        b_polls = Polls(clock)
        scheduler_a = make(
            clock, a_polls, [a_polls.tier("a", 1.0, poll=gate.wait)], limit=limit
        )
        scheduler_b = make(clock, b_polls, [b_polls.tier("b", 1.0)], limit=limit)
        async with running(scheduler_a.run), running(scheduler_b.run):
            await settle(lambda: a_polls.count("a") == 1)
            await asyncio.sleep(0)
            assert b_polls.count("b") == 0
            gate.set()
            await settle(lambda: b_polls.count("b") == 1)


class TestOverrun:
    """A poll that overruns skips the missed ticks and keeps the phase."""

    async def test_overrun_skips_ticks_and_keeps_phase(self, clock, polls):
        """A 25 s poll on a 10 s tier skips two ticks; the next starts at t=40."""
        calls = 0

        async def slow_second() -> None:
            nonlocal calls
            calls += 1
            if calls == 2:
                clock.advance(25.0)  # the poll took 25 s of fake time

        tier = polls.tier("t", 10.0, timeout=60.0, poll=slow_second)
        async with running(make(clock, polls, [tier]).run):
            await until_sleeping(clock)
            await step(clock, 10.0, 1)  # poll 2 at t=10, ends at t=35
            assert clock.sleeps[-1] == pytest.approx(5.0)
            await step(clock, 5.0, 1)
            await step(clock, 10.0, 1)
        assert polls.times("t") == [0.0, 10.0, 40.0, 50.0]
        assert polls.results[1].duration == pytest.approx(25.0)

    async def test_poll_ending_exactly_at_next_tick_runs_at_once(self, clock, polls):
        """A poll lasting exactly one interval is followed by the next without sleep."""
        calls = 0

        async def exact() -> None:
            nonlocal calls
            calls += 1
            if calls == 2:
                clock.advance(10.0)

        tier = polls.tier("t", 10.0, timeout=60.0, poll=exact)
        async with running(make(clock, polls, [tier]).run):
            await until_sleeping(clock)
            await step(clock, 10.0, 1)
        assert polls.times("t") == [0.0, 10.0, 20.0]
        assert clock.sleeps == [10.0, 10.0]
