"""One model, one truth: the config's JSON schema accepts exactly what validation does.

The schema is the one ``/api/config`` serves; it is checked with a JSON Schema
validator against the pydantic model, field by field, for probe values (wrong
types, booleans, bounds, odd strings) and for generated ones. The only
disagreement allowed is a cross-field rule no JSON Schema keyword can state
(``min <= max``, two waypoints for the waypoints pattern, no antipodal leg, an
alert event names its alert); those are refused as ``value_error``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, get_args

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from exporterhub.exporters.starlink.settings import StarlinkConfig, load_config

from .config_fields import BASE, FIELDS, LEAVES, Leaf, with_value

SCHEMA = StarlinkConfig.model_json_schema()
VALIDATOR = jsonschema_rs.validator_for(SCHEMA)

PROBES: list[Any] = [
    True,
    False,
    None,
    "1",
    "",
    "abc",
    [],
    {},
    [1],
    0,
    1,
    -1,
    0.5,
    -0.5,
    1e308,
    -1e308,
    2**53,
]
"""Values of every JSON type, tried at every leaf."""


def refusal(doc: Any) -> list[dict[str, Any]] | None:
    """Return the model's errors for ``doc``, or None when it is accepted."""
    try:
        StarlinkConfig.model_validate(doc)
    except ValidationError as exc:
        return list(exc.errors())
    return None


def assert_agree(doc: Any) -> None:
    """Schema and model agree on ``doc``, up to the cross-field rules."""
    errors = refusal(doc)
    schema_ok = VALIDATOR.is_valid(doc)
    if errors is None:
        assert schema_ok, f"accepted by the model, not by the schema: {doc!r}"
    elif schema_ok:
        kinds = {e["type"] for e in errors}
        assert kinds == {"value_error"}, f"refused only by the model: {errors}"


def _strings_for(leaf: Leaf) -> list[Any]:
    choices = list(get_args(leaf.kind))
    text = [" ", "\x00", "x" * 300, "é"]
    if choices:
        first = choices[0]
        return [*choices, f" {first}", f"{first} ", first.upper(), first.lower(), *text]
    return text


class TestEveryLeafAgrees:
    @pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: leaf.name)
    def test_probes(self, leaf):
        """Each JSON type, boolean and odd string at each leaf: schema == model."""
        values = list(PROBES) + _strings_for(leaf)
        if leaf.numeric:
            values += [*leaf.inside(), *leaf.outside()]
        for value in values:
            assert_agree(with_value(leaf, value))

    @pytest.mark.parametrize("leaf", FIELDS, ids=lambda leaf: leaf.name)
    def test_booleans_refused_integers_accepted(self, leaf):
        """A boolean is never a number; an integer is a number for a float field."""
        for flag in (True, False):
            assert refusal(with_value(leaf, flag)) is not None, flag
        whole = int(leaf.largest())
        assert refusal(with_value(leaf, whole)) is None, whole


class TestKnownDisagreements:
    @pytest.mark.parametrize(
        ("update", "field"),
        [
            pytest.param(
                {
                    "scenario": {
                        "events": [{"event": "obstruction", "intensity": False}]
                    }
                },
                "scenario.events.0.intensity",
                id="intensity-false",
            ),
            pytest.param(
                {"route": {"waypoints": [{"latitude": True, "longitude": 0}] * 2}},
                "route.waypoints.0.latitude",
                id="latitude-true",
            ),
            pytest.param({"route": {"loop": 1}}, "route.loop", id="loop-1"),
            pytest.param(
                {"network": {"diurnal_congestion": "yes"}},
                "network.diurnal_congestion",
                id="diurnal-yes",
            ),
            pytest.param(
                {"scenario": {"events": [{"event": "alert", "alert": "on_fire"}]}},
                "scenario.events.0.alert",
                id="unknown-alert",
            ),
        ],
    )
    def test_refused_by_both(self, update, field):
        """The fuzzed values are refused by the schema and by the model."""
        doc = copy.deepcopy(BASE) | update
        errors = refusal(doc)
        assert errors is not None
        assert field in {".".join(map(str, e["loc"])) for e in errors}
        assert not VALIDATOR.is_valid(doc)

    def test_whole_float_is_an_integer(self):
        """JSON Schema counts 5.0 as an integer, so the integer fields accept it."""
        doc = copy.deepcopy(BASE) | {"seed": 5.0}
        assert VALIDATOR.is_valid(doc)
        assert StarlinkConfig.model_validate(doc).seed == 5


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


class TestGenerated:
    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(leaf=st.sampled_from(LEAVES), value=json_values)
    def test_any_json_value_at_any_leaf(self, leaf, value):
        """Whatever JSON value lands on a leaf, schema and model agree."""
        assert_agree(with_value(leaf, value))

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(
        section=st.sampled_from(
            ["route", "network", "obstruction", "weather", "scenario", "live"]
        ),
        value=json_values,
    )
    def test_any_json_value_as_a_section(self, section, value):
        """A section replaced by any JSON value: schema and model agree."""
        assert_agree(copy.deepcopy(BASE) | {section: value})


class TestYamlStillLoads:
    def test_plain_config_file(self, tmp_path: Path):
        """A hand-written YAML file with ints for floats and yes/no booleans loads."""
        path = tmp_path / "config.yaml"
        path.write_text(
            "mode: simulation\n"
            "update_interval_seconds: 1\n"
            "seed: 42\n"
            "route:\n"
            "  pattern: waypoints\n"
            "  loop: yes\n"
            "  waypoints:\n"
            "    - {latitude: 40.7128, longitude: -74.006}\n"
            "    - {latitude: 41, longitude: -73, speed_knots: 30}\n"
            "  speed_knots: 45\n"
            "network:\n"
            "  latency_min_ms: 20\n"
            "  latency_typical_ms: 35.5\n"
            "  diurnal_congestion: false\n"
            "obstruction: {min_percent: 0, max_percent: 10, sway_period_seconds: 20}\n"
            "scenario:\n"
            "  name: custom\n"
            "  events:\n"
            "    - {at_seconds: 60, event: outage, cause: NO_SATS,\n"
            "       duration_seconds: 5}\n"
            "    - {event: alert, alert: roaming}\n"
            "live: {dish_address: '192.168.100.1:9200', timeout_seconds: 2}\n"
        )
        config, existed = load_config(path)
        assert existed
        assert config.route.loop is True
        assert config.route.waypoints[1].latitude == 41.0
        assert config.network.diurnal_congestion is False
        assert config.scenario is not None
        assert config.scenario.events[0].cause == "NO_SATS"
        assert VALIDATOR.is_valid(json.loads(config.model_dump_json()))
