"""Reads the original Starlink dashboard backend's configuration spellings.

Users of the original (``starlink-location`` in bcl1713/starlink-dashboard) have a
``config.yaml``, ``STARLINK_*`` variables and scripts that ``POST`` its shape to
``/api/config``. ``translate`` turns that shape into this exporter's keys before
validation, so those files keep working; every key it translates or cannot
honour is reported as a ``Note`` for the caller to log (and the migration page,
``docs/migration/starlink-dashboard.md``, lists them):

- ``route.pattern: circular`` → ``circle`` around ``latitude_start`` /
  ``longitude_start`` with ``radius_km`` x 1000 as ``radius_meters``;
  ``straight`` → ``straight`` from there, bearing 45° (the original's fixed
  north-east), ``distance_km`` x 1000 as ``length_meters``;
- ``position.speed_min_knots`` / ``speed_max_knots`` → ``route.speed_knots``
  (the middle: the original wandered between the two);
  ``position.altitude_min_meters`` / ``altitude_max_meters`` (or ``…_feet``) →
  ``route.altitude_meters`` (the middle, where the original started);
- ignored, with a note: ``route.completion_behavior`` (a straight route turns
  round at its end, a circle loops), ``obstruction.variation_rate``,
  ``position.heading_variation_rate`` (the heading follows the route),
  ``heading_tracker`` (the heading is derived from the route, or from fixes
  live).

``legacy_env`` reads the original's variables (``STARLINK_MODE``,
``SIMULATION_MODE``, ``STARLINK_UPDATE_INTERVAL_SECONDS``,
``STARLINK_<SECTION>_<KEY>`` for route/network/obstruction/position,
``STARLINK_DISH_HOST`` / ``STARLINK_DISH_PORT``) into the same shape; others
starting with ``STARLINK_`` are not its (``STARLINK_EXPORTER_*`` are ours).
Pure: no I/O, no logging.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["Note", "legacy_env", "translate"]

_FEET: Final = 0.3048
_STRAIGHT_BEARING: Final = 45.0
"""The original drew its straight route to the north-east, always."""
_IGNORED: Final = {
    ("route", "completion_behavior"): "a straight route turns round at its end, "
    "a circle loops",
    ("obstruction", "variation_rate"): "the obstruction varies by "
    "sway_period_seconds, sway_amplitude_percent and wind_level",
    ("position", "heading_variation_rate"): "the heading follows the route",
}
_SECTIONS: Final = ("route", "network", "obstruction", "position")
_DEFAULT_DISH_PORT: Final = 9200


@dataclass(frozen=True, slots=True)
class Note:
    """One original key: what became of it (``to`` None = ignored) and why."""

    key: str
    to: str | None
    why: str


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # a YAML integer no float holds: validation says so
            return None
    return None


def _route(route: dict[str, Any], notes: list[Note]) -> None:
    legacy = {"latitude_start", "longitude_start", "radius_km", "distance_km"}
    pattern = route.get("pattern")
    # "straight" is our spelling too: only the original's keys make it theirs.
    if pattern != "circular" and not legacy & route.keys():
        return
    if pattern == "circular":
        route["pattern"] = "circle"
        notes.append(Note("route.pattern", "route.pattern", "circular is circle"))
    lat, lon = route.pop("latitude_start", None), route.pop("longitude_start", None)
    for name, value in (("latitude", lat), ("longitude", lon)):
        if value is not None:
            route.setdefault(f"center_{name}", value)
            route.setdefault(f"start_{name}", value)
            notes.append(
                Note(f"route.{name}_start", f"route.center_{name}, route.start_{name}",
                     "one start point for either pattern")
            )  # fmt: skip
    for old, new in (("radius_km", "radius_meters"), ("distance_km", "length_meters")):
        if old in route:
            value = route.pop(old)
            number = _number(value)
            route.setdefault(new, value if number is None else number * 1000.0)
            notes.append(Note(f"route.{old}", f"route.{new}", "kilometres to metres"))
    if pattern == "straight":
        route.setdefault("bearing_degrees", _STRAIGHT_BEARING)


def _middle(low: object, high: object, scale: float = 1.0) -> float | None:
    a, b = _number(low), _number(high)
    if a is None and b is None:
        return None
    values = [v for v in (a, b) if v is not None]
    return sum(values) / len(values) * scale


def _position(data: dict[str, Any], notes: list[Note]) -> None:
    position = data.pop("position")
    if not isinstance(position, Mapping):
        data["position"] = position  # not the original's shape: let validation say
        return
    route = data.setdefault("route", {})
    if not isinstance(route, dict):
        return
    speed = _middle(position.get("speed_min_knots"), position.get("speed_max_knots"))
    if speed is not None:
        route.setdefault("speed_knots", speed)
        notes.append(
            Note("position.speed_min_knots, position.speed_max_knots",
                 "route.speed_knots", "one target speed: the middle of the range")
        )  # fmt: skip
    for unit, scale in (("meters", 1.0), ("feet", _FEET)):
        low, high = f"altitude_min_{unit}", f"altitude_max_{unit}"
        altitude = _middle(position.get(low), position.get(high), scale)
        if altitude is not None:
            route.setdefault("altitude_meters", altitude)
            notes.append(
                Note(f"position.{low}, position.{high}", "route.altitude_meters",
                     "one altitude: the middle of the range, where the original "
                     "started")
            )  # fmt: skip
    if "heading_variation_rate" in position:
        notes.append(
            Note("position.heading_variation_rate", None,
                 _IGNORED[("position", "heading_variation_rate")])
        )  # fmt: skip


def translate(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[Note]]:
    """Return ``data`` with the original backend's keys turned into ours.

    A mapping already in this exporter's shape comes back unchanged, with no
    notes. Values are not checked here: validation names any bad one.

    >>> shape, notes = translate({"route": {"pattern": "circular", "radius_km": 5}})
    >>> shape
    {'route': {'pattern': 'circle', 'radius_meters': 5000.0}}
    >>> [n.key for n in notes]
    ['route.pattern', 'route.radius_km']
    """
    out: dict[str, Any] = {
        k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()
    }
    notes: list[Note] = []
    if isinstance(out.get("route"), dict):
        _route(out["route"], notes)
    if "position" in out:
        _position(out, notes)
    for (section, key), why in _IGNORED.items():
        part = out.get(section)
        if section != "position" and isinstance(part, dict) and key in part:
            del part[key]
            notes.append(Note(f"{section}.{key}", None, why))
    if "heading_tracker" in out:
        del out["heading_tracker"]
        notes.append(
            Note("heading_tracker", None,
                 "the heading is derived from the route, or from fixes live")
        )  # fmt: skip
    if isinstance(out.get("position"), dict) and not out["position"]:
        del out["position"]
    return out, notes


def _scalar(text: str) -> Any:  # noqa: ANN401 - a YAML-like scalar of any type
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    try:
        return float(text) if "." in text or "e" in lowered else int(text)
    except ValueError:
        return text


def legacy_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the original backend's variables as a config update (its shape).

    ``STARLINK_MODE`` wins over ``SIMULATION_MODE`` as in the original.

    >>> legacy_env({"STARLINK_MODE": "live", "STARLINK_DISH_HOST": "10.0.0.2",
    ...             "STARLINK_NETWORK_LATENCY_MIN_MS": "25"})
    {'mode': 'live', 'network': {'latency_min_ms': 25}, 'live': {'dish_address': '10.0.0.2:9200'}}
    """  # noqa: E501 - a doctest's output is one line
    update: dict[str, Any] = {}
    simulation = environ.get("SIMULATION_MODE")
    if simulation is not None:
        update["mode"] = "simulation" if _scalar(simulation) is True else "live"
    for name, text in sorted(environ.items()):
        if not name.startswith("STARLINK_") or name.startswith("STARLINK_EXPORTER_"):
            continue
        key = name.removeprefix("STARLINK_").lower()
        if key in ("mode", "update_interval_seconds"):
            update[key] = _scalar(text)
            continue
        for section in _SECTIONS:
            if key.startswith(section + "_"):
                field = key.removeprefix(section + "_")
                update.setdefault(section, {})[field] = _scalar(text)
    host = environ.get("STARLINK_DISH_HOST")
    port = environ.get("STARLINK_DISH_PORT")
    if host or port:
        address = f"{host or '192.168.100.1'}:{port or _DEFAULT_DISH_PORT}"
        update["live"] = {"dish_address": address}
    return update
