"""The snp-simulator command line and its wiring into exporterhub."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from exporterhub.cli import main as hub_main
from exporterhub.simulators import snp as sim
from exporterhub.simulators.snp import Close, Drop, SnpSimConfig

from .conftest import PASSWORD

BIN = Path(sys.executable).parent
TIMEOUT = 30


class TestParser:
    def test_config_from_args(self, monkeypatch, tmp_path):
        """Flags become a fleet config; the password comes from the environment."""
        monkeypatch.setenv("SNP_PW", "from-env")
        script = tmp_path / "script.json"
        script.write_text(json.dumps([{"delay": 1, "text": "x"}]))
        args = sim.build_parser().parse_args(
            [
                "--devices", "3",
                "--port", "0",
                "--rest-port", "19089",
                "--password-env", "SNP_PW",
                "--frozen",
                "--all-statuses",
                "--resend-unchanged",
                "--alarm-interval", "2",
                "--script", str(script),
            ]
        )  # fmt: skip
        config = sim.config_from_args(args)
        assert [d.name for d in config.devices] == [
            "SNP-SIM-1",
            "SNP-SIM-2",
            "SNP-SIM-3",
        ]
        assert [d.rest_port for d in config.devices] == [19089, 19090, 19091]
        device = config.devices[0]
        assert device.password == "from-env"
        assert device.answer_with_all_statuses
        assert device.resend_unchanged
        assert device.script == [(1.0, "x")]
        assert (config.drift, config.alarm_interval, config.base_port) == (
            False,
            2.0,
            0,
        )

    def test_defaults(self):
        """Without flags: one device on port 18443, the fixtures' credentials."""
        config = sim.config_from_args(sim.build_parser().parse_args([]))
        (device,) = config.devices
        assert (config.base_port, device.password, device.rest_port) == (
            18443,
            PASSWORD,
            None,
        )
        shared = sim.config_from_args(
            sim.build_parser().parse_args(
                ["--devices", "2", "--first-address", "127.0.0.2", "--rest-port", "9"]
            )
        )
        assert [d.rest_port for d in shared.devices] == [9, 9]

    def test_load_script(self, tmp_path):
        """Every step kind of a script file is read."""
        path = tmp_path / "s.json"
        path.write_text(
            json.dumps(
                [
                    {"delay": 0, "text": "t"},
                    {"delay": 1.5, "json": {"msgType": "x"}},
                    {"binary_base64": "AAE="},
                    {"delay": 1, "close": 1011, "reason": "r"},
                    {"delay": 1, "drop": "mid_frame"},
                    {"delay": 1, "drop": "tcp"},
                ]
            )
        )
        assert sim.load_script(path) == [
            (0.0, "t"),
            (1.5, {"msgType": "x"}),
            (0.0, b"\x00\x01"),
            (1.0, Close(1011, "r")),
            (1.0, Drop(mid_frame=True)),
            (1.0, Drop(mid_frame=False)),
        ]

    @pytest.mark.parametrize(
        "content",
        [
            pytest.param("{}", id="not-a-list"),
            pytest.param('[{"delay": "soon", "text": "x"}]', id="bad-delay"),
            pytest.param('[{"delay": 1}]', id="no-frame"),
        ],
    )
    def test_bad_script(self, tmp_path, content):
        """A malformed script file is a ValueError (and a usage error in main)."""
        path = tmp_path / "s.json"
        path.write_text(content)
        with pytest.raises(ValueError, match=r"s\.json"):
            sim.load_script(path)
        with pytest.raises(SystemExit) as usage:
            sim.main(["--script", str(path)])
        assert usage.value.code == 2

    def test_bad_device_count(self):
        """--devices 0 is a usage error."""
        with pytest.raises(SystemExit) as usage:
            sim.main(["--devices", "0"])
        assert usage.value.code == 2

    @pytest.mark.parametrize("value", ["0", "-1"])
    def test_positive_intervals(self, value):
        """Intervals must be positive."""
        with pytest.raises(SystemExit):
            sim.build_parser().parse_args(["--keepalive", value])

    def test_main_stops_on_interrupt(self, monkeypatch):
        """main returns 0 when the run is interrupted."""

        def interrupted(coro):
            coro.close()
            raise KeyboardInterrupt

        monkeypatch.setattr(sim.command, "run", interrupted)
        assert sim.main(["--port", "0"]) == 0


class TestServe:
    async def test_serve_writes_files_and_stops(self, tmp_path):
        """serve() announces the devices, writes the import file and the CA."""
        stop = asyncio.Event()
        connections, ca = tmp_path / "c.json", tmp_path / "ca.pem"
        config = SnpSimConfig(devices=SnpSimConfig.fleet(2), tls=True)
        task = asyncio.create_task(
            sim.serve(config, stop, connections_file=connections, ca_file=ca)
        )
        async with asyncio.timeout(TIMEOUT):
            while not ca.exists():  # noqa: ASYNC110 - the file is the only signal
                await asyncio.sleep(0.01)
        exported = json.loads(connections.read_text())
        assert exported["version"] == "1.0"
        assert [c["name"] for c in exported["connections"]] == [
            "SNP-SIM-1",
            "SNP-SIM-2",
        ]
        assert ca.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
        stop.set()
        async with asyncio.timeout(TIMEOUT):
            await task


class TestConsoleScript:
    async def test_three_devices_answer_and_stop(self, tmp_path):
        """snp-simulator --devices 3 serves three devices and exits 0 on SIGTERM."""
        connections = tmp_path / "connections.json"
        proc = await asyncio.create_subprocess_exec(
            str(BIN / "snp-simulator"),
            "--devices", "3",
            "--port", "0",
            "--connections-file", str(connections),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )  # fmt: skip
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(TIMEOUT):
                while b"snp_fleet_ready" not in (line := await proc.stdout.readline()):
                    assert line, "the simulator exited early"
            records = json.loads(connections.read_text())["connections"]
            async with httpx.AsyncClient(timeout=5) as client:
                for record in records:
                    body = {
                        "username": record["username"],
                        "password": record["password"],
                    }
                    response = await client.post(record["restapi"], json=body)
                    assert response.text.startswith("Bearer ")
            assert len(records) == 3
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0
            assert b"snp_fleet_stopped" in await proc.stdout.read()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    def test_help(self):
        """snp-simulator --help describes the command."""
        result = subprocess.run(  # noqa: S603 - our own console script
            [str(BIN / "snp-simulator"), "--help"],
            capture_output=True,
            check=False,
            timeout=TIMEOUT,
        )
        assert result.returncode == 0
        assert result.stdout.startswith(b"usage: snp-simulator")
        assert b"--first-address" in result.stdout

    def test_python_m(self):
        """python -m exporterhub.simulators.snp is the same command."""
        result = subprocess.run(
            [sys.executable, "-m", "exporterhub.simulators.snp", "--help"],
            capture_output=True,
            check=False,
            timeout=TIMEOUT,
        )
        assert result.returncode == 0, result.stderr
        assert re.match(rb"usage: snp-simulator", result.stdout)

    def test_exporterhub_simulate_snp(self, capsys):
        """exporterhub simulate snp reaches this simulator without an snp exporter."""
        with pytest.raises(SystemExit) as done:
            hub_main(["simulate", "snp", "--help"])
        assert done.value.code == 0
        assert capsys.readouterr().out.startswith("usage: snp-simulator")
