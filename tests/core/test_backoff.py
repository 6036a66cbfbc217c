"""Tests of the pure backoff policy."""

from __future__ import annotations

import doctest
import math
import random

import pytest

from exporterhub.core import backoff as backoff_module
from exporterhub.core.backoff import Backoff


class TestGrowth:
    """Without jitter the delay grows geometrically up to the cap."""

    @pytest.mark.parametrize(
        ("attempt", "expected"),
        [
            pytest.param(1, 0.5, id="first-retry-is-initial"),
            pytest.param(2, 1.5, id="second-multiplies-once"),
            pytest.param(3, 4.5, id="third-multiplies-twice"),
            pytest.param(4, 10.0, id="fourth-hits-cap"),
            pytest.param(50, 10.0, id="stays-at-cap"),
        ],
    )
    def test_exact_delays(self, attempt, expected):
        """Delay is initial * multiplier ** (attempt - 1), capped at maximum."""
        policy = Backoff(initial=0.5, maximum=10.0, multiplier=3.0, jitter=0)
        assert policy.delay(attempt) == pytest.approx(expected)

    @pytest.mark.parametrize(
        "attempt",
        [
            pytest.param(0, id="zero"),
            pytest.param(-7, id="negative"),
        ],
    )
    def test_attempts_below_one_count_as_first(self, attempt):
        """An attempt number below 1 yields the initial delay."""
        policy = Backoff(initial=2.0, maximum=60.0, jitter=0)
        assert policy.delay(attempt) == 2.0

    @pytest.mark.parametrize(
        "attempt",
        [
            pytest.param(65, id="just-past-exponent-cap"),
            pytest.param(10_000, id="ten-thousand"),
            pytest.param(10**18, id="huge"),
        ],
    )
    def test_huge_attempt_numbers_stay_finite_and_capped(self, attempt):
        """A huge attempt count neither overflows nor exceeds the maximum."""
        policy = Backoff(initial=1.0, maximum=300.0, multiplier=10.0, jitter=0.5)
        delay = policy.delay(attempt, random.Random(1))
        assert math.isfinite(delay)
        assert 150.0 <= delay <= 300.0

    def test_multiplier_one_is_constant(self):
        """A multiplier of 1 keeps every delay at the initial value."""
        policy = Backoff(initial=3.0, maximum=60.0, multiplier=1.0, jitter=0)
        assert [policy.delay(n) for n in range(1, 6)] == [3.0] * 5

    def test_delay_is_a_float(self):
        """Integer settings still yield a float delay."""
        policy = Backoff(initial=1, maximum=8, multiplier=2, jitter=0)
        assert type(policy.delay(2)) is float


class TestJitter:
    """Jitter spreads delays within ±jitter of the base, never past the cap."""

    def test_bounds_over_many_seeded_draws(self):
        """Every jittered delay stays within [base*(1-j), min(max, base*(1+j))]."""
        policy = Backoff(initial=1.0, maximum=20.0, multiplier=2.0, jitter=0.25)
        rng = random.Random(20240601)
        for attempt in range(1, 9):
            base = min(20.0, 2.0 ** (attempt - 1))
            draws = [policy.delay(attempt, rng) for _ in range(500)]
            assert min(draws) >= base * 0.75
            assert max(draws) <= min(20.0, base * 1.25)
            # The draws really spread: not all equal to the base.
            assert max(draws) - min(draws) > base * 0.2

    def test_full_jitter_never_negative(self):
        """With jitter 1 the delay stays within [0, 2*base] and is never negative."""
        policy = Backoff(initial=4.0, maximum=100.0, jitter=1.0)
        rng = random.Random(3)
        draws = [policy.delay(1, rng) for _ in range(1000)]
        assert min(draws) >= 0.0
        assert max(draws) <= 8.0
        assert min(draws) < 1.0 < 7.0 < max(draws)

    def test_capped_delay_with_jitter_never_exceeds_maximum(self):
        """At the cap, positive jitter is clipped to the maximum."""
        policy = Backoff(initial=10.0, maximum=10.0, jitter=0.5)
        rng = random.Random(11)
        draws = [policy.delay(5, rng) for _ in range(500)]
        assert max(draws) == 10.0
        assert min(draws) >= 5.0

    def test_same_seed_same_delays(self):
        """Two generators with one seed give the same sequence of delays."""
        policy = Backoff(jitter=0.2)
        first = [policy.delay(n, random.Random(42)) for n in range(1, 10)]
        second = [policy.delay(n, random.Random(42)) for n in range(1, 10)]
        assert first == second

    def test_module_generator_used_without_rng(self):
        """Without an rng the module's generator still keeps the bounds."""
        policy = Backoff(initial=10.0, maximum=100.0, jitter=0.1)
        draws = {policy.delay(1) for _ in range(50)}
        assert all(9.0 <= d <= 11.0 for d in draws)
        assert len(draws) > 1


class TestValidation:
    """Nonsensical policies are refused at construction."""

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            pytest.param(
                {"initial": -1.0}, "initial <= maximum", id="negative-initial"
            ),
            pytest.param(
                {"initial": 10.0, "maximum": 5.0},
                "initial <= maximum",
                id="max-lt-init",
            ),
            pytest.param({"multiplier": 0.5}, "multiplier", id="shrinking-multiplier"),
            pytest.param({"jitter": -0.1}, "jitter", id="negative-jitter"),
            pytest.param({"jitter": 1.5}, "jitter", id="jitter-above-one"),
        ],
    )
    def test_rejects(self, kwargs, message):
        """Construction raises ValueError naming the broken constraint."""
        with pytest.raises(ValueError, match=message):
            Backoff(**kwargs)

    @pytest.mark.parametrize(
        "kwargs",
        [
            pytest.param({"initial": 0.0, "maximum": 0.0}, id="all-zero"),
            pytest.param({"jitter": 0.0}, id="no-jitter"),
            pytest.param({"jitter": 1.0}, id="full-jitter"),
            pytest.param({"multiplier": 1.0}, id="constant"),
        ],
    )
    def test_accepts_edges(self, kwargs):
        """Boundary values are valid policies."""
        policy = Backoff(**kwargs)
        assert 0.0 <= policy.delay(3, random.Random(0)) <= policy.maximum

    def test_frozen(self):
        """A policy cannot be changed after construction."""
        policy = Backoff()
        with pytest.raises(AttributeError):
            policy.initial = 5.0  # type: ignore[misc]


class TestHealthyLongEnough:
    """A connection lasting reset_after seconds or more forgets past failures."""

    @pytest.mark.parametrize(
        ("seconds", "expected"),
        [
            pytest.param(0.0, False, id="instant"),
            pytest.param(29.999, False, id="just-short"),
            pytest.param(30.0, True, id="exactly"),
            pytest.param(3600.0, True, id="long"),
        ],
    )
    def test_threshold(self, seconds, expected):
        """The answer flips exactly at reset_after."""
        assert Backoff(reset_after=30.0).healthy_long_enough(seconds) is expected


def test_doctests():
    """The module's doctests pass."""
    result = doctest.testmod(backoff_module)
    assert result.attempted >= 2
    assert result.failed == 0
