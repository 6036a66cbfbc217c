"""CPU and memory of the SNP simulator serving N devices, each streaming to a client.

``python -m benchmarks.snp_simulator [N ...]`` (default 1000 5000). Not part of
``make bench``: it measures the simulator the SNP exporter's benchmark will run
against, not an exporter. For each N it starts ``snp-simulator --devices N`` in its
own process (PTP drift on: every device changes ``ptp`` every second), then this
process (aiohttp's client, lighter than ``websockets`` for thousands of sockets) logs
in to every device over REST, opens its ``/smm`` WebSocket, sends the
token and subscribes to ``ptp`` and ``system`` (frequency 1000 ms), so every device
pushes a ``statusState`` every second, plus ``fmmStatus`` and ``permissionsMsg``
every 5 s. After a warm-up it reads the simulator's CPU time (user + system, from
``/proc``) and RSS over a fixed window and counts the frames the clients received.
Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from exporterhub.simulators.snp.fleet import raise_file_limit

WARMUP_S = 5.0
WINDOW_S = 20.0
BATCH = 200
SUBSCRIPTION = {
    "msgType": "statusListSubscribe",
    "frequency": 1000,
    "objectIds": [
        {"elementIP": "127.0.0.1", "objectType": "ptp"},
        {"elementIP": "127.0.0.1", "objectType": "system"},
    ],
}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Counter:
    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.ready = 0
        self.all_ready = asyncio.Event()
        self.frames = 0
        self.status = 0


async def stream(
    record: dict[str, Any],
    http: aiohttp.ClientSession,
    counter: Counter,
    gate: asyncio.Semaphore,
) -> None:
    async with gate:
        body = {"username": record["username"], "password": record["password"]}
        async with http.post(record["restapi"], json=body) as response:
            token = await response.text()
        ws = await http.ws_connect(record["websocket"], max_msg_size=0)
        await ws.send_str(token)
        await ws.send_str(json.dumps(SUBSCRIPTION))
        counter.ready += 1
        if counter.ready == counter.expected:
            counter.all_ready.set()
    async with ws:
        async for message in ws:
            counter.frames += 1
            if '"statusState"' in message.data[:40]:
                counter.status += 1


async def measure(n: int) -> dict[str, float]:
    raise_file_limit(2 * n + 512)
    with tempfile.TemporaryDirectory() as tmp:
        connections = Path(tmp) / "connections.json"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "exporterhub.simulators.snp",
            "--devices", str(n), "--port", "0",
            "--connections-file", str(connections),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        assert proc.stdout is not None
        started = time.monotonic()
        while b"snp_fleet_ready" not in await proc.stdout.readline():
            pass
        startup = time.monotonic() - started
        drain = asyncio.create_task(proc.stdout.read())
        records = json.loads(connections.read_text())["connections"]
        counter, gate = Counter(n), asyncio.Semaphore(BATCH)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            tasks = [
                asyncio.create_task(stream(record, http, counter, gate))
                for record in records
            ]
            await counter.all_ready.wait()
            connected = time.monotonic() - started
            await asyncio.sleep(WARMUP_S)
            cpu0, frames0, status0 = (
                cpu_seconds(proc.pid),
                counter.frames,
                counter.status,
            )
            mine0, t0 = time.process_time(), time.monotonic()
            await asyncio.sleep(WINDOW_S)
            elapsed = time.monotonic() - t0
            cpu = cpu_seconds(proc.pid) - cpu0
            result = {
                "devices": n,
                "startup_s": startup,
                "all_subscribed_s": connected,
                "cpu_percent": 100 * cpu / elapsed,
                "client_cpu_percent": 100 * (time.process_time() - mine0) / elapsed,
                "rss_mib": rss_mib(proc.pid),
                "frames_per_s": (counter.frames - frames0) / elapsed,
                "status_per_s": (counter.status - status0) / elapsed,
            }
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
        drain.cancel()
    return result


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [1000, 5000]
    print(
        "| devices | start s | all subscribed s | simulator CPU % | RSS MiB "
        "| frames/s | statusState/s | client CPU % |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        r = asyncio.run(measure(n))
        print(
            f"| {n} | {r['startup_s']:.1f} | {r['all_subscribed_s']:.1f} "
            f"| {r['cpu_percent']:.0f} | {r['rss_mib']:.0f} "
            f"| {r['frames_per_s']:.0f} | {r['status_per_s']:.0f} "
            f"| {r['client_cpu_percent']:.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
