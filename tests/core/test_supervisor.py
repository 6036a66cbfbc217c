"""Tests of the reconnecting stream supervisor, driven by a fake clock."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest
from structlog.testing import capture_logs

from exporterhub.core.backoff import Backoff
from exporterhub.core.errors import (
    AuthError,
    ConfigError,
    ConnectionLostError,
    ProtocolError,
)
from exporterhub.core.snapshot import LinkState
from exporterhub.core.supervisor import StreamSupervisor

from .helpers import running, settle, until_sleeping

Step = Callable[[Callable[[], None]], Awaitable[None]]

EXACT = Backoff(initial=1.0, maximum=8.0, multiplier=2.0, jitter=0.0, reset_after=30.0)


async def eof(connected: Callable[[], None]) -> None:
    """Connect, then the peer closes the stream at once."""
    connected()


def fail(exc: BaseException, *, connect_first: bool = False) -> Step:
    """Return a step that raises ``exc`` (after connecting, if asked)."""

    async def step(connected: Callable[[], None]) -> None:
        if connect_first:
            connected()
        raise exc

    return step


def stay(clock, seconds: float) -> Step:
    """Return a step that stays connected for ``seconds`` of fake time, then EOF."""

    async def step(connected: Callable[[], None]) -> None:
        connected()
        await clock.sleep(seconds)

    return step


async def hang(connected: Callable[[], None]) -> None:
    """Connect and read forever."""
    connected()
    await asyncio.Event().wait()


class Script:
    """A session peer: each session runs the next step; the last step repeats."""

    def __init__(self, *steps: Step) -> None:
        self.steps = steps
        self.runs = 0

    async def __call__(self, connected: Callable[[], None]) -> None:
        step = self.steps[min(self.runs, len(self.steps) - 1)]
        self.runs += 1
        await step(connected)


class Recorder:
    """Collects ``on_link`` callbacks."""

    def __init__(self) -> None:
        self.calls: list[tuple[LinkState, str | None]] = []

    def __call__(self, state: LinkState, error: str | None) -> None:
        self.calls.append((state, error))


@pytest.fixture
def links() -> Recorder:
    return Recorder()


def make(clock, links, *steps: Step, backoff: Backoff = EXACT, **kwargs):
    return StreamSupervisor(
        "rig", Script(*steps), backoff=backoff, clock=clock, on_link=links, **kwargs
    )


async def next_backoff(clock) -> float:
    """Wait until the supervisor sleeps between sessions; return that delay."""
    await until_sleeping(clock)
    return clock.sleeps[-1]


class TestLinkStates:
    """The supervisor walks CONNECTING → CONNECTED → DISCONNECTED on EOF."""

    async def test_eof_session_states(self, clock, links):
        """One EOF session reports connecting, connected, then disconnected 'eof'."""
        supervisor = make(clock, links, eof)
        assert supervisor.state is LinkState.DISCONNECTED
        async with running(supervisor.run):
            assert await next_backoff(clock) == 1.0
            assert links.calls == [
                (LinkState.CONNECTING, None),
                (LinkState.CONNECTED, None),
                (LinkState.DISCONNECTED, "eof"),
            ]
            assert supervisor.state is LinkState.DISCONNECTED
            assert supervisor.sessions == 1
            assert supervisor.attempts == 1

    async def test_connecting_while_session_opens(self, clock, links):
        """Before the session calls connected(), the state is CONNECTING."""
        opened = asyncio.Event()

        async def slow_open(connected: Callable[[], None]) -> None:
            opened.set()
            await asyncio.Event().wait()

        supervisor = make(clock, links, slow_open)
        async with running(supervisor.run):
            await opened.wait()
            assert supervisor.state is LinkState.CONNECTING
            assert links.calls == [(LinkState.CONNECTING, None)]

    async def test_connected_while_session_reads(self, clock, links):
        """While the session reads, the state stays CONNECTED and nothing sleeps."""
        supervisor = make(clock, links, hang)
        async with running(supervisor.run):
            await settle(lambda: supervisor.state is LinkState.CONNECTED)
            assert clock.sleeping == 0
            assert clock.sleeps == []

    async def test_repeated_connected_logs_once(self, clock, links):
        """Calling connected() twice reports and logs the connection once."""

        async def twice(connected: Callable[[], None]) -> None:
            connected()
            connected()

        supervisor = make(clock, links, twice)
        with capture_logs() as logs:
            async with running(supervisor.run):
                await next_backoff(clock)
        assert [c[0] for c in links.calls].count(LinkState.CONNECTED) == 1
        assert supervisor.connections == 1
        assert [e["event"] for e in logs].count("stream_connected") == 1
        assert [e["event"] for e in logs].count("stream_lost") == 1

    async def test_without_callback(self, clock):
        """A supervisor without on_link still runs and tracks its state."""
        supervisor = StreamSupervisor("rig", Script(eof), backoff=EXACT, clock=clock)
        async with running(supervisor.run):
            assert await next_backoff(clock) == 1.0
            assert supervisor.state is LinkState.DISCONNECTED


class TestBackoffSleeps:
    """Between sessions the supervisor sleeps the backoff policy's delays."""

    async def test_delays_grow_to_the_cap(self, clock, links):
        """Consecutive EOFs sleep 1, 2, 4, 8, 8 seconds (jitter 0)."""
        supervisor = make(clock, links, eof)
        async with running(supervisor.run):
            for expected in (1.0, 2.0, 4.0, 8.0, 8.0):
                delay = await next_backoff(clock)
                assert delay == expected
                clock.advance(delay)
            await until_sleeping(clock)
            assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
            assert supervisor.sessions == 6
            assert supervisor.attempts == 6

    async def test_next_session_waits_for_the_delay(self, clock, links):
        """No new session starts before the backoff delay has fully elapsed."""
        script = Script(eof)
        supervisor = StreamSupervisor(
            "rig", script, backoff=EXACT, clock=clock, on_link=links
        )
        async with running(supervisor.run):
            await next_backoff(clock)
            await next_backoff(clock)  # still the same sleep
            assert script.runs == 1
            clock.advance(0.999)
            await asyncio.sleep(0)
            assert script.runs == 1
            clock.advance(0.001)
            await settle(lambda: script.runs == 2)

    @pytest.mark.parametrize(
        ("healthy_for", "expected_delay"),
        [
            pytest.param(30.0, 1.0, id="reset-at-reset_after"),
            pytest.param(100.0, 1.0, id="reset-after-long-period"),
            pytest.param(29.0, 8.0, id="no-reset-when-short"),
        ],
    )
    async def test_attempts_reset_after_healthy_period(
        self, clock, links, healthy_for, expected_delay
    ):
        """A connection lasting reset_after seconds restarts the delays at initial."""
        supervisor = make(clock, links, eof, eof, eof, stay(clock, healthy_for), eof)
        async with running(supervisor.run):
            for expected in (1.0, 2.0, 4.0):
                delay = await next_backoff(clock)
                assert delay == expected
                clock.advance(delay)
            # Session 4 is connected and reading for ``healthy_for`` seconds.
            assert await next_backoff(clock) == healthy_for
            assert supervisor.state is LinkState.CONNECTED
            clock.advance(healthy_for)
            await settle(lambda: len(clock.sleeps) == 5)
            assert clock.sleeps[-1] == expected_delay
            assert supervisor.attempts == (1 if expected_delay == 1.0 else 4)

    async def test_after_reset_delays_grow_again(self, clock, links):
        """After a reset the next failures grow from initial again."""
        supervisor = make(clock, links, eof, stay(clock, 30.0), eof)
        async with running(supervisor.run):
            clock.advance(await next_backoff(clock))  # 1 s after session 1
            clock.advance(await next_backoff(clock))  # session 2 healthy 30 s
            for expected in (1.0, 2.0, 4.0):
                delay = await next_backoff(clock)
                assert delay == expected
                clock.advance(delay)

    async def test_jitter_uses_injected_rng(self, clock, links):
        """Jittered delays are exactly those the policy draws from the given rng."""
        policy = Backoff(initial=1.0, maximum=60.0, jitter=0.5)
        supervisor = make(clock, links, eof, backoff=policy, rng=random.Random(7))
        async with running(supervisor.run):
            for _ in range(5):
                clock.advance(await next_backoff(clock))
            await until_sleeping(clock)
        reference = random.Random(7)
        expected = [policy.delay(n, reference) for n in range(1, 7)]
        assert clock.sleeps == expected
        assert len(set(expected)) == 6


class TestFailures:
    """Every kind of session failure is survived and classified."""

    @pytest.mark.parametrize(
        "exc",
        [
            pytest.param(AuthError("bad password"), id="auth"),
            pytest.param(ConfigError("bad setting"), id="config"),
        ],
    )
    async def test_non_retryable_waits_maximum(self, clock, links, exc):
        """A non-retryable ExporterError sets ERROR and waits backoff.maximum."""
        supervisor = make(clock, links, fail(exc))
        async with running(supervisor.run):
            assert await next_backoff(clock) == EXACT.maximum
            assert supervisor.state is LinkState.ERROR
            assert links.calls[-1] == (LinkState.ERROR, type(exc).__name__)
            clock.advance(EXACT.maximum)
            assert await next_backoff(clock) == EXACT.maximum
            assert supervisor.sessions == 2

    @pytest.mark.parametrize(
        ("exc", "state"),
        [
            pytest.param(
                ConnectionLostError("gone", "eof"),
                LinkState.DISCONNECTED,
                id="connection-lost-disconnects",
            ),
            pytest.param(
                ProtocolError("garbage"), LinkState.ERROR, id="protocol-error"
            ),
        ],
    )
    async def test_retryable_exporter_error_backs_off(self, clock, links, exc, state):
        """A lost connection means DISCONNECTED, a protocol error ERROR; both retry."""
        supervisor = make(clock, links, fail(exc, connect_first=True))
        async with running(supervisor.run):
            assert await next_backoff(clock) == 1.0
            assert supervisor.state is state
            reason = getattr(exc, "reason", type(exc).__name__)
            assert links.calls[-1] == (state, reason)
            clock.advance(1.0)
            assert await next_backoff(clock) == 2.0

    @pytest.mark.parametrize(
        "exc",
        [
            pytest.param(ConnectionRefusedError(111, "refused"), id="refused"),
            pytest.param(ConnectionResetError(104, "reset"), id="reset"),
            pytest.param(OSError(113, "no route"), id="oserror"),
            pytest.param(TimeoutError(), id="timeout"),
        ],
    )
    async def test_os_errors_disconnect(self, clock, links, exc):
        """OSError and TimeoutError mean DISCONNECTED, with a short reason."""
        supervisor = make(clock, links, fail(exc))
        async with running(supervisor.run):
            assert await next_backoff(clock) == 1.0
            assert supervisor.state is LinkState.DISCONNECTED
            assert links.calls == [
                (LinkState.CONNECTING, None),
                (
                    LinkState.DISCONNECTED,
                    "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__,
                ),
            ]

    async def test_generic_exception_is_survived(self, clock, links):
        """A bug in a session sets ERROR, is logged, and the next session runs."""
        supervisor = make(clock, links, fail(KeyError("oops")), eof)
        with capture_logs() as logs:
            async with running(supervisor.run):
                assert await next_backoff(clock) == 1.0
                assert supervisor.state is LinkState.ERROR
                assert links.calls[-1] == (LinkState.ERROR, "KeyError")
                clock.advance(1.0)
                assert await next_backoff(clock) == 2.0
                assert links.calls[-3:] == [
                    (LinkState.CONNECTING, None),
                    (LinkState.CONNECTED, None),
                    (LinkState.DISCONNECTED, "eof"),
                ]
        crashed = [e for e in logs if e["event"] == "session_crashed"]
        assert len(crashed) == 1
        assert crashed[0]["target"] == "rig"
        assert crashed[0]["log_level"] == "error"

    async def test_callback_sees_same_state_again(self, clock, links):
        """Two ERROR sessions in a row each report ERROR (with CONNECTING between)."""
        supervisor = make(clock, links, fail(RuntimeError("x")))
        async with running(supervisor.run):
            clock.advance(await next_backoff(clock))
            await next_backoff(clock)
        assert [c for c in links.calls if c[0] is LinkState.ERROR] == [
            (LinkState.ERROR, "RuntimeError"),
            (LinkState.ERROR, "RuntimeError"),
        ]


class TestCancellation:
    """Cancellation always propagates out of run()."""

    async def test_cancel_during_session(self, clock, links):
        """Cancelling while a session reads ends run() with CancelledError."""
        supervisor = make(clock, links, hang)
        task = asyncio.create_task(supervisor.run())
        await settle(lambda: supervisor.state is LinkState.CONNECTED)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
        assert clock.sleeps == []

    async def test_cancel_during_backoff(self, clock, links):
        """Cancelling during the backoff sleep ends run() with CancelledError."""
        supervisor = make(clock, links, eof)
        task = asyncio.create_task(supervisor.run())
        await next_backoff(clock)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
        assert supervisor.sessions == 1

    async def test_session_raising_cancelled_is_not_swallowed(self, clock, links):
        """A CancelledError raised by the session itself escapes run()."""
        supervisor = make(clock, links, fail(asyncio.CancelledError()))
        task = asyncio.create_task(supervisor.run())
        with pytest.raises(asyncio.CancelledError):
            await task
        assert supervisor.sessions == 1
        assert clock.sleeps == []
