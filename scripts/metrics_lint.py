"""`make metrics-lint`: run `promtool check metrics` on a live scrape of every exporter.

Starts ``exporterhub demo`` (every exporter against its simulator) on a free loopback
port, waits until every target is up, scrapes ``/metrics`` once and pipes it through
promtool. Any finding fails, except the ones listed in EXPECTED (names COMPAT fixes).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# promtool findings that COMPAT forces on us: the requirements name this gauge so.
EXPECTED: set[str] = {
    'aaisp_login_services_total non-counter metrics should not have "_total" suffix',
    "starlink_network_latency_ms metric names should not contain abbreviated units",
}
DEADLINE = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback URL we built
        return str(response.read().decode())


DISCOVERED = "tapo_exporter_discovery_devices 2.0"
"""The demo's two plugs found by discovery (so their series are checked too)."""


def all_up(body: str) -> bool:
    ups = re.findall(r"^(\w+)_up\{[^}]*\} (\S+)$", body, flags=re.MULTILINE)
    return bool(ups) and all(float(v) == 1.0 for _, v in ups)


def main() -> int:
    promtool = shutil.which("promtool")
    if promtool is None:
        print("metrics-lint: promtool not found; install: apt-get install prometheus")
        return 1
    port = free_port()
    exe = Path(sys.executable).with_name("exporterhub")
    proc = subprocess.Popen(
        [
            str(exe),
            "demo",
            "--speed",
            "20",
            "--web.listen-address",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}/metrics"
    body = ""
    try:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                body = scrape(url)
                if all_up(body) and "phd2_rms{" in body and DISCOVERED in body:
                    break
            if proc.poll() is not None:
                print("metrics-lint: the demo exited early")
                return 1
            time.sleep(0.5)
        else:
            print("metrics-lint: not every target came up; last scrape:")
            print(body[-2000:])
            return 1
        result = subprocess.run(
            [promtool, "check", "metrics"],
            input=body.encode(),
            capture_output=True,
            check=False,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    findings = {
        line.strip()
        for line in (result.stdout + result.stderr).decode().splitlines()
        if line.strip()
    }
    unexpected = findings - EXPECTED
    families = len(set(re.findall(r"^# TYPE (\S+)", body, flags=re.MULTILINE)))
    if result.returncode not in (0, 3) or unexpected:
        print(f"metrics-lint: promtool exit {result.returncode}")
        for line in sorted(unexpected):
            print(f"  {line}")
        return 1
    print(f"metrics-lint: promtool clean on {families} families ({len(body)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
