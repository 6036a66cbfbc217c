"""Benchmark 7: a real Prometheus scraping 10,000 changing series every second.

Three servers in their own processes serve the same 10,702 series, all changing on
every whole second: the candidate (``benchmarks.servers candidate``, the real app),
a prometheus_client exporter written the usual way (``Gauge`` children set every
second, ``start_http_server``) and the bare static ceiling (``ceiling``: the same
bytes, never re-rendered). One Debian Prometheus scrapes all three every second.
Per round: each server's CPU share over the window (user + system from ``/proc``)
and, from Prometheus' own ``scrape_duration_seconds``, the p99 and median scrape
time. Prometheus spreads targets over the interval by a hash of their labels, so
each round gives the targets a new ``round`` label: the scrapes land at other
offsets of the second, sometimes on the candidate's whole-second re-render.
Targets: candidate at most 3 % of a core and at least 10x below prometheus_client;
candidate p99 at most 1.5x the ceiling's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from benchmarks import net
from benchmarks.report import Report, Row, median
from benchmarks.scrape import _cpu_seconds, _start

ROUNDS = 3
WARMUP_SECONDS = 8
WINDOW_SECONDS = 40
TARGET_CPU_SHARE = 0.03
TARGET_CPU_FACTOR = 10.0
TARGET_P99_RATIO = 1.5
SERVERS = {
    "cand": "candidate",
    "client": "prometheus-client",
    "ceil": "ceiling",
}


def _query(port: int, expr: str) -> list[dict[str, object]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode(
        {"query": expr}
    )
    with urllib.request.urlopen(url, timeout=5) as answer:
        body = json.loads(answer.read())
    result: list[dict[str, object]] = body["data"]["result"]
    return result


def _prometheus(
    binary: str, workdir: Path, ports: dict[str, int], round_label: int
) -> tuple[subprocess.Popen[bytes], int]:
    from exporterhub.core.testing import free_port

    jobs = "".join(
        f"  - job_name: {name}\n"
        f"    static_configs:\n"
        f"      - targets: ['127.0.0.1:{port}']\n"
        f"        labels: {{round: 'r{round_label}'}}\n"
        for name, port in ports.items()
    )
    config = workdir / f"prometheus-{round_label}.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "  evaluation_interval: 1s\nscrape_configs:\n" + jobs
    )
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - Debian's prometheus binary
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / f'data-{round_label}'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if len(_query(port, "up == 1")) == len(ports):
                return proc, port
        except OSError:
            pass
        time.sleep(0.5)
    net.stop(proc)
    raise RuntimeError("Prometheus did not scrape every server within 60 s")


def run(report: Report) -> None:
    print("## 7. a real Prometheus scraping 10,000 changing series", flush=True)
    binary = shutil.which("prometheus")
    if binary is None:
        report.note(
            "prometheus SKIPPED: install Debian's package (apt-get install prometheus)"
        )
        return
    procs: list[subprocess.Popen[bytes]] = []
    cpu: dict[str, list[float]] = {name: [] for name in SERVERS}
    p99: dict[str, list[float]] = {name: [] for name in SERVERS}
    p50: dict[str, list[float]] = {name: [] for name in SERVERS}
    ports: dict[str, int] = {}
    pids: dict[str, int] = {}
    try:
        for name, which in SERVERS.items():
            proc, ports[name] = _start(which)
            pids[name] = proc.pid
            procs.append(proc)
        with tempfile.TemporaryDirectory(prefix="bench-prometheus-") as tmp:
            for round_label in range(ROUNDS):
                prom, prom_port = _prometheus(binary, Path(tmp), ports, round_label)
                try:
                    time.sleep(WARMUP_SECONDS)
                    before = {n: _cpu_seconds(pid) for n, pid in pids.items()}
                    started = time.monotonic()
                    time.sleep(WINDOW_SECONDS)
                    elapsed = time.monotonic() - started
                    for name, pid in pids.items():
                        cpu[name].append((_cpu_seconds(pid) - before[name]) / elapsed)
                    window = f"{WINDOW_SECONDS}s"
                    for name in SERVERS:
                        for quantile, store in ((0.99, p99), (0.5, p50)):
                            found = _query(
                                prom_port,
                                f"quantile_over_time({quantile}, "
                                f'scrape_duration_seconds{{job="{name}"}}[{window}])',
                            )
                            store[name].append(float(found[0]["value"][1]))  # type: ignore[index]
                    print(
                        f"  round {round_label + 1}/{ROUNDS}: "
                        + "; ".join(
                            f"{n} {cpu[n][-1]:.1%} CPU, p99 {p99[n][-1] * 1e3:.1f} ms"
                            for n in SERVERS
                        ),
                        flush=True,
                    )
                finally:
                    net.stop(prom)
    finally:
        for proc in procs:
            net.stop(proc)
    names = {
        "cand": "candidate (real app)",
        "client": "prometheus_client exporter",
        "ceil": "bare static server",
    }
    med_cpu = {n: report.add_raw(f"CPU share, {names[n]}", "", cpu[n]) for n in SERVERS}
    med_p99 = {
        n: report.add_raw(f"scrape p99, {names[n]}", "s", p99[n]) for n in SERVERS
    }
    med_p50 = {
        n: report.add_raw(f"scrape p50, {names[n]}", "s", p50[n]) for n in SERVERS
    }
    ratios = [c / b for c, b in zip(p99["cand"], p99["ceil"], strict=True)]
    report.note(
        "prometheus: candidate p99/ceiling p99 per round "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + f" (median {median(ratios):.2f})"
    )
    bench = (
        f"7 Prometheus scraping 10,702 changing series every 1 s "
        f"({ROUNDS} rounds x {WINDOW_SECONDS} s, offsets moved per round)"
    )
    report.rows += [
        Row(
            bench=bench,
            metric="CPU share of one core",
            candidate="real app (build_hub+serve)",
            cand=med_cpu["cand"],
            baseline="prometheus_client exporter, same series",
            base=med_cpu["client"],
            unit="share",
            target=f"<= {TARGET_CPU_SHARE:.0%} and >= {TARGET_CPU_FACTOR:.0f}x below",
            ok=med_cpu["cand"] <= TARGET_CPU_SHARE
            and med_cpu["client"] / med_cpu["cand"] >= TARGET_CPU_FACTOR,
        ),
        Row(
            bench=bench,
            metric="CPU share of one core (ceiling)",
            candidate="real app (build_hub+serve)",
            cand=med_cpu["cand"],
            baseline="bare static server, same bytes",
            base=med_cpu["ceil"],
            unit="share",
        ),
        Row(
            bench=bench,
            metric="scrape p99 (scrape_duration_seconds)",
            candidate="real app (build_hub+serve)",
            cand=med_p99["cand"],
            baseline="bare static server, same bytes",
            base=med_p99["ceil"],
            unit="s",
            target=f"<= {TARGET_P99_RATIO}x ceiling",
            ok=med_p99["cand"] / med_p99["ceil"] <= TARGET_P99_RATIO,
        ),
        Row(
            bench=bench,
            metric="scrape p50",
            candidate="real app (build_hub+serve)",
            cand=med_p50["cand"],
            baseline="bare static server, same bytes",
            base=med_p50["ceil"],
            unit="s",
        ),
        Row(
            bench=bench,
            metric="scrape p99, prometheus_client",
            candidate="prometheus_client exporter",
            cand=med_p99["client"],
            baseline="bare static server, same bytes",
            base=med_p99["ceil"],
            unit="s",
        ),
    ]
