"""Benchmark 1: PHD2 GuideStep ingest through a real loopback socket.

Server: a plain asyncio TCP server on 127.0.0.1 in a SEPARATE process (spawned with
multiprocessing), so the exporter side has one core of its own. On connect it sends a
PHD2 catch-up block (Version ... AppState Guiding) and answers the exporter's JSON-RPC
polls minimally; on command it writes N pre-built GuideStep lines (~395 bytes, 21
fields, varying values, ``\\r\\n``) in ONE write.

Candidate: the real PHD2 plugin driven through the real ``TargetRunner`` (built by
``hub.build_hub``): ``_Worker`` -> ``Phd2Connection.read_loop`` -> ``LineBuffer`` ->
``parse_line`` -> ``Phd2State.apply`` -> ``snapshot()`` + ``TargetPublisher.data``
once per read batch. Time runs from the command to send (sent once the catch-up is
folded and the start-up polls are answered) to the publish whose snapshot counts N
guide steps; it is observed by wrapping ``Section.publish`` of the exposition.

Baselines, on the same socket with the same 64 KiB reads: only ``LineBuffer.feed``
(the framing ceiling), and a bare reader that splits lines and ``orjson.loads`` each
and does nothing else (the floor of any reader that parses every line; target: the
candidate at >= 0.5x of it).
Context (in-process, no socket): ``orjson.loads``, ``parse_line``, ``parse_line`` +
``Phd2State.apply`` per line.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import io
import multiprocessing
import pstats
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from benchmarks.report import Report, Row

PORT_READ_SIZE = 65536
N_EVENTS = 100_000
N_BURST = 10_000
ROUNDS = 5
TARGET_EVENTS_PER_S = 100_000
TARGET_BARE_RATIO = 0.5
TARGET_NAME = "bench-phd2"

_GUIDE_STEP = (
    '{{"Event":"GuideStep","Timestamp":{ts:.3f},"Host":"OBSERVATORY","Inst":1,'
    '"Frame":{frame},"Time":{t:.3f},"Mount":"On-camera","dx":{dx:.3f},"dy":{dy:.3f},'
    '"RADistanceRaw":{rar:.3f},"DECDistanceRaw":{decr:.3f},'
    '"RADistanceGuide":{rag:.3f},"DECDistanceGuide":{decg:.3f},'
    '"RADuration":{radur},"RADirection":"{radir}",'
    '"DECDuration":{decdur},"DECDirection":"{decdir}",'
    '"StarMass":{mass},"SNR":{snr:.2f},"HFD":{hfd:.2f},"AvgDist":{avg:.2f}}}\r\n'
)


def guide_step_lines(n: int, seed: int = 7) -> list[bytes]:
    """Return ``n`` realistic GuideStep lines (PHD2's number formats, ``\\r\\n``)."""
    rng = random.Random(seed)
    start = 1_735_690_000.0
    out: list[bytes] = []
    for i in range(1, n + 1):
        rar = rng.uniform(-1.2, 1.2)
        decr = rng.uniform(-1.2, 1.2)
        rag = rar * 0.7
        decg = decr * 0.7
        out.append(
            _GUIDE_STEP.format(
                ts=start + 2.0 * i,
                frame=i,
                t=2.0 * i,
                dx=rng.uniform(-1.5, 1.5),
                dy=rng.uniform(-1.5, 1.5),
                rar=rar,
                decr=decr,
                rag=rag,
                decg=decg,
                radur=int(abs(rag) * 320) + 1,
                radir="West" if rag > 0 else "East",
                decdur=int(abs(decg) * 320) + 1,
                decdir="South" if decg > 0 else "North",
                mass=rng.randint(9000, 21000),
                snr=rng.uniform(15, 45),
                hfd=rng.uniform(1.8, 3.2),
                avg=rng.uniform(0.1, 0.9),
            ).encode()
        )
    return out


_HEAD = '"Timestamp":1735690000.000,"Host":"OBSERVATORY","Inst":1'
CATCH_UP_LINES = [
    f'{{"Event":"Version",{_HEAD},"PHDVersion":"2.6.14","PHDSubver":"",'
    '"OverlapSupport":true,"MsgVersion":1}\r\n',
    f'{{"Event":"LockPositionSet",{_HEAD},"X":640.000,"Y":480.000}}\r\n',
    f'{{"Event":"StarSelected",{_HEAD},"X":640.000,"Y":480.000}}\r\n',
    f'{{"Event":"CalibrationComplete",{_HEAD},"Mount":"On-camera"}}\r\n',
    f'{{"Event":"StartGuiding",{_HEAD}}}\r\n',
    f'{{"Event":"AppState",{_HEAD},"State":"Guiding"}}\r\n',
]
CATCH_UP = "".join(CATCH_UP_LINES).encode()

_RPC_RESULTS: dict[str, object] = {
    "get_app_state": "Guiding",
    "get_connected": True,
    "get_current_equipment": {
        "camera": {"name": "Simulator", "connected": True},
        "mount": {"name": "On-camera", "connected": True},
    },
    "get_pixel_scale": 1.93,
}


# --------------------------------------------------------------------- server process


def server_main(ctrl: Any, sizes: dict[str, int]) -> None:
    """Entry point of the server process (spawned; loopback only)."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(ctrl, sizes))


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    tail = b""
    while data := await reader.read(4096):
        *lines, tail = (tail + data).split(b"\n")
        for line in lines:
            try:
                request = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            method = request.get("method")
            if method in _RPC_RESULTS:
                body: dict[str, object] = {"result": _RPC_RESULTS[method]}
            else:
                body = {"error": {"code": -32601, "message": "method not found"}}
            writer.write(
                orjson.dumps({"jsonrpc": "2.0", **body, "id": request.get("id")})
                + b"\r\n"
            )


async def _serve(ctrl: Any, sizes: dict[str, int]) -> None:
    blobs = {key: b"".join(guide_step_lines(n)) for key, n in sizes.items()}
    writers: list[asyncio.StreamWriter] = []

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(CATCH_UP)
        writers.append(writer)
        try:
            await _answer(reader, writer)
        except OSError:
            pass
        finally:
            if writer in writers:
                writers.remove(writer)
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ctrl.send(("port", port, {k: len(v) for k, v in blobs.items()}))
    while True:
        command = await asyncio.to_thread(ctrl.recv)
        if command[0] == "stop":
            break
        if command[0] == "send" and writers:
            writer = writers[-1]
            writer.write(blobs[command[1]])  # one write: framing is the client's job
            with contextlib.suppress(OSError):
                await writer.drain()
    server.close()
    for writer in writers:
        writer.close()


class ServerProcess:
    """The GuideStep server in its own process."""

    def __init__(self, sizes: dict[str, int]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.ctrl, child = ctx.Pipe()
        self.proc = ctx.Process(target=server_main, args=(child, sizes), daemon=True)
        self.proc.start()
        deadline = time.monotonic() + 60
        while not self.ctrl.poll(0.1):
            if not self.proc.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("ingest server did not start")
        _, self.port, self.blob_sizes = self.ctrl.recv()

    def send(self, key: str) -> None:
        self.ctrl.send(("send", key))

    def close(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self.ctrl.send(("stop",))
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5)


# ----------------------------------------------------------------------- candidate


class PluginHarness:
    """The real PHD2 plugin on the real TargetRunner, watched at Section.publish."""

    def __init__(self, port: int) -> None:
        from exporterhub.exporters.phd2.plugin import PLUGIN, to_target
        from exporterhub.exporters.phd2.settings import Phd2TargetSettings
        from exporterhub.hub import build_hub

        async def no_targets() -> Sequence[Any]:
            return []

        self.hub = build_hub({PLUGIN.kind: PLUGIN}, no_targets, title="bench")
        self.section = self.hub.exposition.section(PLUGIN.kind)
        self.target = to_target(
            Phd2TargetSettings(name=TARGET_NAME, host="127.0.0.1", port=port)
        )
        self.want = 0
        self.done_at = 0.0
        self.done = asyncio.Event()
        self.batches = 0
        original = self.section.publish

        def publish(record: Any) -> None:
            original(record)
            if not self.want:
                return
            self.batches += 1
            data = record.data
            if (
                data is not None
                and data.guide_steps >= self.want
                and not self.done.is_set()
            ):
                self.done_at = time.perf_counter()
                self.done.set()

        self.section.publish = publish  # type: ignore[method-assign]

    async def round(self, server: ServerProcess, key: str, n: int) -> tuple[float, Any]:
        from exporterhub.core.testing import wait_until

        self.want = 0
        self.batches = 0
        self.done = asyncio.Event()
        await self.hub.runner.apply([self.target])

        def ready() -> bool:
            record = self.section.get(TARGET_NAME)
            data = record.data if record is not None else None
            return (
                data is not None
                and data.state is not None
                and data.state.value == "Guiding"
                and data.pixel_scale is not None
            )

        await wait_until(ready, within=20)
        await asyncio.sleep(0.05)  # let the start-up get_app_state answer land
        self.want = n
        start = time.perf_counter()
        server.send(key)
        await asyncio.wait_for(self.done.wait(), timeout=120)
        elapsed = self.done_at - start
        record = self.section.get(TARGET_NAME)
        assert record is not None
        await self.hub.runner.apply([])
        return elapsed, record.data


# ------------------------------------------------------------------------ baseline


async def framing_round(server: ServerProcess, key: str, n: int) -> float:
    """Same socket and reads as ``Phd2Connection.read_loop``; only LineBuffer.feed."""
    from exporterhub.exporters.phd2.protocol import LineBuffer

    reader, writer = await asyncio.open_connection(
        "127.0.0.1", server.port, limit=PORT_READ_SIZE * 2
    )
    buffer = LineBuffer(max_line=65536)
    count = 0
    while count < len(CATCH_UP_LINES):
        data = await reader.read(PORT_READ_SIZE)
        if not data:
            raise RuntimeError("server closed during catch-up")
        count += len(buffer.feed(data))
    goal = count + n
    start = time.perf_counter()
    server.send(key)
    while count < goal:
        data = await reader.read(PORT_READ_SIZE)
        if not data:
            raise RuntimeError("server closed early")
        count += len(buffer.feed(data))
    elapsed = time.perf_counter() - start
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return elapsed


async def orjson_round(server: ServerProcess, key: str, n: int) -> float:
    """Same peer, bytes and reads; a bare reader that splits lines and parses each.

    Nothing else: no ``LineBuffer`` (a plain split that keeps the partial last
    line), no classification, no fold: the floor of any reader that parses every
    line with orjson.
    """
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", server.port, limit=PORT_READ_SIZE * 2
    )
    loads = orjson.loads
    tail = b""
    count = 0

    async def read_until(goal: int) -> None:
        nonlocal tail, count
        while count < goal:
            data = await reader.read(PORT_READ_SIZE)
            if not data:
                raise RuntimeError("server closed early")
            lines = (tail + data).split(b"\n")
            tail = lines.pop()
            for line in lines:
                loads(line)
            count += len(lines)

    await read_until(len(CATCH_UP_LINES))
    start = time.perf_counter()
    server.send(key)
    await read_until(count + n)
    elapsed = time.perf_counter() - start
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return elapsed


# ---------------------------------------------------------------- in-process context


def _per_line(fn: Callable[[list[bytes]], None], lines: list[bytes]) -> float:
    start = time.perf_counter()
    fn(lines)
    return len(lines) / (time.perf_counter() - start)


def _orjson_only(lines: list[bytes]) -> None:
    loads = orjson.loads
    for line in lines:
        loads(line)


def _parse_only(lines: list[bytes]) -> None:
    from exporterhub.exporters.phd2.protocol import parse_line

    for line in lines:
        parse_line(line)


def _parse_apply(lines: list[bytes]) -> None:
    from exporterhub.exporters.phd2.protocol import parse_line
    from exporterhub.exporters.phd2.state import Phd2State

    state = Phd2State(rms_samples=10)
    apply = state.apply
    now = time.time()
    for i, line in enumerate(lines):
        apply(parse_line(line), now)  # type: ignore[arg-type]
        if i % 160 == 159:  # one snapshot per 64 KiB read, as the worker does
            state.snapshot()
    state.snapshot()


# ---------------------------------------------------------------------------- driver


async def _profile_round(harness: PluginHarness, server: ServerProcess) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    await harness.round(server, "main", N_EVENTS)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(14)
    return out.getvalue()


async def _run(report: Report, server: ServerProcess) -> None:
    harness = PluginHarness(server.port)
    cand: list[float] = []
    base: list[float] = []
    bare: list[float] = []
    # warm-up (imports, first connection), not counted
    await harness.round(server, "burst", N_BURST)
    await framing_round(server, "burst", N_BURST)
    await orjson_round(server, "burst", N_BURST)
    kinds = ("cand", "base", "bare")
    for i in range(ROUNDS):
        for which in kinds[i % 3 :] + kinds[: i % 3]:  # rotate who goes first
            if which == "cand":
                elapsed, snap = await harness.round(server, "main", N_EVENTS)
                assert snap.guide_steps == N_EVENTS, snap.guide_steps
                cand.append(N_EVENTS / elapsed)
            elif which == "base":
                base.append(N_EVENTS / await framing_round(server, "main", N_EVENTS))
            else:
                bare.append(N_EVENTS / await orjson_round(server, "main", N_EVENTS))
        print(
            f"  ingest round {i + 1}/{ROUNDS}: plugin {cand[-1]:,.0f}/s, "
            f"framing-only {base[-1]:,.0f}/s, framing+orjson {bare[-1]:,.0f}/s",
            flush=True,
        )
    c = report.add_raw("ingest: real plugin via TargetRunner, events/s", "/s", cand)
    b = report.add_raw("ingest: socket + LineBuffer.feed only, lines/s", "/s", base)
    o = report.add_raw(
        "ingest: socket + bare split + orjson.loads only, lines/s", "/s", bare
    )
    candidate = (
        "real phd2 plugin via TargetRunner "
        "(read_loop→parse_line→apply→snapshot+publish per read)"
    )
    metric = f"GuideStep events/s, {N_EVENTS:,} lines in one write"
    report.rows.append(
        Row(
            bench="1 PHD2 ingest (loopback, server in another process)",
            metric=metric,
            candidate=candidate,
            cand=c,
            baseline="same socket, LineBuffer.feed only (framing ceiling)",
            base=b,
            unit="/s",
            target=f">= {TARGET_EVENTS_PER_S:,}/s",
            ok=c >= TARGET_EVENTS_PER_S,
        )
    )
    report.rows.append(
        Row(
            bench="1 PHD2 ingest vs a bare orjson reader",
            metric=metric,
            candidate=candidate,
            cand=c,
            baseline="same socket and bytes, bare asyncio reader: split lines + "
            "orjson.loads each, nothing else",
            base=o,
            unit="/s",
            target=f">= {TARGET_BARE_RATIO}x",
            ok=c >= TARGET_BARE_RATIO * o,
        )
    )
    report.note(
        f"ingest: {harness.batches} publishes (one per socket read) in the last "
        f"candidate round of {N_EVENTS:,} lines; server blob "
        f"{server.blob_sizes['main'] / N_EVENTS:.0f} bytes/line"
    )

    # burst: 10,000 lines in one write, nothing lost, no errors
    elapsed, snap = await harness.round(server, "burst", N_BURST)
    errors = dict(snap.errors)
    error_text = ",".join(f"{k}:{v}" for k, v in errors.items())
    events = dict(snap.events)
    frame = snap.last_step.frame if snap.last_step else None
    lossless = (
        snap.guide_steps == N_BURST
        and events.get("GuideStep") == N_BURST
        and frame == N_BURST
        and not any(errors.values())
    )
    report.rows.append(
        Row(
            bench="1 PHD2 ingest burst",
            metric=f"{N_BURST:,} GuideSteps in one write: folded / errors",
            candidate=f"guide_steps={snap.guide_steps}, GuideStep events="
            f"{events.get('GuideStep')}, last Frame={frame}, errors={error_text}",
            cand=N_BURST / elapsed,
            baseline="",
            base=None,
            unit="/s",
            target="exactly 10,000, errors 0",
            ok=lossless,
        )
    )
    print(
        f"  burst: guide_steps={snap.guide_steps} errors={error_text} "
        f"({'no loss' if lossless else 'LOSS/ERRORS'})",
        flush=True,
    )

    # in-process context: per-line costs without a socket
    lines = [line[:-2] for line in guide_step_lines(50_000, seed=11)]
    ctx: dict[str, list[float]] = {"orjson": [], "parse": [], "apply": []}
    for _ in range(ROUNDS):
        ctx["orjson"].append(_per_line(_orjson_only, lines))
        ctx["parse"].append(_per_line(_parse_only, lines))
        ctx["apply"].append(_per_line(_parse_apply, lines))
    o_ctx = report.add_raw(
        "in-process: orjson.loads per line, lines/s", "/s", ctx["orjson"]
    )
    p = report.add_raw("in-process: parse_line per line, lines/s", "/s", ctx["parse"])
    a = report.add_raw(
        "in-process: parse_line + Phd2State.apply (+snapshot/160), events/s",
        "/s",
        ctx["apply"],
    )
    for metric, value in (
        ("orjson.loads only (no socket)", o_ctx),
        ("parse_line only (no socket)", p),
        ("parse_line + Phd2State.apply + snapshot/160 lines (no socket)", a),
    ):
        report.rows.append(
            Row(
                bench="1 ingest context (one core, in-process)",
                metric="lines/s",
                candidate=metric,
                cand=value,
                baseline="orjson.loads only",
                base=o_ctx,
                unit="/s",
            )
        )
    if c < TARGET_EVENTS_PER_S or c < TARGET_BARE_RATIO * o:
        report.note(
            f"ingest below target ({c:,.0f}/s; targets {TARGET_EVENTS_PER_S:,}/s "
            f"and {TARGET_BARE_RATIO}x of the bare reader's {o:,.0f}/s): "
            "profile of one candidate round follows (cProfile, by tottime; cProfile "
            "inflates per-call overhead, read it for shares, not absolute times)"
        )
        text = await _profile_round(harness, server)
        print(text, flush=True)
        report.notes.append("cProfile top functions:\n\n```\n" + _trim(text) + "```")
    print(
        f"  ingest medians: plugin {c:,.0f}/s, framing {b:,.0f}/s, "
        f"framing+orjson {o:,.0f}/s ({c / o:.2f}x), in-process: orjson "
        f"{o_ctx:,.0f}/s, parse {p:,.0f}/s, parse+apply {a:,.0f}/s",
        flush=True,
    )


def _trim(text: str) -> str:
    keep = [line for line in text.splitlines() if line.strip()]
    start = next((i for i, ln in enumerate(keep) if "ncalls" in ln), 0)
    return "\n".join(keep[start:]) + "\n"


def run(report: Report) -> None:
    print("## 1. PHD2 ingest", flush=True)
    server = ServerProcess({"main": N_EVENTS, "burst": N_BURST})
    try:
        asyncio.run(_run(report, server))
    finally:
        server.close()
