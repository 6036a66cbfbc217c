"""Each exporter's simulator, started from an installed venv, and how to point the
exporter at it: the shared half of the wheel test and the image-command test.

``start(kind, ...)`` starts the kind's simulator console script on free loopback
ports and returns a ``Rig``: the environment variables and flags that point that
kind's exporter at the simulator, the metric that shows it got through
(``<prefix>_up == 1``), and, for SNP, the connections to import once the
exporter's UI answers (the original keeps its devices in a database).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from exporterhub.core.testing import free_port

from .conftest import Installed, spawn


@dataclass
class Rig:
    """A running simulator and what its exporter needs to reach it."""

    kind: str
    up_metric: str
    env: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    config: dict[str, str] = field(default_factory=dict)  # file name -> text
    connections_file: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None


def start(kind: str, installed: Installed, tmp: Path) -> Rig:
    """Start ``kind``'s simulator (phd2, starlink, tapo, chaos, snp) on loopback."""
    port = free_port()
    log = tmp / f"{kind}-simulator.log"
    b = installed.bin
    if kind == "phd2":
        argv = [str(b / "phd2-simulator"), "--port", str(port), "--speed", "10"]
        flags = ["--phd2host", "127.0.0.1", "--phd2port", str(port)]
        rig = Rig(kind, "phd2_up", flags=flags)
    elif kind == "starlink":
        argv = [str(b / "starlink-simulator"), "--port", str(port)]
        rig = Rig(kind, "starlink_up", config={
            "config.yaml": f"mode: live\nlive:\n  dish_address: 127.0.0.1:{port}\n"
        })  # fmt: skip
    elif kind == "tapo":
        argv = [str(b / "kasa-simulator"), "--xor", "1", "--klap", "0",
                "--base-port", str(port), "--frozen"]  # fmt: skip
        rig = Rig(kind, "tapo_up", env={"TAPO_PLUG_DEVICES": f"127.0.0.1:{port}"})
    elif kind == "chaos":
        argv = [str(b / "chaos-simulator"), "--port", str(port)]
        rig = Rig(kind, "aaisp_up", env={
            "AAISP_EXPORTER_CONTROL_LOGIN": "exmpl@a",
            "AAISP_EXPORTER_CONTROL_PASSWORD": "demo-password",
            "AAISP_EXPORTER_API_URL": f"http://127.0.0.1:{port}",
        })  # fmt: skip
    elif kind == "snp":
        conns = tmp / "snp-connections.json"
        argv = [str(b / "snp-simulator"), "--port", "0",
                "--connections-file", str(conns)]  # fmt: skip
        rig = Rig(kind, "ic_snp_up", env={"INTERVAL": "1", "POLL_INTERVAL": "1"},
                  connections_file=conns)  # fmt: skip
    else:
        raise ValueError(kind)
    rig.proc = spawn(installed, argv, log)
    rig.log = log
    return rig


def _complete(path: Path) -> bool:
    """The simulator has written the whole connections file."""
    try:
        json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return True


async def import_connections(rig: Rig, ui_url: str, within: float = 30.0) -> None:
    """POST the simulator's connections file to the SNP exporter's /api/import."""
    assert rig.connections_file is not None
    assert rig.proc is not None
    async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
        async with asyncio.timeout(within):
            while True:
                if rig.proc.poll() is not None:
                    pytest.fail("snp-simulator exited at start")
                if _complete(rig.connections_file):
                    try:
                        reply = await client.post(
                            f"{ui_url}/api/import",
                            content=rig.connections_file.read_bytes(),
                            headers={"content-type": "application/json"},
                        )
                    except httpx.TransportError:
                        pass
                    else:
                        assert reply.status_code == 200, reply.text
                        assert reply.json()["imported"] == 1, reply.text
                        return
                await asyncio.sleep(0.1)
