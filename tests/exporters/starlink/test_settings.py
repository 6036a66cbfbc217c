"""Configuration model, validation rules, loading and merging (protocol notes §4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from exporterhub.core.api import validation_problems
from exporterhub.core.errors import ConfigError
from exporterhub.exporters.starlink.settings import (
    DEFAULT_DISH_ADDRESS,
    StarlinkConfig,
    changed_keys,
    load_config,
    merge_update,
)

DEFAULTS = StarlinkConfig()


def _fields(update):
    with pytest.raises(ValidationError) as info:
        merge_update(DEFAULTS, update)
    return [problem.field for problem in validation_problems(info.value)]


INVALID = [
    pytest.param({"mode": "replay"}, "mode", id="mode"),
    pytest.param(
        {"update_interval_seconds": 0}, "update_interval_seconds", id="interval"
    ),
    pytest.param({"seed": "abc"}, "seed", id="seed"),
    pytest.param({"bogus": 1}, "bogus", id="unknown-top"),
    pytest.param({"network": {"bogus": 1}}, "network.bogus", id="unknown-nested"),
    pytest.param(
        {"route": {"waypoints": [{"latitude": 1, "longitude": 2, "x": 3}] * 2}},
        "route.waypoints.0.x",
        id="unknown-waypoint",
    ),
    pytest.param(
        {"route": {"waypoints": [{"latitude": 91, "longitude": 0}] * 2}},
        "route.waypoints.0.latitude",
        id="waypoint-lat",
    ),
    pytest.param(
        {"route": {"waypoints": [{"latitude": 0, "longitude": -181}] * 2}},
        "route.waypoints.0.longitude",
        id="waypoint-lon",
    ),
    pytest.param(
        {
            "route": {
                "waypoints": [{"latitude": 0, "longitude": 0, "speed_knots": -1}] * 2
            }
        },
        "route.waypoints.0.speed_knots",
        id="waypoint-speed",
    ),
    pytest.param(
        {"route": {"waypoints": [{"latitude": 0, "longitude": 0}]}},
        "route.waypoints",
        id="one-waypoint",
    ),
    pytest.param(
        {"route": {"center_latitude": -90.5}}, "route.center_latitude", id="clat"
    ),
    pytest.param(
        {"route": {"center_longitude": 180.5}}, "route.center_longitude", id="clon"
    ),
    pytest.param({"route": {"start_latitude": 95}}, "route.start_latitude", id="slat"),
    pytest.param(
        {"route": {"start_longitude": -200}}, "route.start_longitude", id="slon"
    ),
    pytest.param({"route": {"speed_knots": -0.1}}, "route.speed_knots", id="speed"),
    pytest.param({"route": {"radius_meters": 0}}, "route.radius_meters", id="radius"),
    pytest.param({"route": {"length_meters": 0}}, "route.length_meters", id="length"),
    pytest.param(
        {"route": {"bearing_degrees": 360}}, "route.bearing_degrees", id="bearing"
    ),
    pytest.param({"route": {"pattern": "zigzag"}}, "route.pattern", id="pattern"),
    pytest.param({"route": {"profile": "rocket"}}, "route.profile", id="profile"),
    pytest.param(
        {"route": {"cruise_altitude_meters": 50}},
        "route.cruise_altitude_meters",
        id="cruise-below-floor",
    ),
    pytest.param(
        {"network": {"latency_min_ms": 0}}, "network.latency_min_ms", id="lat0"
    ),
    pytest.param(
        {"network": {"latency_typical_ms": 10}},
        "network.latency_typical_ms",
        id="lat-typ",
    ),
    pytest.param(
        {"network": {"latency_max_ms": 30}}, "network.latency_max_ms", id="lat-max"
    ),
    pytest.param(
        {"network": {"latency_spike_max_ms": 79}},
        "network.latency_spike_max_ms",
        id="spike-max",
    ),
    pytest.param(
        {"network": {"spike_probability": 1.5}}, "network.spike_probability", id="prob"
    ),
    pytest.param(
        {"network": {"handover_interval_seconds": 0}},
        "network.handover_interval_seconds",
        id="handover",
    ),
    pytest.param(
        {"network": {"throughput_down_max_mbps": 40}},
        "network.throughput_down_max_mbps",
        id="down",
    ),
    pytest.param(
        {"network": {"throughput_up_max_mbps": 5}},
        "network.throughput_up_max_mbps",
        id="up",
    ),
    pytest.param(
        {"network": {"throughput_up_min_mbps": -1}},
        "network.throughput_up_min_mbps",
        id="up<0",
    ),
    pytest.param(
        {"network": {"packet_loss_min_percent": 1}},
        "network.packet_loss_typical_percent",
        id="loss-typ",
    ),
    pytest.param(
        {"network": {"packet_loss_max_percent": 0.1}},
        "network.packet_loss_max_percent",
        id="loss-max",
    ),
    pytest.param(
        {"network": {"packet_loss_max_percent": 101}},
        "network.packet_loss_max_percent",
        id="loss-pct",
    ),
    pytest.param(
        {"obstruction": {"min_percent": -1}}, "obstruction.min_percent", id="o-min"
    ),
    pytest.param(
        {"obstruction": {"typical_percent": 20}},
        "obstruction.max_percent",
        id="o-typ>max",
    ),
    pytest.param(
        {"obstruction": {"min_percent": 5}},
        "obstruction.typical_percent",
        id="o-min>typ",
    ),
    pytest.param(
        {"obstruction": {"wind_level": 2}}, "obstruction.wind_level", id="wind"
    ),
    pytest.param(
        {"obstruction": {"sway_period_seconds": 0}},
        "obstruction.sway_period_seconds",
        id="sway",
    ),
    pytest.param({"weather": {"condition": "hail"}}, "weather.condition", id="weather"),
    pytest.param(
        {"weather": {"rain_fade_factor": 1.2}}, "weather.rain_fade_factor", id="fade"
    ),
    pytest.param({"scenario": {"name": "apocalypse"}}, "scenario.name", id="scenario"),
    pytest.param(
        {"scenario": {"events": [{"event": "outage", "cause": "CONNECTED"}]}},
        "scenario.events.0.cause",
        id="cause",
    ),
    pytest.param(
        {"scenario": {"events": [{"event": "alert", "alert": "on_fire"}]}},
        "scenario.events.0.alert",
        id="alert",
    ),
    pytest.param(
        {"scenario": {"events": [{"event": "rain", "duration_seconds": 0}]}},
        "scenario.events.0.duration_seconds",
        id="duration",
    ),
    pytest.param(
        {"live": {"dish_address": "nohost"}}, "live.dish_address", id="address"
    ),
    pytest.param({"live": {"dish_address": "h:99999"}}, "live.dish_address", id="port"),
    pytest.param(
        {"live": {"timeout_seconds": 0}}, "live.timeout_seconds", id="timeout"
    ),
    pytest.param(
        {"live": {"location_interval_seconds": -1}},
        "live.location_interval_seconds",
        id="loc-interval",
    ),
    pytest.param(
        {"update_interval_seconds": 0.05}, "update_interval_seconds", id="interval-min"
    ),
    pytest.param(
        {"update_interval_seconds": 3601}, "update_interval_seconds", id="interval-max"
    ),
    pytest.param(
        {"update_interval_seconds": "1"}, "update_interval_seconds", id="interval-str"
    ),
    pytest.param(
        {"update_interval_seconds": True}, "update_interval_seconds", id="interval-bool"
    ),
    pytest.param({"seed": -1}, "seed", id="seed-negative"),
    pytest.param({"seed": 2**53}, "seed", id="seed-too-big"),
    pytest.param({"seed": 2.0**53}, "seed", id="seed-too-big-float"),
    pytest.param({"seed": True}, "seed", id="seed-bool"),
    pytest.param({"seed": "5"}, "seed", id="seed-str"),
    pytest.param({"seed": 5.5}, "seed", id="seed-fraction"),
    pytest.param({"route": {"speed_knots": "45"}}, "route.speed_knots", id="speed-str"),
    pytest.param(
        {"route": {"speed_knots": True}}, "route.speed_knots", id="speed-bool"
    ),
    pytest.param(
        {
            "route": {
                "waypoints": [{"latitude": 0, "longitude": 0, "speed_knots": 0}] * 2
            }
        },
        "route.waypoints.0.speed_knots",
        id="waypoint-speed-zero",
    ),
    pytest.param(
        {
            "route": {
                "waypoints": [{"latitude": 0, "longitude": 0, "speed_knots": "9"}] * 2
            }
        },
        "route.waypoints.0.speed_knots",
        id="waypoint-speed-str",
    ),
    pytest.param(
        {"route": {"waypoints": [{"latitude": 0, "longitude": 0}] * 10_001}},
        "route.waypoints",
        id="too-many-waypoints",
    ),
    pytest.param(
        {"scenario": {"events": [{"event": "rain"}] * 10_001}},
        "scenario.events",
        id="too-many-events",
    ),
    pytest.param(
        {"scenario": {"repeat_seconds": 0.5}},
        "scenario.repeat_seconds",
        id="repeat-below-1s",
    ),
    pytest.param(
        {"scenario": {"events": [{"event": "alert"}]}},
        "scenario.events.0.alert",
        id="alert-missing",
    ),
    pytest.param(
        {
            "route": {
                "waypoints": [
                    {"latitude": 10, "longitude": 10},
                    {"latitude": 10.5, "longitude": 10},
                    {"latitude": -10.5, "longitude": -170},
                ]
            }
        },
        "route.waypoints",
        id="antipodal-leg",
    ),
]


class TestValidation:
    @pytest.mark.parametrize(("update", "field"), INVALID)
    def test_rule_rejects_and_names_field(self, update, field):
        """Each §4 rule rejects the value and names its dotted key."""
        assert field in _fields(update)

    def test_antipodal_message_names_waypoints(self):
        """A (nearly) antipodal leg is rejected with the offending waypoint indices."""
        points = [
            {"latitude": 10, "longitude": 10},
            {"latitude": 10.5, "longitude": 10},
            {"latitude": -10.3, "longitude": -170.2},
        ]
        with pytest.raises(ValidationError) as info:
            merge_update(DEFAULTS, {"route": {"waypoints": points}})
        (error,) = validation_problems(info.value)
        assert error.field == "route.waypoints"
        assert "waypoints 1 and 2 are nearly antipodal" in error.message

    def test_loop_closing_leg_is_checked(self):
        """With ``loop`` the last-to-first leg counts; out-and-back never uses it."""
        points = [
            {"latitude": 0, "longitude": 0},
            {"latitude": 0, "longitude": 90},
            {"latitude": 0.2, "longitude": 179.9},
        ]
        with pytest.raises(ValidationError) as info:
            merge_update(DEFAULTS, {"route": {"waypoints": points}})
        assert "waypoints 2 and 0" in validation_problems(info.value)[0].message
        config = merge_update(DEFAULTS, {"route": {"waypoints": points, "loop": False}})
        assert len(config.route.waypoints) == 3

    def test_accepted_edge_values(self):
        """The bounds themselves, ints for floats and a 10 000-point route pass."""
        config = merge_update(
            DEFAULTS,
            {
                "update_interval_seconds": 0.1,
                "seed": 2**53 - 1,
                "route": {
                    "speed_knots": 0,
                    "waypoints": [
                        {"latitude": 0, "longitude": i * 0.001} for i in range(10_000)
                    ],
                },
                "scenario": {
                    "repeat_seconds": 1,
                    "events": [{"event": "alert", "alert": "is_heating"}],
                },
            },
        )
        assert config.seed == 2**53 - 1
        assert len(config.route.waypoints) == 10_000

    def test_message_is_readable(self):
        """Cross-field messages say which bound was broken, without pydantic noise."""
        with pytest.raises(ValidationError) as info:
            merge_update(DEFAULTS, {"network": {"latency_typical_ms": 10}})
        (error,) = validation_problems(info.value)
        assert error.model_dump() == {
            "field": "network.latency_typical_ms",
            "message": "must be >= latency_min_ms (20.0)",
        }

    def test_models_are_frozen(self):
        """Configs cannot be changed in place."""
        with pytest.raises(ValidationError):
            DEFAULTS.network.latency_min_ms = 1.0  # type: ignore[misc]

    def test_circle_needs_no_waypoints(self):
        """Only the waypoints pattern needs two waypoints."""
        config = merge_update(
            DEFAULTS, {"route": {"pattern": "circle", "waypoints": []}}
        )
        assert config.route.waypoints == ()

    def test_defaults(self):
        """Defaults match protocol notes §4."""
        assert DEFAULTS.mode == "simulation"
        assert DEFAULTS.update_interval_seconds == 1.0
        assert DEFAULTS.seed is None
        assert DEFAULTS.route.speed_knots == 45.0
        assert DEFAULTS.network.latency_spike_max_ms == 250.0
        assert (
            DEFAULTS.live.dish_address == DEFAULT_DISH_ADDRESS == "192.168.100.1:9200"
        )
        assert DEFAULTS.live.timeout_seconds == 2.0
        assert DEFAULTS.weather is None
        assert DEFAULTS.scenario is None

    def test_dump_round_trips(self):
        """GET's shape (model_dump json) is accepted back unchanged."""
        config = merge_update(
            DEFAULTS, {"weather": {"condition": "snow"}, "scenario": {"name": "outage"}}
        )
        assert StarlinkConfig.model_validate(config.model_dump(mode="json")) == config


class TestMergeUpdate:
    def test_keeps_untouched_values(self):
        """A partial update changes only the keys it names."""
        new = merge_update(DEFAULTS, {"network": {"latency_max_ms": 90}, "seed": 7})
        assert new.network.latency_max_ms == 90
        assert new.seed == 7
        assert new.network.latency_min_ms == DEFAULTS.network.latency_min_ms
        assert new.route == DEFAULTS.route
        assert new.obstruction == DEFAULTS.obstruction

    def test_lists_replace(self):
        """Waypoint lists are replaced whole, not merged."""
        points = [{"latitude": 1, "longitude": 1}] * 3
        new = merge_update(DEFAULTS, {"route": {"waypoints": points}})
        assert len(new.route.waypoints) == 3

    def test_rejected_update_leaves_current(self):
        """A failing update raises and the current object is unchanged."""
        with pytest.raises(ValidationError):
            merge_update(DEFAULTS, {"network": {"latency_min_ms": -1}})
        assert DEFAULTS.network.latency_min_ms == 20.0


class TestChangedKeys:
    def test_names_dotted_keys(self):
        """Changed leaves are named by dotted path; new sections once."""
        new = merge_update(
            DEFAULTS,
            {"network": {"latency_max_ms": 90}, "weather": {"condition": "rain"}},
        )
        assert changed_keys(DEFAULTS, new) == ["network.latency_max_ms", "weather"]

    def test_no_change(self):
        """Identical configs differ in nothing."""
        assert changed_keys(DEFAULTS, StarlinkConfig()) == []


class TestLoadConfig:
    def test_missing_file_gives_defaults(self, tmp_path: Path):
        """A missing file means defaults and existed=False."""
        config, existed = load_config(tmp_path / "nope.yaml")
        assert (config, existed) == (DEFAULTS, False)

    def test_reads_file(self, tmp_path: Path):
        """Values in the file override the defaults."""
        path = tmp_path / "config.yaml"
        path.write_text("seed: 3\nnetwork:\n  latency_max_ms: 100\n", encoding="utf-8")
        config, existed = load_config(path)
        assert existed
        assert config.seed == 3
        assert config.network.latency_max_ms == 100
        assert config.network.latency_min_ms == 20

    def test_bad_file_names_file_and_key(self, tmp_path: Path):
        """An invalid value raises one ConfigError line with the path and dotted key."""
        path = tmp_path / "config.yaml"
        path.write_text("network:\n  latency_min_ms: 0\n", encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            load_config(path)
        message = str(info.value)
        assert str(path) in message
        assert "network.latency_min_ms" in message
        assert "\n" not in message

    def test_not_yaml(self, tmp_path: Path):
        """Broken YAML is a ConfigError naming the file."""
        path = tmp_path / "config.yaml"
        path.write_text("network: [\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"config\.yaml"):
            load_config(path)
