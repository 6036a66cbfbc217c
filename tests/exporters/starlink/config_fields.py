"""The Starlink configuration's leaf fields, found by walking the model.

Shared by the bounds sweep and the schema agreement tests, so a new field is
covered without touching them. ``with_value`` places one value in a
configuration that exercises every engine component and moves the field's
ordered partners (``min <= typical <= max``) along, so only the value itself
can make the configuration invalid.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import types
import typing
from collections.abc import Iterator
from typing import Any

import annotated_types
from pydantic import BaseModel

from exporterhub.exporters.starlink.settings import StarlinkConfig

Path = tuple[str, ...]
"""Dotted key as parts; ``"0"`` is the first item of a list."""


@dataclasses.dataclass(frozen=True)
class Leaf:
    """One scalar setting: its type, whether null is allowed, its bounds."""

    path: Path
    kind: Any
    nullable: bool
    low: float | None = None
    low_inclusive: bool = True
    high: float | None = None
    high_inclusive: bool = True

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @property
    def numeric(self) -> bool:
        return self.kind in (int, float)

    @property
    def in_event(self) -> bool:
        return self.path[:3] == ("scenario", "events", "0")

    def smallest(self) -> float:
        assert self.low is not None
        if self.low_inclusive:
            return self.low
        return self.low + 1 if self.kind is int else math.nextafter(self.low, math.inf)

    def largest(self) -> float:
        assert self.high is not None
        if self.high_inclusive:
            return self.high
        if self.kind is int:
            return self.high - 1
        return math.nextafter(self.high, -math.inf)

    def inside(self) -> list[float]:
        """The bounds and the values just inside them."""
        low, high = self.smallest(), self.largest()
        if self.kind is int:
            return sorted({low, low + 1, high - 1, high})
        return sorted(
            {low, math.nextafter(low, math.inf), math.nextafter(high, -math.inf), high}
        )

    def outside(self) -> list[float]:
        """The values just beyond the bounds."""
        low, high = self.smallest(), self.largest()
        if self.kind is int:
            return [low - 1, high + 1]
        return [math.nextafter(low, -math.inf), math.nextafter(high, math.inf)]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """Return the annotation without ``None`` and whether ``None`` was allowed."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0], len(rest) < len(typing.get_args(annotation))
    return annotation, False


def _scalar(annotation: Any) -> Any:
    """Return int, float, bool, str or the Literal; strip ``Annotated``."""
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0]
    return annotation


def leaves(model: type[BaseModel], prefix: Path = ()) -> Iterator[Leaf]:
    """Yield every scalar field reachable from ``model`` (list items as ``0``)."""
    for name, info in model.model_fields.items():
        annotation, nullable = _unwrap(info.annotation)
        if typing.get_origin(annotation) is tuple:
            (item, _) = typing.get_args(annotation)
            yield from leaves(item, (*prefix, name, "0"))
            continue
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from leaves(annotation, (*prefix, name))
            continue
        bounds: dict[str, Any] = {}
        for rule in info.metadata:
            if isinstance(rule, annotated_types.Ge):
                bounds["low"] = rule.ge
            elif isinstance(rule, annotated_types.Gt):
                bounds.update(low=rule.gt, low_inclusive=False)
            elif isinstance(rule, annotated_types.Le):
                bounds["high"] = rule.le
            elif isinstance(rule, annotated_types.Lt):
                bounds.update(high=rule.lt, high_inclusive=False)
        yield Leaf((*prefix, name), _scalar(annotation), nullable, **bounds)


LEAVES = list(leaves(StarlinkConfig))
FIELDS = [leaf for leaf in LEAVES if leaf.numeric]
"""The numeric leaves."""

ORDERED: tuple[tuple[str, ...], ...] = (
    (
        "network.latency_min_ms",
        "network.latency_typical_ms",
        "network.latency_max_ms",
        "network.latency_spike_max_ms",
    ),
    ("network.throughput_down_min_mbps", "network.throughput_down_max_mbps"),
    ("network.throughput_up_min_mbps", "network.throughput_up_max_mbps"),
    (
        "network.packet_loss_min_percent",
        "network.packet_loss_typical_percent",
        "network.packet_loss_max_percent",
    ),
    (
        "obstruction.min_percent",
        "obstruction.typical_percent",
        "obstruction.max_percent",
    ),
    ("route.altitude_meters", "route.cruise_altitude_meters"),
)
"""Fields that must not decrease along each tuple (the cross-field rules)."""

PATTERNS = ("waypoints", "circle", "straight", "random_walk")

BASE: dict[str, Any] = {
    "seed": 5,
    "route": {
        "waypoints": [
            {"latitude": 40.7, "longitude": -74.0, "altitude_meters": 10.0},
            {"latitude": 41.2, "longitude": -73.2, "speed_knots": 30.0},
        ]
    },
    "weather": {"condition": "rain"},
    "scenario": {
        "name": "custom",
        "repeat_seconds": 120.0,
        "events": [
            {"event": "obstruction", "duration_seconds": 30.0, "intensity": 0.8},
            {"event": "congestion", "at_seconds": 5.0, "intensity": 0.5},
            {"event": "outage", "at_seconds": 40.0, "duration_seconds": 5.0},
            {"event": "reboot", "at_seconds": 50.0},
            {"event": "rain", "at_seconds": 60.0, "duration_seconds": 10.0},
            {"event": "snow", "at_seconds": 70.0, "duration_seconds": 10.0},
            {"event": "thermal_throttle", "at_seconds": 80.0},
            {"event": "alert", "alert": "roaming", "duration_seconds": 9.0},
        ],
    },
    "live": {"dish_address": "dish.example:9200"},
}
"""A configuration that exercises every engine component: rain, all event kinds."""


def get_at(data: Any, path: Path) -> Any:
    """Return the value at ``path`` (``KeyError`` if a mapping lacks a part)."""
    node = data
    for part in path:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def set_at(data: dict[str, Any], path: Path, value: Any) -> None:
    """Set the value at ``path``, creating mappings on the way."""
    node: Any = data
    for part in path[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(path[-1])] = value
    else:
        node[path[-1]] = value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def with_value(leaf: Leaf, value: Any, pattern: str = "waypoints") -> dict[str, Any]:
    """Return ``BASE`` with ``leaf`` at ``value``, its ordered partners moved along.

    An event field is set on every event of the timeline, so each kind sees it.
    """
    data = copy.deepcopy(BASE)
    data["route"]["pattern"] = pattern
    defaults = StarlinkConfig.model_validate(data).model_dump(mode="json")
    for group in ORDERED if _is_number(value) else ():
        if leaf.name not in group:
            continue
        at = group.index(leaf.name)
        for i, other in enumerate(group):
            path = tuple(other.split("."))
            current = get_at(defaults, path)
            set_at(data, path, min(current, value) if i < at else max(current, value))
    if leaf.in_event:
        for event in data["scenario"]["events"]:
            event[leaf.path[-1]] = value
    else:
        set_at(data, leaf.path, value)
    return data
