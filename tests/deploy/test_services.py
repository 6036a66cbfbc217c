"""systemd units and example scrape configurations, checked offline.

Each unit in deploy/systemd is verified by ``systemd-analyze verify`` (with its
ExecStart pointed at this environment's console scripts instead of
/opt/exporterhub/bin) and must keep the hardening the issue asks for; its
exposure score from ``systemd-analyze security --offline`` stays low. Each
example in deploy/prometheus/examples passes ``promtool check config`` and
scrapes the port its exporter listens on by default.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
EXAMPLES = sorted((ROOT / "deploy" / "prometheus" / "examples").glob("*.yml"))
BIN = Path(sys.executable).parent
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
INSTALLED = "/opt/exporterhub/bin/"

# unit -> (default port of its command, rule file of its exporter)
PORTS = {
    "phd2-exporter": (9753, "phd2"),
    "starlink-exporter": (8000, "starlink"),
    "tapo-exporter": (8090, "tapo"),
    "aaisp-exporter": (9099, "chaos"),
    "snp-exporter": (8000, "snp"),
    "exporterhub": (8750, "exporterhub"),
}
REQUIRED = {
    "DynamicUser": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces": "yes",
    "SystemCallArchitectures": "native",
}


def tool(name: str, hint: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is missing: {hint}")
    return found


def service_section(path: Path) -> dict[str, list[str]]:
    """The [Service] keys of a unit, each with every value it is given."""
    keys: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            keys.setdefault(key, []).append(value)
    return keys


def test_one_unit_per_exporter_command():
    """A unit for each exporter command and for exporterhub serve."""
    assert [u.stem for u in UNITS] == sorted(PORTS)


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
class TestUnit:
    def test_systemd_analyze_verify_is_clean(self, unit: Path, tmp_path: Path):
        """systemd-analyze verify accepts the unit without a single warning."""
        local = tmp_path / unit.name
        local.write_text(unit.read_text().replace(INSTALLED, f"{BIN}/"))
        proc = subprocess.run(  # noqa: S603 - systemd's own checker
            [tool("systemd-analyze", "apt-get install systemd"), "verify",
             "--man=no", str(local)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout + proc.stderr == ""

    def test_hardening_options(self, unit: Path):
        """The sandboxing options are all set, and the syscall filter is the
        service set minus privileged and resource calls."""
        keys = service_section(unit)
        for key, value in REQUIRED.items():
            assert keys.get(key) == [value], key
        assert keys["SystemCallFilter"] == [
            "@system-service",
            "~@privileged @resources",
        ]

    def test_exposure_is_low(self, unit: Path, tmp_path: Path):
        """systemd-analyze security --offline rates the unit at most 2.0 (of 10)."""
        local = tmp_path / unit.name
        local.write_text(unit.read_text().replace(INSTALLED, f"{BIN}/"))
        proc = subprocess.run(  # noqa: S603 - systemd's own checker
            [tool("systemd-analyze", "apt-get install systemd"), "security",
             "--offline=yes", "--no-pager", str(local)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        match = re.search(r"Overall exposure level for \S+: ([\d.]+)", proc.stdout)
        assert match, proc.stdout + proc.stderr
        assert float(match.group(1)) <= 2.0

    def test_command_and_secrets(self, unit: Path):
        """ExecStart runs the unit's own console command with no secret on the
        command line; secrets come from an EnvironmentFile."""
        keys = service_section(unit)
        (exec_start,) = keys["ExecStart"]
        command = exec_start.split()[0]
        assert command.startswith(INSTALLED)
        assert command.removeprefix(INSTALLED) == unit.stem
        assert command.removeprefix(INSTALLED) in SCRIPTS
        assert not re.search(r"passw|secret|token|user", exec_start, re.IGNORECASE)
        (env_file,) = keys["EnvironmentFile"]
        assert env_file.lstrip("-").startswith("/etc/exporterhub/")
        if unit.stem in ("tapo-exporter", "aaisp-exporter"):
            assert not env_file.startswith("-")  # credentials are required


def test_databases_live_in_the_state_directory():
    """The SNP database and the hub's target store are in their StateDirectory."""
    snp = service_section(ROOT / "deploy/systemd/snp-exporter.service")
    assert snp["StateDirectory"] == ["snp_exporter"]
    assert snp["Environment"] == ["DB_PATH=/var/lib/snp_exporter/connections.db"]
    hub = service_section(ROOT / "deploy/systemd/exporterhub.service")
    assert hub["StateDirectory"] == ["exporterhub"]
    assert "--store /var/lib/exporterhub/" in hub["ExecStart"][0]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_scrape_config(example: Path):
    """promtool check config passes (rule files included) and the job scrapes the
    exporter's default port."""
    proc = subprocess.run(  # noqa: S603 - Debian's promtool
        [tool("promtool", "apt-get install prometheus"), "check", "config",
         str(example)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = yaml.safe_load(example.read_text())
    (unit,) = [u for u, (_, kind) in PORTS.items() if kind == example.stem]
    port = PORTS[unit][0]
    (target,) = config["scrape_configs"][0]["static_configs"][0]["targets"]
    assert target == f"127.0.0.1:{port}"
    assert config["scrape_configs"][0]["job_name"] == example.stem
    assert f"../rules/{example.stem}.yml" in config["rule_files"] or config[
        "rule_files"
    ] == ["../rules/*.yml"]
