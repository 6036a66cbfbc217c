"""The /api/status document: its shape is fixed, and its model describes it."""

from __future__ import annotations

import json

import jsonschema_rs

from exporterhub.exporters.starlink.engine import SimulationEngine
from exporterhub.exporters.starlink.settings import StarlinkConfig
from exporterhub.exporters.starlink.status import StatusDocument, status_document
from exporterhub.exporters.starlink.telemetry import Telemetry

SHAPE = {
    "timestamp": None,
    "mode": None,
    "available": None,
    "age_seconds": None,
    "error": None,
    "position": [
        "latitude_degrees",
        "longitude_degrees",
        "altitude_meters",
        "speed_knots",
        "heading_degrees",
        "location_available",
        "latitude",
        "longitude",
        "altitude",
        "speed",
        "heading",
    ],
    "network": [
        "latency_ms",
        "throughput_down_mbps",
        "throughput_up_mbps",
        "packet_loss_percent",
    ],
    "obstruction": ["obstruction_percent", "currently_obstructed"],
    "dish": [
        "state",
        "uptime_seconds",
        "signal_quality_percent",
        "snr_above_noise_floor",
        "alerts",
        "gps_valid",
        "gps_satellites",
        "power_watts",
        "id",
        "hardware_version",
        "software_version",
    ],
    "environmental": [
        "signal_quality_percent",
        "uptime_seconds",
        "temperature_celsius",
    ],
}
"""The document's keys in order (the original backend's names included)."""

VALIDATOR = jsonschema_rs.validator_for(StatusDocument.model_json_schema())


def _shape(document):
    return {
        key: list(value) if isinstance(value, dict) else None
        for key, value in document.items()
    }


class TestStatusDocument:
    def test_simulated_sample_keeps_the_shape(self):
        """A sample gives every section with its keys in the same order."""
        engine = SimulationEngine(StarlinkConfig(), seed=3, start_wall=1.7e9)
        document = status_document(engine.step(1.0, 1.7e9 + 1), "simulation")
        assert _shape(document) == SHAPE
        assert document["timestamp"] == "2023-11-14T22:13:21+00:00"
        assert document["mode"] == "simulation"
        assert document["available"] is True
        assert VALIDATOR.is_valid(document)

    def test_no_sample_has_no_sections(self):
        """Before the first sample only timestamp, mode, available, age and error."""
        document = status_document(None, "live")
        assert document == {
            "timestamp": None,
            "mode": "live",
            "available": False,
            "age_seconds": None,
            "error": None,
        }
        assert VALIDATOR.is_valid(document)

    def test_stale_sample_shows_only_its_time_and_age(self):
        """A sample past its max age is not served as current: no sections."""
        sample = Telemetry(timestamp=1.7e9, mode="live", state="CONNECTED")
        document = status_document(
            sample, "live", current=False, age_seconds=42.0004, error="unreachable"
        )
        assert document == {
            "timestamp": "2023-11-14T22:13:20+00:00",
            "mode": "live",
            "available": False,
            "age_seconds": 42.0,
            "error": "unreachable",
        }
        assert VALIDATOR.is_valid(document)

    def test_missing_values_are_null_not_zero(self):
        """A field the source did not give is null in the document."""
        document = status_document(Telemetry(timestamp=0.0, mode="live"), "live")
        assert _shape(document) == SHAPE
        assert document["network"]["latency_ms"] is None
        assert document["dish"]["alerts"] == []
        assert document["dish"]["gps_satellites"] is None
        assert VALIDATOR.is_valid(document)
        assert json.loads(json.dumps(document)) == document


def test_original_names_carry_the_same_values():
    """The original backend's position and environmental keys repeat our values."""
    engine = SimulationEngine(StarlinkConfig(), seed=3, start_wall=1.7e9)
    document = status_document(engine.step(1.0, 1.7e9 + 1), "simulation")
    position = document["position"]
    for old, new in (
        ("latitude", "latitude_degrees"),
        ("longitude", "longitude_degrees"),
        ("altitude", "altitude_meters"),
        ("speed", "speed_knots"),
        ("heading", "heading_degrees"),
    ):
        assert position[old] == position[new] is not None
    environmental = document["environmental"]
    assert environmental["uptime_seconds"] == document["dish"]["uptime_seconds"]
    assert (
        environmental["signal_quality_percent"]
        == document["dish"]["signal_quality_percent"]
    )
    assert environmental["temperature_celsius"] is None
