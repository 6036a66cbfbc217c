"""A rolling mean and peak magnitude over a fixed window, O(1) amortised per value.

``RollingWindow`` keeps the sum and the largest ``|x|`` of the last ``size`` values:
with a ``rms.RollingMeanSquare`` of the same values it gives the population
standard deviation and the peak that PHD2's graph window and NINA show. Pure
arithmetic; it knows nothing of PHD2, does no I/O and reads no clock.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Final

__all__ = ["RollingWindow", "population_stddev"]

_ROUNDING: Final = 1e-12
"""Relative variance below which E[x²] - E[x]² is float rounding, not spread."""


class RollingWindow:
    """Mean and peak ``|x|`` of the last ``size`` values.

    The sum is a running one, recomputed exactly (``math.fsum``) every ``size``
    values so float error cannot build up; the peak comes from a monotonic queue
    (each value enters and leaves it once).

    Args:
        size: window length in values, at least 1.

    >>> window = RollingWindow(2)
    >>> window.extend([-5.0, 1.0, 3.0])
    >>> window.count, window.mean(), window.peak()
    (2, 2.0, 3.0)
    """

    __slots__ = ("_index", "_peaks", "_pushes", "_size", "_sum", "_values")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("window size must be at least 1")
        self._size = size
        self._values: deque[float] = deque(maxlen=size)
        self._peaks: deque[tuple[int, float]] = deque()
        self._sum = 0.0
        self._index = 0
        self._pushes = 0

    @property
    def count(self) -> int:
        """Return how many values the window holds (at most ``size``)."""
        return len(self._values)

    def push(self, value: float) -> None:
        """Add a value, dropping the oldest once the window is full."""
        values = self._values
        if len(values) == self._size:
            self._sum -= values[0]
        values.append(value)
        self._sum += value
        self._index += 1
        magnitude = abs(value)
        peaks = self._peaks
        while peaks and peaks[-1][1] <= magnitude:
            peaks.pop()
        peaks.append((self._index, magnitude))
        if peaks[0][0] <= self._index - self._size:
            peaks.popleft()
        self._pushes += 1
        if self._pushes >= self._size:
            self._sum = math.fsum(values)
            self._pushes = 0

    def extend(self, values: Sequence[float]) -> None:
        """Push ``values`` in order; only the last ``size`` of them matter."""
        for value in values[-self._size :]:
            self.push(value)

    def mean(self) -> float | None:
        """Return the mean of the window, None while it is empty."""
        if not self._values:
            return None
        return self._sum / len(self._values)

    def peak(self) -> float | None:
        """Return the largest ``|x|`` in the window, None while it is empty."""
        if not self._peaks:
            return None
        return self._peaks[0][1]


def population_stddev(mean_square: float, mean: float) -> float:
    """Return the standard deviation from E[x²] and E[x].

    A variance within float rounding of zero (under 1e-12 of E[x²]: a steady
    offset) reads as exactly 0, never as rounding noise or a negative square.

    >>> population_stddev(5.0, 1.0)
    2.0
    >>> population_stddev(0.09, 0.3)
    0.0
    """
    variance = mean_square - mean * mean
    if variance <= mean_square * _ROUNDING:
        return 0.0
    return math.sqrt(variance)
