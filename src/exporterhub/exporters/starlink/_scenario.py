"""Scenario timelines: which degradation events are active at a scenario time (§3.8).

A scenario is data: the named scenarios below are event lists, a ``custom`` one
brings its own, and the config's ``events`` are added to either. The clock is
the simulation time since the scenario was (re)applied. Pure; no randomness, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

from exporterhub.exporters.starlink.scenario_settings import (
    ScenarioEvent,
    ScenarioSettings,
)

__all__ = ["BUILTIN", "Effects", "ScenarioClock"]

_E = ScenarioEvent

BUILTIN: Final[dict[str, tuple[tuple[ScenarioEvent, ...], float | None]]] = {
    "normal": ((), None),
    "custom": ((), None),
    "degraded": (
        (
            _E(event="obstruction", intensity=0.6),
            _E(event="congestion", intensity=0.5),
        ),
        None,
    ),
    "outage": (
        (
            _E(at_seconds=30, event="outage", cause="SEARCHING", duration_seconds=20),
            _E(at_seconds=100, event="outage", cause="OBSTRUCTED", duration_seconds=6),
        ),
        180.0,
    ),
    "reboot": ((_E(at_seconds=10, event="reboot"),), None),
    "rain_fade": ((_E(event="rain", duration_seconds=600),), None),
    "thermal_throttle": ((_E(event="thermal_throttle", duration_seconds=300),), None),
}
"""Named scenarios: (events, default repeat period in seconds or None)."""


@dataclass(slots=True)
class Effects:
    """What the active events do right now.

    Attributes:
        obstruction: sky fraction (0..1) the obstruction moves toward; 0 = none.
        congestion: congestion (0..1) added to the diurnal value.
        outage_cause: dish state of an active outage, or None.
        rain: a rain fade is active.
        snow: snow is falling (heater on).
        thermal_throttle: the dish throttles.
        alerts: alerts raised by ``alert`` events.
        reboot: a reboot started during this step.
        active: indexes (in ``ScenarioClock.events``) of the timed events in
            effect, so a caller can tell when one starts or ends.
    """

    obstruction: float = 0.0
    congestion: float = 0.0
    outage_cause: str | None = None
    rain: bool = False
    snow: bool = False
    thermal_throttle: bool = False
    alerts: set[str] = field(default_factory=set)
    reboot: bool = False
    active: set[int] = field(default_factory=set)


def _occurrences(at: float, period: float | None, t: float) -> int:
    """Return how many starts of an event at ``at`` lie at or before ``t``."""
    if t < at:
        return 0
    if period is None:
        return 1
    return math.floor((t - at) / period) + 1


class ScenarioClock:
    """Evaluates a scenario's timeline as simulation time passes."""

    def __init__(self, scenario: ScenarioSettings | None) -> None:
        self.settings = scenario
        settings = scenario or ScenarioSettings()
        events, repeat = BUILTIN[settings.name]
        self.events = events + settings.events
        """The timeline: the named scenario's events, then the config's."""
        self._repeat = settings.repeat_seconds or repeat
        self.time = 0.0
        self._stepped = False

    def step(self, dt: float) -> Effects:
        """Advance the scenario clock by ``dt`` seconds; return the active effects."""
        # Before the first step nothing has started, not even events at 0 s.
        before = self.time if self._stepped else -1.0
        self._stepped = True
        self.time += dt
        now = self.time % self._repeat if self._repeat else self.time
        effects = Effects()
        for index, event in enumerate(self.events):
            if event.event == "reboot":
                started = _occurrences(event.at_seconds, self._repeat, self.time)
                if started > _occurrences(event.at_seconds, self._repeat, before):
                    effects.reboot = True
                continue
            end = math.inf if event.duration_seconds is None else event.duration_seconds
            if not event.at_seconds <= now < event.at_seconds + end:
                continue
            effects.active.add(index)
            if event.event == "obstruction":
                effects.obstruction = max(effects.obstruction, event.intensity)
            elif event.event == "congestion":
                effects.congestion = min(1.0, effects.congestion + event.intensity)
            elif event.event == "outage":
                effects.outage_cause = event.cause
            elif event.event == "rain":
                effects.rain = True
            elif event.event == "snow":
                effects.snow = True
            elif event.event == "thermal_throttle":
                effects.thermal_throttle = True
            elif event.alert is not None:
                effects.alerts.add(event.alert)
        return effects
