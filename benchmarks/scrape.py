"""Benchmark 2: ``/metrics`` with ~10,000 series against pre-rendered bytes.

Candidate: ``python -m benchmarks.servers candidate`` — the real exporter path
(``build_hub`` + ``serve``) with 100 worker tasks that publish new values on every
whole second, so the cached body and gzip are invalidated once a second.
Baseline: ``python -m benchmarks.servers baseline`` — same uvicorn settings and
FastAPI, ``/metrics`` returns one pre-rendered constant of the same content.
Both servers run in their own processes; load comes from ``wrk`` on 127.0.0.1,
runs alternate between them. Also: the one-time render cost of the body after a
change against ``prometheus_client.generate_latest`` of an equivalent registry.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

from benchmarks import net, workload
from benchmarks.report import Report, Row, median

WRK_THREADS = 1
WRK_CONNECTIONS = 16
WRK_SECONDS = 8
PAIRS = 3
RENDER_ROUNDS = 7
TARGET_RPS_RATIO = 0.90
TARGET_P99_RATIO = 2.0
GZIP = {"Accept-Encoding": "gzip"}

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
_SIZES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


@dataclass(slots=True)
class WrkResult:
    rps: float
    p50: float
    p99: float
    bytes_per_request: float
    errors: str
    requests: int
    cpu_per_request: float = float("nan")


def ensure_wrk() -> str | None:
    """Return the wrk path; try ``apt-get install -y wrk`` when missing and root."""
    found = shutil.which("wrk")
    if found:
        return found
    print(
        "  wrk is missing: install it with `sudo apt-get install -y wrk` "
        "(Debian/Ubuntu package `wrk`)",
        flush=True,
    )
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("  running as root: trying apt-get install -y wrk", flush=True)
        for command in (
            ["apt-get", "install", "-y", "-qq", "wrk"],
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "wrk"],
        ):
            subprocess.run(  # noqa: S603 - fixed commands
                command,
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
            found = shutil.which("wrk")
            if found:
                return found
    return None


def _seconds(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse_wrk(text: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    total = re.search(
        r"(\d+) requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB|TB) read", text
    )
    if not (rps and p50 and p99 and total):
        raise ValueError(f"cannot parse wrk output:\n{text}")
    requests = int(total.group(1))
    read = float(total.group(2)) * _SIZES[total.group(3)]
    errors = []
    for pattern in (r"Socket errors:[^\n]*", r"Non-2xx or 3xx responses: \d+"):
        match = re.search(pattern, text)
        if match:
            errors.append(match.group(0).strip())
    return WrkResult(
        rps=float(rps.group(1)),
        p50=_seconds(*p50.groups()),
        p99=_seconds(*p99.groups()),
        bytes_per_request=read / max(requests, 1),
        errors="; ".join(errors),
        requests=requests,
    )


def run_wrk(
    wrk: str, port: int, seconds: int, headers: dict[str, str] | None = None
) -> WrkResult:
    command = [
        wrk,
        f"-t{WRK_THREADS}",
        f"-c{WRK_CONNECTIONS}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for key, value in (headers or {}).items():
        command += ["-H", f"{key}: {value}"]
    command.append(f"http://127.0.0.1:{port}/metrics")
    out = subprocess.run(  # noqa: S603 - our own wrk command line
        command, capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    return parse_wrk(out.stdout)


def _start(which: str) -> tuple[subprocess.Popen[bytes], int]:
    from exporterhub.core.testing import free_port

    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own server module
        [sys.executable, "-m", "benchmarks.servers", which, str(port)],
        cwd=net.ROOT,
        env=net.child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        net.wait_http(port, proc)
    except Exception:
        net.stop(proc)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise RuntimeError(f"{which} server failed to start:\n{err[-2000:]}") from None
    return proc, port


def _series(body: bytes) -> int:
    return sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))


def render_bench(report: Report) -> None:
    """One-time cost of the body after a change vs generate_latest (in-process)."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    state = workload.build_state()
    exposition = state.exposition
    publishers = workload.static_publishers(state)
    workload.publish_all(publishers, 0)
    body = exposition.body()

    # An equivalent registry: every family and series of our body, as Gauges.
    registry = CollectorRegistry()
    for family in text_string_to_metric_families(body.decode()):
        labelnames: list[str] = []
        for sample in family.samples:
            labelnames = list(sample.labels)
            break
        name = family.samples[0].name if family.samples else family.name
        gauge = Gauge(name, family.documentation or "x", labelnames, registry=registry)
        for sample in family.samples:
            child = gauge.labels(**sample.labels) if labelnames else gauge
            child.set(sample.value)
    reference = generate_latest(registry)

    changed: list[float] = []
    gz: list[float] = []
    cached: list[float] = []
    latest: list[float] = []
    for tick in range(1, RENDER_ROUNDS + 1):
        workload.publish_all(publishers, tick)  # every target changed
        start = time.perf_counter()
        exposition.body()
        changed.append(time.perf_counter() - start)
        start = time.perf_counter()
        exposition.gzip_body()
        gz.append(time.perf_counter() - start)
        start = time.perf_counter()
        exposition.body()
        cached.append(time.perf_counter() - start)
        start = time.perf_counter()
        generate_latest(registry)
        latest.append(time.perf_counter() - start)
    c = report.add_raw(
        "render: Exposition.body() after all 100 targets changed", "s", changed
    )
    g = report.add_raw("render: Exposition.gzip_body() after that (level 5)", "s", gz)
    k = report.add_raw("render: Exposition.body() unchanged (cache hit)", "s", cached)
    p = report.add_raw(
        "render: prometheus_client.generate_latest, same series", "s", latest
    )
    bench = "2 /metrics render (in-process)"
    series = f"{_series(body):,} series, {len(body) / 1024:,.0f} KiB"
    report.rows += [
        Row(
            bench=bench,
            metric=f"time to render after a change ({series})",
            candidate="Exposition.body(), all targets changed",
            cand=c,
            baseline="generate_latest, equivalent Gauge registry",
            base=p,
            unit="s",
        ),
        Row(
            bench=bench,
            metric="gzip of the new body (once per change)",
            candidate="Exposition.gzip_body()",
            cand=g,
            baseline="generate_latest",
            base=p,
            unit="s",
        ),
        Row(
            bench=bench,
            metric="body when nothing changed",
            candidate="Exposition.body() cache hit",
            cand=k,
            baseline="generate_latest",
            base=p,
            unit="s",
        ),
    ]
    report.note(
        f"render: our body {len(body):,} B vs generate_latest {len(reference):,} B for "
        f"the same {_series(body):,} series (counters typed as gauges there); "
        f"speed-up of the render after a change: {p / c:.1f}x"
    )
    print(
        f"  render after change {c * 1e3:.2f} ms, gzip {g * 1e3:.2f} ms, cached "
        f"{k * 1e6:.1f} µs, generate_latest {p * 1e3:.1f} ms",
        flush=True,
    )


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads), from /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rounds(
    wrk: str, ports: dict[str, int], pids: dict[str, int], report: Report
) -> dict[str, list[WrkResult]]:
    """Alternate wrk runs over the servers; plain first, then gzip (no static)."""
    results: dict[str, list[WrkResult]] = {}
    for headers, suffix in ((None, ""), (GZIP, "_gz")):
        names = ["cand", "base"] + (["static"] if not suffix else [])
        for i in range(PAIRS):
            order = names if i % 2 == 0 else names[::-1]
            for which in order:
                cpu = _cpu_seconds(pids[which])
                result = run_wrk(wrk, ports[which], WRK_SECONDS, headers)
                cpu = _cpu_seconds(pids[which]) - cpu
                result.cpu_per_request = cpu / max(result.requests, 1)
                results.setdefault(which + suffix, []).append(result)
                if result.errors:
                    report.note(f"wrk {which}{suffix}: {result.errors}")
            line = "; ".join(
                f"{n} {results[n + suffix][-1].rps:,.0f} req/s p99 "
                f"{results[n + suffix][-1].p99 * 1e3:.1f} ms"
                for n in names
            )
            print(
                f"  wrk{suffix or ' plain'} round {i + 1}/{PAIRS}: {line}", flush=True
            )
    return results


def http_bench(report: Report) -> None:
    wrk = ensure_wrk()
    if wrk is None:
        report.note("scrape over HTTP SKIPPED: wrk is not installed")
        return
    procs: list[subprocess.Popen[bytes]] = []
    try:
        ports: dict[str, int] = {}
        pids: dict[str, int] = {}
        for which, server in (
            ("cand", "candidate"),
            ("base", "baseline"),
            ("static", "candidate-static"),
        ):
            proc, ports[which] = _start(server)
            pids[which] = proc.pid
            procs.append(proc)
        _, first = net.http_get(ports["cand"])
        time.sleep(1.2)
        _, second = net.http_get(ports["cand"])
        _, base_body = net.http_get(ports["base"])
        assert first != second, "candidate body did not change within 1.2 s"
        report.note(
            f"scrape: candidate body {len(second):,} B / {_series(second):,} series "
            f"(changes every second: verified), baseline constant {len(base_body):,} B "
            f"/ {_series(base_body):,} series"
        )
        for port in ports.values():  # warm-up, not counted
            run_wrk(wrk, port, 2)
            run_wrk(wrk, port, 1, GZIP)
        results = _rounds(wrk, ports, pids, report)
    finally:
        for proc in procs:
            net.stop(proc)

    bench = (
        f"2 /metrics over HTTP (wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} "
        f"-d{WRK_SECONDS}s, servers in own processes)"
    )
    labels = {
        "cand": "candidate",
        "base": "baseline",
        "static": "candidate, data never changes",
        "cand_gz": "candidate gzip",
        "base_gz": "baseline gzip",
    }
    med: dict[str, dict[str, float]] = {}
    for key, runs in results.items():
        name = labels[key]
        med[key] = {
            "rps": report.add_raw(f"wrk {name}: req/s", "", [r.rps for r in runs]),
            "p99": report.add_raw(f"wrk {name}: p99", "s", [r.p99 for r in runs]),
            "p50": report.add_raw(f"wrk {name}: p50", "s", [r.p50 for r in runs]),
            "cpu": report.add_raw(
                f"server CPU per request, {name}",
                "s",
                [r.cpu_per_request for r in runs],
            ),
        }
        report.add_raw(
            f"wrk {name}: bytes/response", "B", [r.bytes_per_request for r in runs]
        )
    for suffix in ("", "_gz"):
        pairs = zip(results["cand" + suffix], results["base" + suffix], strict=True)
        ratios = [c.rps / b.rps for c, b in pairs]
        report.note(
            f"scrape{suffix or ' plain'}: candidate/baseline req/s per round "
            + ", ".join(f"{r:.2f}" for r in ratios)
            + f" (median {median(ratios):.2f})"
        )
    real = "real app (build_hub+serve), 100 workers publishing every 1 s"
    const = "same uvicorn+FastAPI, pre-rendered constant"
    rps_ok = med["cand"]["rps"] / med["base"]["rps"] >= TARGET_RPS_RATIO
    p99_ok = med["cand"]["p99"] / med["base"]["p99"] <= TARGET_P99_RATIO
    report.rows += [
        Row(
            bench=bench,
            metric="req/s",
            candidate=real,
            cand=med["cand"]["rps"],
            baseline=const,
            base=med["base"]["rps"],
            unit="req/s",
            target=f">= {TARGET_RPS_RATIO:.0%} of baseline",
            ok=rps_ok,
        ),
        Row(
            bench=bench,
            metric="p99 latency",
            candidate=real,
            cand=med["cand"]["p99"],
            baseline=const,
            base=med["base"]["p99"],
            unit="s",
            target=f"<= {TARGET_P99_RATIO:.0f}x baseline",
            ok=p99_ok,
        ),
        Row(
            bench=bench,
            metric="p50 latency",
            candidate=real,
            cand=med["cand"]["p50"],
            baseline=const,
            base=med["base"]["p50"],
            unit="s",
        ),
        Row(
            bench=bench,
            metric="req/s, Accept-Encoding: gzip",
            candidate=real + ", cached gzip",
            cand=med["cand_gz"]["rps"],
            baseline=const + " (pre-gzipped)",
            base=med["base_gz"]["rps"],
            unit="req/s",
        ),
        Row(
            bench=bench,
            metric="p99 latency, Accept-Encoding: gzip",
            candidate=real + ", cached gzip",
            cand=med["cand_gz"]["p99"],
            baseline=const + " (pre-gzipped)",
            base=med["base_gz"]["p99"],
            unit="s",
        ),
        Row(
            bench=bench,
            metric="server CPU per request (all threads, /proc)",
            candidate=real,
            cand=med["cand"]["cpu"],
            baseline=const,
            base=med["base"]["cpu"],
            unit="s",
        ),
        Row(
            bench=bench,
            metric="server CPU per request, gzip",
            candidate=real + ", cached gzip",
            cand=med["cand_gz"]["cpu"],
            baseline=const + " (pre-gzipped)",
            base=med["base_gz"]["cpu"],
            unit="s",
        ),
        Row(
            bench=bench + " diagnostic",
            metric="server CPU per request (all threads, /proc)",
            candidate="real app, workers publish once (no re-render)",
            cand=med["static"]["cpu"],
            baseline=const,
            base=med["base"]["cpu"],
            unit="s",
        ),
        Row(
            bench=bench + " diagnostic",
            metric="req/s",
            candidate="real app, workers publish once (no re-render)",
            cand=med["static"]["rps"],
            baseline=const,
            base=med["base"]["rps"],
            unit="req/s",
        ),
        Row(
            bench=bench + " diagnostic",
            metric="p99 latency",
            candidate="real app, workers publish once (no re-render)",
            cand=med["static"]["p99"],
            baseline=const,
            base=med["base"]["p99"],
            unit="s",
        ),
    ]


def run(report: Report) -> None:
    print("## 2. /metrics with 10,000 series", flush=True)
    render_bench(report)
    http_bench(report)
