"""A real exporter process under a pile of slow sockets, as the fuzzing run found it.

The process runs with a low open-file limit (256) and is sent more silent and
half-finished connections than it has file descriptors; ``/health`` and
``/metrics`` must keep answering at once, the drops must be counted and the log
must not turn into a flood.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from exporterhub.core.testing import free_port

BIN = Path(sys.executable).parent
FILE_LIMIT = 256
SLOW_SOCKETS = 400


def _dropped(text: str, reason: str) -> float:
    prefix = f'exporterhub_http_connections_dropped_total{{reason="{reason}"}} '
    found = [line for line in text.splitlines() if line.startswith(prefix)]
    assert len(found) == 1
    return float(found[0].removeprefix(prefix))


def _low_file_limit() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


async def test_health_answers_while_more_slow_sockets_than_files_are_held(tmp_path):
    """400 slow sockets against a 256-file process: /health answers, drops counted."""
    port = free_port()
    log_path = tmp_path / "exporter.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own console script
            [
                str(BIN / "phd2-exporter"),
                "--phd2port",
                str(free_port()),  # nobody there: the link retries
                "--web.listen-address",
                f"127.0.0.1:{port}",
                "--log.format",
                "json",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=_low_file_limit,
        )
    slow: list[socket.socket] = []
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=5
        ) as client:
            async with asyncio.timeout(30):
                while True:
                    try:
                        if (await client.get("/-/healthy")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
            for index in range(SLOW_SOCKETS):
                sock = socket.create_connection(("127.0.0.1", port))
                if index % 2:
                    sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                slow.append(sock)
            for _ in range(5):  # each on a new connection, after the slow ones
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=5
                ) as fresh:
                    health = await fresh.get("/health")
                assert health.status_code == 200
                assert health.json()["status"] == "ok"
            # Self-metrics are re-rendered once a second: scrape until they show.
            evicted = 0.0
            async with asyncio.timeout(10):
                while evicted < SLOW_SOCKETS - FILE_LIMIT // 2:
                    metrics = await client.get("/metrics")
                    assert metrics.status_code == 200
                    evicted = _dropped(metrics.text, "evicted")
                    await asyncio.sleep(0.2)
    finally:
        for sock in slow:
            sock.close()
        proc.terminate()
        proc.wait(timeout=15)
    lines = [json.loads(line) for line in log_path.read_bytes().splitlines() if line]
    evictions = [e for e in lines if e.get("event") == "http_connections_evicted"]
    assert 1 <= len(evictions) <= 3  # once per interval, with a count
    assert evictions[0]["count"] >= 1
    assert len(lines) < 60
    assert not any("Traceback" in json.dumps(e) for e in lines)
