"""A real Prometheus finds the targets via /api/sd and scrapes each through /probe.

Two Prometheus servers run the scrape configuration of ``docs/prometheus-sd.md``
(the block itself, read from the file; only the address, the shard and the
intervals are substituted), one per ``hashmod`` shard. The hub stores a PHD2
target against the PHD2 simulator, a simulated Starlink dish and a disabled PHD2
target through its API. Each server must scrape exactly its shard's enabled
targets through ``/probe`` with ``up == 1`` and the target's own series, labelled
with ``kind`` and ``instance`` = the target's name; the disabled one nowhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import subprocess
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from exporterhub.core.app import create_app
from exporterhub.core.plugin import Target
from exporterhub.core.store import TargetStore
from exporterhub.core.testing import free_port, running_server
from exporterhub.exporters import load_plugin
from exporterhub.hub import build_hub

from .conftest import FAST
from .test_prometheus_e2e import prometheus_binary

DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "prometheus-sd.md"
ENABLED = {"phd2/rig": "phd2_up", "starlink/dish": "starlink_up"}
DISABLED = "phd2/spare"


def documented_config() -> dict[str, Any]:
    """Return the YAML block of docs/prometheus-sd.md, parsed."""
    [block] = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    config: dict[str, Any] = yaml.safe_load(block)
    return config


def shard_of(value: str, modulus: int) -> int:
    """Prometheus' hashmod: the last 8 bytes of the MD5, big-endian, modulo."""
    return int.from_bytes(hashlib.md5(value.encode()).digest()[8:], "big") % modulus  # noqa: S324 - what Prometheus uses


def config_for(hub: str, shard: int) -> tuple[dict[str, Any], int]:
    """Return the documented config for this shard and hub address, and modulus."""
    config = documented_config()
    [job] = config["scrape_configs"]
    [sd] = job["http_sd_configs"]
    sd["url"] = sd["url"].replace("exporterhub.example:8750", hub)
    sd["refresh_interval"] = job["scrape_interval"] = "1s"
    hashing, keeping = job["relabel_configs"][:2]
    assert (hashing["action"], keeping["action"]) == ("hashmod", "keep")
    keeping["regex"] = str(shard)
    return config, int(hashing["modulus"])


@contextlib.asynccontextmanager
async def prometheus(
    binary: str, directory: Path, config: dict[str, Any]
) -> AsyncIterator[httpx.AsyncClient]:
    """Run Prometheus with ``config``; yield a client on its HTTP API."""
    directory.mkdir()
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (directory / "prometheus.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - Debian's prometheus binary
        [
            binary,
            f"--config.file={directory / 'prometheus.yml'}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=5
        ) as client:
            yield client
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


async def scraped(client: httpx.AsyncClient) -> dict[str, dict[str, Any]] | None:
    """Return the active targets by their target parameter, once all are up."""
    try:
        response = await client.get("/api/v1/targets", params={"state": "active"})
    except httpx.TransportError:
        return None  # not listening yet
    active = response.json()["data"]["activeTargets"]
    if not active or any(t["health"] != "up" for t in active):
        return None
    return {t["discoveredLabels"]["__param_target"]: t for t in active}


async def query(client: httpx.AsyncClient, expr: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/query", params={"query": expr})
    body = response.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


async def add_targets(http: httpx.AsyncClient, phd2_port: int) -> None:
    phd2 = {"host": "127.0.0.1", "port": phd2_port, **FAST}
    for body in (
        {"kind": "phd2", "name": "rig", "settings": phd2},
        {"kind": "starlink", "name": "dish", "settings": {}},
        {"kind": "phd2", "name": "spare", "enabled": False, "settings": phd2},
    ):
        response = await http.post("/api/targets", json=body)
        assert response.status_code == 201, response.text


async def test_http_sd_scrapes_each_target_through_probe(simulator, tmp_path):
    """Each shard's server scrapes exactly its enabled targets, up, with series."""
    binary = prometheus_binary()
    plugins = {kind: load_plugin(kind) for kind in ("phd2", "starlink")}

    async def load() -> Sequence[Target]:
        return []

    store = await TargetStore.open(
        str(tmp_path / "targets.db"), key_file=tmp_path / "targets.key"
    )
    try:
        state = build_hub(plugins, load, store=store)
        async with (
            running_server(create_app(state)) as url,
            httpx.AsyncClient(base_url=url, timeout=5) as http,
        ):
            await add_targets(http, simulator.port)
            hub = url.removeprefix("http://")
            configs = [config_for(hub, shard) for shard in (0, 1)]
            modulus = configs[0][1]
            expected = [
                {t for t in ENABLED if shard_of(t, modulus) == shard}
                for shard in (0, 1)
            ]
            assert all(expected), "the names must give each shard a target"
            async with (
                prometheus(binary, tmp_path / "shard0", configs[0][0]) as first,
                prometheus(binary, tmp_path / "shard1", configs[1][0]) as second,
            ):
                servers = (first, second)
                found: list[dict[str, dict[str, Any]] | None] = [None, None]
                try:
                    async with asyncio.timeout(45):
                        while not all(
                            f is not None and set(f) == e
                            for f, e in zip(found, expected, strict=True)
                        ):
                            await asyncio.sleep(0.5)
                            found = [await scraped(s) for s in servers]
                except TimeoutError:
                    pytest.fail(f"Prometheus found {found}, wanted {expected}")
                for server, targets in zip(servers, found, strict=True):
                    assert targets is not None
                    await check_shard(server, targets, hub)
    finally:
        await store.close()


async def check_shard(
    server: httpx.AsyncClient, targets: dict[str, dict[str, Any]], hub: str
) -> None:
    """Each target scraped via /probe, labelled, up; its series; nothing disabled."""
    for param, target in targets.items():
        kind, name = param.split("/")
        assert target["scrapeUrl"] == f"http://{hub}/probe?target={kind}%2F{name}"
        assert target["labels"] == {
            "instance": name,
            "job": "exporterhub",
            "kind": kind,
        }
        family = ENABLED[param]
        series: list[dict[str, Any]] = []
        async with asyncio.timeout(30):
            while not series:
                series = await query(server, f'{family}{{instance="{name}"}} == 1')
                await asyncio.sleep(0.2)
        assert series[0]["metric"]["kind"] == kind
        [up] = await query(server, f'up{{instance="{name}"}}')
        assert up["value"][1] == "1"
        others = await query(server, f'{{job="exporterhub", instance!="{name}"}}')
        assert {s["metric"]["instance"] for s in others} <= set(targets) - {param}
    spare = DISABLED.split("/")[1]
    assert await query(server, f'{{instance="{spare}"}}') == []
    response = await server.get("/api/v1/targets")
    dropped = response.json()["data"]["droppedTargets"]
    assert DISABLED not in {t["discoveredLabels"]["__param_target"] for t in dropped}
