"""Benchmark 9: 1,000 and 5,000 simulated SNPs streaming to one exporter process.

Simulator: ``SnpFleet`` with N devices (``SNP-BENCH-1`` ...) in a SEPARATE process
(spawned with multiprocessing), drift off; each device sends ``fmmStatus`` and
``permissionsMsg`` every 5 s and a ``statusState`` with its ``ptp`` object about
every second: the benchmark sets every device's PTP offset every 1.05 s (spread
over the period; see ``UPDATE_PERIOD``), to a **stamp**: the simulator's wall
time within a 1,000 s window, in milliseconds, so each frame carries the instant
it was made (both processes read the same clock). Every connection subscribes to
the original's default set (``ptp``, ``system``, ``ipVidRx``, ``A-HD-1``), so the
exposition has a real SNP's size (~190 series per device).

Candidate: the real ``exporterhub serve --config FILE`` command in its own process
(uvloop, httptools, the control plane), one ``snp`` target per device. After every
target is up and a warm-up, a window (``Plan.window`` seconds): the exporter's CPU
time (user + system, all threads, from ``/proc``) over the window's wall time is
its **CPU share**; **memory per device** is (its RSS - the RSS of the same command
with no target) / N. Meanwhile this process scrapes ``/metrics`` as Prometheus
does (``Accept-Encoding: gzip``, every 0.5 s up to 1,000 devices, else every
second): **scrape time** is request to last byte; **lag** is, for every device
whose PTP stamp changed since the previous scrape, the end of the scrape minus
the stamp: an upper bound of the time from the simulator making the frame to the
value being served (it can exceed the true lag by at most the scrape interval).

Ceilings, same devices, same run, each in its own process: a bare client loop
that logs in, opens the WebSocket, sends the token and the subscription and then
only receives each frame and ``orjson.loads`` it, once per WebSocket library:
**picows** (what the exporter uses), **websockets** and **aiohttp**. Their CPU
share and memory per device are measured the same way (RSS after connecting -
before), their lag from the stamp to the frame's receipt. These rows are also the
library comparison behind the choice of picows.

Rounds: at each size the four phases run in a rotating order, ``Plan.sizes``
times; figures are medians over the rounds. Targets (from the issue): exporter CPU
at most 1.5x the bare reader (against the same library, and against websockets),
at most 40 KiB per device, lag p99 at most 1 s at 1,000 devices and 2 s at 5,000.

``python -m benchmarks snp`` (or ``make bench``) runs the full plan into
RESULTS.md; ``python -m benchmarks.snp --quick`` checks every phase with 50
devices in about two minutes, ``--devices 1000`` runs one size; both only print.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import multiprocessing
import os
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmarks.net import BIN, child_env, http_get, rss, stop, wait_http
from benchmarks.report import Report, Row, median


@dataclass(frozen=True, slots=True)
class Plan:
    """What one run measures: sizes (devices → rounds) and the phase timings."""

    sizes: dict[int, int]
    warmup: float = 15.0
    """Seconds after every target is up (or every bare socket is open) before a
    window: the exporter writes its targets' first statuses to its store then,
    and each new subscription's frames fall into step with their stamps."""
    window: float = 15.0

    def scrape_interval(self, count: int) -> float:
        """Seconds between two scrapes of /metrics during a window."""
        return 0.5 if count <= 1000 else 1.0


FULL = Plan(sizes={1000: 3, 5000: 2})
"""``make bench``: both sizes of the issue, medians over interleaved rounds."""
QUICK = Plan(sizes={50: 1}, warmup=3.0, window=5.0)
"""``--quick``: 50 devices once, to check that every phase runs (~2 minutes)."""
STAMP_PERIOD = 1000.0
UPDATE_PERIOD = 1.05
"""Seconds between two PTP updates of one device. The SNP sends an object at most
once per ``frequency`` (1 s, less the simulator's 0.05 s slack); a change inside
that window leaves at the next simulator tick. Updating exactly every second
locks each device's frames to its subscription's phase, up to a second after
the stamp; 5 % slower, each late frame is less late than the previous one, and
within seconds every frame leaves as its stamp is made."""
TICK = 0.02
"""The simulator's tick (``ptp_interval``): how late a held-back change leaves."""
LIBRARIES = ("picows", "websockets", "aiohttp")
OBJECTS = [
    {"elementIP": "127.0.0.1", "objectType": "ptp"},
    {"elementIP": "127.0.0.1", "objectType": "system"},
    {"elementIP": "127.0.0.1", "objectType": "ipVidRx"},
    {"elementIP": "127.0.0.1", "objectType": "procChannelHD", "objectId": "A-HD-1"},
]
SUBSCRIPTION = {
    "msgType": "statusListSubscribe",
    "frequency": 1000,
    "objectIds": OBJECTS,
}
CONNECT_LIMIT = 100
"""Logins and upgrades in flight at once in a bare reader (like a slow start)."""
OFFSET = re.compile(rb'^ic_snp_ptp_master_offset\{target="([^"]+)"\} (\S+)$', re.M)
UP = re.compile(rb"^ic_snp_up\{[^}]*\} 1\.0$", re.M)
TARGET_CPU_RATIO = 1.5
TARGET_KIB_PER_DEVICE = 40.0
TARGET_LAG = {1000: 1.0, 5000: 2.0}


def stamp() -> float:
    """Return the wall time within the stamp window, in milliseconds (3 decimals)."""
    return round((time.time() % STAMP_PERIOD) * 1e3, 3)


def age(value: float, now: float | None = None) -> float:
    """Return the seconds since a stamp, across the window's wrap (in ±500 s)."""
    now_ms = ((time.time() if now is None else now) % STAMP_PERIOD) * 1e3
    half = STAMP_PERIOD * 1e3 / 2
    return ((now_ms - value + half) % (2 * half) - half) / 1e3


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


# ------------------------------------------------------------------ simulator process


def sim_main(ctrl: Any, count: int) -> None:
    """Entry point of the simulator process (spawned; loopback only)."""
    from exporterhub.core.logging import configure_logging

    configure_logging("warning", "json")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_simulate(ctrl, count))


async def _simulate(ctrl: Any, count: int) -> None:
    from exporterhub.simulators.snp import SnpFleet, SnpSimConfig

    config = SnpSimConfig(
        devices=SnpSimConfig.fleet(count, prefix="SNP-BENCH-"),
        drift=False,
        keepalive_interval=5.0,
        first_status_delay=1.0,
        ptp_interval=TICK,
    )
    async with SnpFleet(config) as fleet:
        stamper = asyncio.create_task(_stamp(fleet.devices))
        ctrl.send(("records", fleet.connections(OBJECTS)))
        cpu = time.process_time()
        try:
            while True:
                command = await asyncio.to_thread(ctrl.recv)
                if command[0] == "stop":
                    break
                if command[0] == "mark":
                    now = time.process_time()
                    ctrl.send((now - cpu,))
                    cpu = now
        finally:
            stamper.cancel()


async def _stamp(devices: list[Any]) -> None:
    """Set every device's PTP offset to the stamp once a second, spread out."""
    loop = asyncio.get_running_loop()
    batch = max(1, len(devices) // 50)
    start = loop.time()
    while True:
        for first in range(0, len(devices), batch):
            for device in devices[first : first + batch]:
                device.model.set_ptp(offset_us=stamp())
            due = start + UPDATE_PERIOD * (first + batch) / len(devices)
            await asyncio.sleep(max(0.0, due - loop.time()))
        start += UPDATE_PERIOD
        await asyncio.sleep(max(0.0, start - loop.time()))


class Simulator:
    """The SNP fleet in its own process, driven over a pipe."""

    def __init__(self, count: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.ctrl, child = ctx.Pipe()
        self.proc = ctx.Process(target=sim_main, args=(child, count), daemon=True)
        self.proc.start()
        deadline = time.monotonic() + 300
        while not self.ctrl.poll(0.2):
            if not self.proc.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("SNP simulator did not start")
        _, self.records = self.ctrl.recv()

    def mark(self) -> float:
        self.ctrl.send(("mark",))
        return float(self.ctrl.recv()[0])

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.ctrl.send(("stop",))
        self.proc.join(15)
        if self.proc.is_alive():
            self.proc.kill()


# ---------------------------------------------------------------------- bare readers


def bare_main(ctrl: Any, library: str, records: list[dict[str, Any]]) -> None:
    """Entry point of a bare reader process: connect all, then only read."""
    import uvloop

    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(_bare(ctrl, library, records))


@dataclass
class _Tally:
    frames: int = 0
    lags: list[float] = field(default_factory=list)


def _note(tally: _Tally, data: bytes | str) -> None:
    import orjson

    message = orjson.loads(data)  # the whole cost of the ceiling: one decode
    tally.frames += 1
    if tally.frames % 50 == 0 and message.get("msgType") == "statusState":
        # Lag of a sample of frames, outside what the ceiling stands for.
        item = orjson.loads(message["statuses"][0])
        offset = item.get("ptpStatus", {}).get("ptpMasterOffset", "")
        with contextlib.suppress(ValueError):
            tally.lags.append(age(float(offset.split()[0])))


async def _bare(ctrl: Any, library: str, records: list[dict[str, Any]]) -> None:
    import httpx
    import orjson

    tally = _Tally()
    gate = asyncio.Semaphore(CONNECT_LIMIT)
    keep: list[Any] = []
    subscription = orjson.dumps(SUBSCRIPTION).decode()
    before = rss(os.getpid())
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:

        async def login(record: dict[str, Any]) -> str:
            body = {"username": record["username"], "password": record["password"]}
            response = await http.post(record["restapi"], json=body)
            response.raise_for_status()
            return response.text.strip()

        if library == "picows":
            from picows import WSListener, WSMsgType, ws_connect

            class Listener(WSListener):  # type: ignore[misc]
                def on_ws_frame(self, transport: Any, frame: Any) -> None:
                    if frame.msg_type in (WSMsgType.TEXT, WSMsgType.BINARY):
                        _note(tally, frame.get_payload_as_bytes())

            async def connect(record: dict[str, Any]) -> None:
                async with gate:
                    token = await login(record)
                    transport, _ = await ws_connect(
                        Listener,
                        record["websocket"],
                        max_frame_size=16 * 2**20,
                        read_buffer_init_size=4096,
                        use_aiofastnet=False,
                    )
                    transport.send(WSMsgType.TEXT, token.encode())
                    transport.send(WSMsgType.TEXT, subscription.encode())
                    keep.append(transport)

        elif library == "websockets":
            import websockets

            async def read(ws: Any) -> None:
                async for message in ws:
                    _note(tally, message)

            async def connect(record: dict[str, Any]) -> None:
                async with gate:
                    token = await login(record)
                    ws = await websockets.connect(
                        record["websocket"], compression=None, max_size=16 * 2**20
                    )
                    await ws.send(token)
                    await ws.send(subscription)
                    keep.append(asyncio.create_task(read(ws)))

        else:
            import aiohttp

            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

            async def read_aiohttp(ws: Any) -> None:
                async for message in ws:
                    if message.type in (
                        aiohttp.WSMsgType.TEXT,
                        aiohttp.WSMsgType.BINARY,
                    ):
                        _note(tally, message.data)

            async def connect(record: dict[str, Any]) -> None:
                async with gate:
                    token = await login(record)
                    ws = await session.ws_connect(
                        record["websocket"], max_msg_size=16 * 2**20, compress=0
                    )
                    await ws.send_str(token)
                    await ws.send_str(subscription)
                    keep.append(asyncio.create_task(read_aiohttp(ws)))

        await asyncio.gather(*(connect(r) for r in records))
    ctrl.send(("connected", before))
    while True:
        command = await asyncio.to_thread(ctrl.recv)
        if command[0] == "stop":
            break
        if command[0] == "mark":
            ctrl.send((tally.frames, tally.lags))
            tally.lags = []
    os._exit(0)  # thousands of sockets: no orderly teardown needed


# ------------------------------------------------------------------------- phases


@dataclass
class Phase:
    """One window of one candidate."""

    cpu_share: float
    bytes_per_device: float
    frames_per_second: float = float("nan")
    lags: list[float] = field(default_factory=list)
    scrapes: list[float] = field(default_factory=list)
    body_bytes: float = float("nan")


async def run_bare(library: str, sim: Simulator, plan: Plan) -> Phase:
    ctx = multiprocessing.get_context("spawn")
    ctrl, child = ctx.Pipe()
    proc = ctx.Process(
        target=bare_main, args=(child, library, sim.records), daemon=True
    )
    proc.start()
    try:
        deadline = time.monotonic() + 300
        while not ctrl.poll(0.2):
            if not proc.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"bare {library} reader did not connect")
        _, before = ctrl.recv()
        await asyncio.sleep(plan.warmup)
        assert proc.pid is not None
        ctrl.send(("mark",))
        frames0, _ = ctrl.recv()
        cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
        await asyncio.sleep(plan.window)
        ctrl.send(("mark",))
        frames1, lags = ctrl.recv()
        cpu1, wall1 = cpu_seconds(proc.pid), time.monotonic()
        count = len(sim.records)
        return Phase(
            cpu_share=(cpu1 - cpu0) / (wall1 - wall0),
            bytes_per_device=(rss(proc.pid) - before) / count,
            frames_per_second=(frames1 - frames0) / (wall1 - wall0),
            lags=lags,
        )
    finally:
        with contextlib.suppress(OSError):
            ctrl.send(("stop",))
        proc.join(10)
        if proc.is_alive():
            proc.kill()


def exporter_config(path: Path, port: int, records: list[dict[str, Any]]) -> None:
    targets = [
        {
            "name": r["name"],
            "restapi": r["restapi"],
            "websocket": r["websocket"],
            "username": r["username"],
            "password": r["password"],
            "objects_ids": OBJECTS,
        }
        for r in records
    ]
    config = {
        "web": {"listen_address": f"127.0.0.1:{port}"},
        "log": {"level": "warning", "format": "json"},
        "store": {"path": str(path.parent / "store.db")},
        "exporters": {"snp": {"targets": targets}},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")


def start_exporter(
    workdir: Path, records: list[dict[str, Any]]
) -> tuple[subprocess.Popen[bytes], int]:
    from exporterhub.core.testing import free_port

    port = free_port()
    config = workdir / f"exporter-{len(records)}.yaml"
    exporter_config(config, port, records)
    (workdir / "store.db").unlink(missing_ok=True)
    proc = subprocess.Popen(  # noqa: S603 - our own console script
        [str(BIN / "exporterhub"), "serve", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=child_env(),
    )
    wait_http(port, proc, within=120)
    return proc, port


def idle_rss(workdir: Path) -> float:
    """RSS of the exporter command with no target (the base of memory per device)."""
    proc, port = start_exporter(workdir, [])
    try:
        time.sleep(2)
        http_get(port)
        return rss(proc.pid)
    finally:
        stop(proc)


def _scrape(port: int) -> tuple[float, bytes]:
    started = time.perf_counter()
    status, body = http_get(port, headers={"Accept-Encoding": "gzip"})
    elapsed = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    return elapsed, gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body


async def run_exporter(
    sim: Simulator, workdir: Path, base_rss: float, plan: Plan
) -> Phase:
    count = len(sim.records)
    proc, port = await asyncio.to_thread(start_exporter, workdir, sim.records)
    try:
        deadline = time.monotonic() + 300
        while True:
            _, body = await asyncio.to_thread(_scrape, port)
            if len(UP.findall(body)) == count:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("not every SNP target came up")
            await asyncio.sleep(1)
        await asyncio.sleep(plan.warmup)
        seen: dict[bytes, bytes] = {}
        lags: list[float] = []
        scrapes: list[float] = []
        sizes: list[int] = []
        cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
        interval = plan.scrape_interval(count)
        next_at = wall0
        while time.monotonic() - wall0 < plan.window:
            elapsed, body = await asyncio.to_thread(_scrape, port)
            answered = time.time()  # the value was served by then, not before
            scrapes.append(elapsed)
            sizes.append(len(body))
            for name, value in OFFSET.findall(body):
                if seen.get(name) != value:
                    if name in seen:  # a new value: its frame's lag, bounded above
                        lags.append(age(float(value), answered))
                    seen[name] = value
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        cpu1, wall1 = cpu_seconds(proc.pid), time.monotonic()
        return Phase(
            cpu_share=(cpu1 - cpu0) / (wall1 - wall0),
            bytes_per_device=(rss(proc.pid) - base_rss) / count,
            lags=lags,
            scrapes=scrapes,
            body_bytes=statistics.median(sizes) if sizes else float("nan"),
        )
    finally:
        await asyncio.to_thread(stop, proc)


# ------------------------------------------------------------------------ report


def _report(
    report: Report,
    plan: Plan,
    count: int,
    phases: dict[str, list[Phase]],
    sim_cpu: list[float],
) -> None:
    def med(name: str, read: Callable[[Phase], float]) -> float:
        return median([read(p) for p in phases[name]])

    exporter = "exporter"
    bench = f"9 SNP, {count:,} devices (simulator in another process, PTP every second)"
    ceiling = med("picows", lambda p: p.cpu_share)
    websockets_cpu = med("websockets", lambda p: p.cpu_share)
    cpu = med(exporter, lambda p: p.cpu_share)
    report.add_raw(
        f"snp {count}: exporter CPU share",
        "share",
        [p.cpu_share for p in phases[exporter]],
    )
    for library in LIBRARIES:
        report.add_raw(
            f"snp {count}: bare {library} CPU share",
            "share",
            [p.cpu_share for p in phases[library]],
        )
    report.rows.append(
        Row(
            bench=bench,
            metric="CPU share (same-library ceiling)",
            candidate="exporterhub serve, snp targets",
            cand=cpu,
            baseline="bare picows reader (receive + orjson)",
            base=ceiling,
            unit="share",
            target=f"≤ {TARGET_CPU_RATIO}x",
            ok=cpu <= TARGET_CPU_RATIO * ceiling,
        )
    )
    report.rows.append(
        Row(
            bench=bench,
            metric="CPU share (the issue's ceiling)",
            candidate="exporterhub serve, snp targets",
            cand=cpu,
            baseline="bare websockets reader",
            base=websockets_cpu,
            unit="share",
            target=f"≤ {TARGET_CPU_RATIO}x",
            ok=cpu <= TARGET_CPU_RATIO * websockets_cpu,
        )
    )
    memory = med(exporter, lambda p: p.bytes_per_device)
    report.rows.append(
        Row(
            bench=bench,
            metric="memory per device",
            candidate="exporter RSS - idle exporter RSS, ÷ N",
            cand=memory,
            baseline="bare picows reader",
            base=med("picows", lambda p: p.bytes_per_device),
            unit="B",
            target=f"≤ {TARGET_KIB_PER_DEVICE:.0f} KiB",
            ok=memory <= TARGET_KIB_PER_DEVICE * 1024,
        )
    )
    lags = [lag for p in phases[exporter] for lag in p.lags]
    bare_lags = [lag for p in phases["picows"] for lag in p.lags]
    target = TARGET_LAG.get(count, 2.0)
    report.rows.append(
        Row(
            bench=bench,
            metric="lag p99, frame made → value served",
            candidate=f"/metrics scraped every {plan.scrape_interval(count)} s "
            "(upper bound)",
            cand=p99(lags),
            baseline="frame made → received (bare picows)",
            base=p99(bare_lags),
            unit="s",
            target=f"≤ {target:.0f} s",
            ok=p99(lags) <= target,
        )
    )
    report.rows.append(
        Row(
            bench=bench,
            metric="lag median",
            candidate="same",
            cand=median(lags),
            baseline="same",
            base=median(bare_lags),
            unit="s",
        )
    )
    scrapes = [s for p in phases[exporter] for s in p.scrapes]
    report.rows.append(
        Row(
            bench=bench,
            metric="scrape time p99 (gzip)",
            candidate="GET /metrics, request → last byte",
            cand=p99(scrapes),
            baseline="median",
            base=median(scrapes),
            unit="s",
        )
    )
    for library in LIBRARIES:
        report.rows.append(
            Row(
                bench=f"9 SNP WebSocket clients, {count:,} devices",
                metric="CPU share; memory/device in notes",
                candidate=f"bare {library} reader",
                cand=med(library, lambda p: p.cpu_share),
                baseline="bare picows reader",
                base=ceiling,
                unit="share",
            )
        )
    body = med(exporter, lambda p: p.body_bytes)
    frames = {lib: med(lib, lambda p: p.frames_per_second) for lib in LIBRARIES}
    memory_text = ", ".join(
        f"{lib} {med(lib, lambda p: p.bytes_per_device) / 1024:.1f} KiB"
        for lib in LIBRARIES
    )
    report.note(
        f"snp {count}: frames/s received by the bare readers "
        + ", ".join(f"{lib} {rate:,.0f}" for lib, rate in frames.items())
        + f"; memory per device {memory_text}; exporter body "
        f"{body / 1024 / 1024:.1f} MiB ({body / count / 1024:.1f} KiB per device); "
        "the simulator used "
        f"{median(sim_cpu) * 100:.0f} % of a core"
    )


async def _run(report: Report, workdir: Path, plan: Plan) -> None:
    base_rss = await asyncio.to_thread(idle_rss, workdir)
    for count, rounds in plan.sizes.items():
        sim = await asyncio.to_thread(Simulator, count)
        phases: dict[str, list[Phase]] = {name: [] for name in ("exporter", *LIBRARIES)}
        sim_cpu: list[float] = []
        try:
            order = ["exporter", *LIBRARIES]
            for round_ in range(rounds):
                for name in order[round_ % 4 :] + order[: round_ % 4]:
                    started = time.monotonic()
                    sim.mark()
                    if name == "exporter":
                        phase = await run_exporter(sim, workdir, base_rss, plan)
                    else:
                        phase = await run_bare(name, sim, plan)
                    sim_cpu.append(sim.mark() / (time.monotonic() - started))
                    phases[name].append(phase)
                    print(
                        f"  snp {count} round {round_ + 1} {name}: "
                        f"cpu {phase.cpu_share * 100:.1f} %, "
                        f"{phase.bytes_per_device / 1024:.1f} KiB/device, "
                        f"lag p99 {p99(phase.lags):.3f} s",
                        flush=True,
                    )
        finally:
            sim.stop()
        _report(report, plan, count, phases, sim_cpu)


def run(report: Report, plan: Plan = FULL) -> None:
    """Run the benchmark into ``report`` (``make bench``: the full plan)."""
    with tempfile.TemporaryDirectory(prefix="snp-bench-") as directory:
        asyncio.run(_run(report, Path(directory), plan))


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.snp [--quick | --devices N [N ...]]``: print only.

    The figures of ``make bench`` (both sizes, every round) go into RESULTS.md;
    this entry point prints its table and leaves RESULTS.md alone.
    """
    parser = argparse.ArgumentParser(prog="python -m benchmarks.snp")
    parser.add_argument(
        "--quick", action="store_true", help="50 devices, one short round"
    )
    parser.add_argument("--devices", type=int, nargs="+", help="sizes to run")
    parser.add_argument("--rounds", type=int, default=1, help="rounds per size")
    parser.add_argument("--window", type=float, default=FULL.window)
    parser.add_argument("--warmup", type=float, default=FULL.warmup)
    args = parser.parse_args(argv)
    if args.quick:
        plan = QUICK
    elif args.devices:
        plan = Plan(
            sizes=dict.fromkeys(args.devices, args.rounds),
            warmup=args.warmup,
            window=args.window,
        )
    else:
        plan = FULL
    from exporterhub.core.logging import configure_logging

    configure_logging("warning", "json")
    report = Report()
    report.begin("snp")
    started = time.perf_counter()
    run(report, plan)
    print(report.markdown(time.perf_counter() - started, ["snp"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
