"""End to end: a real Prometheus scrapes the exporter every second on loopback."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from exporterhub.core.testing import free_port

from .conftest import phd2_target

INSTALL_HINT = (
    "the prometheus server is not installed; install Debian's package: "
    "apt-get install prometheus (make test does this when run as root)"
)


def prometheus_binary() -> str:
    path = shutil.which("prometheus")
    if path is None:
        pytest.fail(INSTALL_HINT)
    return path


async def query(client: httpx.AsyncClient, expr: str) -> list[dict[str, object]]:
    response = await client.get("/api/v1/query", params={"query": expr})
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    result: list[dict[str, object]] = body["data"]["result"]
    return result


async def run_prometheus(
    binary: str,
    tmp_path: Path,
    target: str,
    queries: list[str],
    rule_files: Sequence[Path] = (),
) -> list[list[dict[str, object]]]:
    """Run Prometheus scraping ``target`` every second until every query has data.

    ``rule_files`` are loaded as the config's ``rule_files`` (evaluated every second).
    """
    config = tmp_path / "prometheus.yml"
    rules = "".join(f"  - '{path}'\n" for path in rule_files)
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        + (f"rule_files:\n{rules}" if rules else "")
        + "scrape_configs:\n  - job_name: exporter\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    port = free_port()
    log_file = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - Debian's prometheus binary
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    results: list[list[dict[str, object]]] = [[] for _ in queries]
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=5
        ) as client:
            try:
                async with asyncio.timeout(45):
                    while not all(results):
                        await asyncio.sleep(0.5)
                        try:
                            results = [await query(client, q) for q in queries]
                        except httpx.TransportError:
                            continue
            except TimeoutError:
                log = (tmp_path / "prometheus.log").read_text()[-2000:]
                pytest.fail(f"Prometheus never answered {queries}; log:\n{log}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log_file.close()
    return results


async def test_prometheus_scrapes_phd2_rms_and_up(simulator, make_exporter, tmp_path):
    """Prometheus scraping every second can query phd2_up == 1 and phd2_rms."""
    binary = prometheus_binary()
    await simulator.send_event("StartGuiding")
    async with make_exporter([phd2_target(simulator.port)]) as exporter:
        # Events sent before the exporter connected would reach no one.
        await exporter.scrape_until(lambda s: s.value("phd2_up") == 1.0)
        for frame in range(1, 21):
            await simulator.send_event(
                "GuideStep", Frame=frame, Time=float(frame), Mount="On-camera",
                dx=0.1, dy=0.1, RADistanceRaw=0.3, DECDistanceRaw=-0.4,
                RADistanceGuide=0.2, DECDistanceGuide=0.0, StarMass=1000,
                SNR=20.0, HFD=2.0, AvgDist=0.3,
            )  # fmt: skip
        target = str(exporter.client.base_url).removeprefix("http://").rstrip("/")
        up_result, rms = await run_prometheus(
            binary,
            tmp_path,
            target,
            ["phd2_up == 1", 'phd2_rms{scale="px",source="TotalDistanceRaw"}'],
        )
    assert float(rms[0]["value"][1]) == pytest.approx(0.5)  # type: ignore[index]
    labels = up_result[0]["metric"]
    assert labels["host"] == "simulator"  # type: ignore[index]
    assert labels["job"] == "exporter"  # type: ignore[index]


async def test_prometheus_scrapes_chaos_quota(tmp_path):
    """Prometheus scraping the CHAOS exporter can query quota and aaisp_up."""
    from pydantic import SecretStr

    from exporterhub.core.app import create_app
    from exporterhub.core.testing import running_server
    from exporterhub.exporters.chaos.plugin import PLUGIN, to_target
    from exporterhub.exporters.chaos.settings import ChaosTargetSettings
    from exporterhub.hub import build_hub
    from exporterhub.simulators.chaos import ChaosSimConfig, ChaosSimulator

    binary = prometheus_binary()
    async with ChaosSimulator(ChaosSimConfig(port=0)) as sim:
        target = to_target(
            ChaosTargetSettings(
                control_login="exmpl@a",
                control_password=SecretStr("demo-password"),
                api_url=sim.base_url,
                min_request_interval=0,
            )
        )

        async def load():
            return [target]

        state = build_hub({PLUGIN.kind: PLUGIN}, load)
        async with running_server(create_app(state)) as url:
            result = await run_prometheus(
                binary,
                tmp_path,
                url.removeprefix("http://"),
                [
                    "aaisp_up == 1",
                    'aaisp_broadband_quota_used_bytes{service="40213"}',
                ],
            )
    assert float(result[1][0]["value"][1]) == 62_345_879_552
    assert result[1][0]["metric"]["login"] == "exmpl@a.3"


async def test_prometheus_scrapes_starlink(tmp_path):
    """Prometheus scraping the Starlink service can query its fixed gauges."""
    from exporterhub.core.app import create_app
    from exporterhub.core.testing import running_server
    from exporterhub.exporters.starlink.plugin import (
        PLUGIN,
        StarlinkTargetSettings,
        to_target,
    )
    from exporterhub.hub import build_hub

    binary = prometheus_binary()
    target = to_target(StarlinkTargetSettings())

    async def load():
        return [target]

    state = build_hub({PLUGIN.kind: PLUGIN}, load)
    async with running_server(create_app(state)) as url:
        up, latency = await run_prometheus(
            binary,
            tmp_path,
            url.removeprefix("http://"),
            ["starlink_up == 1", "starlink_network_latency_ms"],
        )
    assert up[0]["metric"]["job"] == "exporter"
    assert 10 < float(latency[0]["value"][1]) < 400


async def test_prometheus_scrapes_plugs(tmp_path):
    """Prometheus scraping the plug exporter can query tapo_up and power."""
    from pydantic import SecretStr

    from exporterhub.core.app import create_app
    from exporterhub.core.testing import running_server
    from exporterhub.exporters.kasa.plugin import PLUGIN, to_target
    from exporterhub.exporters.kasa.settings import KasaDevice, KasaTargetSettings
    from exporterhub.hub import build_hub
    from exporterhub.simulators.kasa import KasaSimulator, default_specs

    binary = prometheus_binary()
    async with KasaSimulator(default_specs(n_xor=1, n_klap=1)) as plugs:
        targets = [
            to_target(
                KasaTargetSettings(
                    device=KasaDevice(
                        name=f"plug-{i}",
                        host="127.0.0.1",
                        port=plug.port,
                        connection_type="iot" if plug.protocol == "xor" else "klap",
                    ),
                    username=SecretStr("user@example.com"),
                    password=SecretStr("plug-password"),
                )
            )
            for i, plug in enumerate(plugs.plugs)
        ]

        async def load():
            return targets

        state = build_hub({PLUGIN.kind: PLUGIN}, load)
        async with running_server(create_app(state)) as url:
            up, power = await run_prometheus(
                binary,
                tmp_path,
                url.removeprefix("http://"),
                ["count(tapo_up == 1) == 2", "tapo_power_watts"],
            )
    assert float(up[0]["value"][1]) == 2.0
    assert power
