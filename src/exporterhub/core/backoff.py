"""Capped exponential backoff with jitter. A pure policy: no I/O, no sleeping.

The caller counts attempts and asks for the delay before the next one; the policy also
says when a healthy period is long enough to forget past failures.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Delay policy for reconnects and retries.

    Attributes:
        initial: delay before the first retry, seconds.
        maximum: cap on any delay, seconds.
        multiplier: growth factor per failed attempt.
        jitter: fraction of the delay randomised (0.2 = ±20 %), so that many
            targets that failed together do not retry together.
        reset_after: seconds of healthy operation after which the attempt count
            restarts.
    """

    initial: float = 1.0
    maximum: float = 60.0
    multiplier: float = 2.0
    jitter: float = 0.2
    reset_after: float = 30.0

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < self.initial:
            raise ValueError("backoff needs 0 <= initial <= maximum")
        if self.multiplier < 1:
            raise ValueError("backoff multiplier must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("backoff jitter must be within [0, 1]")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Return the delay in seconds before retry number ``attempt`` (1-based).

        Args:
            attempt: how many attempts have failed in a row, at least 1.
            rng: random source for the jitter; the module's generator when omitted.

        Returns:
            A delay within ``[0, maximum]``.

        >>> Backoff(initial=1, maximum=8, jitter=0).delay(3)
        4.0
        >>> Backoff(initial=1, maximum=8, jitter=0).delay(10)
        8.0
        """
        exponent = max(attempt, 1) - 1
        # Cap the exponent so that huge attempt counts cannot overflow a float.
        base = min(self.maximum, self.initial * self.multiplier ** min(exponent, 64))
        if self.jitter == 0:
            return float(base)
        spread = base * self.jitter
        source = rng if rng is not None else random
        return float(
            min(self.maximum, max(0.0, base + source.uniform(-spread, spread)))
        )

    def healthy_long_enough(self, healthy_seconds: float) -> bool:
        """Say whether a connection that lasted this long resets the attempt count."""
        return healthy_seconds >= self.reset_after
