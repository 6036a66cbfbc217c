"""Benchmark 3: cold start of ``phd2-exporter`` to its first successful scrape.

A ``phd2-simulator --scripted`` runs for the whole benchmark. Each round spawns the
console script ``phd2-exporter --phd2port P --web.listen-address 127.0.0.1:Q`` and
polls ``/metrics`` every 5 ms until the body has ``phd2_up{...} 1.0``. Baseline, in
the same rounds: ``python -c "import exporterhub.hub"`` (interpreter + imports) to
exit; context: ``python -c pass``.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import net
from benchmarks.report import Report, Row

ROUNDS = 5
POLL = 0.005
UP = re.compile(rb"^phd2_up\{[^}]*\} 1\.0$", re.M)
# os._exit: the candidate's clock stops at its first scrape, long before it exits,
# so the baselines skip interpreter teardown too (~100 ms with these imports).
IMPORT_HUB = "import exporterhub.hub, os; os._exit(0)"
BARE = "import os; os._exit(0)"


def _script(name: str) -> str:
    path = Path(sys.executable).parent / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"console script {name} not found (is the venv installed?)")
    return found


def _wait_tcp(port: int, proc: subprocess.Popen[bytes], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("simulator exited early")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=1),
        ):
            return
        time.sleep(0.05)
    raise TimeoutError("simulator did not listen")


def cold_start(exporter: str, phd2_port: int) -> tuple[float, float]:
    """Return (seconds to first 200 on /metrics, seconds to phd2_up 1.0)."""
    from exporterhub.core.testing import free_port

    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen(  # noqa: S603 - our own console script
        [
            exporter,
            "--phd2port",
            str(phd2_port),
            "--web.listen-address",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=net.child_env(),
    )
    first_http = None
    try:
        deadline = start + 60
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"phd2-exporter exited with {proc.returncode}")
            try:
                status, body = net.http_get(port)
            except (OSError, http.client.HTTPException):
                time.sleep(POLL)
                continue
            now = time.perf_counter()
            if status == 200:
                if first_http is None:
                    first_http = now - start
                if UP.search(body):
                    return first_http, now - start
            time.sleep(POLL)
        raise TimeoutError("no phd2_up 1.0 within 60 s")
    finally:
        net.stop(proc)


def scrape_latency(
    exporter: str, phd2_port: int, rounds: int = 15
) -> tuple[list[float], list[float], int]:
    """Time GET /metrics of a running phd2-exporter: reused vs new connection.

    Prometheus keeps its scrape connections alive, so the reused-connection figure is
    the one a real scrape sees.
    """
    from exporterhub.core.testing import free_port

    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own console script
        [
            exporter,
            "--phd2port",
            str(phd2_port),
            "--web.listen-address",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=net.child_env(),
    )
    reused: list[float] = []
    fresh: list[float] = []
    size = 0
    try:
        net.wait_http(port, proc)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/metrics")  # opens the connection, not counted
            conn.getresponse().read()
            for _ in range(rounds):
                start = time.perf_counter()
                conn.request("GET", "/metrics")
                size = len(conn.getresponse().read())
                reused.append(time.perf_counter() - start)
                start = time.perf_counter()
                net.http_get(port)
                fresh.append(time.perf_counter() - start)
        finally:
            conn.close()
    finally:
        net.stop(proc)
    return reused, fresh, size


def timed_run(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, env=net.child_env())  # noqa: S603 - fixed commands
    return time.perf_counter() - start


def run(report: Report) -> None:
    print("## 3. Cold start to first successful scrape", flush=True)
    from exporterhub.core.testing import free_port

    exporter = _script("phd2-exporter")
    simulator = _script("phd2-simulator")
    sim_port = free_port()
    sim = subprocess.Popen(  # noqa: S603 - our own console script
        [simulator, "--host", "127.0.0.1", "--port", str(sim_port), "--scripted"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=net.child_env(),
    )
    cold: list[float] = []
    http_up: list[float] = []
    imports: list[float] = []
    bare: list[float] = []
    try:
        _wait_tcp(sim_port, sim)
        timed_run([sys.executable, "-c", IMPORT_HUB])  # warm the page cache
        cold_start(exporter, sim_port)
        for i in range(ROUNDS):
            steps = ["cold", "imports", "bare"]
            if i % 2:
                steps.reverse()
            for step in steps:
                if step == "cold":
                    first, up = cold_start(exporter, sim_port)
                    http_up.append(first)
                    cold.append(up)
                elif step == "imports":
                    imports.append(timed_run([sys.executable, "-c", IMPORT_HUB]))
                else:
                    bare.append(timed_run([sys.executable, "-c", BARE]))
            print(
                f"  startup round {i + 1}/{ROUNDS}: up=1 after {cold[-1] * 1e3:.0f} ms "
                f"(first 200 after {http_up[-1] * 1e3:.0f} ms), import "
                f"{imports[-1] * 1e3:.0f} ms, bare python {bare[-1] * 1e3:.0f} ms",
                flush=True,
            )
        reused, fresh, size = scrape_latency(exporter, sim_port)
    finally:
        net.stop(sim)
    r = report.add_raw("scrape: GET /metrics on a reused connection", "s", reused)
    f = report.add_raw("scrape: GET /metrics on a new connection", "s", fresh)
    print(
        f"  phd2-exporter /metrics ({size:,} B): reused connection {r * 1e3:.2f} ms, "
        f"new connection {f * 1e3:.2f} ms",
        flush=True,
    )
    c = report.add_raw("startup: spawn phd2-exporter → phd2_up 1.0", "s", cold)
    h = report.add_raw(
        "startup: spawn phd2-exporter → first 200 on /metrics", "s", http_up
    )
    b = report.add_raw(
        'startup: python -c "import exporterhub.hub" (to os._exit)', "s", imports
    )
    p = report.add_raw('startup: python -c "pass" (to os._exit)', "s", bare)
    bench = "3 cold start (phd2-exporter vs running phd2-simulator --scripted)"
    report.rows += [
        Row(
            bench=bench,
            metric="spawn → first /metrics with phd2_up 1.0",
            candidate="phd2-exporter console script",
            cand=c,
            baseline='python -c "import exporterhub.hub; os._exit(0)"',
            base=b,
            unit="s",
        ),
        Row(
            bench=bench,
            metric="spawn → first 200 on /metrics (any body)",
            candidate="phd2-exporter console script",
            cand=h,
            baseline='python -c "import exporterhub.hub; os._exit(0)"',
            base=b,
            unit="s",
        ),
        Row(
            bench=bench,
            metric="interpreter floor",
            candidate='python -c "import exporterhub.hub; os._exit(0)"',
            cand=b,
            baseline='python -c "os._exit(0)"',
            base=p,
            unit="s",
        ),
        Row(
            bench="3 scrape latency (running phd2-exporter, small body)",
            metric=f"GET /metrics, {size:,} B body, median of {len(reused)}",
            candidate="keep-alive connection (as Prometheus scrapes)",
            cand=r,
            baseline="new connection per request",
            base=f,
            unit="s",
            target="reused <= 2x new",
            ok=r <= 2 * f,
        ),
    ]
