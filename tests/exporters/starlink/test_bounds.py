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
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from exporterhub.core.testing import FakeClock
from exporterhub.exporters.starlink.engine import SimulationEngine
from exporterhub.exporters.starlink.settings import StarlinkConfig, merge_update
from exporterhub.exporters.starlink.telemetry import Telemetry

from .config_fields import (
    BASE,
    FIELDS,
    ORDERED,
    PATTERNS,
    Leaf,
    get_at,
    set_at,
    with_value,
)

DTS = (0.0, 0.1, 0.1, 1.0, 1.0, 2.5, 7.3, 60.0, 3600.0, 86_400.0, 2_592_000.0)
DTS += (40_000_000.0, 1.0, 0.1)
"""Steps of the fake clock: zero, sub-second, the update bounds, a month, a year+."""


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


class TestEveryLeafIsBounded:
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
            assert field.name in located or field.in_event, (value, located)

    @pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
    @pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
    def test_non_finite_is_refused(self, field, bad):
        """Infinity and NaN are refused for every numeric field (YAML spells them)."""
        data = with_value(field, field.smallest(), "waypoints")
        set_at(data, field.path, bad)
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


def _value_for(field: Leaf) -> st.SearchStrategy[float]:
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
        set_at(data, field.path, draw(_value_for(field)))
    # Restore the ordering rules by sorting each group's values.
    defaults = StarlinkConfig.model_validate(
        {"route": {"pattern": "circle"}}
    ).model_dump(mode="json")
    for group in ORDERED:
        paths = [tuple(name.split(".")) for name in group]
        values = []
        for path in paths:
            try:
                values.append(get_at(data, path))
            except KeyError:
                values.append(get_at(defaults, path))
        for path, value in zip(paths, sorted(values), strict=True):
            set_at(data, path, value)
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
