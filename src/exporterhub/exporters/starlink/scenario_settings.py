"""Scenario section of the Starlink configuration: timed degradation events.

``ScenarioEvent`` (one event on the scenario clock, of an ``EventKind``) and
``ScenarioSettings`` (a named scenario plus a custom timeline of at most
``MAX_EVENTS`` events, protocol notes §3.8).

This module only describes and validates the section; it must not play a
timeline or define the named scenarios' events (that is the engine's
``_scenario``), read files or start anything.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from exporterhub.exporters.starlink.settings_rules import FROZEN, Number
from exporterhub.exporters.starlink.telemetry import AlertName, OutageState

__all__ = [
    "MAX_EVENTS",
    "MAX_SCENARIO_SECONDS",
    "EventKind",
    "ScenarioEvent",
    "ScenarioSettings",
]

MAX_EVENTS: Final = 10_000
"""Most events a scenario timeline may list."""
MAX_SCENARIO_SECONDS: Final = 365 * 86_400.0
"""Longest time on the scenario clock a setting may name: a year, in seconds."""

EventKind = Literal[
    "obstruction", "outage", "reboot", "rain", "snow", "thermal_throttle",
    "congestion", "alert",
]  # fmt: skip


class ScenarioEvent(BaseModel):
    """One timed event on the scenario clock (seconds since the scenario began).

    Attributes:
        at_seconds: start, seconds on the scenario clock, 0..``MAX_SCENARIO_SECONDS``.
        event: what happens (see ``EventKind``).
        duration_seconds: how long, seconds, 0.1..``MAX_SCENARIO_SECONDS``;
            ``None`` = until the scenario changes.
            Ignored by ``reboot`` (its phases have their own durations).
        intensity: ``obstruction``: sky fraction obstructed (0..1) to move to;
            ``congestion``: congestion added (0..1).
        cause: ``outage`` only: the dish state shown (any but CONNECTED).
        alert: ``alert`` only, and required there: which alert to raise.
    """

    model_config = FROZEN

    at_seconds: Number = Field(default=0.0, ge=0.0, le=MAX_SCENARIO_SECONDS)
    event: EventKind
    duration_seconds: Number | None = Field(
        default=None, ge=0.1, le=MAX_SCENARIO_SECONDS
    )
    intensity: Number = Field(default=1.0, ge=0.0, le=1.0)
    cause: OutageState = "SEARCHING"
    alert: AlertName | None = Field(default=None, validate_default=True)

    @field_validator("alert")
    @classmethod
    def _alert(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("event") == "alert":
            raise ValueError("an alert event needs the alert to raise")
        return value


class ScenarioSettings(BaseModel):
    """A named degradation scenario or a custom event timeline (notes §3.8).

    Attributes:
        name: ``normal`` (no events), ``degraded`` (heavy obstruction and
            congestion), ``outage`` (short SEARCHING/OBSTRUCTED outages),
            ``reboot``, ``rain_fade``, ``thermal_throttle`` or ``custom``.
        events: the timeline (at most ``MAX_EVENTS``); added to the named
            scenario's own events.
        repeat_seconds: replay the timeline with this period, seconds,
            1..``MAX_SCENARIO_SECONDS``.
    """

    model_config = FROZEN

    name: Literal[
        "normal", "degraded", "outage", "reboot", "rain_fade", "thermal_throttle",
        "custom",
    ] = "normal"  # fmt: skip
    events: tuple[ScenarioEvent, ...] = Field(default=(), max_length=MAX_EVENTS)
    repeat_seconds: Number | None = Field(default=None, ge=1.0, le=MAX_SCENARIO_SECONDS)
