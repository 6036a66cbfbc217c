"""The simulated dish itself: uptime, reboot phases, power, GPS and boresight.

Part of the simulation engine (protocol notes §3.7): ``DishModel.step`` advances
by the elapsed seconds it is given, with the injected ``random.Random``. Pure: no
clock, no I/O, no logging (the engine logs the transitions it sees).
"""

from __future__ import annotations

import math
import random

from exporterhub.exporters.starlink._network import ou_step
from exporterhub.exporters.starlink._scenario import Effects

__all__ = ["DishModel"]


class DishModel:
    """Uptime, reboot phases, power, GPS and boresight of the simulated dish."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.uptime = rng.uniform(1.0, 14.0) * 86_400.0
        self.boot_phase: str | None = None
        self._phase_left = 0.0
        self._power = rng.uniform(55.0, 70.0)
        self.power = self._power
        self.satellites = rng.randint(10, 14)
        self._azimuth = rng.uniform(0.0, 360.0)
        self._az_offset = 0.0
        self.elevation = rng.uniform(65.0, 85.0)

    @property
    def azimuth(self) -> float:
        """Return the boresight azimuth, degrees true in [0, 360)."""
        return (self._azimuth + self._az_offset) % 360.0

    def step(self, dt: float, effects: Effects, heating: bool) -> None:
        """Advance ``dt`` s; a reboot resets uptime and runs BOOTING → SEARCHING."""
        if effects.reboot:
            self.uptime = 0.0
            self.boot_phase = "BOOTING"
            self._phase_left = self._rng.uniform(60.0, 120.0)
        else:
            self.uptime += dt
            self._phase_left -= dt
            while self.boot_phase is not None and self._phase_left <= 0.0:
                if self.boot_phase == "BOOTING":
                    self.boot_phase = "SEARCHING"
                    self._phase_left += self._rng.uniform(10.0, 60.0)
                else:
                    self.boot_phase = None
        self._power = min(
            75.0, max(50.0, ou_step(self._power, 62.0, 3.0, 60.0, dt, self._rng))
        )
        power = self._power
        if self.boot_phase == "BOOTING":
            power = 35.0
        if effects.thermal_throttle:
            power -= 8.0
        if heating:
            power += 15.0
        self.power = power
        if self._rng.random() < 1.0 - math.exp(-dt / 30.0):
            self.satellites = min(
                16, max(8, self.satellites + self._rng.choice((-1, 1)))
            )
        self._az_offset = max(
            -2.0, min(2.0, ou_step(self._az_offset, 0.0, 0.7, 120.0, dt, self._rng))
        )
        self.elevation = min(
            90.0, max(60.0, ou_step(self.elevation, 75.0, 5.0, 300.0, dt, self._rng))
        )
