"""Benchmark 8: the control plane — API under load, surgical restarts, big lists.

1. *Restart*: the real app in this process with 1,000 bench targets in a SQLite
   store (``build_hub(store=…)`` + ``running_server``); one target's settings are
   changed by ``PUT /api/targets/bench/{name}`` over HTTP. Counted: workers started
   by that change (exactly one expected); timed: from the 2xx answer to the
   restarted worker's first publish with the new settings, median of rounds.
2. *API under load*: ``benchmarks.servers controlplane`` (1,000 stored targets) in
   its own process; ``wrk -c100`` reads ``GET /api/targets/bench/{name}`` while
   ``wrk -c4`` scrapes ``/metrics``; against ``/metrics`` scraped alone, rounds
   alternating. ``/metrics`` must be unaffected (p99 within 1.5x).
3. *Big list*: the same server with 10,000 stored targets; sequential
   ``GET /api/targets`` (the UI's poll), median and p99 of 20.
"""

from __future__ import annotations

import asyncio
import http.client
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from benchmarks import net, workload
from benchmarks.report import Report, Row, median
from benchmarks.scrape import WrkResult, _start, ensure_wrk, run_wrk

RESTART_TARGETS = 1000
RESTART_ROUNDS = 7
LOAD_ROUNDS = 3
LOAD_SECONDS = 6
BIG_LIST = 10_000
LIST_REQUESTS = 20
TARGET_METRICS_P99 = 1.5


async def _restart_rounds() -> tuple[list[float], list[float], list[int]]:
    import httpx

    from benchmarks.servers import seed_store
    from exporterhub.core.app import create_app
    from exporterhub.core.testing import running_server

    with tempfile.TemporaryDirectory(prefix="bench-cp-") as tmp:
        store = await seed_store(Path(tmp) / "store.db", RESTART_TARGETS)
        state = workload.build_state(changing=False, store=store, families=1)
        plugin = state.runner.plugins[workload.KIND]
        delays: list[float] = []
        totals: list[float] = []
        restarted: list[int] = []
        try:
            async with (
                running_server(create_app(state)) as url,
                httpx.AsyncClient(base_url=url, timeout=30) as client,
            ):
                while len(plugin.starts) < RESTART_TARGETS:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                for round_ in range(RESTART_ROUNDS):
                    name = f"t{round_ * 97:05d}"
                    current = (await client.get(f"/api/targets/bench/{name}")).json()
                    before = dict(plugin.starts)
                    new_index = 50_000 + round_
                    sent = time.perf_counter()
                    reply = await client.put(
                        f"/api/targets/bench/{name}",
                        json={
                            "settings": {"index": new_index},
                            "revision": current["revision"],
                        },
                    )
                    answered = time.perf_counter()
                    assert reply.status_code == 200, reply.text
                    wanted = workload.values(new_index, 0)
                    while True:
                        publisher = state.runner.publisher(workload.KIND, name)
                        record = publisher.record if publisher else None
                        if record is not None and record.data == wanted:
                            break
                        await asyncio.sleep(0)
                    running = time.perf_counter()
                    delays.append(running - answered)
                    totals.append(running - sent)
                    restarted.append(
                        sum(plugin.starts[n] - before.get(n, 0) for n in plugin.starts)
                    )
        finally:
            await store.close()
    return delays, totals, restarted


def _loaded_round(wrk: str, port: int, name: str) -> tuple[WrkResult, WrkResult]:
    results: dict[str, WrkResult] = {}

    def api() -> None:
        results["api"] = _wrk_path(wrk, port, f"/api/targets/bench/{name}", 100)

    thread = threading.Thread(target=api)
    thread.start()
    time.sleep(0.3)  # let the API load ramp up before /metrics is measured
    results["metrics"] = run_wrk(wrk, port, LOAD_SECONDS - 1)
    thread.join()
    return results["api"], results["metrics"]


def _wrk_path(wrk: str, port: int, path: str, connections: int) -> WrkResult:
    from benchmarks.scrape import parse_wrk

    out = subprocess.run(  # noqa: S603 - our own wrk command line
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{LOAD_SECONDS}s",
            "--latency",
            "--timeout",
            "10s",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        timeout=LOAD_SECONDS + 60,
        check=True,
    )
    return parse_wrk(out.stdout)


def _list_times(port: int) -> tuple[list[float], int]:
    times = []
    size = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for _ in range(LIST_REQUESTS):
            started = time.perf_counter()
            conn.request("GET", "/api/targets")
            body = conn.getresponse().read()
            times.append(time.perf_counter() - started)
            size = len(body)
    finally:
        conn.close()
    return times, size


def run(report: Report) -> None:
    print("## 8. control plane", flush=True)
    delays, totals, restarted = asyncio.run(_restart_rounds())
    d = report.add_raw("restart: API answer to new settings running", "s", delays)
    t = report.add_raw("restart: PUT sent to new settings running", "s", totals)
    report.add_raw("restart: workers started", "", [float(r) for r in restarted])
    print(
        f"  one of {RESTART_TARGETS} changed: restarted {restarted}, "
        f"{d * 1e3:.2f} ms from answer to running",
        flush=True,
    )
    bench = "8 control plane"
    report.rows.append(
        Row(
            bench=bench,
            metric=f"workers restarted when 1 of {RESTART_TARGETS} stored targets "
            "changes (PUT)",
            candidate="real app, SQLite store",
            cand=float(max(restarted)),
            baseline="",
            base=None,
            unit="",
            target="exactly 1",
            ok=all(r == 1 for r in restarted),
        )
    )
    report.rows.append(
        Row(
            bench=bench,
            metric="time from the API's answer to the new settings running "
            "(already running when the answer arrives)",
            candidate="the restarted worker's first publish after the 2xx",
            cand=d,
            baseline="PUT sent to new settings running",
            base=t,
            unit="s",
        )
    )

    wrk = ensure_wrk()
    if wrk is None:
        report.note("control plane load SKIPPED: wrk is not installed")
        return
    with tempfile.TemporaryDirectory(prefix="bench-cp-") as tmp:
        proc, port = _start(
            "controlplane", str(Path(tmp) / "s.db"), str(RESTART_TARGETS)
        )
        try:
            run_wrk(wrk, port, 2)  # warm-up
            alone: list[WrkResult] = []
            api: list[WrkResult] = []
            loaded: list[WrkResult] = []
            for round_ in range(LOAD_ROUNDS):
                order = ("alone", "loaded") if round_ % 2 == 0 else ("loaded", "alone")
                for phase in order:
                    if phase == "alone":
                        alone.append(run_wrk(wrk, port, LOAD_SECONDS - 1))
                    else:
                        a, m = _loaded_round(wrk, port, "t00001")
                        api.append(a)
                        loaded.append(m)
                print(
                    f"  round {round_ + 1}/{LOAD_ROUNDS}: /metrics alone p99 "
                    f"{alone[-1].p99 * 1e3:.1f} ms, with API load "
                    f"{loaded[-1].p99 * 1e3:.1f} ms; API {api[-1].rps:,.0f} req/s "
                    f"p99 {api[-1].p99 * 1e3:.1f} ms",
                    flush=True,
                )
        finally:
            net.stop(proc)
        big, big_port = _start("controlplane", str(Path(tmp) / "big.db"), str(BIG_LIST))
        try:
            times, size = _list_times(big_port)
        finally:
            net.stop(big)
    api_p99 = report.add_raw("API p99, 100 clients", "s", [r.p99 for r in api])
    api_rps = report.add_raw("API req/s, 100 clients", "", [r.rps for r in api])
    m_alone = report.add_raw("/metrics p99 alone", "s", [r.p99 for r in alone])
    m_loaded = report.add_raw(
        "/metrics p99 with API load", "s", [r.p99 for r in loaded]
    )
    list_median = report.add_raw("GET /api/targets, 10,000 targets", "s", times)
    report.rows += [
        Row(
            bench=bench,
            metric=f"API p99, 100 concurrent clients ({api_rps:,.0f} req/s)",
            candidate="GET /api/targets/bench/{name}, /metrics scraped meanwhile",
            cand=api_p99,
            baseline="",
            base=None,
            unit="s",
        ),
        Row(
            bench=bench,
            metric="/metrics p99 while the API is loaded",
            candidate="wrk -c4 /metrics beside wrk -c100 on the API",
            cand=m_loaded,
            baseline="/metrics alone",
            base=m_alone,
            unit="s",
            target=f"<= {TARGET_METRICS_P99}x alone",
            ok=m_loaded / m_alone <= TARGET_METRICS_P99,
        ),
        Row(
            bench=bench,
            metric=f"GET /api/targets with {BIG_LIST:,} stored targets "
            f"({size / 1024 / 1024:.1f} MiB)",
            candidate="sequential, keep-alive",
            cand=list_median,
            baseline="",
            base=None,
            unit="s",
        ),
    ]
    report.note(
        f"control plane: GET /api/targets with {BIG_LIST:,} targets p99 "
        f"{sorted(times)[-1] * 1e3:.0f} ms over {LIST_REQUESTS}; median "
        f"{median(times) * 1e3:.0f} ms"
    )
