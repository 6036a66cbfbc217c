"""Tests for the rolling mean and peak window behind the guiding statistics."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from exporterhub.exporters.phd2.rms import RollingMeanSquare
from exporterhub.exporters.phd2.window import RollingWindow, population_stddev


class TestRollingWindow:
    def test_empty_window_has_no_values(self):
        """An empty window has no mean and no peak (None, never 0)."""
        window = RollingWindow(3)
        assert window.count == 0
        assert window.mean() is None
        assert window.peak() is None

    def test_size_must_be_positive(self):
        """A window of no values is refused."""
        with pytest.raises(ValueError, match="at least 1"):
            RollingWindow(0)

    def test_peak_is_largest_magnitude_of_the_last_values(self):
        """The peak is the largest |x| still in the window, sign ignored."""
        window = RollingWindow(3)
        for value in (-5.0, 1.0, 2.0):
            window.push(value)
        assert window.peak() == 5.0
        window.push(0.5)  # -5 leaves the window
        assert window.peak() == 2.0
        window.push(-4.0)
        assert window.peak() == 4.0

    @pytest.mark.parametrize("size", [1, 2, 7, 50])
    def test_matches_direct_computation(self, size):
        """Mean, peak and stddev equal a direct computation over the last values."""
        rng = random.Random(size)
        values = [rng.gauss(0.2, 1.5) for _ in range(300)]
        window = RollingWindow(size)
        squares = RollingMeanSquare(size)
        for i, value in enumerate(values):
            window.push(value)
            squares.push(value)
            last = values[max(0, i + 1 - size) : i + 1]
            mean = window.mean()
            mean_square = squares.mean_square()
            assert mean is not None
            assert mean_square is not None
            assert mean == pytest.approx(statistics.fmean(last), abs=1e-12)
            assert window.peak() == max(abs(v) for v in last)
            assert population_stddev(mean_square, mean) == pytest.approx(
                statistics.pstdev(last), abs=1e-9
            )

    def test_extend_keeps_only_the_last_window(self):
        """Extending by more than a window equals pushing each value."""
        pushed = RollingWindow(4)
        extended = RollingWindow(4)
        values = [3.0, -9.0, 1.0, 2.0, -1.5, 0.5, 0.25]
        for value in values:
            pushed.push(value)
        extended.extend(values)
        assert extended.count == pushed.count == 4
        assert extended.mean() == pytest.approx(pushed.mean())
        assert extended.peak() == pushed.peak() == 2.0

    def test_stddev_never_negative(self):
        """Rounding that makes E[x²] a hair below E[x]² gives 0, not a math error."""
        assert population_stddev(1.0 - 1e-17, 1.0) == 0.0
        assert math.isclose(population_stddev(5.0, 1.0), 2.0)
