"""Benchmark 6: 200 simulated Tapo/Kasa plugs polled every 30 s by one process.

Server: ``KasaSimulator(default_specs(100, 100))`` (100 legacy IOT plugs over XOR,
100 SMART plugs over KLAP v2) on 127.0.0.1 in a SEPARATE process (spawned with
multiprocessing), so this process's CPU time is the exporter's alone. Over a pipe it
reports its plugs' ports and protocols, switches one plug's ``faults.silent`` and
reports its own CPU time.

Candidate: the real hub in this process, ``build_hub({PLUGIN.kind: PLUGIN}, load)``
plus ``state.runner.apply(targets)`` with one ``tapo`` target per plug
(``KasaTargetSettings``, ``refresh_interval=30``, default timeout 5 s and poll
deadline 18 s, ``connection_type`` ``iot``/``klap``), no HTTP server. Every target
runs its own ``PollScheduler`` loop (interval 30 s ± 10 % jitter per poll). A
watcher reads ``state.exposition.section("tapo").records()`` every 0.2 s: a new
``last_success`` is a fresh publish at that wall time, and the snapshot's
``poll_seconds`` (measured by the worker from the start of its poll) gives that
poll's start. Round k is every plug's k-th publish; its time runs from the first
poll start to the last fresh publish of the round. Round 1 connects (100 KLAP
handshakes) and starts all plugs together; rounds 2 and 3 are the steady state.

Two phases, each a fresh hub: without a dead plug, then with one KLAP plug switched
to ``faults.silent`` (accepts, never answers) right after round 1. The scheduler's
jitter is drawn from ``random.Random(n)`` for the n-th scheduler created (the
benchmark substitutes the ``rng`` that ``PollScheduler`` would seed from the OS),
so every plug draws the same jitter in both phases and the healthy plugs' round
times compare like for like.

Baseline (same run, after the phases): the same 200 plugs driven by bare python-kasa,
``Device.connect`` then rounds of ``Device.update()`` for all plugs in one
``asyncio.gather`` under ``asyncio.Semaphore(32)``, back to back; then rounds of one
``update()`` at a time, 10 ms apart, spread out as the exporter's jittered polls are
(a batched round shares event-loop wake-ups between plugs, a spread one cannot).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import multiprocessing
import resource
import statistics
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from benchmarks.report import Report, Row, median

N_XOR = 100
N_KLAP = 100
INTERVAL = 30.0  # refresh_interval of every target
STEADY_ROUNDS = 2  # measured after the connect round
DEAD = N_XOR + N_KLAP // 2  # index of the plug that goes silent: a KLAP plug
TICK = 0.2  # seconds between two reads of the section's records
BASE_ROUNDS = 5
BASE_CONCURRENCY = 32
SPREAD_ROUNDS = 3
SPREAD_GAP = 0.01  # seconds between two updates of a spread baseline round
USERNAME = "user@example.com"
PASSWORD = "plug-password"  # noqa: S105 - the simulator's made-up secret
LOST_TOLERANCE = 0.05  # "none": within 5 % of a round
BENCH = (
    f"6 Tapo/Kasa plugs ({N_XOR + N_KLAP} simulated: {N_XOR} XOR + {N_KLAP} KLAP, "
    f"simulator in another process, every {INTERVAL:.0f} s)"
)


# --------------------------------------------------------------------- server process


def server_main(ctrl: Any, n_xor: int, n_klap: int) -> None:
    """Entry point of the simulator process (spawned; loopback only)."""
    from exporterhub.core.logging import configure_logging

    configure_logging("warning", "json")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(ctrl, n_xor, n_klap))


async def _serve(ctrl: Any, n_xor: int, n_klap: int) -> None:
    from exporterhub.simulators.kasa import KasaSimulator, default_specs

    async with KasaSimulator(default_specs(n_xor, n_klap)) as sim:
        ctrl.send(("plugs", [(plug.port, plug.protocol) for plug in sim.plugs]))
        cpu = time.process_time()
        while True:
            command = await asyncio.to_thread(ctrl.recv)
            if command[0] == "stop":
                break
            if command[0] == "silent":
                _, index, value = command
                sim.plugs[index].faults.silent = value
                ctrl.send(("ok",))
            elif command[0] == "mark":
                now = time.process_time()
                ctrl.send((now - cpu, sum(plug.requests for plug in sim.plugs)))
                cpu = now


class SimulatorProcess:
    """The plug simulator in its own process, driven over a pipe."""

    def __init__(self, n_xor: int, n_klap: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.ctrl, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=server_main, args=(child, n_xor, n_klap), daemon=True
        )
        self.proc.start()
        deadline = time.monotonic() + 60
        while not self.ctrl.poll(0.1):
            if not self.proc.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("kasa simulator did not start")
        _, self.plugs = self.ctrl.recv()

    def _ask(self, *command: object) -> Any:
        self.ctrl.send(command)
        if not self.ctrl.poll(30):
            raise RuntimeError("kasa simulator stopped answering")
        return self.ctrl.recv()

    def silent(self, index: int, value: bool) -> None:
        self._ask("silent", index, value)

    def mark(self) -> tuple[float, int]:
        """Return the simulator's CPU seconds since the last mark and the requests
        its plugs answered so far."""
        cpu, requests = self._ask("mark")
        return cpu, requests

    def close(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self.ctrl.send(("stop",))
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5)


# ----------------------------------------------------------------------- helpers


def rss() -> float:
    """Return this process's resident set size in bytes (VmRSS)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def name_of(index: int) -> str:
    return f"plug-{index:03d}"


@contextlib.contextmanager
def seeded_jitter() -> Iterator[None]:
    """Give the n-th ``PollScheduler`` created ``random.Random(n)`` for its jitter."""
    from exporterhub.core import scheduler

    real = scheduler.random
    seeds = itertools.count(1)
    scheduler.random = types.SimpleNamespace(  # type: ignore[assignment]
        Random=lambda: real.Random(next(seeds))
    )
    try:
        yield
    finally:
        scheduler.random = real


# ----------------------------------------------------------------------- candidate


@dataclass(slots=True)
class Poll:
    start: float  # wall seconds: the publish minus the poll's own duration
    publish: float  # wall seconds: the record's last_success
    seconds: float  # the poll's duration as the worker measured it


@dataclass(slots=True)
class Phase:
    """What one hub run saw."""

    dead: str | None
    rss_before: float = 0.0
    rss_steady: float = 0.0
    connect_cpu: float = 0.0  # apply → every plug published once
    steady_cpu: float = 0.0  # from there → every healthy plug published 3 times
    steady_wall: float = 0.0
    polls: dict[str, list[Poll]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)  # failed polls by target
    dead_published_after_kill: int = 0

    def healthy(self, without: str | None) -> list[str]:
        return [n for n in self.polls if n != without]

    def span(self, k: int, names: list[str]) -> float:
        """Time of round ``k`` (0 = connect): first poll start → last publish."""
        polls = [self.polls[n][k] for n in names]
        return max(p.publish for p in polls) - min(p.start for p in polls)

    def latencies(self, k: int, names: list[str]) -> list[float]:
        return [self.polls[n][k].seconds for n in names]


class Watcher:
    """Reads the section's records; a new ``last_success`` is a fresh publish."""

    def __init__(self, section: Any, names: list[str]) -> None:
        self.section = section
        self.last: dict[str, float | None] = dict.fromkeys(names)
        self.polls: dict[str, list[Poll]] = {n: [] for n in names}
        self.cpu = 0.0  # this watcher's own CPU seconds, not the exporter's

    def tick(self) -> None:
        cpu = time.process_time()
        self._tick()
        self.cpu += time.process_time() - cpu

    def _tick(self) -> None:
        for record in self.section.records():
            when = record.last_success
            if when is None or when == self.last.get(record.name):
                continue
            self.last[record.name] = when
            seconds = record.data.poll_seconds or 0.0
            self.polls[record.name].append(Poll(when - seconds, when, seconds))

    def done(self, rounds: int, names: list[str]) -> bool:
        return all(len(self.polls[n]) >= rounds for n in names)


def make_targets(plugs: list[tuple[int, str]]) -> list[Any]:
    from pydantic import SecretStr

    from exporterhub.exporters.kasa.plugin import to_target
    from exporterhub.exporters.kasa.settings import KasaDevice, KasaTargetSettings

    return [
        to_target(
            KasaTargetSettings(
                device=KasaDevice(
                    name=name_of(i),
                    host="127.0.0.1",
                    port=port,
                    connection_type="iot" if protocol == "xor" else "klap",
                ),
                username=SecretStr(USERNAME),
                password=SecretStr(PASSWORD),
                refresh_interval=INTERVAL,
            )
        )
        for i, (port, protocol) in enumerate(plugs)
    ]


async def warm_up(sim: SimulatorProcess) -> None:
    """Poll one plug of each protocol with the exporter's client, so that the
    modules python-kasa imports on first use do not count as the plugs' memory."""
    from exporterhub.exporters.kasa.client import PlugClient

    for protocol in ("xor", "klap"):
        port = next(p for p, k in sim.plugs if k == protocol)
        client = PlugClient(
            host="127.0.0.1",
            port=port,
            connection_type="iot" if protocol == "xor" else "klap",
            username=USERNAME,
            password=PASSWORD,
            timeout=5,
            deadline=18,
        )
        try:
            await client.poll()
            await client.poll()
        finally:
            await client.close()


async def run_phase(sim: SimulatorProcess, dead: int | None) -> Phase:
    """Run a fresh hub over every plug for the connect round + the steady rounds."""
    from exporterhub.exporters.kasa.plugin import PLUGIN
    from exporterhub.hub import build_hub

    targets = make_targets(sim.plugs)
    names = [t.name for t in targets]

    async def load() -> list[Any]:
        return targets

    label = "no dead plug" if dead is None else f"{name_of(dead)} silent after round 1"
    phase = Phase(dead=None if dead is None else name_of(dead))
    hub = build_hub({PLUGIN.kind: PLUGIN}, load, title="bench")
    watcher = Watcher(hub.exposition.section(PLUGIN.kind), names)
    healthy = [n for n in names if n != phase.dead]
    wanted = 1 + STEADY_ROUNDS
    gc.collect()
    phase.rss_before = rss()
    cpu0 = time.process_time()
    started = time.perf_counter()
    limit = started + 30 + wanted * INTERVAL * 1.1 + 30
    window: tuple[float, float] | None = None
    killed_at = 0
    with seeded_jitter():
        try:
            await hub.runner.apply(targets)
            while True:
                await asyncio.sleep(TICK)
                watcher.tick()
                now = time.perf_counter()
                if window is None and watcher.done(1, names):
                    cpu = time.process_time() - watcher.cpu
                    phase.connect_cpu = cpu - cpu0
                    window = (cpu, now)
                    print(
                        f"  kasa [{label}] round 1 (connect): "
                        f"{now - started:.2f} s, CPU {phase.connect_cpu:.2f} s",
                        flush=True,
                    )
                    if dead is not None:
                        sim.silent(dead, True)
                        killed_at = len(watcher.polls[name_of(dead)])
                if window is not None and watcher.done(wanted, healthy):
                    phase.steady_cpu = time.process_time() - watcher.cpu - window[0]
                    phase.steady_wall = now - window[1]
                    phase.rss_steady = rss()
                    break
                if now > limit:
                    late = [n for n in healthy if len(watcher.polls[n]) < wanted]
                    raise RuntimeError(
                        f"kasa [{label}]: {len(late)} plugs missed a round, "
                        f"e.g. {late[:5]}"
                    )
            for record in hub.exposition.section(PLUGIN.kind).records():
                errors = record.data.errors if record.data is not None else ()
                phase.errors[record.name] = sum(n for _, n in errors)
        finally:
            await hub.runner.apply([])
            if dead is not None:
                sim.silent(dead, False)
    phase.polls = {n: watcher.polls[n][:wanted] for n in names}
    if phase.dead is not None:
        phase.dead_published_after_kill = len(watcher.polls[phase.dead]) - killed_at
    steady = [phase.span(k, healthy) for k in range(1, wanted)]
    print(
        f"  kasa [{label}] steady rounds "
        + ", ".join(f"{s:.2f} s" for s in steady)
        + f", exporter CPU share {phase.steady_cpu / phase.steady_wall:.2%}, "
        f"RSS {phase.rss_steady / 2**20:.1f} MiB",
        flush=True,
    )
    return phase


# ------------------------------------------------------------------------ baseline


@dataclass(slots=True)
class Bare:
    connect_wall: float = 0.0
    connect_cpu: float = 0.0
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    spread_cpu: list[float] = field(default_factory=list)  # one update at a time


async def run_bare(sim: SimulatorProcess) -> Bare:
    """Bare python-kasa: connect every plug, then update them all, back to back."""
    from kasa import (
        Credentials,
        Device,
        DeviceConfig,
        DeviceConnectionParameters,
        DeviceEncryptionType,
        DeviceFamily,
    )

    kinds = {
        "xor": DeviceConnectionParameters(
            DeviceFamily.IotSmartPlugSwitch, DeviceEncryptionType.Xor
        ),
        "klap": DeviceConnectionParameters(
            DeviceFamily.SmartTapoPlug, DeviceEncryptionType.Klap, login_version=2
        ),
    }
    credentials = Credentials(USERNAME, PASSWORD)
    limit = asyncio.Semaphore(BASE_CONCURRENCY)

    async def connect(port: int, protocol: str) -> Any:
        config = DeviceConfig(
            host="127.0.0.1",
            port_override=port,
            timeout=5,
            credentials=credentials,
            connection_type=kinds[protocol],
        )
        async with limit:
            return await Device.connect(config=config)

    async def update(device: Any) -> None:
        async with limit:
            await device.update()

    bare = Bare()
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    devices = await asyncio.gather(*(connect(p, k) for p, k in sim.plugs))
    bare.connect_cpu = time.process_time() - cpu
    bare.connect_wall = time.perf_counter() - wall
    try:
        for _ in range(BASE_ROUNDS):
            wall, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(update(d) for d in devices))
            bare.cpu.append(time.process_time() - cpu)
            bare.wall.append(time.perf_counter() - wall)
        for _ in range(SPREAD_ROUNDS):
            cpu = time.process_time()
            for device in devices:
                await device.update()
                await asyncio.sleep(SPREAD_GAP)
            bare.spread_cpu.append(time.process_time() - cpu)
    finally:
        for device in devices:
            with contextlib.suppress(Exception):
                await device.disconnect()
    rounds = zip(bare.wall, bare.cpu, strict=True)
    print(
        f"  kasa bare python-kasa: connect {bare.connect_wall:.2f} s, update rounds "
        + ", ".join(f"{w:.2f} s ({c:.2f} s CPU)" for w, c in rounds)
        + ", one at a time "
        + ", ".join(f"{c:.2f} s CPU" for c in bare.spread_cpu),
        flush=True,
    )
    return bare


# ---------------------------------------------------------------------------- driver


async def _run(report: Report, sim: SimulatorProcess) -> None:
    plugs = len(sim.plugs)
    if sim.plugs[DEAD][1] != "klap":
        raise RuntimeError(f"{name_of(DEAD)} is not a KLAP plug")
    await warm_up(sim)
    sim.mark()
    clean = await run_phase(sim, None)
    broken = await run_phase(sim, DEAD)
    sim_cpu, _ = sim.mark()
    bare = await run_bare(sim)
    _report(report, plugs, clean, broken, bare, sim_cpu)


def _report(
    report: Report,
    plugs: int,
    clean: Phase,
    broken: Phase,
    bare: Bare,
    sim_cpu: float,
) -> None:
    dead = name_of(DEAD)
    steady = range(1, 1 + STEADY_ROUNDS)
    every = clean.healthy(None)
    healthy = clean.healthy(dead)  # the same 199 plugs in both phases

    connect = report.add_raw(
        "kasa: connect round (round 1) time, first poll start → last publish, "
        "without / with the later dead plug",
        "s",
        [clean.span(0, every), broken.span(0, every)],
    )
    connect_cpu = report.add_raw(
        "kasa: exporter CPU in the connect round (apply → every plug published)",
        "s",
        [clean.connect_cpu, broken.connect_cpu],
    )
    span = report.add_raw(
        f"kasa: steady round time, all {plugs} plugs (rounds 2-{1 + STEADY_ROUNDS})",
        "s",
        [clean.span(k, every) for k in steady],
    )
    span_ok = report.add_raw(
        f"kasa: steady round time, {len(healthy)} healthy plugs, no dead plug",
        "s",
        [clean.span(k, healthy) for k in steady],
    )
    span_dead = report.add_raw(
        f"kasa: steady round time, {len(healthy)} healthy plugs, {dead} silent",
        "s",
        [broken.span(k, healthy) for k in steady],
    )
    worst_ok = report.add_raw(
        "kasa: slowest healthy poll (start → publish) per steady round, no dead plug",
        "s",
        [max(clean.latencies(k, healthy)) for k in steady],
    )
    worst_dead = report.add_raw(
        f"kasa: slowest healthy poll (start → publish) per steady round, {dead} silent",
        "s",
        [max(broken.latencies(k, healthy)) for k in steady],
    )
    p50 = report.add_raw(
        "kasa: poll start → publish, p50 over plugs, per steady round, no dead plug",
        "s",
        [median(clean.latencies(k, every)) for k in steady],
    )
    share = clean.steady_cpu / clean.steady_wall
    report.add_raw(
        "kasa: exporter CPU share over the steady window, without / with dead plug",
        "%",
        [share * 100, broken.steady_cpu / broken.steady_wall * 100],
    )
    cpu_round = clean.steady_cpu / STEADY_ROUNDS
    report.add_raw(
        "kasa: exporter CPU per steady round (window CPU / rounds)",
        "s",
        [cpu_round],
    )
    bare_wall = report.add_raw(
        f"kasa: bare python-kasa update round time (Semaphore({BASE_CONCURRENCY}))",
        "s",
        bare.wall,
    )
    bare_cpu = report.add_raw(
        "kasa: bare python-kasa CPU per update round", "s", bare.cpu
    )
    spread_cpu = report.add_raw(
        f"kasa: bare python-kasa CPU per round of one update at a time, "
        f"{SPREAD_GAP * 1e3:.0f} ms apart",
        "s",
        bare.spread_cpu,
    )
    report.add_raw(
        "kasa: bare python-kasa connect round: time, CPU",
        "s",
        [bare.connect_wall, bare.connect_cpu],
    )
    per_plug = (clean.rss_steady - clean.rss_before) / plugs
    report.add_raw(
        "kasa: exporter RSS before apply, after the steady rounds",
        "B",
        [clean.rss_before, clean.rss_steady],
    )

    # Every healthy plug published once per round, no poll failed, none skipped one.
    gaps = [
        b.publish - a.publish
        for n in healthy
        for a, b in itertools.pairwise(broken.polls[n])
    ]
    published = all(len(broken.polls[n]) == 1 + STEADY_ROUNDS for n in healthy)
    no_failures = not any(broken.errors[n] for n in healthy) and not any(
        clean.errors.values()
    )
    no_skip = max(gaps) < 1.5 * INTERVAL
    dead_failed = broken.errors[dead] >= 1 and broken.dead_published_after_kill == 0
    fresh = published and no_failures and no_skip
    lost = (span_dead - span_ok) / span_ok
    lost_ok = fresh and dead_failed and lost <= LOST_TOLERANCE

    cand = f"real hub (build_hub + TargetRunner.apply), {plugs} tapo targets"
    bare_name = (
        f"bare python-kasa, all plugs in one asyncio.gather, "
        f"Semaphore({BASE_CONCURRENCY})"
    )
    rounds = f"median of rounds 2-{1 + STEADY_ROUNDS}"
    rows = [
        Row(
            bench=BENCH,
            metric="connect round (round 1, 100 KLAP handshakes): first poll start "
            "→ last plug's first publish (median of 2 hubs)",
            candidate=cand,
            cand=connect,
            baseline=f"{bare_name}: Device.connect",
            base=bare.connect_wall,
            unit="s",
        ),
        Row(
            bench=BENCH,
            metric="exporter CPU in the connect round",
            candidate=cand,
            cand=connect_cpu,
            baseline=f"{bare_name}: Device.connect",
            base=bare.connect_cpu,
            unit="s",
        ),
        Row(
            bench=BENCH,
            metric=f"steady round time: first poll start → last fresh publish "
            f"({rounds}; the 30 s ± 10 % per-plug jitter spreads a round by design)",
            candidate=cand,
            cand=span,
            baseline="",
            base=None,
            unit="s",
            target=f"< {INTERVAL:.0f} s (one interval)",
            ok=span < INTERVAL,
        ),
        Row(
            bench=BENCH,
            metric=f"baseline round time: every plug updated at once, back to back "
            f"(median of {BASE_ROUNDS} rounds)",
            candidate=f"{bare_name}: Device.update()",
            cand=bare_wall,
            baseline="",
            base=None,
            unit="s",
        ),
        Row(
            bench=BENCH,
            metric=f"steady poll time, start → fresh publish, slowest plug ({rounds})",
            candidate=cand,
            cand=report.add_raw(
                "kasa: slowest poll (start → publish) per steady round, all plugs",
                "s",
                [max(clean.latencies(k, every)) for k in steady],
            ),
            baseline="",
            base=None,
            unit="s",
        ),
        Row(
            bench=BENCH,
            metric="exporter CPU share, steady state (process CPU incl. threads ÷ "
            "wall, after the connect round)",
            candidate=cand,
            cand=share * 100,
            baseline=f"{bare_name}: CPU per update round ÷ {INTERVAL:.0f} s",
            base=bare_cpu / INTERVAL * 100,
            unit="%",
        ),
        Row(
            bench=BENCH,
            metric=f"exporter CPU per steady round ({plugs} polls)",
            candidate=cand,
            cand=cpu_round,
            baseline=f"bare python-kasa, one Device.update() at a time, "
            f"{SPREAD_GAP * 1e3:.0f} ms apart (spread out like the exporter's polls)",
            base=spread_cpu,
            unit="s",
        ),
        Row(
            bench=BENCH,
            metric="memory: process RSS after the steady rounds (VmRSS)",
            candidate=cand,
            cand=clean.rss_steady,
            baseline="same process before apply (hub built, no target)",
            base=clean.rss_before,
            unit="B",
        ),
        Row(
            bench=BENCH,
            metric="memory per plug: RSS growth from before apply ÷ plugs",
            candidate=cand,
            cand=per_plug,
            baseline="",
            base=None,
            unit="B",
        ),
        Row(
            bench=BENCH,
            metric=f"healthy plugs' steady round time with one dead plug "
            f"({len(healthy)} plugs, {rounds})",
            candidate=f"same hub, {dead} (KLAP) silent after round 1",
            cand=span_dead,
            baseline="same plugs and jitter, no dead plug",
            base=span_ok,
            unit="s",
        ),
        Row(
            bench=BENCH,
            metric="share of a round lost to one dead plug: (healthy round time "
            "with - without) ÷ without",
            candidate=f"{dead} silent; every healthy plug published every round: "
            f"{'yes' if fresh else 'NO'}; dead plug failed, never published: "
            f"{'yes' if dead_failed else 'NO'}",
            cand=lost * 100,
            baseline="",
            base=None,
            unit="%",
            target=f"none (≤ {LOST_TOLERANCE:.0%}, noise)",
            ok=lost_ok,
        ),
    ]
    report.rows.extend(rows)
    report.note(
        f"kasa: {plugs} plugs ({N_XOR} XOR + {N_KLAP} KLAP) in a simulator process "
        f"(its CPU over both hub phases {sim_cpu:.1f} s); exporter = this process, "
        f"refresh_interval {INTERVAL:.0f} s, timeout 5 s, poll deadline 18 s; two "
        f"fresh hubs of 1 connect + {STEADY_ROUNDS} steady rounds each; scheduler "
        "jitter seeded per plug, the same in both; round k = every plug's k-th "
        "fresh publish (last_success), poll start = publish - poll_seconds; steady "
        f"round time is mostly the ±{INTERVAL * 0.1:.0f} s jitter spread of "
        f"{plugs} independent loops, the polls themselves take p50 "
        f"{p50 * 1e3:.1f} ms; with {dead} silent the "
        f"slowest healthy poll took {worst_dead * 1e3:.1f} ms against "
        f"{worst_ok * 1e3:.1f} ms without, median healthy refresh gap "
        f"{statistics.median(gaps):.2f} s (max {max(gaps):.2f} s), dead plug "
        f"failed polls {broken.errors[dead]}; bare python-kasa CPU per round "
        f"{bare_cpu * 1e3:.0f} ms batched, {spread_cpu * 1e3:.0f} ms one update at a "
        "time (the exporter's polls are spread out by design); RSS per plug "
        f"{per_plug / 1024:.0f} KiB (growth of this process's RSS; in a run of all "
        "suites the absolute RSS also holds what earlier suites left)"
    )
    if not lost_ok:
        report.note(
            f"kasa: dead-plug check failed: published every round {published}, "
            f"no healthy failures {no_failures}, no skipped round {no_skip}, "
            f"dead plug failed and silent {dead_failed}, lost {lost:.1%}"
        )


def run(report: Report) -> None:
    print("## 6. Tapo/Kasa plugs", flush=True)
    sim = SimulatorProcess(N_XOR, N_KLAP)
    try:
        asyncio.run(_run(report, sim))
    finally:
        sim.close()
