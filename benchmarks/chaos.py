"""Benchmark 4: AAISP CHAOS collection for an account with 50 lines.

Server: the CHAOS simulator (``ChaosSimulator(ChaosSimConfig(port=0, lines=50))``)
on 127.0.0.1 in a SEPARATE process (spawned with multiprocessing), so the exporter
process's CPU time is the exporter's alone. After every tier run the benchmark asks
that process, over a pipe and outside the timed window, for the requests it logged
since the last ask and for its own CPU time spent meanwhile.

Candidate: the real CHAOS ``_Worker`` of ``exporterhub.exporters.chaos.plugin`` with
its real ``ChaosClient``, ``ChaosState`` and a ``TargetPublisher`` into the section of
a hub built by ``hub.build_hub`` (the same wiring ``TargetRunner`` uses). Its tier
coroutines ``slow()`` (broadband/services), ``medium()`` (broadband/info) and
``fast()`` (broadband/quota) are awaited directly instead of through
``PollScheduler``, once per timed run, in ``bulk`` and in ``per_service`` mode
(``min_request_interval=0``, other settings at their defaults: concurrency 2,
telephony and login collectors off). Measured per tier run: the requests the
simulator saw and the exporter's ``time.process_time()`` around the ``await``.

Baseline (same run, interleaved): one bare ``httpx`` POST of the same form to the same
bulk command plus ``json.loads`` of the answer: the CPU floor of a bulk collection.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import multiprocessing
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.report import Report, Row, median

LINES = 50
ROUNDS = 7
REPEATS = 3  # tier runs per round; a round's sample is their mean
LOGIN = "exmpl@a"
PASSWORD = "demo-password"  # noqa: S105 - the simulator's demo login
TARGET_BULK_REQUESTS = 1
BENCH = f"4 CHAOS collection ({LINES} lines, simulator in another process)"
TIERS = (("slow", "services"), ("medium", "info"), ("fast", "quota"))
MODES = ("bulk", "per_service")


# --------------------------------------------------------------------- server process


def server_main(ctrl: Any, lines: int) -> None:
    """Entry point of the simulator process (spawned; loopback only)."""
    from exporterhub.core.logging import configure_logging

    configure_logging("warning", "json")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(ctrl, lines))


async def _serve(ctrl: Any, lines: int) -> None:
    from exporterhub.simulators.chaos import ChaosSimConfig, ChaosSimulator

    async with ChaosSimulator(ChaosSimConfig(port=0, lines=lines)) as sim:
        ctrl.send(("url", sim.base_url))
        seen = 0
        cpu = time.process_time()
        while True:
            command = await asyncio.to_thread(ctrl.recv)
            if command[0] == "stop":
                break
            if command[0] == "mark":
                now = time.process_time()
                new = [
                    (r.subsystem, r.command, r.attributes.get("service", ""), r.status)
                    for r in sim.requests[seen:]
                ]
                seen = len(sim.requests)
                ctrl.send((new, now - cpu))
                cpu = now


class SimulatorProcess:
    """The CHAOS simulator in its own process, with its request log over a pipe."""

    def __init__(self, lines: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.ctrl, child = ctx.Pipe()
        self.proc = ctx.Process(target=server_main, args=(child, lines), daemon=True)
        self.proc.start()
        deadline = time.monotonic() + 60
        while not self.ctrl.poll(0.1):
            if not self.proc.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("chaos simulator did not start")
        _, self.base_url = self.ctrl.recv()

    def mark(self) -> tuple[list[tuple[str, str, str, int | None]], float]:
        """Return the requests logged and the simulator's CPU seconds since the last
        mark."""
        self.ctrl.send(("mark",))
        if not self.ctrl.poll(30):
            raise RuntimeError("chaos simulator stopped answering")
        new, cpu = self.ctrl.recv()
        return new, cpu

    def close(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self.ctrl.send(("stop",))
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5)


# ----------------------------------------------------------------------- candidate


class WorkerHarness:
    """One real CHAOS ``_Worker`` publishing into a ``build_hub`` section."""

    def __init__(self, hub: Any, base_url: str, mode: str) -> None:
        import httpx
        from pydantic import SecretStr

        from exporterhub.core.plugin import TargetPublisher
        from exporterhub.exporters.chaos.client import ChaosClient
        from exporterhub.exporters.chaos.plugin import PLUGIN, _Worker, to_target
        from exporterhub.exporters.chaos.settings import ChaosTargetSettings

        settings = ChaosTargetSettings(
            name=f"bench-{mode}",
            control_login=LOGIN,
            control_password=SecretStr(PASSWORD),
            api_url=base_url,
            mode=mode,  # type: ignore[arg-type]
            min_request_interval=0,
        )
        target = to_target(settings)
        # What TargetRunner._start and _Worker.run set up, minus the scheduler.
        self.publisher: TargetPublisher[Any] = TargetPublisher(
            hub.exposition.section(PLUGIN.kind),
            target.name,
            PLUGIN.initial_identity(target),
            max_age=PLUGIN.max_age(target),
            clock=hub.clock,
            registry=hub.exposition.registry,
        )
        self.worker = _Worker(settings, self.publisher, hub.clock)
        self.http = httpx.AsyncClient(
            timeout=settings.request_timeout,
            follow_redirects=False,
            headers={"User-Agent": "exporterhub-aaisp-exporter"},
        )
        self.worker.client = ChaosClient(
            settings, self.http, self.worker.instruments, clock=hub.clock
        )
        self.mode = mode

    def tier(self, name: str) -> Callable[[], Awaitable[None]]:
        tier: Callable[[], Awaitable[None]] = getattr(self.worker, name)
        return tier

    def check(self, name: str) -> None:
        """Fail loudly when the tier run did not succeed: its figures would be junk."""
        record = self.publisher.record
        if not record.healthy or record.data is None:
            raise RuntimeError(f"{self.mode} {name} tier run failed: {record!r}")
        lines = record.data.lines
        if (
            name == "fast"
            and sum(ln.quota_monthly is not None for ln in lines) != LINES
        ):
            raise RuntimeError(f"{self.mode}: quota for fewer than {LINES} lines")
        if (
            name == "medium"
            and sum(ln.login is not None and ln.up for ln in lines) != LINES
        ):
            raise RuntimeError(f"{self.mode}: info for fewer than {LINES} lines")

    async def close(self) -> None:
        await self.http.aclose()


# ------------------------------------------------------------------------ baseline


class BareClient:
    """One bare httpx POST of the same form + ``json.loads`` of the bulk answer."""

    def __init__(self, base_url: str) -> None:
        import httpx

        self.base_url = base_url
        self.form = {"control_login": LOGIN, "control_password": PASSWORD}
        self.http = httpx.AsyncClient(
            timeout=30.0,
            follow_redirects=False,
            headers={"User-Agent": "exporterhub-aaisp-exporter"},
        )
        self.size: dict[str, int] = {}

    async def collect(self, command: str) -> None:
        response = await self.http.post(
            f"{self.base_url}/broadband/{command}/json", data=self.form
        )
        document = json.loads(response.content)
        if response.status_code != 200 or len(document[command]) != LINES:
            raise RuntimeError(f"bare {command}: HTTP {response.status_code}")
        self.size[command] = len(response.content)

    async def close(self) -> None:
        await self.http.aclose()


# ---------------------------------------------------------------------------- driver


async def _timed(run: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """Return (CPU seconds of this process, wall seconds) of one awaited run."""
    wall = time.perf_counter()
    cpu = time.process_time()
    await run()
    return time.process_time() - cpu, time.perf_counter() - wall


class Samples:
    """Per-round samples of one candidate (mode and tier) or one baseline."""

    def __init__(self) -> None:
        self.cpu: list[float] = []
        self.wall: list[float] = []
        self.requests: list[float] = []
        self.sim_cpu: list[float] = []
        self.per_run: list[int] = []  # requests of every single run
        self.commands: Counter[str] = Counter()


async def _measure(
    sim: SimulatorProcess,
    run: Callable[[], Awaitable[None]],
    samples: Samples,
    after: Callable[[], None] | None = None,
) -> None:
    cpu = wall = sim_cpu = 0.0
    count = 0
    sim.mark()  # nothing may be attributed to this sample from before it
    for _ in range(REPEATS):
        c, w = await _timed(run)
        new, s = sim.mark()
        if after is not None:
            after()
        bad = [r for r in new if r[3] != 200]
        if bad:
            raise RuntimeError(f"simulator answered {bad[:3]}")
        cpu, wall, sim_cpu, count = cpu + c, wall + w, sim_cpu + s, count + len(new)
        samples.per_run.append(len(new))
        samples.commands.update(f"{sub}/{cmd}" for sub, cmd, _, _ in new)
    samples.cpu.append(cpu / REPEATS)
    samples.wall.append(wall / REPEATS)
    samples.sim_cpu.append(sim_cpu / REPEATS)
    samples.requests.append(count / REPEATS)


async def _run(report: Report, sim: SimulatorProcess) -> None:
    from exporterhub.exporters.chaos.plugin import PLUGIN
    from exporterhub.hub import build_hub

    async def no_targets() -> list[Any]:
        return []

    hub = build_hub({PLUGIN.kind: PLUGIN}, no_targets, title="bench")
    harness = {mode: WorkerHarness(hub, sim.base_url, mode) for mode in MODES}
    bare = BareClient(sim.base_url)
    try:
        # warm-up (imports, connections, the per-service list from SLOW), not counted
        for h in harness.values():
            for name, _ in TIERS:
                await h.tier(name)()
                h.check(name)
        for _, command in TIERS:
            await bare.collect(command)
        sim.mark()

        cand = {(m, t): Samples() for m in MODES for t, _ in TIERS}
        base = {command: Samples() for _, command in TIERS}
        jobs: list[Callable[[], Awaitable[None]]] = [
            lambda h=h: _round_worker(sim, h, cand) for h in harness.values()
        ]
        jobs.append(lambda: _round_bare(sim, bare, base))
        for i in range(ROUNDS):
            gc.collect()
            shift = i % len(jobs)
            for job in jobs[shift:] + jobs[:shift]:
                await job()
            print(
                f"  chaos round {i + 1}/{ROUNDS}: "
                + ", ".join(
                    f"{m} {t} {cand[m, t].cpu[-1] * 1e3:.2f} ms"
                    f"/{cand[m, t].requests[-1]:.0f} req"
                    for m in MODES
                    for t, _ in TIERS
                )
                + ", bare "
                + "/".join(f"{base[c].cpu[-1] * 1e3:.2f}" for _, c in TIERS)
                + " ms",
                flush=True,
            )
        _report(report, cand, base, bare.size)
    finally:
        for h in harness.values():
            await h.close()
        await bare.close()


async def _round_worker(
    sim: SimulatorProcess,
    h: WorkerHarness,
    cand: dict[tuple[str, str], Samples],
) -> None:
    # SLOW before MEDIUM/FAST, as PollScheduler starts them (it refreshes the list
    # of lines the per-service tiers walk).
    for name, _ in TIERS:
        await _measure(
            sim, h.tier(name), cand[h.mode, name], lambda name=name: h.check(name)
        )


async def _round_bare(
    sim: SimulatorProcess, bare: BareClient, base: dict[str, Samples]
) -> None:
    for _, command in TIERS:
        await _measure(
            sim, lambda command=command: bare.collect(command), base[command]
        )


def _report(
    report: Report,
    cand: dict[tuple[str, str], Samples],
    base: dict[str, Samples],
    size: dict[str, int],
) -> None:
    floors: dict[str, float] = {}
    for _, command in TIERS:
        floors[command] = report.add_raw(
            f"chaos: bare httpx POST + json.loads, broadband/{command} "
            f"({size[command]:,} B), CPU",
            "s",
            base[command].cpu,
        )
    for mode in MODES:
        for name, command in TIERS:
            s = cand[mode, name]
            label = f"chaos {mode} {name.upper()} (broadband/{command})"
            n = report.add_raw(f"{label}: requests per tier run", "", s.requests)
            cpu = report.add_raw(f"{label}: exporter CPU per tier run", "s", s.cpu)
            report.add_raw(f"{label}: wall per tier run", "s", s.wall)
            report.add_raw(f"{label}: simulator CPU per tier run", "s", s.sim_cpu)
            worst = max(s.per_run)
            bulk = mode == "bulk"
            calls = ", ".join(f"{k} x{v}" for k, v in sorted(s.commands.items()))
            report.rows.append(
                Row(
                    bench=BENCH,
                    metric=f"requests per {name.upper()} tier run "
                    f"(max of {len(s.per_run)} runs: {worst})",
                    candidate=f"real chaos _Worker.{name}(), mode={mode} "
                    f"({calls} in all)",
                    cand=n,
                    baseline="",
                    base=None,
                    unit="req",
                    target=f"≤ {TARGET_BULK_REQUESTS} request per tier run in bulk mode"
                    if bulk
                    else "",
                    ok=worst <= TARGET_BULK_REQUESTS if bulk else None,
                )
            )
            report.rows.append(
                Row(
                    bench=BENCH,
                    metric=f"exporter CPU per {name.upper()} collection "
                    "(process_time around the tier run)",
                    candidate=f"real chaos _Worker.{name}(), mode={mode}",
                    cand=cpu,
                    baseline=f"bare httpx POST + json.loads of the bulk "
                    f"broadband/{command} answer",
                    base=floors[command],
                    unit="s",
                )
            )
    wall = {k: median(v.wall) for k, v in cand.items()}
    per_request = [
        median([c / n for c, n in zip(s.cpu, s.requests, strict=True)])
        for (mode, name), s in cand.items()
        if mode == "per_service" and name != "slow"
    ]
    report.note(
        f"chaos: {LINES} lines, {ROUNDS} rounds x {REPEATS} runs per tier, "
        "interleaved; "
        "exporter CPU is this process only (simulator in its own process); median "
        "wall per tier run bulk "
        + "/".join(f"{wall['bulk', t] * 1e3:.1f}" for t, _ in TIERS)
        + " ms, per_service "
        + "/".join(f"{wall['per_service', t] * 1e3:.1f}" for t, _ in TIERS)
        + " ms (SLOW/MEDIUM/FAST); per_service concurrency 2 (the default), "
        "min_request_interval 0 (the default 1 s spacing would dominate wall time); "
        "per_service exporter CPU per request MEDIUM/FAST "
        + "/".join(f"{v * 1e3:.2f}" for v in per_request)
        + " ms against a bare POST + json.loads of the bulk answer of "
        + "/".join(f"{floors[c] * 1e3:.2f}" for _, c in TIERS[1:])
        + " ms"
    )


def run(report: Report) -> None:
    print("## 4. CHAOS collection", flush=True)
    sim = SimulatorProcess(LINES)
    try:
        asyncio.run(_run(report, sim))
    finally:
        sim.close()
