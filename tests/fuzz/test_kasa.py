"""Plug answers fuzzed through python-kasa into the exporter's reading and metrics.

The project's plug simulator serves a fixture profile whose values were replaced
by structured but wrong ones (wrong types, NaN, huge numbers, odd text) over the
real XOR or KLAP protocol on loopback; python-kasa connects and updates as the
worker's client does. When python-kasa refuses the answer, the client turns any
exception into a ``PlugError`` (covered by its own tests); when it accepts it,
``read_device`` must not raise, every value it reads must be a finite number or
None (never a fabricated 0 for garbage), and the exposition must parse.
"""

from __future__ import annotations

import asyncio
import copy
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from exporterhub.core.errors import ConfigError
from exporterhub.core.exposition import Section
from exporterhub.core.snapshot import LinkState, TargetRecord
from exporterhub.exporters.kasa.collector import KASA_SPECS, PREFIX
from exporterhub.exporters.kasa.command_settings import (
    TapoExporterSettings,
    load_tapo_settings,
)
from exporterhub.exporters.kasa.state import KasaState, read_device
from tests.exporters.kasa import FIXTURES, PASSWORD, USER, is_iot, load

from .strategies import (
    EDGE_NUMBERS,
    ENV_VALUES,
    JSON_VALUES,
    budget,
    env_names,
    environment,
    outcome,
)

kasa = pytest.importorskip(
    "kasa", reason="install the kasa extra: pip install -e '.[kasa]'"
)

IOT = FIXTURES / "HS110(EU)_1.0_1.2.5.json"
SMART = FIXTURES / "P110(AU)_1.0_1.3.1.json"
MEASURED = (
    "power", "voltage", "current", "total", "power_mw", "voltage_mv", "current_ma",
    "total_wh", "current_power", "today_energy", "month_energy", "energy_wh",
)  # fmt: skip
"""Leaves the simulator computes with: replaced by numbers (NaN, inf, huge)."""
ANY = (
    "rssi", "on_time", "relay_state", "signal_level", "device_on", "today_runtime",
    "month_runtime", "alias", "mac", "model", "hw_ver", "sw_ver", "fw_ver", "type",
    "nickname", "err_code",
)  # fmt: skip
"""Leaves the simulator passes through: replaced by any JSON value."""
NUMBERS = EDGE_NUMBERS | st.floats() | st.integers()


@st.composite
def profiles(draw: st.DrawFn, path: Path) -> dict[str, Any]:
    """A fixture profile with some of the values the reading uses replaced."""
    profile = copy.deepcopy(load(path))

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in MEASURED and draw(st.booleans()):
                    node[key] = draw(NUMBERS)
                elif key in ANY and draw(st.booleans()):
                    node[key] = draw(JSON_VALUES)
                else:
                    visit(value)

    visit(profile)
    return profile


async def _read(profile: dict[str, Any]) -> Any:
    from kasa import (
        Credentials,
        Device,
        DeviceConfig,
        DeviceConnectionParameters,
        DeviceEncryptionType,
        DeviceFamily,
    )

    from exporterhub.simulators.kasa import PlugSimulator, PlugSpec

    protocol = "xor" if is_iot(profile) else "klap"
    spec = PlugSpec(
        profile=profile,
        protocol=protocol,
        frozen=True,
        username=USER,
        password=PASSWORD,
    )
    try:
        simulator = PlugSimulator(spec)
    except (TypeError, ValueError, OverflowError):
        return None  # the simulator's own arithmetic refused the profile
    async with simulator as sim:
        config = DeviceConfig(host="127.0.0.1", port_override=sim.port, timeout=1)
        if protocol == "klap":
            family = DeviceFamily(profile["discovery_result"]["result"]["device_type"])
            config.credentials = Credentials(USER, PASSWORD)
            config.connection_type = DeviceConnectionParameters(
                family, DeviceEncryptionType.Klap, login_version=2
            )
        try:
            async with asyncio.timeout(5):
                device = await Device.connect(config=config)
        except Exception:
            return None
        try:
            return read_device(device, host="127.0.0.1", protocol=protocol)
        finally:
            await device.disconnect()


def _finite_or_none(value: object) -> bool:
    return value is None or (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _check(reading: Any) -> None:
    for name in (
        "power_watts", "voltage_volts", "current_amperes", "energy_total_kwh",
        "energy_today_kwh", "energy_month_kwh", "rssi", "signal_level", "on_since",
    ):  # fmt: skip
        assert _finite_or_none(getattr(reading, name)), (name, getattr(reading, name))
    for name in ("model", "alias", "mac", "hardware_version", "firmware_version"):
        assert isinstance(getattr(reading, name), str), name
    state = KasaState(legacy=True)
    state.apply(reading, 0.01)
    section = Section("tapo", PREFIX, KASA_SPECS)
    section.publish(
        TargetRecord(
            name="plug",
            identity=(("target", "plug"),),
            data=state.snapshot(),
            taken_at=1_700_000_000.0,
            max_age=60,
            link=LinkState.CONNECTED,
            healthy=True,
            last_success=1_700_000_000.0,
        )
    )
    body = b"".join(section.render(1_700_000_000.0, openmetrics=False)).decode()
    assert list(text_string_to_metric_families(body))


class TestReadDevice:
    @given(profile=profiles(IOT))
    @budget(40)
    def test_iot_answers(self, profile: dict[str, Any]) -> None:
        """Any IOT answer python-kasa accepts reads into finite values or None."""
        reading = asyncio.run(_read(profile))
        event("read" if reading is not None else "refused")
        if reading is not None:
            _check(reading)

    @given(profile=profiles(SMART))
    @budget(20)
    def test_smart_answers(self, profile: dict[str, Any]) -> None:
        """Any SMART answer python-kasa accepts reads into finite values or None."""
        reading = asyncio.run(_read(profile))
        event("read" if reading is not None else "refused")
        if reading is not None:
            _check(reading)


@given(
    values=st.dictionaries(
        st.sampled_from(env_names(TapoExporterSettings)), ENV_VALUES, max_size=4
    )
)
@budget(100)
def test_environment_gives_settings_or_a_config_error(values: dict[str, str]) -> None:
    """TAPO_* variables (the original's names too) give settings or a ConfigError."""
    with environment(values):
        _, error = outcome(
            lambda: load_tapo_settings({}, None, default_path=None), ConfigError
        )
    assert error is None or str(error)
