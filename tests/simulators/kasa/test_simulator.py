"""Tests of the Kasa/Tapo plug simulator through the unmodified python-kasa client."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path

import pytest

kasa = pytest.importorskip("kasa")

from kasa import (  # noqa: E402
    AuthenticationError,
    Credentials,
    Device,
    DeviceConfig,
    DeviceConnectionParameters,
    DeviceEncryptionType,
    DeviceFamily,
    KasaException,
    Module,
)

from exporterhub.core.testing import free_port  # noqa: E402
from exporterhub.simulators import kasa as sim_mod  # noqa: E402
from exporterhub.simulators.kasa import (  # noqa: E402
    KasaSimulator,
    PlugSimulator,
    PlugSpec,
    default_specs,
)
from exporterhub.simulators.kasa.klap import (  # noqa: E402
    KlapError,
    auth_hash_v2,
    handshake1,
)
from exporterhub.simulators.kasa.xor import decrypt, encrypt, frame  # noqa: E402

FIXTURES = Path(__file__).parents[2] / "fixtures" / "kasa"
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))
USER, PASSWORD = "user@example.com", "plug-password"


class FakeClock:
    """Wall clock the tests move by hand, from today's local noon.

    Noon, not now: the plug's day is local, and a test that moves an hour from a
    start after 23:00 would cross midnight and find today's energy reset.
    """

    def __init__(self) -> None:
        noon = datetime.now().replace(hour=12, minute=0, second=0, microsecond=0)
        self.now = noon.timestamp()

    def __call__(self) -> float:
        return self.now


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _spec(profile: Path | dict, **kwargs) -> PlugSpec:
    data = _load(profile) if isinstance(profile, Path) else profile
    protocol = "xor" if "system" in data else "klap"
    return PlugSpec(profile=profile, protocol=protocol, **kwargs)


def _config(sim: PlugSimulator, *, password: str = PASSWORD) -> DeviceConfig:
    if sim.protocol == "xor":
        return DeviceConfig(host="127.0.0.1", port_override=sim.port, timeout=1)
    family = DeviceFamily(
        sim.model._profile["discovery_result"]["result"]["device_type"]
    )
    return DeviceConfig(
        host="127.0.0.1",
        port_override=sim.port,
        timeout=1,
        credentials=Credentials(USER, password),
        connection_type=DeviceConnectionParameters(
            family, DeviceEncryptionType.Klap, login_version=2
        ),
    )


async def _connect(sim: PlugSimulator, **kwargs) -> Device:
    async with asyncio.timeout(10):
        return await Device.connect(config=_config(sim, **kwargs))


def _expected(profile: dict) -> dict:
    """Return what python-kasa should report for a fixture at t = 0."""
    if "system" in profile:
        info = profile["system"]["get_sysinfo"]
        exp = {
            "model": info["model"].split("(")[0],
            "alias": info["alias"],
            "mac": info["mac"],
            "is_on": bool(info["relay_state"]),
            "rssi": info["rssi"],
        }
        rt = profile.get("emeter", {}).get("get_realtime")
        if rt is not None:
            if "power_mw" in rt:
                exp |= {
                    "power": rt["power_mw"] / 1000,
                    "voltage": rt["voltage_mv"] / 1000,
                    "current": rt["current_ma"] / 1000,
                    "total": rt["total_wh"] / 1000,
                }
            else:
                exp |= {
                    "power": rt["power"],
                    "voltage": rt["voltage"],
                    "current": rt["current"],
                    "total": rt["total"],
                }
            exp |= {"today": 0.0, "month": 0.0}
        return exp
    info = profile["get_device_info"]
    mac = info["mac"].replace("-", ":").upper()
    exp = {
        "model": info["model"],
        "alias": "#MASKED_NAME#",
        "mac": mac,
        "is_on": info["device_on"],
        "rssi": info["rssi"],
    }
    if "get_energy_usage" in profile:
        emeter = profile["get_emeter_data"]
        usage = profile["get_energy_usage"]
        exp |= {
            "power": emeter["power_mw"] / 1000,
            "voltage": emeter["voltage_mv"] / 1000,
            "current": emeter["current_ma"] / 1000,
            "total": None,
            "today": usage["today_energy"] / 1000,
            "month": usage["month_energy"] / 1000,
        }
    return exp


class TestWireHelpers:
    """The pure framing and crypto helpers."""

    def test_xor_round_trip(self):
        """Autokey XOR decrypts what it encrypted and frames carry the length."""
        plain = b'{"system":{"get_sysinfo":{}}}'
        assert encrypt(plain)[0] == 171 ^ plain[0]
        assert decrypt(encrypt(plain)) == plain
        assert frame(plain)[:4] == len(plain).to_bytes(4, "big")

    def test_klap_rejects_tampered_body(self):
        """A KLAP body with a wrong signature or seed length is refused."""
        session = handshake1(b"\x01" * 16, auth_hash_v2("a", "b"))
        body = session.encrypt(b"{}", 5)
        assert session.decrypt(body, 5) == b"{}"
        with pytest.raises(KlapError):
            session.decrypt(body, 6)
        with pytest.raises(KlapError):
            handshake1(b"short", b"x")


class TestFixtures:
    """Every shared fixture reads back through python-kasa with its own values."""

    @pytest.mark.parametrize(
        "path", [pytest.param(p, id=p.stem) for p in FIXTURE_FILES]
    )
    async def test_fixture_values(self, path):
        """Identity, relay, RSSI and energy match the fixture at t = 0."""
        profile = _load(path)
        exp = _expected(profile)
        async with PlugSimulator(_spec(path, frozen=True)) as sim:
            dev = await _connect(sim)
            try:
                assert dev.model == exp["model"]
                assert dev.alias == exp["alias"]
                assert dev.mac == exp["mac"]
                assert dev.is_on is exp["is_on"]
                assert dev.rssi == exp["rssi"]
                energy = dev.modules.get(Module.Energy)
                if "power" not in exp:
                    assert energy is None
                    return
                assert energy is not None
                assert energy.current_consumption == pytest.approx(exp["power"])
                assert energy.voltage == pytest.approx(exp["voltage"])
                assert energy.current == pytest.approx(exp["current"])
                assert energy.consumption_today == pytest.approx(exp["today"])
                assert energy.consumption_this_month == pytest.approx(exp["month"])
                if exp["total"] is None:
                    assert energy.consumption_total is None
                else:
                    assert energy.consumption_total == pytest.approx(exp["total"])
            finally:
                await dev.disconnect()
        assert sim.requests > 0

    def test_fixture_set_is_complete(self):
        """All eight shared fixtures were copied with their SOURCES.md."""
        assert len(FIXTURE_FILES) == 8
        assert (FIXTURES / "SOURCES.md").is_file()


class TestMovingValues:
    """Values follow the injected clock and stay consistent."""

    @pytest.mark.parametrize(
        "name",
        [
            pytest.param("KP115(EU)_1.0_1.0.16.json", id="iot"),
            pytest.param("KP125M(US)_1.0_1.2.3.json", id="smart"),
        ],
    )
    async def test_energy_grows_with_power(self, name):
        """Energy counters grow by about power x elapsed time."""
        clock = FakeClock()
        async with PlugSimulator(_spec(FIXTURES / name, clock=clock, seed=3)) as sim:
            dev = await _connect(sim)
            try:
                energy = dev.modules[Module.Energy]
                p0 = energy.current_consumption
                month0 = energy.consumption_this_month
                clock.now += 3600.0
                await dev.update()
                p1 = energy.current_consumption
                grown_kwh = energy.consumption_this_month - month0
                assert p1 != pytest.approx(p0)
                # the integral of the load curve lies between its extremes
                low, high = 0.55 * p0 / 1000, 1.45 * p0 / 1000
                resolution = 0.001 if "M(" in name else 0.0
                assert low - resolution <= grown_kwh <= high + resolution
                assert grown_kwh > 0
            finally:
                await dev.disconnect()

    def test_relay_off_stops_energy(self):
        """With the relay switched off the power is 0 W and energy stands still."""
        clock = FakeClock()
        sim = PlugSimulator(_spec(FIXTURES / "KP115(EU)_1.0_1.0.16.json", clock=clock))
        model = sim.model
        reply = model.handle_iot({"system": {"set_relay_state": {"state": 0}}})
        assert reply["system"]["set_relay_state"]["err_code"] == 0
        before = model.total_wh
        clock.now += 600
        assert model.power_w() == 0.0
        assert model.total_wh == before
        model.set_relay(True)
        clock.now += 600
        assert model.total_wh > before
        assert model.on_time() == 600

    def test_day_rollover_keeps_history(self):
        """Crossing midnight moves today's energy into the day list."""
        clock = FakeClock()
        sim = PlugSimulator(_spec(FIXTURES / "HS110(EU)_1.0_1.2.5.json", clock=clock))
        model = sim.model
        clock.now += 3600
        day_wh = model.today_wh
        clock.now += 86400 * 40
        assert model.today_wh < day_wh
        reply = model.handle_iot({"emeter": {"get_monthstat": {"year": 1970}}})
        assert reply["emeter"]["get_monthstat"]["month_list"] == []

    def test_unknown_requests(self):
        """Unknown IOT modules/methods and SMART methods get the error codes."""
        sim = PlugSimulator(_spec(FIXTURES / "HS100(UK)_1.0_1.2.6.json"))
        reply = sim.model.handle_iot(
            {"emeter": {"get_realtime": {}}, "system": {"x": {}}}
        )
        assert reply["emeter"]["err_code"] == -1
        assert reply["system"]["x"]["err_code"] == -2
        smart = PlugSimulator(_spec(FIXTURES / "P100(US)_1.0.0_1.4.0.json")).model
        assert smart.handle_smart({"method": "get_energy_usage"})["error_code"] == -1002
        assert smart.handle_smart({"method": "nope"})["error_code"] == -1002
        smart.handle_smart(
            {
                "method": "set_device_info",
                "params": {"device_on": True, "nickname": "SGk="},
            }
        )
        info = smart.handle_smart({"method": "get_device_info"})["result"]
        assert info["device_on"] is True
        assert info["nickname"] == "SGk="

    def test_protocol_must_match_profile(self):
        """An IOT profile cannot be served over KLAP."""
        with pytest.raises(ValueError, match="IOT profiles"):
            PlugSimulator(
                PlugSpec(profile=FIXTURES / "HS100(UK)_1.0_1.2.6.json", protocol="klap")
            )


@pytest.fixture(params=["xor", "klap"])
async def pair(request):
    """Yield a faulty-to-be plug and a healthy one of the same protocol."""
    specs = [s for s in default_specs(2, 2) if s.protocol == request.param]
    async with KasaSimulator(specs) as sim:
        yield sim.plugs[0], sim.plugs[1]


class TestFaults:
    """Each fault switch shows up in python-kasa the way kasa.md §3 says."""

    async def test_refuse_then_recover(self, pair):
        """A refusing plug fails update() quickly and recovers on the same Device."""
        faulty, healthy = pair
        dev = await _connect(faulty)
        other = await _connect(healthy)
        try:
            faulty.faults.refuse = True
            await asyncio.sleep(0.2)
            start = time.monotonic()
            with pytest.raises(KasaException):
                async with asyncio.timeout(20):
                    await dev.update()
            assert time.monotonic() - start < 15
            await other.update()
            faulty.faults.refuse = False
            await asyncio.sleep(0.2)
            await dev.update()
            assert dev.is_on is True
        finally:
            await dev.disconnect()
            await other.disconnect()

    async def test_silent_times_out(self, pair):
        """A plug that never answers makes update() outlast its deadline."""
        faulty, healthy = pair
        dev = await _connect(faulty)
        other = await _connect(healthy)
        try:
            faulty.faults.silent = True
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(3):
                    await dev.update()
            await other.update()
            assert healthy.requests > 0
            faulty.faults.silent = False
            async with asyncio.timeout(10):
                await dev.update()
        finally:
            await dev.disconnect()
            await other.disconnect()

    async def test_garbage_is_an_error(self, pair):
        """Bytes that are not a frame or ciphertext make update() raise."""
        faulty, _ = pair
        dev = await _connect(faulty)
        try:
            faulty.faults.garbage = True
            with pytest.raises(KasaException):
                async with asyncio.timeout(20):
                    await dev.update()
            faulty.faults.garbage = False
            async with asyncio.timeout(10):
                await dev.update()
        finally:
            await dev.disconnect()

    async def test_reboot_resets_counters(self, pair):
        """After reboot() the meter counters read zero."""
        faulty, _ = pair
        dev = await _connect(faulty)
        try:
            energy = dev.modules[Module.Energy]
            assert energy.consumption_this_month > 0 or energy.consumption_total
            faulty.reboot()
            await dev.update()
            assert energy.consumption_this_month == pytest.approx(0.0, abs=1e-3)
            assert energy.consumption_today == pytest.approx(0.0, abs=1e-3)
        finally:
            await dev.disconnect()


class TestKlapSpecific:
    """KLAP credentials and sessions."""

    async def test_wrong_credentials(self):
        """A client with another password gets AuthenticationError."""
        async with PlugSimulator(default_specs(0, 1)[0]) as sim:
            with pytest.raises(AuthenticationError):
                await _connect(sim, password="wrong-password")

    async def test_forgotten_session_rehandshakes(self):
        """After the plug forgets its sessions the client re-handshakes and succeeds."""
        async with PlugSimulator(default_specs(0, 1)[0]) as sim:
            dev = await _connect(sim)
            try:
                sim.forget_sessions()
                await dev.update()
                assert dev.alias == "Simulated plug 1"
            finally:
                await dev.disconnect()


class TestEnergyError:
    """Meter errors (energy_error switch)."""

    async def test_iot_energy_error(self):
        """IOT: update() succeeds, power is None and today/month raise KeyError."""
        async with PlugSimulator(default_specs(1, 0)[0]) as sim:
            dev = await _connect(sim)
            try:
                sim.faults.energy_error = True
                await dev.update()
                energy = dev.modules[Module.Energy]
                assert energy.current_consumption is None
                assert energy.consumption_total is None
                with pytest.raises(KeyError):
                    _ = energy.consumption_today
                sim.faults.energy_error = False
                await dev.update()
                assert energy.current_consumption > 0
            finally:
                await dev.disconnect()

    async def test_smart_energy_error(self):
        """SMART: update() succeeds, energy values are None and voltage raises."""
        async with PlugSimulator(default_specs(0, 1)[0]) as sim:
            dev = await _connect(sim)
            try:
                energy = dev.modules[Module.Energy]
                assert energy.current_consumption is not None
                sim.faults.energy_error = True
                await dev.update()
                assert energy.current_consumption is None
                assert energy.consumption_today is None
                with pytest.raises(KasaException):
                    _ = energy.voltage
                assert dev.is_on is True
            finally:
                await dev.disconnect()


class TestCli:
    """serve() and the argument parser."""

    async def test_serve_runs_until_stopped(self):
        """serve() starts the bundled plugs and returns once stop is set."""
        stop = asyncio.Event()
        task = asyncio.create_task(sim_mod.serve(default_specs(1, 1), stop))
        await asyncio.sleep(0.2)
        assert not task.done()
        stop.set()
        async with asyncio.timeout(5):
            await task

    def test_specs_from_args(self, monkeypatch):
        """Profiles on the command line pick their protocol from their shape."""
        monkeypatch.setenv("KASA_SIM_PASSWORD", "from-env")
        args = sim_mod.build_parser().parse_args(
            [
                str(FIXTURES / "HS100(UK)_1.0_1.2.6.json"),
                str(FIXTURES / "P110(AU)_1.0_1.3.1.json"),
                "--base-port",
                "0",
                "--frozen",
            ]
        )
        specs = sim_mod.specs_from_args(args)
        assert [s.protocol for s in specs] == ["xor", "klap"]
        assert all(s.frozen and s.password == "from-env" for s in specs)
        bundled = sim_mod.specs_from_args(
            sim_mod.build_parser().parse_args(["--xor", "1", "--klap", "0"])
        )
        assert [s.port for s in bundled] == [9999]


class TestCommandLine:
    def test_console_script_serves_both_protocols_and_stops(self, tmp_path):
        """kasa-simulator serves an XOR and a KLAP plug and exits 0 on SIGTERM."""
        import os
        import signal
        import subprocess
        import sys

        base = free_port(udp=True, count=2)
        exe = Path(sys.executable).with_name("kasa-simulator")
        log = (tmp_path / "out.log").open("wb")
        proc = subprocess.Popen(  # noqa: S603 - our own console script
            [str(exe), "--xor", "1", "--klap", "1", "--base-port", str(base)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "KASA_SIM_PASSWORD": "cli-password"},
        )
        try:
            deadline = time.monotonic() + 20
            # Polls a log file written by another process; no event to await.
            while time.monotonic() < deadline:
                if (tmp_path / "out.log").read_bytes().count(b"kasa_plug_ready") >= 2:
                    break
                time.sleep(0.1)
            ready = (tmp_path / "out.log").read_bytes().count(b"kasa_plug_ready")
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=15)
            log.close()
        assert ready == 2
        assert code == 0

    def test_python_m_runs_the_command(self):
        """python -m exporterhub.simulators.kasa is the kasa-simulator command."""
        import subprocess
        import sys

        result = subprocess.run(
            [sys.executable, "-m", "exporterhub.simulators.kasa", "--help"],
            capture_output=True,
            check=False,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(b"usage: kasa-simulator")
