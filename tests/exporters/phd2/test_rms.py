"""Tests for RollingMeanSquare.extend and the RollingMeanSquares group."""

from __future__ import annotations

import math
import random

import pytest

from exporterhub.exporters.phd2.rms import RollingMeanSquare, RollingMeanSquares


class TestExtend:
    @pytest.mark.parametrize("count", [0, 1, 4, 5, 6, 40])
    def test_same_as_pushing_each(self, count):
        """Extending by a batch gives the window and mean of pushing each value."""
        rng = random.Random(count)
        earlier = [rng.gauss(0, 3) for _ in range(3)]
        values = [rng.gauss(0, 3) for _ in range(count)]
        pushed, extended = RollingMeanSquare(5), RollingMeanSquare(5)
        assert extended.size == 5
        for value in earlier:
            pushed.push(value)
            extended.push(value)
        for value in values:
            pushed.push(value)
        extended.extend(values)
        assert extended.count == pushed.count
        assert extended.mean_square() == pytest.approx(pushed.mean_square())
        for value in (0.5, -2.0, 7.0):  # later pushes replace the oldest first
            pushed.push(value)
            extended.push(value)
            assert extended.mean_square() == pytest.approx(pushed.mean_square())

    def test_full_window_sum_is_exact(self):
        """A batch that fills the window is summed afresh, with no earlier residue."""
        window = RollingMeanSquare(3)
        for _ in range(10):
            window.push(1e8)
        window.extend([1e-3, 2e-3, 3e-3, 4e-3])
        expected = math.fsum(v * v for v in (2e-3, 3e-3, 4e-3)) / 3
        assert window.mean_square() == expected


class TestRollingMeanSquares:
    def test_columns_go_to_their_windows(self):
        """Each value of a row enters its own window; all windows hold as many."""
        windows = RollingMeanSquares(2, width=3)
        assert windows.size == 2
        assert windows.count == 0
        assert windows.mean_squares() == (None, None, None)
        windows.extend([(1.0, 2.0, 3.0)])
        windows.extend([])
        windows.extend([(3.0, 0.0, 1.0), (1.0, 2.0, -1.0)])
        assert windows.count == 2
        assert windows.mean_squares() == (5.0, 2.0, 1.0)

    def test_rows_of_the_wrong_width_are_refused(self):
        """A row with more or fewer values than windows is a programming error."""
        windows = RollingMeanSquares(2, width=2)
        with pytest.raises(ValueError, match="zip"):
            windows.extend([(1.0, 2.0, 3.0)])
