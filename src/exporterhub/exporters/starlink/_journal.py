"""Logs the simulation's transitions: scenarios, their events, the dish state.

Called by the engine (``engine.py``) as it steps; each function logs what
changed between two moments it is given, nothing else. No clock, no I/O but
the log; it changes no simulation state.
"""

from __future__ import annotations

import structlog

from exporterhub.exporters.starlink._scenario import Effects, ScenarioClock
from exporterhub.exporters.starlink.scenario_settings import ScenarioSettings

__all__ = ["log_events", "log_state", "start_scenario"]

_log = structlog.get_logger(__name__)


def start_scenario(
    old: ScenarioSettings | None, new: ScenarioSettings | None
) -> ScenarioClock:
    """Return the clock of ``new``; log the end of ``old`` and the start of ``new``."""
    if old is not None:
        _log.info("simulation_scenario_ended", scenario=old.name)
    if new is not None:
        _log.info(
            "simulation_scenario_started",
            scenario=new.name,
            events=len(new.events),
            repeat_seconds=new.repeat_seconds,
        )
    return ScenarioClock(new)


def log_events(scenario: ScenarioClock, before: Effects, after: Effects) -> None:
    """Log the scenario events that started or ended between two steps, a reboot."""
    events = scenario.events
    now = round(scenario.time, 3)
    for index in sorted(after.active - before.active):
        event = events[index]
        _log.info(
            "simulation_event_started",
            event_name=event.event,
            at_seconds=event.at_seconds,
            duration_seconds=event.duration_seconds,
            scenario_time=now,
        )
    for index in sorted(before.active - after.active):
        _log.info(
            "simulation_event_ended",
            event_name=events[index].event,
            at_seconds=events[index].at_seconds,
            scenario_time=now,
        )
    if after.reboot:
        _log.info("simulation_reboot", scenario_time=now)


def log_state(previous: str | None, state: str | None) -> None:
    """Log a change of the dish state; WARNING when the link leaves CONNECTED."""
    if previous is None:  # the first step: nothing changed yet
        return
    if previous == "CONNECTED":
        _log.warning("simulation_state_changed", previous=previous, state=state)
    else:
        _log.info("simulation_state_changed", previous=previous, state=state)
