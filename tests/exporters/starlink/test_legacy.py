"""The original Starlink dashboard backend's config file, variables and bodies."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from exporterhub.core.errors import ConfigError
from exporterhub.exporters.starlink.__main__ import load_with_env
from exporterhub.exporters.starlink.legacy import legacy_env, translate
from exporterhub.exporters.starlink.settings import (
    StarlinkConfig,
    load_config,
    merge_update,
)

# The keys and values of the config.yaml the original shipped with its phase-2
# backend (every section, every key).
ORIGINAL_PHASE2 = """\
mode: simulation
update_interval_seconds: 1.0
route:
  pattern: circular
  latitude_start: 40.7128
  longitude_start: -74.0060
  radius_km: 100.0
  distance_km: 500.0
network:
  latency_min_ms: 20.0
  latency_typical_ms: 50.0
  latency_max_ms: 80.0
  latency_spike_max_ms: 200.0
  spike_probability: 0.05
  throughput_down_min_mbps: 50.0
  throughput_down_max_mbps: 200.0
  throughput_up_min_mbps: 10.0
  throughput_up_max_mbps: 40.0
  packet_loss_min_percent: 0.0
  packet_loss_max_percent: 5.0
obstruction:
  min_percent: 0.0
  max_percent: 30.0
  variation_rate: 0.5
position:
  speed_min_knots: 0.0
  speed_max_knots: 100.0
  altitude_min_meters: 100.0
  altitude_max_meters: 10000.0
  heading_variation_rate: 5.0
"""

# Later versions: an aircraft near the antimeridian, completion_behavior, feet,
# the heading tracker.
ORIGINAL_LATER = """\
mode: simulation
update_interval_seconds: 1.0
route:
  pattern: straight
  latitude_start: 70.0
  longitude_start: 179.95
  radius_km: 100.0
  distance_km: 60.0
  completion_behavior: loop
position:
  speed_min_knots: 450.0
  speed_max_knots: 550.0
  altitude_min_feet: 1000.0
  altitude_max_feet: 3000.0
  heading_variation_rate: 5.0
heading_tracker:
  min_distance_meters: 10.0
  max_age_seconds: 30.0
"""


class TestOriginalConfigFile:
    def test_phase2_file_loads_with_its_meaning(self, tmp_path):
        """The original's config.yaml starts the exporter, each key read as meant."""
        path = tmp_path / "config.yaml"
        path.write_text(ORIGINAL_PHASE2)
        with capture_logs() as logs:
            config, existed = load_config(path)
        assert existed
        route = config.route
        assert route.pattern == "circle"
        assert (route.center_latitude, route.center_longitude) == (40.7128, -74.006)
        assert (route.start_latitude, route.start_longitude) == (40.7128, -74.006)
        assert route.radius_meters == 100_000.0
        assert route.length_meters == 500_000.0
        assert route.speed_knots == 50.0
        assert route.altitude_meters == 5050.0
        assert config.network.latency_typical_ms == 50.0
        assert config.network.spike_probability == 0.05
        assert config.obstruction.max_percent == 30.0
        keys = {e["key"] for e in logs if e["event"] == "starlink_config_legacy_key"}
        assert "obstruction.variation_rate" in keys
        assert "position.heading_variation_rate" in keys
        assert "route.radius_km" in keys
        assert all(e["file"] == str(path) for e in logs)

    def test_later_file_loads(self, tmp_path):
        """Later versions' keys: straight to the north-east, feet, ignored extras."""
        path = tmp_path / "config.yaml"
        path.write_text(ORIGINAL_LATER)
        config, _ = load_config(path)
        route = config.route
        assert route.pattern == "straight"
        assert route.bearing_degrees == 45.0
        assert route.length_meters == 60_000.0
        assert route.speed_knots == 500.0
        assert route.altitude_meters == pytest.approx(2000 * 0.3048)

    def test_bad_original_value_names_the_key(self, tmp_path):
        """A bad value under an original key still fails, naming file and key."""
        path = tmp_path / "config.yaml"
        path.write_text("route:\n  pattern: circular\n  radius_km: -1\n")
        with pytest.raises(ConfigError, match=r"route\.radius_meters"):
            load_config(path)

    def test_our_shape_is_untouched(self):
        """A configuration in this exporter's shape passes through unchanged."""
        current = StarlinkConfig().model_dump(mode="json")
        assert translate(current) == (current, [])


class TestOriginalVariables:
    def test_original_variables_are_read(self, tmp_path, monkeypatch):
        """STARLINK_MODE, STARLINK_<SECTION>_<KEY> and the dish host and port work."""
        monkeypatch.setenv("STARLINK_MODE", "live")
        monkeypatch.setenv("STARLINK_ROUTE_LATITUDE_START", "51.5")
        monkeypatch.setenv("STARLINK_NETWORK_LATENCY_MIN_MS", "25")
        monkeypatch.setenv("STARLINK_DISH_HOST", "127.0.0.1")
        monkeypatch.setenv("STARLINK_DISH_PORT", "9201")
        monkeypatch.setenv("STARLINK_LOCATION_PORT", "8000")  # compose's, not ours
        config, _ = load_with_env(tmp_path / "config.yaml")
        assert config.mode == "live"
        assert config.route.start_latitude == 51.5
        assert config.network.latency_min_ms == 25
        assert config.live.dish_address == "127.0.0.1:9201"

    def test_ours_win_and_simulation_mode(self, tmp_path, monkeypatch):
        """SIMULATION_MODE=false means live; STARLINK_EXPORTER_* wins over both."""
        monkeypatch.setenv("SIMULATION_MODE", "false")
        assert load_with_env(tmp_path / "x.yaml")[0].mode == "live"
        monkeypatch.setenv("STARLINK_EXPORTER_MODE", "simulation")
        assert load_with_env(tmp_path / "x.yaml")[0].mode == "simulation"

    def test_bad_original_variable_is_one_line(self, tmp_path, monkeypatch):
        """A bad value in an original variable stops the start, naming it."""
        monkeypatch.setenv("STARLINK_UPDATE_INTERVAL_SECONDS", "-1")
        with pytest.raises(ConfigError, match="STARLINK_"):
            load_with_env(tmp_path / "config.yaml")

    def test_starlink_mode_wins_over_simulation_mode(self):
        """As in the original, STARLINK_MODE is read after SIMULATION_MODE."""
        update = legacy_env({"SIMULATION_MODE": "true", "STARLINK_MODE": "live"})
        assert update == {"mode": "live"}


def test_original_body_merges():
    """A body in the original's shape is merged as a file in it would be."""
    new = merge_update(
        StarlinkConfig(),
        {"route": {"pattern": "straight", "latitude_start": 10, "distance_km": 2}},
    )
    assert new.route.pattern == "straight"
    assert new.route.start_latitude == 10
    assert new.route.length_meters == 2000.0


def test_our_straight_route_keeps_its_bearing():
    """``pattern: straight`` without the original's keys is ours: no 45 deg bearing."""
    new = merge_update(StarlinkConfig(), {"route": {"pattern": "straight"}})
    assert new.route.bearing_degrees == 90.0
