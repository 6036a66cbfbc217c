"""docs/scaling.md: its examples are accepted and its sizing table adds up.

The exporterhub YAML example validates as the hub's settings (shard 0/3); the
Prometheus examples pass ``promtool check config`` with the shipped replica
rules beside them; every row of the sizing table is recomputed from the
per-replica costs the page quotes, so an edited figure cannot leave the table
behind.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from exporterhub.core.config import load_settings
from exporterhub.core.shard import Shard
from exporterhub.hub import HubSettings

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "scaling.md"
RULES = ROOT / "deploy" / "prometheus" / "rules" / "replicas.yml"
IDLE_MIB = 63.0
"""RSS of a hub with no target (RESULTS.md, scrape notes), as the page quotes."""
PER_REPLICA = {1_000: (0.1506, 306), 5_000: (0.6513, 269)}
"""Devices per replica: (cores, KiB per device), as the page quotes them."""
TIMES = "\N{MULTIPLICATION SIGN}"


def blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing; install Debian's package: prometheus")
    return found


def test_hub_example_validates(monkeypatch):
    """The replica's YAML is valid hub settings, and its shard is 0 of 3."""
    monkeypatch.delenv("EXPORTERHUB_SHARD", raising=False)
    data = yaml.safe_load(blocks()[0])
    settings = load_settings(HubSettings, yaml_data=data, source="docs/scaling.md")
    assert settings.replica() == Shard(0, 3)
    assert settings.store.url is not None


@pytest.mark.parametrize("index", [1, 2], ids=["scrape-config", "remote-write"])
def test_prometheus_examples_pass_promtool(tmp_path, index):
    """promtool check config accepts each Prometheus example as written."""
    (tmp_path / "rules").mkdir()
    shutil.copy(RULES, tmp_path / "rules" / "replicas.yml")
    config = tmp_path / "prometheus.yml"
    config.write_text(blocks()[index], encoding="utf-8")
    result = subprocess.run(  # noqa: S603 - Debian's promtool
        [promtool(), "check", "config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sizing_table_adds_up():
    """Each row: replicas, CPU and memory recomputed from the quoted costs."""
    text = PAGE.read_text(encoding="utf-8")
    rows = re.findall(
        rf"^\| (10|100){TIMES} \| ([\d,]+) \| ([\d,]+) \| (\d+) "
        rf"\| \d+ {TIMES} [\d.]+ = ([\d.]+) "
        r"\| ([\d.]+) GiB \+ ([\d.]+) GiB = ([\d.]+) GiB \| ([\d.]+) MiB \|$",
        text,
        re.M,
    )
    assert len(rows) == 4
    for _, devices, per, replicas, cpu, device_mem, idle, total, body in rows:
        n, size = int(devices.replace(",", "")), int(per.replace(",", ""))
        cores, kib = PER_REPLICA[size]
        assert int(replicas) == n // size
        assert float(cpu) == pytest.approx(n // size * cores, abs=0.05)
        assert float(device_mem) == pytest.approx(n * kib / 2**20, abs=0.05)
        assert float(idle) == pytest.approx(n // size * IDLE_MIB / 1024, abs=0.05)
        assert float(total) == pytest.approx(float(device_mem) + float(idle), abs=0.1)
        assert float(body) == pytest.approx(size * 12.4 / 1024, abs=0.05)
