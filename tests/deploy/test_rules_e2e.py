"""End to end: the real Prometheus loads every rules file and evaluates it cleanly
while it scrapes ``exporterhub demo`` (every exporter against its simulator).

``promtool check`` proves each file is valid on its own; this proves the files load
together into one Prometheus and that every rule evaluates against the exporters'
real series without an error (a many-to-many match in an ``and on (...)``, say,
only shows at evaluation time, with real label sets).
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from exporterhub.core.testing import free_port
from tests.integration.test_commands import BIN, scrape_until, spawn, stop
from tests.integration.test_prometheus_e2e import prometheus_binary, query

from .test_rules import RULE_FILES, rules_of

UP_SERIES = {
    "phd2_up": 2,
    "starlink_up": 1,
    "tapo_up": 1,
    "aaisp_up": 1,
    "ic_snp_up": 4,
}
"""Targets of the demo that must be up before Prometheus starts, by up series."""


def demo_is_up(scrape: Any) -> bool:
    return all(
        sum(sample.value for sample in scrape.series(name)) >= count
        for name, count in UP_SERIES.items()
    )


async def rule_groups(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/rules")
    response.raise_for_status()
    groups: list[dict[str, Any]] = response.json()["data"]["groups"]
    return groups


def evaluated(groups: list[dict[str, Any]]) -> bool:
    """Every group has been evaluated and every rule has a health (not unknown)."""
    rules = [rule for group in groups for rule in group["rules"]]
    return bool(rules) and all(
        rule["health"] != "unknown" and group["evaluationTime"] > 0
        for group in groups
        for rule in group["rules"]
    )


@pytest.mark.timeout(150)
async def test_prometheus_evaluates_every_rule_against_the_demo(tmp_path: Path):
    """All rule files load into one Prometheus scraping the demo, and after
    several evaluations every rule's health is ok."""
    binary = prometheus_binary()
    demo_port = free_port()
    demo = spawn(
        [
            str(BIN / "exporterhub"),
            "demo",
            "--speed", "50",
            "--web.listen-address", f"127.0.0.1:{demo_port}",
        ]
    )  # fmt: skip
    try:
        await scrape_until(
            f"http://127.0.0.1:{demo_port}/metrics", demo_is_up, within=60
        )
        config = tmp_path / "prometheus.yml"
        listed = "".join(f"  - '{path}'\n" for path in RULE_FILES)
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n{listed}"
            "scrape_configs:\n  - job_name: exporterhub\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{demo_port}']\n",
            encoding="utf-8",
        )
        port = free_port()
        with (tmp_path / "prometheus.log").open("wb") as log:
            prometheus = subprocess.Popen(  # noqa: S603 - Debian's prometheus
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        try:
            groups = await watch_rules(f"http://127.0.0.1:{port}", tmp_path)
        finally:
            prometheus.terminate()
            prometheus.wait(timeout=10)
    finally:
        stop(demo)
    loaded = {group["file"] for group in groups}
    assert loaded == {str(path) for path in RULE_FILES}
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) == sum(len(rules_of(path)) for path in RULE_FILES)
    broken = {
        rule["name"]: rule.get("lastError") for rule in rules if rule["health"] != "ok"
    }
    assert not broken


async def watch_rules(url: str, tmp_path: Path) -> list[dict[str, Any]]:
    """Wait (bounded) until every target's series are in and every rule has been
    evaluated a few times since; return the rule groups."""
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        try:
            async with asyncio.timeout(60):
                while True:
                    await asyncio.sleep(0.5)
                    try:
                        ups = [
                            await query(client, f"{name} == 1") for name in UP_SERIES
                        ]
                        groups = await rule_groups(client)
                    except httpx.TransportError:
                        continue
                    if all(ups) and evaluated(groups):
                        break
                # A few more rounds, now over the exporters' series.
                await asyncio.sleep(3)
                return await rule_groups(client)
        except TimeoutError:
            log = (tmp_path / "prometheus.log").read_text()[-2000:]
            pytest.fail(f"Prometheus never evaluated the rules; log:\n{log}")
