"""Tests of reading python-kasa devices into readings and folding them into state."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

kasa = pytest.importorskip("kasa")

from kasa import (  # noqa: E402
    AuthenticationError,
    DeviceError,
    KasaException,
    Module,
    UnsupportedDeviceError,
)

from exporterhub.exporters.kasa.state import (  # noqa: E402
    ERROR_KINDS,
    KWH_TO_JOULES,
    ErrorKind,
    KasaReading,
    KasaSnapshot,
    KasaState,
    error_kind,
    read_device,
)
from tests.exporters.kasa import (  # noqa: E402
    FIXTURE_FILES,
    expected,
    is_iot,
    load,
    served,
)

FIXTURE_PARAMS = [pytest.param(p, id=p.stem) for p in FIXTURE_FILES]


class TestFixtures:
    """Every shared fixture, served by the simulator, reads back value by value."""

    @pytest.mark.parametrize("path", FIXTURE_PARAMS)
    async def test_reading_matches_fixture(self, path):
        """Identity, relay, RSSI and energy equal the fixture; kWh become joules."""
        profile = load(path)
        exp = expected(profile)
        async with served(path) as (device, protocol):
            r = read_device(device, host="127.0.0.1", protocol=protocol)
        assert r.protocol == protocol
        assert r.host == "127.0.0.1"
        assert r.is_iot is is_iot(profile)
        for field in ("model", "alias", "mac", "hardware_version", "firmware_version"):
            assert getattr(r, field) == exp[field], field
        assert r.family == exp["family"]
        assert r.device_id
        assert r.is_on is exp["is_on"]
        assert r.rssi == exp["rssi"]
        assert r.signal_level == exp["signal_level"]
        assert r.children == ()
        if exp["is_on"]:
            assert r.on_since is not None
            assert r.on_since <= time.time() + 1
        else:
            assert r.on_since is None
        if "power" not in exp:
            assert not r.has_energy
            for name in (
                "power_watts",
                "voltage_volts",
                "current_amperes",
                "energy_total_kwh",
                "energy_today_kwh",
                "energy_month_kwh",
                "energy_total_joules",
            ):
                assert getattr(r, name) is None, name
            assert not r.energy_module_disabled
            return
        assert r.has_energy
        assert not r.energy_module_disabled
        assert r.power_watts == pytest.approx(exp["power"], rel=1e-9)
        assert r.voltage_volts == pytest.approx(exp["voltage"], rel=1e-9)
        assert r.current_amperes == pytest.approx(exp["current"], rel=1e-9)
        assert r.energy_total_kwh == pytest.approx(exp["total"], rel=1e-9)
        assert r.energy_today_kwh == pytest.approx(exp["today"], rel=1e-9)
        assert r.energy_month_kwh == pytest.approx(exp["month"], rel=1e-9)
        assert r.energy_total_joules == pytest.approx(exp["total"] * 3.6e6, rel=1e-9)
        assert r.energy_today_joules == pytest.approx(exp["today"] * 3.6e6, rel=1e-9)
        assert r.energy_month_joules == pytest.approx(exp["month"] * 3.6e6, rel=1e-9)

    async def test_smart_total_is_not_consumption_total(self):
        """A SMART meter's counter is this month's energy, not the None lifetime."""
        path = next(p for p in FIXTURE_FILES if p.name.startswith("P110"))
        async with served(path) as (device, protocol):
            energy = device.modules[Module.Energy]
            assert energy.consumption_total is None
            r = read_device(device, host="h", protocol=protocol)
        assert r.energy_total_kwh == r.energy_month_kwh
        assert r.energy_month_kwh == pytest.approx(0.004)
        assert r.signal_level == 2

    async def test_iot_has_no_signal_level(self):
        """Legacy plugs have no signal bars: the value is unknown, not 0."""
        path = next(p for p in FIXTURE_FILES if p.name.startswith("HS110"))
        async with served(path) as (device, protocol):
            r = read_device(device, host="h", protocol=protocol)
        assert r.signal_level is None
        assert r.rssi == -71
        assert r.energy_total_joules == pytest.approx(55.139 * KWH_TO_JOULES, rel=1e-9)


def _raise(exc: BaseException) -> property:
    def getter(self: Any) -> Any:
        raise exc

    return property(getter)


class _Info:
    hardware_version = "1.0"
    firmware_version = "1.2.3"
    device_family = "SMART.TAPOPLUG"


class _Feature:
    def __init__(self, value: Any) -> None:
        self.value = value


class _Energy:
    """A stand-in python-kasa energy module (third-party shape, not our code)."""

    def __init__(self, **values: Any) -> None:
        self.disabled = values.pop("disabled", False)
        self._values = values

    def __getattr__(self, name: str) -> Any:
        value = self._values[name]
        if isinstance(value, BaseException):
            raise value
        return value


class _Device:
    """A stand-in SMART device whose accessors can raise, as §6 describes."""

    alias = "Lamp"
    model = "P110"
    device_info = _Info()
    mac = "AA:BB:CC:DD:EE:FF"
    device_id = "0" * 40
    is_on = True
    rssi = -60
    on_since = datetime(2025, 1, 1, tzinfo=UTC)

    def __init__(
        self,
        energy: Any = None,
        children: tuple[Any, ...] = (),
        features: dict[str, Any] | None = None,
    ) -> None:
        self.modules = {Module.Energy: energy} if energy is not None else {}
        self.children = children
        self.features = features or {}


class _Broken(_Device):
    alias = _raise(KeyError("alias"))
    device_info = _raise(KasaException("no info"))
    rssi = _raise(AttributeError("rssi"))
    on_since = _raise(KeyError("time"))
    is_on = _raise(ValueError("relay"))


GOOD = {
    "current_consumption": 12.5,
    "voltage": 230.0,
    "current": 0.05,
    "consumption_total": None,
    "consumption_today": 0.25,
    "consumption_this_month": 3.5,
}


class TestAccessorsThatRaise:
    """One accessor that raises leaves only that value unknown."""

    def test_each_value_on_its_own(self):
        """Raising identity and relay accessors leave the energy values intact."""
        dev = _Broken(energy=_Energy(**GOOD), features={"signal_level": _Feature(3)})
        r = read_device(dev, host="h", protocol="klap")
        assert (r.alias, r.hardware_version, r.family) == ("", "", "")
        assert r.model == "P110"
        assert r.rssi is None
        assert r.is_on is None
        assert r.on_since is None
        assert r.signal_level == 3
        assert r.power_watts == 12.5
        assert r.energy_total_kwh == 3.5

    def test_raising_energy_values(self):
        """A today figure that raises KeyError is None; the others stay."""
        values = GOOD | {"consumption_today": KeyError("daystat"), "voltage": None}
        r = read_device(_Device(energy=_Energy(**values)), host="h", protocol="klap")
        assert r.energy_today_kwh is None
        assert r.voltage_volts is None
        assert r.power_watts == 12.5
        assert r.on_since == datetime(2025, 1, 1, tzinfo=UTC).timestamp()

    def test_non_numbers_are_unknown(self):
        """A bool or text where a number belongs is not exported as a number."""
        values = GOOD | {"current_consumption": True, "voltage": "230"}
        r = read_device(_Device(energy=_Energy(**values)), host="h", protocol="klap")
        assert r.power_watts is None
        assert r.voltage_volts is None

    @pytest.mark.parametrize(
        ("energy", "disabled"),
        [
            pytest.param(_Energy(**GOOD), False, id="healthy"),
            pytest.param(_Energy(**GOOD, disabled=True), True, id="module-disabled"),
            pytest.param(
                _Energy(
                    **GOOD
                    | {
                        "current_consumption": None,
                        "consumption_today": None,
                        "consumption_this_month": None,
                    }
                ),
                True,
                id="stuck-none",
            ),
        ],
    )
    def test_energy_module_disabled(self, energy, disabled):
        """A disabled SMART module or all-None energy values flag a rebuild."""
        r = read_device(_Device(energy=energy), host="h", protocol="klap")
        assert r.energy_module_disabled is disabled
        assert r.has_energy

    def test_strip_children(self):
        """A strip yields one outlet reading per child, in order, with joules."""
        child0 = _Device(energy=_Energy(**GOOD))
        child1 = _Broken()
        strip = _Device(children=(child0, child1))
        r = read_device(strip, host="h", protocol="klap")
        assert [o.index for o in r.children] == [0, 1]
        first, second = r.children
        assert first.alias == "Lamp"
        assert first.is_on is True
        assert first.power_watts == 12.5
        assert first.energy_today_joules == pytest.approx(0.25 * 3.6e6, rel=1e-9)
        assert first.energy_month_joules == pytest.approx(3.5 * 3.6e6, rel=1e-9)
        assert first.energy_total_joules == first.energy_month_joules
        assert second.alias == ""
        assert second.is_on is None
        assert second.power_watts is None
        assert not r.has_energy


class TestState:
    """KasaState accumulates readings, error counts and poll durations."""

    def test_empty_snapshot(self):
        """Before any poll every error kind is 0 and nothing else is known."""
        snap = KasaState().snapshot()
        assert snap == KasaSnapshot()
        assert snap.errors == tuple((k.value, 0) for k in ERROR_KINDS)
        assert [k for k, _ in snap.errors] == [
            "auth",
            "timeout",
            "connection",
            "protocol",
            "unsupported",
            "wrong_device",
        ]

    def test_apply_then_fail_keeps_reading(self):
        """A failure counts by kind, keeps the last reading and records its time."""
        state = KasaState(legacy=True)
        reading = KasaReading(model="HS110", power_watts=1.0)
        state.apply(reading, 0.25)
        assert state.reading is reading
        state.failed(ErrorKind.TIMEOUT, 18.0)
        state.failed("timeout")
        state.failed("auth")
        snap = state.snapshot()
        assert snap.reading is reading
        assert snap.poll_seconds == 18.0
        assert snap.legacy is True
        assert dict(snap.errors) == {
            "auth": 1,
            "timeout": 2,
            "connection": 0,
            "protocol": 0,
            "unsupported": 0,
            "wrong_device": 0,
        }

    def test_unknown_kind_is_refused(self):
        """Only the six error kinds exist."""
        with pytest.raises(ValueError, match="oops"):
            KasaState().failed("oops")


class TestErrorKind:
    @pytest.mark.parametrize(
        ("exc", "kind"),
        [
            pytest.param(AuthenticationError("x"), "auth", id="auth"),
            pytest.param(kasa.TimeoutError("x"), "timeout", id="kasa-timeout"),
            pytest.param(TimeoutError(), "timeout", id="deadline"),
            pytest.param(UnsupportedDeviceError("x"), "unsupported", id="tpap"),
            pytest.param(DeviceError("x"), "protocol", id="device-error"),
            pytest.param(KasaException("x"), "connection", id="other"),
            pytest.param(ConnectionRefusedError(), "connection", id="oserror"),
        ],
    )
    def test_classification(self, exc, kind):
        """Each python-kasa failure maps to its §2.4 kind."""
        assert error_kind(exc) == kind
