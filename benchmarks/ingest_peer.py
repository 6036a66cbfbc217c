"""The peer of benchmark 1: a PHD2 stand-in in its own process, and its lines.

A plain asyncio TCP server on 127.0.0.1 in a SEPARATE process (spawned with
multiprocessing), so the exporter side has one core of its own. On connect it sends a
PHD2 catch-up block (Version ... AppState Guiding) and answers the exporter's JSON-RPC
polls minimally; on command it writes N pre-built GuideStep lines (~395 bytes, 21
fields, varying values, ``\\r\\n``) in ONE write. It measures nothing itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import random
import time
from typing import Any

import orjson

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
