"""tapo-exporter fed the config.yaml the original pyprom-exporters wrote.

The file is the one the original wrote (``tests/fixtures/kasa/pyprom-exporters``),
with its plugs replaced by simulated ones on 127.0.0.1 and its discovery target by
127.0.0.1 (its default broadcast would leave loopback). The exporter runs as a
process whose working directory holds that file and nothing else, as the original
was run; plugs read when scraped (``refresh_interval: null``) run in-process
against the real hub and HTTP server.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from exporterhub.core.testing import FakeClock, free_port
from exporterhub.exporters.kasa.plugin import KasaPlugin, to_target
from exporterhub.exporters.kasa.settings import KasaDevice, KasaTargetSettings
from exporterhub.simulators.kasa import PlugSimulator, PlugSpec

from .conftest import Scrape, running_exporter
from .test_commands import scrape_until, stop

ROOT = Path(__file__).parent.parent / "fixtures" / "kasa"
ORIGINAL = ROOT / "pyprom-exporters" / "config.yaml"
BIN = Path(sys.executable).parent
USER = "user@example.com"
PASSWORD = "plug-password"
SECRET_ENV = ("TAPO_USERNAME", "TAPO_PASSWORD", "TP_LINK_USERNAME", "TP_LINK_PASSWORD")


def profile(name: str) -> Path:
    (path,) = [p for p in ROOT.glob("*.json") if p.name.startswith(name)]
    return path


def original_file(
    directory: Path,
    devices: list[str],
    port: int,
    *,
    wrapped: bool = True,
    edit: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """Write the original's file with these plugs and port into ``directory``.

    ``wrapped=False`` writes the older layout: the tapo keys at the top level.
    """
    data = yaml.safe_load(ORIGINAL.read_text())
    data["prometheus_port"] = port
    tapo = data["exporters"]["tapo"]
    tapo["devices"] = devices
    tapo["discovery_options"]["target"] = "127.0.0.1"
    if edit is not None:
        edit(tapo)
    if not wrapped:
        top = {k: v for k, v in data.items() if k != "exporters"}
        data = {**top, **tapo}
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def start(directory: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    """Run tapo-exporter in ``directory``, its log in ``directory/log``."""
    clean = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    with (directory / "log").open("wb") as log:
        return subprocess.Popen(  # noqa: S603 - our own console script
            [str(BIN / "tapo-exporter"), *args],
            cwd=directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**clean, "PYTHONUNBUFFERED": "1", **env},
        )


def up(s: Scrape, target: str) -> bool:
    return s.value("tapo_up", target=target) == 1.0


class TestTheOriginalsFile:
    async def test_comes_up_on_its_port_and_serves_its_plugs(self, tmp_path):
        """Only the original's file: its port, its plugs, its names and variables."""
        xor = PlugSpec(profile=profile("HS110"), protocol="xor", frozen=True)
        klap = PlugSpec(profile=profile("P110"), protocol="klap", frozen=True,
                        username=USER, password=PASSWORD)  # fmt: skip

        def edit(tapo: dict[str, Any]) -> None:
            options = tapo["discovery_options"]
            options["tapo_username_env_key"] = "MY_PLUG_USER"
            options["tapo_password_env_key"] = "MY_PLUG_SECRET"
            options["with_update"] = False  # cannot be honoured: named at start
            plug = tapo["per_device_family_metrics"]["plug"]
            plug["CURRENT_CONSUMPTION"] = {
                "name": "plug_power_w",
                "documentation": "Power now, W.",
                "labels": ["ip", "name"],
            }

        port = free_port()
        async with PlugSimulator(xor) as old, PlugSimulator(klap) as new:
            devices = [f"127.0.0.1:{old.port}", f"127.0.0.1:{new.port}"]
            written = original_file(tmp_path, devices, port, edit=edit).read_text()
            proc = start(
                tmp_path,
                "--no-write-config",
                MY_PLUG_USER=USER,
                MY_PLUG_SECRET=PASSWORD,
                TP_LINK_USERNAME="not-this-one",
            )
            try:
                s = await scrape_until(
                    f"http://127.0.0.1:{port}/metrics",
                    lambda s: (
                        up(s, devices[0])
                        and up(s, devices[1])
                        and s.value("tapo_discovered_devices") is not None
                    ),
                    within=60,
                )
            finally:
                stop(proc)
        assert (tmp_path / "config.yaml").read_text() == written  # never rewritten
        assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "log"]
        for device in devices:
            power = s.value("tapo_power_watts", target=device)
            assert power is not None
            renamed = s.value("plug_power_w", target=device, ip="127.0.0.1")
            assert renamed == pytest.approx(power)
        assert s.series("current_consumption") == []
        assert "# HELP plug_power_w Power now, W." in s.text
        assert s.value("current_voltage", target=devices[1]) is not None
        assert s.value("tapo_discovered_devices") == 2.0  # discovery: none more
        # prometheus_client's default collectors, which the original served
        assert s.value("process_resident_memory_bytes") is not None
        assert s.series("python_info")
        log = (tmp_path / "log").read_text()
        warnings = [line for line in log.splitlines() if "not_honoured" in line]
        assert len(warnings) == 1
        assert "discovery_options.with_update" in warnings[0]
        assert PASSWORD not in log

    async def test_older_layout_with_top_level_port(self, tmp_path):
        """The layout without exporters: its top-level port and keys are honoured."""
        xor = PlugSpec(profile=profile("KP115"), protocol="xor", frozen=True)

        def edit(tapo: dict[str, Any]) -> None:
            tapo["supported_device_families"] = {"plug": True}
            tapo["per_device_family_metrics"]["plug"]["CURRENT_RSSI"] = None

        port = free_port()
        async with PlugSimulator(xor) as plug:
            device = f"127.0.0.1:{plug.port}"
            original_file(tmp_path, [device], port, wrapped=False, edit=edit)
            proc = start(tmp_path, LOG_LEVEL="10")
            try:
                s = await scrape_until(
                    f"http://127.0.0.1:{port}/metrics",
                    lambda s: up(s, device),
                    within=30,
                )
            finally:
                stop(proc)
        assert s.value("current_consumption", target=device) == pytest.approx(
            s.value("tapo_power_watts", target=device)
        )
        assert s.series("current_rssi") == []  # switched off in the file
        assert s.value("tapo_wifi_rssi_dbm", target=device) is not None
        assert '"level": "debug"' in (tmp_path / "log").read_text()

    async def test_plug_family_off_serves_no_plug(self, tmp_path):
        """supported_device_families.PLUG false: it starts, reads and serves no plug."""
        xor = PlugSpec(profile=profile("HS110"), protocol="xor", frozen=True)

        def edit(tapo: dict[str, Any]) -> None:
            tapo["supported_device_families"] = {"PLUG": False}

        port = free_port()
        async with PlugSimulator(xor) as plug:
            device = f"127.0.0.1:{plug.port}"
            original_file(tmp_path, [device], port, edit=edit)
            proc = start(tmp_path)
            try:
                s = await scrape_until(
                    f"http://127.0.0.1:{port}/metrics",
                    lambda s: s.value("tapo_exporter_build_info") == 1.0,
                    within=30,
                )
            finally:
                stop(proc)
            assert plug.requests == 0
        assert s.series("tapo_up") == []
        assert "plugs_not_read" in (tmp_path / "log").read_text()


def on_scrape_target(sim: PlugSimulator, name: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "device": KasaDevice(
            name=name, host="127.0.0.1", port=sim.port, connection_type="iot"
        ),
        "username": SecretStr(USER),
        "password": SecretStr(PASSWORD),
        "on_scrape": True,
        "timeout": 1,
        "poll_deadline": 1.5,
    }
    values.update(overrides)
    return to_target(KasaTargetSettings(**values))


class TestReadWhenScraped:
    """``refresh_interval: null``: each scrape reads the plugs, one read at a time.

    The hub runs on a clock that never moves, so nothing is read on a timer: every
    read seen here was asked for by a scrape.
    """

    async def test_each_scrape_reads_the_plug(self):
        """A scrape makes one read; the next scrape another."""
        spec = PlugSpec(profile=profile("HS110"), protocol="xor", frozen=True)
        async with (
            PlugSimulator(spec) as sim,
            running_exporter(
                KasaPlugin(), [on_scrape_target(sim, "plug")], FakeClock()
            ) as exporter,
        ):
            await exporter.scrape_until(lambda s: up(s, "plug"))
            before = sim.requests
            s = await exporter.scrape()
            once = sim.requests
            await exporter.scrape()
            twice = sim.requests
        assert up(s, "plug")
        assert once > before
        assert twice - once == once - before

    async def test_concurrent_scrapes_share_one_read(self):
        """Three scrapes at once wait for the same read; a failed read withdraws."""
        spec = PlugSpec(profile=profile("HS110"), protocol="xor", frozen=True)
        async with (
            PlugSimulator(spec) as sim,
            running_exporter(
                KasaPlugin(), [on_scrape_target(sim, "plug")], FakeClock()
            ) as exporter,
        ):
            await exporter.scrape_until(lambda s: up(s, "plug"))
            sim.faults.silent = True  # each read now ends at the poll deadline
            scrapes = await asyncio.gather(*(exporter.scrape() for _ in range(3)))
        for s in scrapes:
            errors = s.value(
                "tapo_exporter_poll_errors_total", target="plug", error="timeout"
            )
            assert errors == 1.0
            assert s.value("tapo_up", target="plug") == 0.0
            assert s.series("tapo_relay_on") == []  # not the previous read's
            assert s.series("tapo_device_info")

    async def test_a_scrape_waits_a_bounded_time(self):
        """A plug slower than the wait: the scrape answers, its read goes on."""
        spec = PlugSpec(profile=profile("HS110"), protocol="xor", frozen=True)
        plugin = KasaPlugin()
        plugin.scrape_reads.wait = 0.2
        async with PlugSimulator(spec) as sim:
            target = on_scrape_target(sim, "plug", timeout=30, poll_deadline=60)
            async with running_exporter(plugin, [target], FakeClock()) as exporter:
                await exporter.scrape_until(lambda s: up(s, "plug"))
                sim.faults.silent = True
                first = await exporter.scrape()  # its read hangs
                second = await exporter.scrape()  # joins that read
        for s in (first, second):
            assert s.value("tapo_up", target="plug") == 1.0  # the last read's
            assert not [x for x in s.series("tapo_exporter_poll_errors_total")
                        if x.value > 0]  # fmt: skip
