"""Folds simulation steps and dish polls into an immutable ``StarlinkSnapshot``.

Pure: the caller passes each ``Telemetry`` sample, each failure and each loop
duration; nothing here reads a clock or touches the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from exporterhub.exporters.starlink.telemetry import Telemetry

__all__ = ["ERROR_KINDS", "StarlinkSnapshot", "StarlinkState"]

ERROR_KINDS: Final = ("step", "unreachable", "timeout", "no_reflection", "error")
"""Values of ``starlink_exporter_poll_errors_total{error}``: a failed simulation step
or a failed dish poll, by short reason."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StarlinkSnapshot:
    """What a scrape may say: the latest sample plus the exporter's own counts."""

    telemetry: Telemetry | None
    mode: str
    errors: tuple[tuple[str, int], ...]
    loop_seconds: float | None
    legacy: bool = False
    """Serve the original backend's metric names too (``legacy_metrics``)."""


class StarlinkState:
    """The latest sample, error counts (monotonic) and the last loop's duration."""

    def __init__(self, mode: str, *, legacy: bool = False) -> None:
        self.mode = mode
        self.legacy = legacy
        self._telemetry: Telemetry | None = None
        self._errors = dict.fromkeys(ERROR_KINDS, 0)
        self._loop_seconds: float | None = None

    @property
    def telemetry(self) -> Telemetry | None:
        """Return the latest sample, if any."""
        return self._telemetry

    def apply(self, telemetry: Telemetry, loop_seconds: float) -> None:
        """Take a new sample and the time the step or poll took."""
        self._telemetry = telemetry
        self._loop_seconds = loop_seconds

    def failed(self, kind: str) -> None:
        """Count one failed step or poll; unknown kinds count as ``error``."""
        key = kind if kind in self._errors else "error"
        self._errors[key] += 1

    def set_mode(self, mode: str) -> None:
        """Switch mode; the previous mode's sample is dropped (it is not current)."""
        if mode != self.mode:
            self.mode = mode
            self._telemetry = None

    def snapshot(self) -> StarlinkSnapshot:
        """Return the frozen view of the current state."""
        return StarlinkSnapshot(
            telemetry=self._telemetry,
            mode=self.mode,
            errors=tuple(self._errors.items()),
            loop_seconds=self._loop_seconds,
            legacy=self.legacy,
        )
