"""The soak's parts, each a child process on 127.0.0.1: five simulators, the hub,
a Debian Prometheus.

``Rig`` starts the simulators from their own command lines (``python -m
exporterhub.simulators.<kind>``, ports chosen by the OS and read back from their
log), one ``exporterhub serve`` with a SQLite store in the work directory and no
target in its file, and a Prometheus scraping the hub's ``/metrics`` every second.
Targets are added through the hub's REST API (``POST /api/targets``), as users and
the UI do. It also reads a process's RSS, CPU time and open descriptors from
``/proc``. Nothing here judges figures; ``soak.py`` drives the run and
``soak_figures.py`` judges it. Every wait is bounded; only processes it started
are stopped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import net

MIX: dict[str, int] = {"snp": 40, "phd2": 15, "tapo": 20, "chaos": 10, "starlink": 15}
"""Targets per kind: 100 in all. The SNPs are one simulator with 40 devices."""

PHD2_SIMULATORS = 3
"""PHD2 simulator processes (``--speed 10``); the PHD2 targets share them."""

STARLINK_SIMULATORS = 3
"""Dish simulators (gRPC); the Starlink targets share them, one poll a second each."""

PLUG_USER = "user@example.com"
PLUG_PASSWORD = "plug-password"  # noqa: S105 - the simulated plugs' made-up one
CHAOS_LOGIN = "exmpl@a"
CHAOS_PASSWORD = "demo-password"  # noqa: S105 - the CHAOS simulator's made-up one

_PORT = re.compile(r"\bport=(\d+)")
_ADDRESS = re.compile(r"\baddress=127\.0\.0\.1:(\d+)")
_PLUG = re.compile(r"kasa_plug_ready\s.*\bport=(\d+) protocol=(\w+)")
_SNP_READY = re.compile(r"snp_fleet_ready")
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> float:
    """Resident set size of ``pid`` in KiB (``VmRSS``)."""
    return net.rss(pid) / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (all its threads), from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def open_fds(pid: int) -> int:
    """Open file descriptors of ``pid`` (entries of ``/proc/<pid>/fd``)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


@dataclass
class Child:
    """One process the rig started, and the file its output goes to."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@dataclass
class Rig:
    """The running soak: children, where the hub and Prometheus answer, targets."""

    workdir: Path
    children: list[Child] = field(default_factory=list)
    hub: Child | None = None
    hub_port: int = 0
    prometheus_port: int = 0
    targets: list[dict[str, Any]] = field(default_factory=list)
    """The ``POST /api/targets`` bodies of the 100 permanent targets."""

    # -- starting -----------------------------------------------------------

    def spawn(self, name: str, argv: list[str]) -> Child:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(  # noqa: S603 - our own modules, Debian prometheus
                argv,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=_untraced({**net.child_env(), "PYTHONUNBUFFERED": "1"}),
            )
        child = Child(name, proc, log)
        self.children.append(child)
        return child

    def simulator(self, name: str, kind: str, *flags: str) -> Child:
        return self.spawn(
            name, [sys.executable, "-m", f"exporterhub.simulators.{kind}", *flags]
        )

    @staticmethod
    def wait_log(child: Child, pattern: re.Pattern[str], count: int) -> list[Any]:
        """Return the first ``count`` matches of ``pattern`` in the child's log."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = pattern.findall(child.text())
            if len(found) >= count:
                return found[:count]
            if child.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"{child.name} not ready; its log:\n{child.text()[-2000:]}")

    def start_simulators(self, mix: dict[str, int]) -> None:
        """Start every simulator and prepare one target body per planned target."""
        phd2 = [
            self.simulator(f"phd2-sim-{i}", "phd2", "--port", "0", "--speed", "10",
                           "--seed", str(i), "--instance", "1")
            for i in range(PHD2_SIMULATORS)
        ]  # fmt: skip
        dishes = [
            self.simulator(f"starlink-sim-{i}", "starlink", "--port", "0")
            for i in range(STARLINK_SIMULATORS)
        ]
        plugs = self.simulator(
            "kasa-sim", "kasa", "--xor", str(mix["tapo"] // 2),
            "--klap", str(mix["tapo"] - mix["tapo"] // 2), "--base-port", "0",
        )  # fmt: skip
        chaos = self.simulator("chaos-sim", "chaos", "--port", "0", "--lines", "3")
        connections = self.workdir / "snp-connections.json"
        snps = self.simulator(
            "snp-sim", "snp", "--devices", str(mix["snp"]), "--port", "0",
            "--connections-file", str(connections), "--ptp-interval", "0.5",
            "--system-interval", "2", "--keepalive", "2",
        )  # fmt: skip
        for i in range(mix["phd2"]):
            port = self.wait_log(phd2[i % len(phd2)], _PORT, 1)[0]
            self.targets.append(
                body("phd2", f"phd2-{i}", {"host": "127.0.0.1", "port": int(port)})
            )
        for i in range(mix["starlink"]):
            port = self.wait_log(dishes[i % len(dishes)], _ADDRESS, 1)[0]
            self.targets.append(body("starlink", f"dish-{i}", starlink(int(port))))
        for i, (port, protocol) in enumerate(self.wait_log(plugs, _PLUG, mix["tapo"])):
            self.targets.append(
                body("tapo", f"plug-{i}", plug(f"plug-{i}", port, protocol))
            )
        chaos_port = int(self.wait_log(chaos, _PORT, 1)[0])
        for i in range(mix["chaos"]):
            self.targets.append(body("chaos", f"chaos-{i}", chaos_line(chaos_port)))
        self.wait_log(snps, _SNP_READY, 1)
        for record in json.loads(connections.read_text())["connections"]:
            settings = {k: v for k, v in record.items() if k != "enabled"}
            self.targets.append(body("snp", record["name"], settings))

    def start_hub(self) -> None:
        """Start ``exporterhub serve`` with an empty file and a fresh SQLite store."""
        from exporterhub.core.testing import free_port

        self.hub_port = free_port()
        config = self.workdir / "exporterhub.yaml"
        config.write_text(f"web:\n  listen_address: 127.0.0.1:{self.hub_port}\n")
        self.hub = self.spawn(
            "exporterhub",
            [sys.executable, "-m", "exporterhub", "serve", "--config", str(config),
             "--store", str(self.workdir / "store.db"),
             "--log.level", "warning", "--log.format", "json"],
        )  # fmt: skip
        net.wait_http(self.hub_port, self.hub.proc, within=60)

    def add_targets(self) -> None:
        for target in self.targets:
            status, answer = self.api("POST", "/api/targets", target)
            if status != 201:
                raise RuntimeError(f"adding {target['name']}: {status} {answer!r}")

    def start_prometheus(self) -> None:
        """Start Prometheus scraping the hub every second; wait for its first scrape."""
        from exporterhub.core.testing import free_port

        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError(
                "the soak needs a real Prometheus: apt-get install prometheus "
                "(or make system-deps)"
            )
        config = self.workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: soak\n    static_configs:\n"
            f"      - targets: ['127.0.0.1:{self.hub_port}']\n"
        )
        self.prometheus_port = free_port()
        prom = self.spawn(
            "prometheus",
            [binary, f"--config.file={config}",
             f"--storage.tsdb.path={self.workdir / 'prometheus-data'}",
             f"--web.listen-address=127.0.0.1:{self.prometheus_port}"],
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if prom.proc.poll() is not None:
                break
            try:
                if self.query('up{job="soak"} == 1'):
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"Prometheus never scraped the hub:\n{prom.text()[-2000:]}")

    # -- talking --------------------------------------------------------------

    def api(
        self, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        """One REST call to the hub; (status, decoded JSON or None)."""
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.hub_port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                raw = answer.read()
                status = answer.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        return status, json.loads(raw) if raw else None

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant PromQL query; the result vector."""
        url = f"http://127.0.0.1:{self.prometheus_port}/api/v1/query?" + (
            urllib.parse.urlencode({"query": expr})
        )
        with urllib.request.urlopen(url, timeout=10) as answer:
            result: list[dict[str, Any]] = json.loads(answer.read())["data"]["result"]
        return result

    def query_range(self, expr: str, start: float, end: float) -> list[dict[str, Any]]:
        """A range query at 1 s steps; the result matrix."""
        url = f"http://127.0.0.1:{self.prometheus_port}/api/v1/query_range?" + (
            urllib.parse.urlencode(
                {"query": expr, "start": start, "end": end, "step": "1s"}
            )
        )
        with urllib.request.urlopen(url, timeout=30) as answer:
            result: list[dict[str, Any]] = json.loads(answer.read())["data"]["result"]
        return result

    def scalar(self, expr: str) -> float | None:
        """The single value of an instant query, None when it has no result."""
        found = self.query(expr)
        return float(found[0]["value"][1]) if found else None

    def scrape(self) -> bytes:
        status, text = net.http_get(self.hub_port)
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        return text

    def dead(self) -> list[str]:
        """Names of children that have exited (none should, until stop())."""
        return [c.name for c in self.children if c.proc.poll() is not None]

    def stop(self) -> None:
        for child in reversed(self.children):
            net.stop(child.proc)


def body(kind: str, name: str, settings: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "name": name, "settings": settings}


def starlink(port: int) -> dict[str, Any]:
    return {
        "config": {
            "mode": "live",
            "update_interval_seconds": 1,
            "live": {"dish_address": f"127.0.0.1:{port}", "timeout_seconds": 2},
        }
    }


def plug(name: str, port: str, protocol: str) -> dict[str, Any]:
    kind = "iot" if protocol == "xor" else "klap"
    return {
        "device": {"name": name, "host": "127.0.0.1", "port": int(port),
                   "connection_type": kind},
        "username": PLUG_USER,
        "password": PLUG_PASSWORD,
        "refresh_interval": 5,
    }  # fmt: skip


def chaos_line(port: int) -> dict[str, Any]:
    return {
        "control_login": CHAOS_LOGIN,
        "control_password": CHAOS_PASSWORD,
        "api_url": f"http://127.0.0.1:{port}",
        "fast_interval": 2,
        "medium_interval": 5,
        "slow_interval": 10,
        "min_request_interval": 0,
    }


_COVERAGE_VARIABLES = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")
"""What makes a child Python start coverage's tracer (``make test`` sets them)."""


def _untraced(env: dict[str, str]) -> dict[str, str]:
    """Return ``env`` without coverage's variables.

    The soak measures the processes as users run them: under ``make test``'s
    coverage tracer the hub costs several times the CPU, and a scrape of its
    12,000 series can outlast Prometheus' 1 s timeout on a busy machine.
    """
    return {k: v for k, v in env.items() if k not in _COVERAGE_VARIABLES}
