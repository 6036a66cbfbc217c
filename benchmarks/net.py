"""Loopback helpers: plain HTTP GETs (no proxies), waiting, stopping child processes."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def rss(pid: int) -> float:
    """Resident set size of a process, bytes (``VmRSS`` from ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1]) * 1024
    return float("nan")


def child_env() -> dict[str, str]:
    """Environment for child processes: the repo root importable, no colour."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    env.setdefault("NO_COLOR", "1")
    return env


def http_get(
    port: int, path: str = "/metrics", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """GET http://127.0.0.1:port/path; raise OSError when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_http(port: int, proc: subprocess.Popen[bytes], within: float = 60.0) -> None:
    """Wait until ``/metrics`` answers 200, or fail if the process died."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, _ = http_get(port)
            if status == 200:
                return
        time.sleep(0.05)
    raise TimeoutError(f"no answer on 127.0.0.1:{port}")


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the child we started, then SIGKILL it if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
