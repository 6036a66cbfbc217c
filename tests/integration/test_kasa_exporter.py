"""The plug exporter against simulated plugs read by the real python-kasa client."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from exporterhub.core.plugin import Target
from exporterhub.core.testing import FakeClock
from exporterhub.exporters.kasa.plugin import PLUGIN, to_target
from exporterhub.exporters.kasa.settings import KasaDevice, KasaTargetSettings
from exporterhub.simulators.kasa import PlugSimulator, PlugSpec

from .conftest import Scrape, running_exporter

FIXTURES = Path(__file__).parent.parent / "fixtures" / "kasa"
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))
USER = "user@example.com"
PASSWORD = "plug-password"
KWH = 3_600_000.0


def protocol_of(path: Path) -> str:
    return "xor" if "system" in json.loads(path.read_text()) else "klap"


def plug_target(sim: PlugSimulator, name: str, **overrides: Any) -> Target:
    values: dict[str, Any] = {
        "device": KasaDevice(
            name=name,
            host="127.0.0.1",
            port=sim.port,
            connection_type="iot" if sim.protocol == "xor" else "klap",
        ),
        "username": SecretStr(USER),
        "password": SecretStr(PASSWORD),
        "refresh_interval": 5,
        "timeout": 1,
        "poll_deadline": 4,
    }
    values.update(overrides)
    return to_target(KasaTargetSettings(**values))


@pytest.fixture
def exporter_for() -> Callable[[Sequence[Target]], Any]:
    return partial(running_exporter, PLUGIN)


def up(name: str) -> Callable[[Scrape], bool]:
    return lambda s: s.value("tapo_up", target=name) == 1.0


class TestEveryFixture:
    @pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
    async def test_fixture_reads_through_the_exporter(self, path, exporter_for):
        """Each shared fixture, served by the simulator, comes out in base units."""
        spec = PlugSpec(
            profile=path, protocol=protocol_of(path), frozen=True,
            username=USER, password=PASSWORD,
        )  # fmt: skip
        async with (
            PlugSimulator(spec) as sim,
            exporter_for([plug_target(sim, "plug")]) as exporter,
        ):
            s = await exporter.scrape_until(up("plug"))
        data = json.loads(path.read_text())
        info = s.series("tapo_device_info")[0].labels
        assert info["mac"]
        assert info["protocol"] in ("xor", "klap")
        assert s.value("tapo_relay_on", target="plug") in (0.0, 1.0)
        assert s.value("tapo_wifi_rssi_dbm", target="plug") is not None
        if "system" in data:  # IOT: a meter exists iff the fixture has an emeter
            has_meter = "emeter" in data and "get_realtime" in data["emeter"]
            realtime = data.get("emeter", {}).get("get_realtime", {})
            if has_meter and ("total" in realtime or "total_wh" in realtime):
                total_kwh = realtime.get("total", realtime.get("total_wh", 0) / 1000)
                assert s.value("tapo_energy_joules_total", target="plug") == (
                    pytest.approx(total_kwh * KWH, rel=1e-9)
                )
        else:
            assert s.value("tapo_wifi_signal_level", target="plug") is not None
        if s.value("tapo_power_watts", target="plug") is None:
            assert s.series("tapo_energy_joules_total") == []
            assert s.series("tapo_voltage_volts") == []


def fixture(name: str) -> Path:
    (path,) = [p for p in FIXTURE_FILES if p.name.startswith(name)]
    return path


class TestFaultsBesideAHealthyPlug:
    @pytest.mark.parametrize(
        ("fault", "error"),
        [
            pytest.param("silent", "timeout", id="silent"),
            # A refused KLAP connection is retried inside python-kasa for longer
            # than our deadline: it may surface as connection or timeout.
            pytest.param("refuse", None, id="refuse"),
            pytest.param("garbage", None, id="garbage"),
        ],
    )
    async def test_fault_isolated_and_recovers(self, fault, error, exporter_for):
        """The faulty plug goes down and recovers; the healthy one stays fresh."""
        good = PlugSpec(profile=fixture("HS110"), protocol="xor", frozen=True)
        bad = PlugSpec(profile=fixture("P110"), protocol="klap", frozen=True,
                       username=USER, password=PASSWORD)  # fmt: skip
        async with (
            PlugSimulator(good) as healthy,
            PlugSimulator(bad) as faulty,
            exporter_for(
                [plug_target(healthy, "good"), plug_target(faulty, "bad")]
            ) as exporter,
        ):
            await exporter.scrape_until(lambda s: up("good")(s) and up("bad")(s))
            first = (await exporter.scrape()).value(
                "tapo_last_success_timestamp_seconds", target="good"
            )
            setattr(faulty.faults, fault, True)
            s = await exporter.scrape_until(
                lambda s: s.value("tapo_up", target="bad") == 0.0, within=30
            )
            if error is not None:
                assert (
                    s.value(
                        "tapo_exporter_poll_errors_total", target="bad", error=error
                    )
                    or 0
                ) >= 1
            s = await exporter.scrape_until(
                lambda s: (s.value("tapo_last_success_timestamp_seconds", target="good")
                           or 0) > (first or 0),
                within=30,
            )  # fmt: skip
            assert s.value("tapo_up", target="good") == 1.0
            setattr(faulty.faults, fault, False)
            await exporter.scrape_until(up("bad"), within=40)

    @pytest.mark.parametrize("protocol", ["xor", "klap"])
    async def test_energy_errors_drop_only_energy_values(self, protocol, exporter_for):
        """A failing meter: no power or energy rows (never 0); the rest stays."""
        good = PlugSpec(profile=fixture("HS110"), protocol="xor", frozen=True)
        profile = fixture("KP115") if protocol == "xor" else fixture("P110")
        bad = PlugSpec(profile=profile, protocol=protocol, frozen=True,
                       username=USER, password=PASSWORD)  # fmt: skip
        async with (
            PlugSimulator(good) as healthy,
            PlugSimulator(bad) as faulty,
            exporter_for(
                [plug_target(healthy, "good"), plug_target(faulty, "bad")]
            ) as exporter,
        ):
            await exporter.scrape_until(
                lambda s: (
                    up("good")(s)
                    and s.value("tapo_energy_joules_total", target="bad") is not None
                )
            )
            faulty.faults.energy_error = True
            s = await exporter.scrape_until(
                lambda s: s.value("tapo_energy_joules_total", target="bad") is None,
                within=30,
            )
            assert s.value("tapo_power_watts", target="bad") is None
            assert s.value("tapo_up", target="bad") == 1.0  # the plug answers
            assert s.value("tapo_relay_on", target="bad") is not None
            assert s.value("tapo_power_watts", target="good") is not None
            faulty.faults.energy_error = False
            await exporter.scrape_until(
                lambda s: s.value("tapo_energy_joules_total", target="bad") is not None,
                within=60,
            )

    async def test_reboot_resets_the_energy_counter(self, exporter_for):
        """A reboot zeroes the plug's meter: a counter reset, the plug stays up."""
        good = PlugSpec(profile=fixture("KP115"), protocol="xor", frozen=True)
        rebooted = PlugSpec(profile=fixture("HS110"), protocol="xor", frozen=True)
        async with (
            PlugSimulator(good) as healthy,
            PlugSimulator(rebooted) as plug,
            exporter_for(
                [plug_target(healthy, "good"), plug_target(plug, "plug")]
            ) as exporter,
        ):
            s = await exporter.scrape_until(lambda s: up("good")(s) and up("plug")(s))
            before = s.value("tapo_energy_joules_total", target="plug")
            kept = s.value("tapo_energy_joules_total", target="good")
            assert before is not None
            assert before > 1000
            plug.reboot()

            def reset(s: Scrape) -> bool:
                after = s.value("tapo_energy_joules_total", target="plug")
                return after is not None and after < before

            s = await exporter.scrape_until(reset, within=30)
            assert s.value("tapo_up", target="plug") == 1.0
            assert s.value("tapo_energy_joules_total", target="good") == kept

    async def test_wrong_password_counts_auth_and_stops_asking(self, exporter_for):
        """A plug refusing our credentials counts auth once and is left alone."""
        spec = PlugSpec(profile=fixture("P100"), protocol="klap", frozen=True,
                        username=USER, password="something-else")  # fmt: skip
        async with (
            PlugSimulator(spec) as sim,
            exporter_for([plug_target(sim, "locked")]) as exporter,
        ):
            s = await exporter.scrape_until(
                lambda s: (s.value("tapo_exporter_poll_errors_total",
                    target="locked", error="auth") or 0) >= 1
            )  # fmt: skip
        assert s.value("tapo_up", target="locked") == 0.0
        assert s.series("tapo_relay_on") == []


class TestSilentPlug:
    """A plug that accepts and never answers: values go at the max age.

    The exporter runs on a fake clock; python-kasa waits on real time, with a
    timeout far longer than this test, so the worker sits in its request and
    publishes nothing. What leaves the scrape leaves because the clock passed the
    max age (2 x the refresh interval).
    """

    async def test_values_go_at_max_age_and_come_back(self, exporter_for):
        """Past max age: no values, tapo_up 0, device info and last success stay."""
        clock = FakeClock()
        interval = 10.0
        spec = PlugSpec(profile=fixture("HS110"), protocol="xor", frozen=True)
        async with PlugSimulator(spec) as sim:
            target = plug_target(
                sim, "plug", refresh_interval=interval, timeout=30, poll_deadline=120
            )
            async with exporter_for([target], clock) as exporter:
                s = await exporter.scrape_until(up("plug"))
                taken = clock.time()
                assert s.value("tapo_last_success_timestamp_seconds") == taken
                await exporter.until_prepared(clock, step=0.5)
                answered = sim.requests
                sim.faults.silent = True

                clock.advance(2 * interval - 0.5)  # the poll is due: it hangs
                s = await exporter.scrape()  # exactly at the max age: kept
                assert up("plug")(s)
                assert s.value("tapo_relay_on", target="plug") is not None

                clock.advance(0.25)
                s = await exporter.scrape()
                for name in (
                    "tapo_relay_on",
                    "tapo_power_watts",
                    "tapo_energy_joules_total",
                    "tapo_wifi_rssi_dbm",
                ):
                    assert s.series(name) == [], name  # fmt: skip
                assert s.value("tapo_up") == 0.0
                assert s.value("tapo_last_success_timestamp_seconds") == taken
                assert s.series("tapo_device_info")
                # The worker has not given up on its request: this is the scrape.
                assert not [x for x in s.series("tapo_exporter_poll_errors_total")
                            if x.value > 0]  # fmt: skip
                assert sim.requests == answered

                # The plug restarts: the hung connection ends, the next poll answers.
                sim.faults.silent = False
                await sim.stop()
                await sim.start()
                s = await exporter.scrape_advancing(clock, up("plug"), step=1.0)
        assert s.value("tapo_relay_on", target="plug") is not None
        assert (s.value("tapo_last_success_timestamp_seconds") or 0) > taken


class TestLegacyNames:
    async def test_legacy_metrics_in_kwh(self, exporter_for):
        """legacy_metrics: true adds the original's names, energy in kWh."""
        spec = PlugSpec(profile=fixture("KP115"), protocol="xor", frozen=True)
        async with (
            PlugSimulator(spec) as sim,
            exporter_for([plug_target(sim, "old", legacy_metrics=True)]) as exporter,
        ):
            s = await exporter.scrape_until(up("old"))
        watts = s.value("tapo_power_watts", target="old")
        assert s.value("current_consumption", target="old") == pytest.approx(watts)
        assert s.series("current_rssi")[0].labels["host"] == "127.0.0.1"


class TestCommands:
    async def test_tapo_exporter_from_env_and_probe(self, tmp_path):
        """tapo-exporter reads TAPO_PLUG_DEVICES; kasa-probe prints the plug."""
        from exporterhub.core.testing import free_port

        from .test_commands import scrape_until, spawn, stop

        bin_dir = Path(sys.executable).parent
        spec = PlugSpec(profile=fixture("HS110"), protocol="xor", frozen=True)
        async with PlugSimulator(spec) as sim:
            port = free_port()
            proc = spawn(
                [str(bin_dir / "tapo-exporter"), "--prometheus-port", str(port)],
                TAPO_PLUG_DEVICES=f"127.0.0.1:{sim.port}",
                TP_LINK_USERNAME=USER,
                TP_LINK_PASSWORD=PASSWORD,
            )
            try:
                s = await scrape_until(
                    f"http://127.0.0.1:{port}/metrics",
                    lambda s: s.value("tapo_up") == 1.0,
                    within=30,
                )
            finally:
                stop(proc)
            # The simulator shares this event loop: run the probe without blocking.
            probe = await asyncio.create_subprocess_exec(
                str(bin_dir / "kasa-probe"), f"127.0.0.1:{sim.port}",
                "--connection-type", "iot", "--timeout", "2",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await asyncio.wait_for(probe.communicate(), timeout=60)
        assert s.series("tapo_device_info")[0].labels["model"] == "HS110"
        assert probe.returncode == 0, err
        assert b"HS110" in out
        assert PASSWORD.encode() not in out
