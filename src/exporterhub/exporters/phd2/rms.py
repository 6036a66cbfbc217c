"""A rolling mean of squares over a fixed window, O(1) per value. Pure arithmetic.

``RollingMeanSquare`` is one window; ``RollingMeanSquares`` feeds several windows of
one size together (the four guiding distances of a step). ``extend`` takes a batch
in time proportional to the window, not the batch. Used for the PHD2 guiding RMS;
it knows nothing of PHD2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

__all__ = ["RollingMeanSquare", "RollingMeanSquares"]

_CANCELLATION: Final = 1e-3
"""Resync a running sum at once when it falls below this share of its recent peak."""


class RollingMeanSquare:
    """Mean of the squares of the last ``size`` values, O(1) per value.

    A running sum of squares over a ring buffer. Float error is cancelled by an exact
    ``math.fsum`` of the buffer every ``size`` values, and at once when the sum falls
    below a thousandth of its peak since the last resync (a large value leaving the
    window would otherwise leave its rounding error behind).

    Args:
        size: window length in values, at least 1.

    >>> window = RollingMeanSquare(2)
    >>> for value in (3.0, 1.0, -1.0):
    ...     window.push(value)
    >>> window.count, window.mean_square()
    (2, 1.0)
    """

    __slots__ = ("_index", "_peak", "_pushes", "_size", "_squares", "_sum", "count")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("window size must be at least 1")
        self._size = size
        self._squares = [0.0] * size
        self._index = 0
        self._sum = 0.0
        self._peak = 0.0
        self._pushes = 0
        self.count = 0
        """Values in the window (at most ``size``)."""

    @property
    def size(self) -> int:
        """Return the window length."""
        return self._size

    def push(self, value: float) -> None:
        """Add a value, dropping the oldest once the window is full."""
        square = value * value
        index = self._index
        total = self._sum + square - self._squares[index]
        self._squares[index] = square
        index += 1
        self._index = 0 if index == self._size else index
        if self.count < self._size:
            self.count += 1
        self._pushes += 1
        if self._pushes >= self._size or total < self._peak * _CANCELLATION:
            total = math.fsum(self._squares)
            self._pushes = 0
            self._peak = total
        elif total > self._peak:
            self._peak = total
        self._sum = total

    def extend(self, values: Sequence[float]) -> None:
        """Push ``values`` in order, in O(min(len(values), size)).

        When they fill the window by themselves, the older ones are skipped and the
        sum is taken afresh with ``math.fsum`` (exact, so no float error carries
        over); otherwise each is pushed.

        >>> window = RollingMeanSquare(2)
        >>> window.extend([5.0, 3.0, 1.0])
        >>> window.count, window.mean_square()
        (2, 5.0)
        """
        size = self._size
        if len(values) < size:
            for value in values:
                self.push(value)
            return
        # Oldest first from slot 0, so the next push overwrites the oldest.
        self._squares = [value * value for value in values[-size:]]
        self._index = 0
        self.count = size
        self._pushes = 0
        self._sum = self._peak = math.fsum(self._squares)

    def mean_square(self) -> float | None:
        """Return Σx²/n over the window, or None while it is empty."""
        if not self.count:
            return None
        return max(self._sum, 0.0) / self.count


class RollingMeanSquares:
    """Several ``RollingMeanSquare`` windows of one size, fed rows of one value each.

    Args:
        size: window length in values, at least 1.
        width: values per row, one window each.

    >>> windows = RollingMeanSquares(2, width=2)
    >>> windows.extend([(3.0, 1.0), (1.0, 2.0), (-1.0, 0.0)])
    >>> windows.count, windows.mean_squares()
    (2, (1.0, 2.0))
    """

    __slots__ = ("_size", "_windows")

    def __init__(self, size: int, width: int) -> None:
        self._windows = tuple(RollingMeanSquare(size) for _ in range(width))
        self._size = size

    @property
    def size(self) -> int:
        """Return the window length."""
        return self._size

    @property
    def count(self) -> int:
        """Return how many rows the windows hold (at most ``size``)."""
        return self._windows[0].count

    def extend(self, rows: Sequence[Sequence[float]]) -> None:
        """Push ``rows`` in order (``RollingMeanSquare.extend`` per column)."""
        if not rows:
            return
        columns = zip(*rows, strict=True)
        for window, column in zip(self._windows, columns, strict=True):
            window.extend(column)

    def mean_squares(self) -> tuple[float | None, ...]:
        """Return each window's Σx²/n, None while the windows are empty."""
        return tuple(window.mean_square() for window in self._windows)
