"""Starlink config bodies, config files, legacy variables and dish data, fuzzed.

Invariant: a config update (``merge_update``, what ``POST /api/config`` runs,
then ``changed_keys`` and ``translate`` as the handler does) is a valid config or
a ``ValidationError`` (answered 400 with its fields); a config file is a config
or a ``ConfigError`` naming the file; the original backend's variables
(``legacy_env``) never raise; and a live poll's dicts (``telemetry_from_dish``)
become finite values or None, never an exception escaping the worker.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from exporterhub.core.errors import ConfigError
from exporterhub.exporters.starlink.__main__ import load_with_env
from exporterhub.exporters.starlink.legacy import legacy_env, translate
from exporterhub.exporters.starlink.protocol import telemetry_from_dish
from exporterhub.exporters.starlink.settings import (
    StarlinkConfig,
    changed_keys,
    load_config,
    merge_update,
)

from .strategies import (
    EDGE_NUMBERS,
    ENV_VALUES,
    JSON_VALUES,
    TEXT,
    budget,
    environment,
    mutated,
    outcome,
)

DEFAULT = StarlinkConfig().model_dump(mode="json")
LEGACY = {
    "position": {
        "speed_min_knots": 5, "speed_max_knots": 10, "altitude_min_meters": 1,
        "altitude_max_meters": 3, "altitude_min_feet": 1, "altitude_max_feet": 2,
        "heading_variation_rate": 1,
    },
    "route": {
        "pattern": "circular", "latitude_start": 1.0, "longitude_start": 2.0,
        "radius_km": 5, "distance_km": 3,
    },
    "heading_tracker": {"x": 1},
}  # fmt: skip
"""Every spelling of the original backend ``translate`` reads."""
HUGE = st.sampled_from([10**400, -(10**400), 2**1100])
"""Integers no float holds: YAML reads them, JSON (orjson) turns them into floats."""
UPDATES = st.sampled_from([DEFAULT, LEGACY]).flatmap(mutated).filter(
    lambda update: isinstance(update, dict)
) | st.dictionaries(st.sampled_from([*DEFAULT, *LEGACY]), JSON_VALUES, max_size=4)
"""Bodies the handler passes on: JSON objects (it refuses anything else first)."""


def _with_huge(update: Any, number: int) -> Any:
    """Put one huge integer in the first numeric leaf of ``update``."""
    if isinstance(update, dict):
        for key, value in update.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                return {**update, key: number}
            if isinstance(value, dict):
                return {**update, key: _with_huge(value, number)}
    return update


class TestConfigUpdate:
    @given(update=UPDATES)
    @budget(150)
    @example(update={"route": {"radius_km": float("inf")}})
    @example(update={"position": {"speed_min_knots": float("nan")}})
    def test_update_is_valid_or_a_validation_error(
        self, update: dict[str, Any]
    ) -> None:
        """An update merges into a valid config or fails validation; nothing else."""
        current = StarlinkConfig()
        new, error = outcome(lambda: merge_update(current, update), ValidationError)
        if error is not None:
            assert isinstance(error, ValidationError)
            assert error.errors()
            return
        assert isinstance(new, StarlinkConfig)
        assert StarlinkConfig.model_validate(new.model_dump(mode="json")) == new
        changed_keys(current, new)
        translate(update)


class TestConfigFile:
    @given(document=UPDATES, number=HUGE)
    @budget(100)
    @example(document={"route": {"radius_km": 5}}, number=10**400)
    @example(document={"position": {"speed_min_knots": 1}}, number=10**400)
    def test_file_is_a_config_or_a_config_error(
        self, tmp_path_factory: pytest.TempPathFactory, document: Any, number: int
    ) -> None:
        """A config file (huge integers included) loads or is refused naming itself."""
        path = tmp_path_factory.mktemp("starlink") / "config.yaml"
        for data in (document, _with_huge(document, number)):
            path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
            loaded, error = outcome(lambda: load_config(path), ConfigError)
            if error is not None:
                assert str(path) in str(error)
            else:
                assert loaded[1]
                assert isinstance(loaded[0], StarlinkConfig)

    @given(text=st.text(max_size=60) | st.binary(max_size=60))
    @budget(100)
    @example(text=b"\xff\xfe")
    @example(text="route: [")
    def test_any_text_is_a_config_or_a_config_error(
        self, tmp_path_factory: pytest.TempPathFactory, text: str | bytes
    ) -> None:
        """Any file content loads or is refused with a ConfigError naming the file."""
        path = tmp_path_factory.mktemp("starlink") / "config.yaml"
        data = (
            text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
        )
        path.write_bytes(data)
        _, error = outcome(lambda: load_config(path), ConfigError)
        assert error is None or str(path) in str(error)


LEGACY_NAMES = st.sampled_from(
    ["SIMULATION_MODE", "STARLINK_MODE", "STARLINK_UPDATE_INTERVAL_SECONDS",
     "STARLINK_NETWORK_LATENCY_MIN_MS", "STARLINK_ROUTE_PATTERN", "STARLINK_DISH_HOST",
     "STARLINK_DISH_PORT", "STARLINK_POSITION_SPEED_MIN_KNOTS", "STARLINK_WEATHER_X"]
) | st.text(  # what the OS takes in a variable's name
    st.characters(exclude_characters="=\x00", exclude_categories=["Cs"]),
    min_size=1,
    max_size=12,
).map(lambda t: "STARLINK_" + t)  # fmt: skip


@given(environ=st.dictionaries(LEGACY_NAMES, ENV_VALUES, max_size=5))
@budget(150)
def test_legacy_env_becomes_an_update(environ: dict[str, str]) -> None:
    """The original's variables become an update that merges or fails validation."""
    update = legacy_env(environ)
    outcome(lambda: merge_update(StarlinkConfig(), update), ValidationError)


DISH_KEYS = [
    "state", "pop_ping_latency_ms", "downlink_throughput_bps", "uplink_throughput_bps",
    "pop_ping_drop_rate", "fraction_obstructed", "currently_obstructed",
    "is_snr_above_noise_floor", "uptime", "gps_ready", "gps_sats", "id",
    "hardware_version", "software_version", "seconds_to_first_nonempty_slot",
    "direction_azimuth", "direction_elevation",
]  # fmt: skip
DISH_VALUES = JSON_VALUES | EDGE_NUMBERS | HUGE
DISH = st.none() | st.fixed_dictionaries(
    {}, optional=dict.fromkeys(DISH_KEYS, DISH_VALUES)
)
ALERTS = st.none() | st.dictionaries(
    st.sampled_from(["alert_motors_stuck", "alert_thermal_throttle"]) | TEXT,
    DISH_VALUES,
    max_size=3,
)
LOCATION = st.none() | st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(
        ["latitude", "longitude", "altitude", "horizontal_speed_mps", "sigma_m"],
        DISH_VALUES,
    ),
)


@given(
    status=DISH, alerts=ALERTS, location=LOCATION, again=LOCATION, now=st.floats(0, 2e9)
)
@budget(200)
@example(status={"uptime": 10**400}, alerts=None, location=None, again=None, now=1.0)
@example(
    status={"fraction_obstructed": 1e307},
    alerts=None,
    location=None,
    again=None,
    now=1.0,
)
def test_dish_data_becomes_finite_values(
    status: Any, alerts: Any, location: Any, again: Any, now: float
) -> None:
    """Any poll's dicts give telemetry whose numbers are finite or None."""
    telemetry, fix = telemetry_from_dish(
        status, None, alerts, location, now=now, previous_fix=None
    )
    telemetry, _ = telemetry_from_dish(
        status, None, alerts, again, now=now + 5, previous_fix=fix
    )
    for name, value in (
        vars(telemetry).items()
        if hasattr(telemetry, "__dict__")
        else ((slot, getattr(telemetry, slot)) for slot in telemetry.__slots__)
    ):
        if isinstance(value, float):
            assert math.isfinite(value), name


class TestFound:
    """Defects the tests above found, one plain test each."""

    def test_config_file_integer_past_float_range_is_a_config_error(
        self, tmp_path: Path
    ) -> None:
        """A legacy ``radius_km`` no float holds is refused naming file and key.

        Found by ``test_file_is_a_config_or_a_config_error``: ``legacy._number``
        raised OverflowError out of ``load_config`` (a traceback at start-up).
        """
        path = tmp_path / "config.yaml"
        path.write_text("route:\n  radius_km: " + "9" * 400 + "\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"config\.yaml: route\.radius_meters"):
            load_config(path)

    def test_dish_integer_past_float_range_is_unknown(self) -> None:
        """A dish value no float holds is unknown (None), not an exception.

        Found by ``test_dish_data_becomes_finite_values``: ``_num`` let
        OverflowError out of ``telemetry_from_dish``.
        """
        telemetry, _ = telemetry_from_dish(
            {"uptime": 10**400, "gps_sats": 7}, None, None, None, now=1.0,
            previous_fix=None,
        )  # fmt: skip
        assert telemetry.uptime_seconds is None
        assert telemetry.gps_satellites == 7

    def test_dish_value_past_range_once_scaled_is_unknown(self) -> None:
        """A ratio that overflows when turned into percent is unknown, not +Inf.

        Found by ``test_dish_data_becomes_finite_values``: 1e307 x 100 was served
        as an infinite obstruction percentage.
        """
        telemetry, _ = telemetry_from_dish(
            {"fraction_obstructed": 1e307, "pop_ping_drop_rate": 0.5}, None, None,
            None, now=1.0, previous_fix=None,
        )  # fmt: skip
        assert telemetry.obstruction_percent is None
        assert telemetry.packet_loss_percent == 50.0


OUR_ENV = st.sampled_from(
    ["STARLINK_EXPORTER_MODE", "STARLINK_EXPORTER_NETWORK",
     "STARLINK_EXPORTER_NETWORK__LATENCY_MIN_MS", "STARLINK_EXPORTER_ROUTE__PATTERN",
     "STARLINK_EXPORTER_LIVE__TIMEOUT_SECONDS", "STARLINK_EXPORTER_LOG_LEVEL",
     "STARLINK_EXPORTER_", "STARLINK_EXPORTER___X"]
)  # fmt: skip


@given(values=st.dictionaries(OUR_ENV | LEGACY_NAMES, ENV_VALUES, max_size=4))
@budget(150)
@example(
    values={
        "STARLINK_EXPORTER_NETWORK": "5",
        "STARLINK_EXPORTER_NETWORK__LATENCY_MIN_MS": "25",
    }
)
@example(values={"STARLINK_EXPORTER_NETWORK__LATENCY_MIN_MS": "9" * 5000})
def test_environment_gives_a_config_or_a_config_error(
    tmp_path_factory: pytest.TempPathFactory, values: dict[str, str]
) -> None:
    """STARLINK_* and STARLINK_EXPORTER_* give a config or one ConfigError."""
    path = tmp_path_factory.mktemp("starlink") / "config.yaml"  # absent: defaults
    with environment(values):
        _, error = outcome(lambda: load_with_env(path), ConfigError)
    assert error is None or str(error).startswith("environment")


def test_variable_below_a_value_is_a_config_error(tmp_path: Path) -> None:
    """A variable under a section another variable set to a value is refused.

    Found by ``test_environment_gives_a_config_or_a_config_error``:
    ``STARLINK_EXPORTER_NETWORK=5`` with ``STARLINK_EXPORTER_NETWORK__LATENCY_MIN_MS``
    raised TypeError out of ``env_overrides`` (a traceback at start-up).
    """
    values = {
        "STARLINK_EXPORTER_NETWORK": "5",
        "STARLINK_EXPORTER_NETWORK__LATENCY_MIN_MS": "25",
    }
    with environment(values), pytest.raises(ConfigError) as error:
        load_with_env(tmp_path / "config.yaml")
    assert str(error.value) == (
        "environment: STARLINK_EXPORTER_NETWORK__LATENCY_MIN_MS: "
        "STARLINK_EXPORTER_NETWORK is not a section"
    )


def test_variable_of_a_huge_integer_is_read_as_text(tmp_path: Path) -> None:
    """An integer past Python's 4300-digit limit is kept as text, then refused.

    Found by ``test_environment_gives_a_config_or_a_config_error``: PyYAML's
    ``int()`` raised ValueError out of ``env_overrides`` (a traceback at start-up).
    """
    values = {"STARLINK_EXPORTER_NETWORK__LATENCY_MIN_MS": "9" * 5000}
    with environment(values), pytest.raises(ConfigError) as error:
        load_with_env(tmp_path / "config.yaml")
    assert str(error.value).startswith(
        "environment (STARLINK_EXPORTER_*): network.latency_min_ms: "
    )
