"""Configuration model of the Starlink exporter (protocol notes §4).

Every section is a frozen pydantic model that rejects unknown keys. Cross-field
rules (``min <= typical <= max``, ``spike_max >= max``, two waypoints for the
``waypoints`` pattern) are field validators on the *later* field, so each error's
location is the dotted key a user has to fix (``network.latency_typical_ms``).
The same model backs ``config.yaml`` and ``/api/config``: ``model_dump(mode="json")``
is exactly what an update accepts.

This module holds the whole model (``StarlinkConfig``), the ``live`` section,
loading the config file and the ``/api/config`` helpers (``merge_update``,
``changed_keys``); errors are reported through the core's
``validation_problems``. The other sections live in sibling modules
and are re-exported here, so ``settings`` stays the one import for callers:

- ``route_settings``: ``Waypoint``, ``RouteSettings``, ``MAX_WAYPOINTS``,
  ``MAX_LEG_DEGREES``.
- ``link_settings``: ``NetworkSettings``, ``ObstructionSettings``,
  ``WeatherSettings``.
- ``scenario_settings``: ``ScenarioEvent``, ``ScenarioSettings``, ``EventKind``,
  ``MAX_EVENTS``, ``MAX_SCENARIO_SECONDS``.
- ``settings_rules``: the shared model config and ordering rule.

The original backend's spellings (``route.pattern: circular``,
``latitude_start``, ``radius_km``, the ``position`` section …) are translated
first, by ``legacy.translate``, in the file and in an update; loading a file
logs each translated or ignored key once (``starlink_config_legacy_key``).

This module reads the config file and nothing else; it starts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import structlog
from pydantic import BaseModel, Field, field_validator

from exporterhub.core.address import HostPort
from exporterhub.core.config import read_yaml, validate_model
from exporterhub.exporters.starlink.legacy import translate
from exporterhub.exporters.starlink.link_settings import (
    NetworkSettings,
    ObstructionSettings,
    WeatherSettings,
)
from exporterhub.exporters.starlink.route_settings import (
    MAX_LEG_DEGREES,
    MAX_WAYPOINTS,
    RouteSettings,
    Waypoint,
)
from exporterhub.exporters.starlink.scenario_settings import (
    MAX_EVENTS,
    MAX_SCENARIO_SECONDS,
    EventKind,
    ScenarioEvent,
    ScenarioSettings,
)
from exporterhub.exporters.starlink.settings_rules import (
    FROZEN,
    Flag,
    Number,
    WholeNumber,
    whole_number,
)

__all__ = [
    "DEFAULT_DISH_ADDRESS",
    "MAX_EVENTS",
    "MAX_LEG_DEGREES",
    "MAX_SCENARIO_SECONDS",
    "MAX_SEED",
    "MAX_WAYPOINTS",
    "EventKind",
    "LiveSettings",
    "NetworkSettings",
    "ObstructionSettings",
    "RouteSettings",
    "ScenarioEvent",
    "ScenarioSettings",
    "StarlinkConfig",
    "Waypoint",
    "WeatherSettings",
    "changed_keys",
    "load_config",
    "merge_update",
]

_log = structlog.get_logger(__name__)

DEFAULT_DISH_ADDRESS: Final = "192.168.100.1:9200"
MAX_SEED: Final = 2**53 - 1
"""Largest seed: the largest integer every JSON client reads exactly."""


class LiveSettings(BaseModel):
    """How live mode reaches the dish.

    Attributes:
        dish_address: ``host:port`` of the dish gRPC API: an RFC 1123 host
            name, an IPv4 address or an IPv6 address in brackets, and a port
            1..65535; at most 255 characters (``core.address.HostPort``).
        timeout_seconds: per-call timeout, seconds, 0.1..300.
        location_interval_seconds: seconds between ``get_location`` reads,
            0.1..3600, while ``get_status`` is read on every pass
            (``update_interval_seconds``).
            The location is read on the first pass of a new client (start, a
            changed ``live`` section, a mode switch) and on the first good pass
            after a failed one; passes in between publish the position of the
            last read (absent after a refusal), never a position derived from it.
    """

    model_config = FROZEN

    dish_address: HostPort = DEFAULT_DISH_ADDRESS
    timeout_seconds: Number = Field(default=2.0, ge=0.1, le=300.0)
    location_interval_seconds: Number = Field(default=5.0, ge=0.1, le=3600.0)


class StarlinkConfig(BaseModel):
    """The whole Starlink exporter configuration (``config.yaml``, ``/api/config``).

    Attributes:
        mode: ``simulation`` (default) or ``live``.
        update_interval_seconds: seconds between simulation steps / dish polls,
            0.1..3600.
        seed: makes a simulation run reproducible, 0..2**53-1; ``None`` = random.
            Changing it re-seeds the running simulation.
        route: see ``RouteSettings``.
        network: see ``NetworkSettings``.
        obstruction: see ``ObstructionSettings``.
        weather: optional standing weather.
        scenario: optional degradation scenario; ``None`` = normal.
        live: see ``LiveSettings``.
        legacy_metrics: also serve the original backend's metric names its
            Grafana dashboards query (``starlink_network_latency_ms_current``,
            ``…_throughput_down_mbps_current``, ``…_up_mbps_current``,
            ``starlink_dish_altitude_feet``, ``starlink_dish_outage_active``,
            ``starlink_dish_thermal_throttle``, ``starlink_mode_info{mode}``).
    """

    model_config = FROZEN

    mode: Literal["simulation", "live"] = "simulation"
    update_interval_seconds: Number = Field(default=1.0, ge=0.1, le=3600.0)
    seed: WholeNumber | None = Field(default=None, ge=0, le=MAX_SEED)
    route: RouteSettings = RouteSettings()
    network: NetworkSettings = NetworkSettings()
    obstruction: ObstructionSettings = ObstructionSettings()
    weather: WeatherSettings | None = None
    scenario: ScenarioSettings | None = None
    live: LiveSettings = LiveSettings()
    legacy_metrics: Flag = False

    _whole = field_validator("seed", mode="before")(staticmethod(whole_number))


def load_config(path: Path) -> tuple[StarlinkConfig, bool]:
    """Load ``path`` over the defaults.

    Returns:
        The configuration and whether the file existed (a missing file means
        defaults; the caller logs it).

    Raises:
        ConfigError: unreadable or invalid file; one line naming it and the key.
    """
    if not path.exists():
        return StarlinkConfig(), False
    data = read_yaml(path)
    if isinstance(data, Mapping):
        data, notes = translate(data)
        for note in notes:
            _log.warning(
                "starlink_config_legacy_key",
                file=str(path),
                key=note.key,
                now=note.to,
                why=note.why if note.to else f"ignored: {note.why}",
            )
    return validate_model(StarlinkConfig, data, source=str(path)), True


def _deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        old = merged.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            merged[key] = _deep_merge(old, value)
        else:
            merged[key] = value
    return merged


def merge_update(current: StarlinkConfig, update: Mapping[str, Any]) -> StarlinkConfig:
    """Deep-merge a partial update into ``current`` and validate the result.

    Mappings merge key by key; lists (waypoints, events) and scalars replace.
    The original backend's spellings in ``update`` are translated first
    (``legacy.translate``).

    Raises:
        pydantic.ValidationError: the merged configuration is invalid.
    """
    translated, _ = translate(update)
    return StarlinkConfig.model_validate(
        _deep_merge(current.model_dump(mode="json"), translated)
    )


def _flatten(data: object, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(data, dict) and data:
        for key, value in data.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = data


def changed_keys(old: StarlinkConfig, new: StarlinkConfig) -> list[str]:
    """Return the sorted dotted keys whose values differ (lists compare whole).

    A section that appears or disappears (``weather: null`` → a mapping) is named
    once, not key by key.
    """
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    _flatten(old.model_dump(mode="json"), "", before)
    _flatten(new.model_dump(mode="json"), "", after)
    missing = object()
    changed = {
        key
        for key in before.keys() | after.keys()
        if before.get(key, missing) != after.get(key, missing)
    }
    return sorted(
        key
        for key in changed
        if not any(key.startswith(other + ".") for other in changed)
    )
