"""Benchmark 1: PHD2 GuideStep ingest through a real loopback socket.

Server: the PHD2 stand-in of ``ingest_peer`` in a SEPARATE process, which writes N
pre-built GuideStep lines in ONE write on command.

Candidate: the real PHD2 plugin driven through the real ``TargetRunner`` (built by
``hub.build_hub``): ``_Worker`` -> ``Phd2Connection.read_loop`` -> ``LineBuffer`` ->
``parse_message`` -> ``Phd2State.apply_batch`` -> ``snapshot()`` +
``TargetPublisher.data`` once per read batch. Time runs from the command to send
(sent once the catch-up is folded and the start-up polls are answered) to the
publish whose snapshot counts N guide steps; it is observed by wrapping
``Section.publish`` of the exposition.

Baselines, on the same socket with the same 64 KiB reads: only ``LineBuffer.feed``
(the framing ceiling), and a bare reader that splits lines and ``orjson.loads`` each
and does nothing else (the floor of any reader that parses every line; target: the
candidate at >= 0.5x of it).
Context (in-process, no socket): ``orjson.loads``, ``parse_line``, ``parse_line`` +
``Phd2State.apply`` per line, and the read loop's path (``LineBuffer`` +
``parse_message`` + ``Phd2State.apply_batch`` + ``snapshot()`` per 64 KiB).
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import io
import pstats
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from benchmarks.ingest_peer import CATCH_UP_LINES, ServerProcess, guide_step_lines
from benchmarks.report import Report, Row

PORT_READ_SIZE = 65536
N_EVENTS = 100_000
N_BURST = 10_000
ROUNDS = 5
TARGET_EVENTS_PER_S = 100_000
TARGET_BARE_RATIO = 0.5
TARGET_NAME = "bench-phd2"

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
    from exporterhub.exporters.phd2.framing import LineBuffer

    reader, writer = await asyncio.open_connection(
        "127.0.0.1", server.port, limit=PORT_READ_SIZE * 2
    )
    buffer = LineBuffer(max_line=65536, strip_cr=False)  # as the read loop frames
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


def _as_reads(lines: list[bytes]) -> list[bytes]:
    blob = b"\r\n".join(lines) + b"\r\n"
    return [blob[i : i + PORT_READ_SIZE] for i in range(0, len(blob), PORT_READ_SIZE)]


def _read_loop_path(reads: list[bytes]) -> None:
    """What ``Phd2Connection.read_loop`` and ``_Worker`` do with 64 KiB reads."""
    from exporterhub.exporters.phd2.framing import LineBuffer
    from exporterhub.exporters.phd2.protocol import parse_message
    from exporterhub.exporters.phd2.state import Phd2State

    buffer = LineBuffer(max_line=65536, strip_cr=False)
    state = Phd2State(rms_samples=10)
    now = time.time()
    for data in reads:
        events: list[dict[str, Any]] = []
        for line in buffer.feed(data):
            message = parse_message(line)
            if isinstance(message, dict):
                events.append(message)
        state.apply_batch(events, now)
        state.snapshot()


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
        "(read_loop→parse_message→apply_batch→snapshot+publish per read)"
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
    ctx: dict[str, list[float]] = {"orjson": [], "parse": [], "apply": [], "loop": []}
    reads = _as_reads(lines)
    for _ in range(ROUNDS):
        ctx["orjson"].append(_per_line(_orjson_only, lines))
        ctx["parse"].append(_per_line(_parse_only, lines))
        ctx["apply"].append(_per_line(_parse_apply, lines))
        ctx["loop"].append(_per_line(lambda _: _read_loop_path(reads), lines))
    o_ctx = report.add_raw(
        "in-process: orjson.loads per line, lines/s", "/s", ctx["orjson"]
    )
    p = report.add_raw("in-process: parse_line per line, lines/s", "/s", ctx["parse"])
    a = report.add_raw(
        "in-process: parse_line + Phd2State.apply (+snapshot/160), events/s",
        "/s",
        ctx["apply"],
    )
    r = report.add_raw(
        "in-process: read loop's path (LineBuffer + parse_message + apply_batch "
        "+ snapshot per 64 KiB), events/s",
        "/s",
        ctx["loop"],
    )
    for metric, value in (
        ("orjson.loads only (no socket)", o_ctx),
        ("parse_line only (no socket)", p),
        ("parse_line + Phd2State.apply + snapshot/160 lines (no socket)", a),
        (
            "read loop's path: LineBuffer + parse_message + apply_batch + snapshot "
            "per 64 KiB (no socket)",
            r,
        ),
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
        f"{o_ctx:,.0f}/s, parse {p:,.0f}/s, parse+apply {a:,.0f}/s, "
        f"read loop's path {r:,.0f}/s",
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
