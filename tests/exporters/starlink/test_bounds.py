"""Every numeric setting is bounded, and the engine stays finite at every bound.

The fields are found by walking the configuration model, so a new numeric field
is swept without touching this module: it must carry a finite lower and upper
bound, values just outside them are refused, and an engine built with the value
at either bound or just inside it steps through long and short ``dt`` (from a
fake clock) without a failing component or a non-finite sample.
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
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from exporterhub.core.testing import FakeClock
from exporterhub.exporters.starlink.engine import SimulationEngine
from exporterhub.exporters.starlink.settings import StarlinkConfig, merge_update
from exporterhub.exporters.starlink.telemetry import Telemetry

Path = tuple[str, ...]
"""Dotted key as parts; ``"0"`` is the first item of a list."""


@dataclasses.dataclass(frozen=True)
class NumericField:
    """One numeric setting and its bounds as the model declares them."""

    path: Path
    kind: type
    low: float | None
    low_inclusive: bool
    high: float | None
    high_inclusive: bool

    @property
    def name(self) -> str:
        return ".".join(self.path)

    def smallest(self) -> float:
        assert self.low is not None
        if self.low_inclusive:
            return self.low
        return self.low + 1 if self.kind is int else math.nextafter(self.low, math.inf)

    def largest(self) -> float:
        assert self.high is not None
        if self.high_inclusive:
            return self.high
        return (
            self.high - 1 if self.kind is int else math.nextafter(self.high, -math.inf)
        )

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


def _strip_none(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def numeric_fields(model: type[BaseModel], prefix: Path = ()) -> Iterator[NumericField]:
    """Yield every int/float field reachable from ``model`` (list items as ``0``)."""
    for name, info in model.model_fields.items():
        annotation = _strip_none(info.annotation)
        if typing.get_origin(annotation) is tuple:
            (item, _) = typing.get_args(annotation)
            yield from numeric_fields(item, (*prefix, name, "0"))
            continue
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from numeric_fields(annotation, (*prefix, name))
            continue
        if annotation not in (int, float):
            continue
        low = high = None
        low_inclusive = high_inclusive = True
        for rule in info.metadata:
            if isinstance(rule, annotated_types.Ge):
                low = rule.ge
            elif isinstance(rule, annotated_types.Gt):
                low, low_inclusive = rule.gt, False
            elif isinstance(rule, annotated_types.Le):
                high = rule.le
            elif isinstance(rule, annotated_types.Lt):
                high, high_inclusive = rule.lt, False
        yield NumericField(
            (*prefix, name), annotation, low, low_inclusive, high, high_inclusive
        )


FIELDS = list(numeric_fields(StarlinkConfig))

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
}
"""A configuration that exercises every engine component: rain, all event kinds."""

DTS = (0.0, 0.1, 0.1, 1.0, 1.0, 2.5, 7.3, 60.0, 3600.0, 86_400.0, 2_592_000.0)
DTS += (40_000_000.0, 1.0, 0.1)
"""Steps of the fake clock: zero, sub-second, the update bounds, a month, a year+."""


def _get(data: dict[str, Any], path: Path) -> Any:
    node: Any = data
    for part in path:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _set(data: dict[str, Any], path: Path, value: Any) -> None:
    node: Any = data
    for part in path[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(path[-1])] = value
    else:
        node[path[-1]] = value


def with_value(field: NumericField, value: float, pattern: str) -> dict[str, Any]:
    """Return ``BASE`` with ``field`` at ``value``, its ordered partners moved along."""
    data = copy.deepcopy(BASE)
    data["route"]["pattern"] = pattern
    defaults = StarlinkConfig.model_validate(data).model_dump(mode="json")
    for group in ORDERED:
        if field.name not in group:
            continue
        at = group.index(field.name)
        for i, other in enumerate(group):
            path = tuple(other.split("."))
            current = _get(defaults, path)
            moved = min(current, value) if i < at else max(current, value)
            _set(data, path, moved)
    if field.path[:3] == ("scenario", "events", "0"):
        for event in data["scenario"]["events"]:
            event[field.path[-1]] = value
    else:
        _set(data, field.path, value)
    return data


def assert_finite(sample: Telemetry, context: str) -> None:
    for item in dataclasses.fields(sample):
        value = getattr(sample, item.name)
        if isinstance(value, float):
            assert math.isfinite(value), f"{context}: {item.name} = {value}"


def run_engine(config: StarlinkConfig, dts: tuple[float, ...], context: str):
    """Step an engine on a fake clock through ``dts``: all finite, nothing fails."""
    clock = FakeClock()
    engine = SimulationEngine(config, seed=config.seed, start_wall=clock.time())
    last = clock.monotonic()
    for dt in dts:
        clock.advance(dt)
        sample = engine.step(clock.monotonic() - last, clock.time())
        last = clock.monotonic()
        assert not engine.last_step_failed, f"{context}: a component failed (dt={dt})"
        assert_finite(sample, f"{context} dt={dt}")
    assert engine.errors == 0, context


class TestEveryNumericFieldIsBounded:
    def test_fields_are_found(self):
        """The walk finds the numeric fields of every section, list items included."""
        names = {f.name for f in FIELDS}
        assert {
            "update_interval_seconds",
            "obstruction.sway_period_seconds",
            "route.waypoints.0.speed_knots",
            "scenario.events.0.at_seconds",
            "scenario.repeat_seconds",
            "live.timeout_seconds",
        } <= names
        assert len(FIELDS) >= 45

    @pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
    def test_has_finite_lower_and_upper_bound(self, field):
        """Each numeric field declares a finite minimum and maximum."""
        assert field.low is not None, f"{field.name} has no lower bound"
        assert field.high is not None, f"{field.name} has no upper bound"
        assert math.isfinite(field.low)
        assert math.isfinite(field.high)

    @pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
    def test_just_outside_is_refused(self, field):
        """A value just beyond either bound is refused and names the field."""
        for value in field.outside():
            data = with_value(field, value, "waypoints")
            with pytest.raises(ValidationError) as info:
                StarlinkConfig.model_validate(data)
            located = {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}
            assert field.name in located or field.path[:3] == (
                "scenario",
                "events",
                "0",
            ), (value, located)

    @pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
    @pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
    def test_non_finite_is_refused(self, field, bad):
        """Infinity and NaN are refused for every numeric field (YAML spells them)."""
        data = with_value(field, field.smallest(), "waypoints")
        _set(data, field.path, bad)
        with pytest.raises(ValidationError):
            StarlinkConfig.model_validate(data)


class TestEngineStaysFiniteAtTheBounds:
    @pytest.mark.parametrize("pattern", PATTERNS)
    @pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
    def test_every_bound_and_just_inside(self, field, pattern):
        """At each bound and just inside it, every sample is finite, nothing fails."""
        for value in field.inside():
            config = StarlinkConfig.model_validate(with_value(field, value, pattern))
            run_engine(config, DTS * 2, f"{field.name}={value!r} {pattern}")

    def test_reported_sway_period_is_refused(self):
        """The fuzzed 5e-324 s sway period (math domain error) is refused."""
        with pytest.raises(ValidationError):
            merge_update(
                StarlinkConfig(), {"obstruction": {"sway_period_seconds": 5e-324}}
            )


def _value_for(field: NumericField) -> st.SearchStrategy[float]:
    low, high = field.smallest(), field.largest()
    if field.kind is int:
        return st.integers(int(low), int(high))
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    """Draw a few fields at once anywhere within their bounds."""
    chosen = draw(
        st.lists(st.sampled_from(FIELDS), min_size=1, max_size=8, unique=True)
    )
    data = copy.deepcopy(BASE)
    data["route"]["pattern"] = draw(st.sampled_from(PATTERNS))
    for field in chosen:
        _set(data, field.path, draw(_value_for(field)))
    # Restore the ordering rules by sorting each group's values.
    defaults = StarlinkConfig.model_validate(
        {"route": {"pattern": "circle"}}
    ).model_dump(mode="json")
    for group in ORDERED:
        paths = [tuple(name.split(".")) for name in group]
        values = []
        for path in paths:
            try:
                values.append(_get(data, path))
            except KeyError:
                values.append(_get(defaults, path))
        for path, value in zip(paths, sorted(values), strict=True):
            _set(data, path, value)
    return data


class TestCombinations:
    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(configs(), st.lists(st.sampled_from(DTS), min_size=3, max_size=12))
    def test_any_valid_combination_stays_finite(self, data, dts):
        """Any accepted combination steps without a failure or a non-finite value."""
        try:
            config = StarlinkConfig.model_validate(data)
        except ValidationError as exc:
            # Only the rules no bound can express may refuse a drawn combination.
            messages = [e["msg"] for e in exc.errors()]
            assert all("antipodal" in m for m in messages), messages
            return
        run_engine(config, tuple(dts), repr(data))
