"""Benchmark 2: ``/metrics`` against the true ceiling of serving the same bytes.

Candidate: ``python -m benchmarks.servers candidate`` — the real exporter path
(``build_hub`` + ``serve`` run as the commands run it) with 100 worker tasks that
publish new values on every whole second, so the cached body and gzip are
invalidated once a second. Ceiling: ``python -m benchmarks.servers ceiling`` — a
bare ASGI callable on uvicorn with uvloop and httptools returning one pre-rendered
constant of the same content; the earlier FastAPI constant stays as a second
baseline. 2b: a standalone ``phd2-exporter`` with one simulated rig against the
ceiling serving its own bytes. All servers run in their own processes; load comes
from ``wrk`` on 127.0.0.1, runs alternate between them. Also: the one-time render
cost of the body after a change against ``prometheus_client.generate_latest``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import net, workload
from benchmarks.report import Report, Row, median

WRK_THREADS = 1
WRK_CONNECTIONS = 16
WRK_SECONDS = 8
PAIRS = 3
RENDER_ROUNDS = 7
TARGET_RPS_RATIO = 0.90
TARGET_P99_RATIO = 1.5
TARGET_CPU_RATIO = 1.2
TARGET_SMALL_RATIO = 0.8
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


def _start(which: str, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    from exporterhub.core.testing import free_port

    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own server module
        [sys.executable, "-m", "benchmarks.servers", which, str(port), *extra],
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
    g = report.add_raw(
        "render: Exposition.gzip_body() after that (zlib level 1)", "s", gz
    )
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
    wrk: str,
    ports: dict[str, int],
    pids: dict[str, int],
    report: Report,
    *,
    gzip_names: tuple[str, ...] = ("cand", "ceil"),
    pairs: int = PAIRS,
) -> dict[str, list[WrkResult]]:
    """Alternate wrk runs over the servers; plain first, then gzip."""
    results: dict[str, list[WrkResult]] = {}
    for headers, suffix in ((None, ""), (GZIP, "_gz")):
        names = list(ports) if not suffix else [n for n in gzip_names if n in ports]
        for i in range(pairs):
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
                f"  wrk{suffix or ' plain'} round {i + 1}/{pairs}: {line}", flush=True
            )
    return results


def _medians(
    report: Report, results: dict[str, list[WrkResult]], labels: dict[str, str]
) -> dict[str, dict[str, float]]:
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
    return med


def _ratio_note(
    report: Report, results: dict[str, list[WrkResult]], a: str, b: str, what: str
) -> None:
    pairs = zip(results[a], results[b], strict=True)
    ratios = [x.rps / y.rps for x, y in pairs]
    report.note(
        f"{what}: {a}/{b} req/s per round "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + f" (median {median(ratios):.2f})"
    )


def _start_servers(
    servers: dict[str, tuple[str, ...]],
) -> tuple[list[subprocess.Popen[bytes]], dict[str, int], dict[str, int]]:
    procs: list[subprocess.Popen[bytes]] = []
    ports: dict[str, int] = {}
    pids: dict[str, int] = {}
    try:
        for which, args in servers.items():
            proc, ports[which] = _start(*args)
            pids[which] = proc.pid
            procs.append(proc)
    except Exception:
        for proc in procs:
            net.stop(proc)
        raise
    return procs, ports, pids


def http_bench(report: Report) -> None:
    wrk = ensure_wrk()
    if wrk is None:
        report.note("scrape over HTTP SKIPPED: wrk is not installed")
        return
    procs, ports, pids = _start_servers(
        {
            "cand": ("candidate",),
            "ceil": ("ceiling",),
            "fastapi": ("fastapi",),
            "static": ("candidate-static",),
        }
    )
    try:
        _, first = net.http_get(ports["cand"])
        time.sleep(1.2)
        _, second = net.http_get(ports["cand"])
        _, base_body = net.http_get(ports["ceil"])
        assert first != second, "candidate body did not change within 1.2 s"
        report.note(
            f"scrape: candidate body {len(second):,} B / {_series(second):,} series "
            f"(changes every second: verified), ceiling constant {len(base_body):,} B "
            f"/ {_series(base_body):,} series"
        )
        for port in ports.values():  # warm-up, not counted
            run_wrk(wrk, port, 2)
            run_wrk(wrk, port, 1, GZIP)
        results = _rounds(wrk, ports, pids, report)
        cand_rss = net.rss(pids["cand"])
        series = _series(second)
        empty, empty_port = _start("candidate-empty")
        try:
            net.http_get(empty_port)  # the same first scrape the candidate had
            time.sleep(1.2)
            net.http_get(empty_port)
            empty_rss = net.rss(empty.pid)
        finally:
            net.stop(empty)
    finally:
        for proc in procs:
            net.stop(proc)
    per_series = (cand_rss - empty_rss) / series
    report.rows.append(
        Row(
            bench="2 /metrics memory (servers in own processes, after the wrk rounds)",
            metric=f"memory per series ({series:,} series)",
            candidate="real app: RSS - the same app with no target, / series",
            cand=per_series,
            baseline="",
            base=None,
            unit="B",
            target="<= 1 KiB",
            ok=per_series <= 1024,
        )
    )
    report.note(
        f"scrape memory: candidate RSS {cand_rss / 2**20:.1f} MiB, same app with no "
        f"target {empty_rss / 2**20:.1f} MiB, {series:,} series"
    )

    bench = (
        f"2 /metrics over HTTP (wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} "
        f"-d{WRK_SECONDS}s, servers in own processes)"
    )
    labels = {
        "cand": "candidate",
        "ceil": "ceiling",
        "fastapi": "FastAPI constant",
        "static": "candidate, data never changes",
        "cand_gz": "candidate gzip",
        "ceil_gz": "ceiling gzip",
    }
    med = _medians(report, results, labels)
    _ratio_note(report, results, "cand", "ceil", "scrape plain")
    _ratio_note(report, results, "cand_gz", "ceil_gz", "scrape gzip")
    _ratio_note(report, results, "cand", "fastapi", "scrape plain")
    real = "real app (build_hub+serve), 100 workers publishing every 1 s"
    ceiling = "bare ASGI app, uvicorn+uvloop+httptools, pre-rendered constant"
    fastapi = "FastAPI returning the constant (the earlier baseline)"
    c, b, f = med["cand"], med["ceil"], med["fastapi"]
    report.rows += [
        Row(
            bench=bench,
            metric="req/s",
            candidate=real,
            cand=c["rps"],
            baseline=ceiling,
            base=b["rps"],
            unit="req/s",
            target=f">= {TARGET_RPS_RATIO:.2f}x ceiling",
            ok=c["rps"] / b["rps"] >= TARGET_RPS_RATIO,
        ),
        Row(
            bench=bench,
            metric="p99 latency",
            candidate=real,
            cand=c["p99"],
            baseline=ceiling,
            base=b["p99"],
            unit="s",
            target=f"<= {TARGET_P99_RATIO}x ceiling",
            ok=c["p99"] / b["p99"] <= TARGET_P99_RATIO,
        ),
        Row(
            bench=bench,
            metric="server CPU per request (all threads, /proc)",
            candidate=real,
            cand=c["cpu"],
            baseline=ceiling,
            base=b["cpu"],
            unit="s",
            target=f"<= {TARGET_CPU_RATIO}x ceiling",
            ok=c["cpu"] / b["cpu"] <= TARGET_CPU_RATIO,
        ),
        Row(
            bench=bench,
            metric="p50 latency",
            candidate=real,
            cand=c["p50"],
            baseline=ceiling,
            base=b["p50"],
            unit="s",
        ),
        Row(
            bench=bench,
            metric="req/s, Accept-Encoding: gzip",
            candidate=real + ", cached gzip",
            cand=med["cand_gz"]["rps"],
            baseline=ceiling + " (pre-gzipped)",
            base=med["ceil_gz"]["rps"],
            unit="req/s",
        ),
        Row(
            bench=bench,
            metric="p99 latency, Accept-Encoding: gzip",
            candidate=real + ", cached gzip",
            cand=med["cand_gz"]["p99"],
            baseline=ceiling + " (pre-gzipped)",
            base=med["ceil_gz"]["p99"],
            unit="s",
        ),
        Row(
            bench=bench,
            metric="req/s (second baseline)",
            candidate=real,
            cand=c["rps"],
            baseline=fastapi,
            base=f["rps"],
            unit="req/s",
        ),
        Row(
            bench=bench,
            metric="server CPU per request (second baseline)",
            candidate=real,
            cand=c["cpu"],
            baseline=fastapi,
            base=f["cpu"],
            unit="s",
        ),
        Row(
            bench=bench + " diagnostic",
            metric="req/s",
            candidate="real app, workers publish once (no re-render)",
            cand=med["static"]["rps"],
            baseline=ceiling,
            base=b["rps"],
            unit="req/s",
        ),
        Row(
            bench=bench + " diagnostic",
            metric="server CPU per request (all threads, /proc)",
            candidate="real app, workers publish once (no re-render)",
            cand=med["static"]["cpu"],
            baseline=ceiling,
            base=b["cpu"],
            unit="s",
        ),
    ]


def small_bench(report: Report) -> None:
    """A standalone exporter with one device against the ceiling for its bytes."""
    wrk = ensure_wrk()
    if wrk is None:
        report.note("small exposition SKIPPED: wrk is not installed")
        return
    from exporterhub.core.testing import free_port

    sim_port, exp_port = free_port(), free_port()
    bin_dir = Path(sys.executable).parent
    sim = subprocess.Popen(  # noqa: S603 - our own console scripts
        [str(bin_dir / "phd2-simulator"), "--port", str(sim_port), "--speed", "5"],
        env=net.child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    procs = [sim]
    try:
        exporter = subprocess.Popen(  # noqa: S603 - our own console scripts
            [
                str(bin_dir / "phd2-exporter"),
                "--phd2port",
                str(sim_port),
                "--web.listen-address",
                f"127.0.0.1:{exp_port}",
                "--log.level",
                "warning",
            ],
            env=net.child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(exporter)
        net.wait_http(exp_port, exporter)
        deadline = time.monotonic() + 30
        body = b""
        while time.monotonic() < deadline:
            _, body = net.http_get(exp_port)
            if b"phd2_up{" in body and b"} 1.0" in body.split(b"phd2_up{", 1)[1][:200]:
                break
            time.sleep(0.1)
        with tempfile.NamedTemporaryFile(suffix=".prom", delete=False) as handle:
            handle.write(body)
        ceiling, ceil_port = _start("ceiling-file", handle.name)
        procs.append(ceiling)
        ports = {"cand": exp_port, "ceil": ceil_port}
        pids = {"cand": exporter.pid, "ceil": ceiling.pid}
        for port in ports.values():
            run_wrk(wrk, port, 2)
        results = _rounds(wrk, ports, pids, report, gzip_names=())
    finally:
        for proc in procs:
            net.stop(proc)
    bench = "2 /metrics, small exposition (one PHD2 rig, wrk -c16)"
    labels = {"cand": "phd2-exporter", "ceil": "ceiling, same bytes"}
    med = _medians(report, results, labels)
    _ratio_note(report, results, "cand", "ceil", "small exposition")
    c, b = med["cand"], med["ceil"]
    report.rows += [
        Row(
            bench=bench,
            metric=f"req/s ({len(body):,} B body)",
            candidate="phd2-exporter against phd2-simulator",
            cand=c["rps"],
            baseline="bare ASGI app, uvicorn+uvloop+httptools, same bytes",
            base=b["rps"],
            unit="req/s",
            target=f">= {TARGET_SMALL_RATIO:.1f}x ceiling",
            ok=c["rps"] / b["rps"] >= TARGET_SMALL_RATIO,
        ),
        Row(
            bench=bench,
            metric="p99 latency",
            candidate="phd2-exporter against phd2-simulator",
            cand=c["p99"],
            baseline="bare ASGI app, same bytes",
            base=b["p99"],
            unit="s",
        ),
    ]


def run(report: Report) -> None:
    print("## 2. /metrics with 10,000 series", flush=True)
    render_bench(report)
    http_bench(report)
    print("## 2b. /metrics of a standalone exporter with one device", flush=True)
    small_bench(report)
