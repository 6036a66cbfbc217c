"""The console commands as users run them: real processes on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from exporterhub.core.testing import free_port

from .conftest import Scrape

BIN = Path(sys.executable).parent


def spawn(args: Sequence[str], **env: str) -> subprocess.Popen[bytes]:
    """Start a command with its output discarded (a full pipe would block it)."""
    return subprocess.Popen(  # noqa: S603 - our own console scripts
        list(args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
    )


async def scrape_until(url: str, predicate, within: float = 20.0) -> Scrape:
    last = Scrape("")
    async with httpx.AsyncClient(timeout=2) as client:
        try:
            async with asyncio.timeout(within):
                while True:
                    try:
                        response = await client.get(url)
                        last = Scrape(response.text)
                        if response.status_code == 200 and predicate(last):
                            return last
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
        except TimeoutError:
            pytest.fail(f"not met within {within}s; last scrape:\n{last.text}")


def stop(proc: subprocess.Popen[bytes]) -> tuple[int, float]:
    """SIGTERM the process; return its exit code and how long it took to exit."""
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("the process ignored SIGTERM")
    return code, time.monotonic() - started


class TestPhd2ExporterCommand:
    async def test_original_flags_watch_two_instances(self, simulator):
        """phd2-exporter --phd2port A,B --port P watches both and stops on SIGTERM."""
        from exporterhub.simulators.phd2 import Phd2SimConfig, Phd2Simulator

        port = free_port()
        async with Phd2Simulator(
            Phd2SimConfig(port=0, scripted=True, instance=2)
        ) as second:
            proc = spawn(
                [
                    str(BIN / "phd2-exporter"),
                    "--phd2host", "127.0.0.1",
                    "--phd2port", f"{simulator.port},{second.port}",
                    "--web.listen-address", f"127.0.0.1:{port}",
                    "--rms_samples", "5",
                ]
            )  # fmt: skip
            try:
                scrape = await scrape_until(
                    f"http://127.0.0.1:{port}/metrics",
                    lambda s: sum(x.value for x in s.series("phd2_up")) == 2.0,
                )
            finally:
                code, _ = stop(proc)
        assert sorted(x.labels["inst"] for x in scrape.series("phd2_up")) == ["1", "2"]
        assert scrape.series("exporterhub_build_info")[0].labels["python_version"]
        assert code in (0, -signal.SIGTERM, 128 + signal.SIGTERM)

    def test_bad_flag_value_names_it(self):
        """An invalid --rms_samples fails at start with one line naming the key."""
        proc = subprocess.run(  # noqa: S603 - our own console script
            [str(BIN / "phd2-exporter"), "--rms_samples", "0"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert proc.returncode == 2
        err = proc.stderr.decode().strip().splitlines()
        assert len(err) == 1
        assert "rms_samples" in err[0]

    def test_env_sits_between_defaults_and_flags(self, tmp_path):
        """PHD2_EXPORTER_RMS_SAMPLES is used unless the flag is given."""
        from exporterhub.exporters.phd2.__main__ import build_parser, settings_from_args

        os.environ["PHD2_EXPORTER_RMS_SAMPLES"] = "42"
        try:
            from_env = settings_from_args(build_parser().parse_args([]))
            from_flag = settings_from_args(
                build_parser().parse_args(["--rms_samples", "7"])
            )
        finally:
            del os.environ["PHD2_EXPORTER_RMS_SAMPLES"]
        assert from_env.rms_samples == 42
        assert from_flag.rms_samples == 7


class TestHubServe:
    async def test_serve_reload_restarts_only_changed_targets(
        self, simulator, tmp_path
    ):
        """POST /-/reload applies the edited YAML: adds, keeps and removes targets."""
        config = tmp_path / "exporterhub.yaml"
        port = free_port()

        def write(*targets: str) -> None:
            lines = [
                "web:",
                f"  listen_address: 127.0.0.1:{port}",
                "exporters:",
                "  phd2:",
                "    targets:",
            ]
            lines += [
                f"      - {{name: {n}, host: 127.0.0.1, port: {simulator.port}}}"
                for n in targets
            ]
            config.write_text("\n".join(lines) + "\n")

        write("a", "b")
        proc = spawn([str(BIN / "exporterhub"), "serve", "--config", str(config)])
        try:
            await scrape_until(
                f"http://127.0.0.1:{port}/metrics",
                lambda s: s.value("phd2_up") == 1.0,
            )
            write("a", "c")
            async with httpx.AsyncClient(timeout=5) as client:
                reply = await client.post(f"http://127.0.0.1:{port}/-/reload")
                assert reply.status_code == 200, reply.text
                assert reply.json() == {
                    "started": ["phd2/c"],
                    "stopped": ["phd2/b"],
                    "restarted": [],
                    "unchanged": ["phd2/a"],
                }
                config.write_text("exporters: {phd2: {targets: [{port: 99999}]}}\n")
                bad = await client.post(f"http://127.0.0.1:{port}/-/reload")
                assert bad.status_code == 400
                assert "exporters.phd2.targets.0.port" in bad.json()["detail"]
                targets = (
                    await client.get(f"http://127.0.0.1:{port}/api/targets")
                ).json()
                assert sorted(t["name"] for t in targets) == ["a", "c"]
        finally:
            code, _ = stop(proc)
        assert code in (0, -signal.SIGTERM, 128 + signal.SIGTERM)

    def test_check_config_reports_the_file_and_key(self, tmp_path):
        """exporterhub check-config names the file and the key of a bad value."""
        config = tmp_path / "bad.yaml"
        config.write_text(
            "exporters:\n  phd2:\n    targets:\n      - {rms_samples: -1}\n"
        )
        proc = subprocess.run(  # noqa: S603 - our own console script
            [str(BIN / "exporterhub"), "check-config", str(config)],
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert proc.returncode == 2
        message = proc.stderr.decode()
        assert str(config) in message
        assert "exporters.phd2.targets.0.rms_samples" in message


class TestDemo:
    async def test_demo_serves_live_phd2_and_snp_metrics(self):
        """exporterhub demo runs the simulators and exporters until SIGTERM."""
        port = free_port()
        proc = spawn(
            [
                str(BIN / "exporterhub"),
                "demo",
                "--speed", "50",
                "--web.listen-address", f"127.0.0.1:{port}",
            ]
        )  # fmt: skip
        try:
            scrape = await scrape_until(
                f"http://127.0.0.1:{port}/metrics",
                lambda s: (
                    sum(x.value for x in s.series("phd2_up")) == 2.0
                    and s.value("phd2_rms", source="TotalDistanceRaw", scale="px")
                    is not None
                    and sum(x.value for x in s.series("ic_snp_up")) == 4.0
                ),
                within=60,
            )
        finally:
            code, _ = stop(proc)
        assert {x.labels["host"] for x in scrape.series("phd2_up")} == {"observatory"}
        assert {x.labels["target"] for x in scrape.series("ic_snp_up")} == {
            f"snp-rack-{n}" for n in range(1, 5)
        }
        assert code in (0, -signal.SIGTERM, 128 + signal.SIGTERM)

    def test_module_entry_point_prints_version(self):
        """python -m exporterhub --version prints the package version."""
        from exporterhub import __version__

        proc = subprocess.run(
            [sys.executable, "-m", "exporterhub", "--version"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert proc.returncode == 0
        assert proc.stdout.decode().strip() == __version__


class TestMissingExtra:
    """Only some extras installed: a blocked import stands in for a package that
    is not there (``sys.modules[name] = None`` makes importing it fail)."""

    CONFIG = "exporters:\n  phd2:\n    targets: [{host: 127.0.0.1, port: 4400}]\n"
    PLUGS = "  tapo:\n    devices: [{host: 127.0.0.1}]\n"

    def run_blocked(self, module: str, code: str, cwd: Path) -> tuple[int, list[str]]:
        """Run ``code`` in a fresh interpreter where ``module`` cannot be imported."""
        proc = subprocess.run(  # noqa: S603 - the test's own code
            [
                sys.executable,
                "-c",
                f"import sys; sys.modules[{module!r}] = None\n{code}",
            ],
            capture_output=True,
            timeout=60,
            check=False,
            cwd=cwd,
            env={**os.environ, "DB_PATH": str(cwd / "connections.db")},
        )
        return proc.returncode, proc.stdout.decode().splitlines() + [
            "stderr: " + line for line in proc.stderr.decode().strip().splitlines()
        ]

    def test_snp_exporter_exits_1_naming_the_extra(self, tmp_path):
        """snp-exporter without picows says which extra to install and exits 1
        (2 is for a bad configuration)."""
        code, lines = self.run_blocked(
            "picows",
            "from exporterhub.exporters.snp.__main__ import main\n"
            "sys.exit(main(['--ui.listen-address', '127.0.0.1:0', "
            "'--web.listen-address', '127.0.0.1:0']))",
            tmp_path,
        )
        assert code == 1, lines
        assert lines == [
            "stderr: snp-exporter: exporter 'snp' needs its extra: "
            "pip install 'exporterhub[snp]' (picows is missing)"
        ]

    def test_other_kinds_extras_are_not_needed(self, tmp_path):
        """A PHD2-only config is checked without python-kasa installed; a config
        with a plug section names that section and the extra (kasa, not the kind's
        name tapo) and exits 1."""
        config = tmp_path / "hub.yaml"
        config.write_text(self.CONFIG)
        check = (
            "from exporterhub.cli import main\n"
            f"sys.exit(main(['check-config', {str(config)!r}]))"
        )
        code, lines = self.run_blocked("kasa", check, tmp_path)
        assert code == 0, lines
        assert lines[0] == f"{config}: ok, 1 target(s)"

        config.write_text(self.CONFIG + self.PLUGS)
        code, lines = self.run_blocked("kasa", check, tmp_path)
        assert code == 1, lines
        assert lines == [
            f"stderr: exporterhub: {config}: exporters.tapo: exporter 'tapo' needs "
            "its extra: pip install 'exporterhub[kasa]' (kasa is missing)"
        ]


class TestPhd2ExporterSettings:
    @pytest.mark.parametrize(
        ("argv", "key"),
        [
            pytest.param(["--phd2port", "70000"], "phd2port", id="port-range"),
            pytest.param(["--phd2port", "4400,4400"], "phd2port", id="duplicate"),
            pytest.param(["--rms_samples", "0"], "rms_samples", id="rms"),
        ],
    )
    def test_bad_flags_fail_in_one_line(self, argv, key, capsys):
        """A bad flag value exits 2 with one line naming the key, no traceback."""
        from exporterhub.exporters.phd2.__main__ import main

        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert key in err[0]
        assert err[0].startswith("phd2-exporter: flags: ")

    def test_env_port_list_uses_the_flag_syntax(self, monkeypatch):
        """PHD2_EXPORTER_PHD2PORT=4400,4401 means two instances, like the flag."""
        from exporterhub.exporters.phd2.__main__ import build_parser, settings_from_args

        monkeypatch.setenv("PHD2_EXPORTER_PHD2PORT", "4400,4401")
        settings = settings_from_args(build_parser().parse_args([]))
        assert [t.port for t in settings.targets()] == [4400, 4401]
        assert [t.name for t in settings.targets()] == [
            "127.0.0.1:4400",
            "127.0.0.1:4401",
        ]

    def test_bad_env_value_names_the_environment(self, monkeypatch, capsys):
        """A bad env value fails in one line attributed to the environment."""
        from exporterhub.exporters.phd2.__main__ import main

        monkeypatch.setenv("PHD2_EXPORTER_LOG_LEVEL", "verbose")
        assert main([]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert "environment: log_level" in err[0]

    async def test_config_file_sets_listen_address(self, simulator, tmp_path):
        """phd2-exporter --config.file serves on the file's web.listen_address."""
        port = free_port()
        config = tmp_path / "exporterhub.yaml"
        config.write_text(
            f"web: {{listen_address: '127.0.0.1:{port}'}}\n"
            "exporters:\n  phd2:\n    targets:\n"
            f"      - {{name: rig, host: 127.0.0.1, port: {simulator.port}}}\n"
        )
        proc = spawn([str(BIN / "phd2-exporter"), "--config.file", str(config)])
        try:
            scrape = await scrape_until(
                f"http://127.0.0.1:{port}/metrics",
                lambda s: s.value("phd2_up", target="rig") == 1.0,
            )
        finally:
            stop(proc)
        assert scrape.value("phd2_up", target="rig") == 1.0


def test_check_config_rejects_a_bad_listen_address(tmp_path, capsys):
    """check-config names web.listen_address when it cannot be parsed."""
    from exporterhub.cli import main

    config = tmp_path / "hub.yaml"
    config.write_text("web: {listen_address: nonsense}\n")
    assert main(["check-config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "web.listen_address" in err
    assert str(config) in err


class TestAaispExporterCommand:
    async def test_env_configured_exporter_serves_lines(self):
        """aaisp-exporter configured through AAISP_EXPORTER_* serves the lines."""
        from exporterhub.simulators.chaos import ChaosSimConfig, ChaosSimulator

        port = free_port()
        async with ChaosSimulator(ChaosSimConfig(port=0)) as sim:
            proc = spawn(
                [
                    str(BIN / "aaisp-exporter"),
                    "--web.listen-address",
                    f"127.0.0.1:{port}",
                ],
                AAISP_EXPORTER_API_URL=sim.base_url,
                AAISP_EXPORTER_AUTH__CONTROL_LOGIN="exmpl@a",  # the original's alias
                AAISP_EXPORTER_CONTROL_PASSWORD="demo-password",
            )
            try:
                scrape = await scrape_until(
                    f"http://127.0.0.1:{port}/metrics",
                    lambda s: len(s.series("aaisp_broadband_service_up")) == 3,
                )
                async with httpx.AsyncClient(timeout=5) as client:
                    health = await client.get(f"http://127.0.0.1:{port}/health")
            finally:
                stop(proc)
        assert health.status_code == 200
        assert scrape.value("aaisp_exporter_up") == 1.0
        info = scrape.series("aaisp_exporter_build_info")[0].labels
        assert set(info) == {"version", "python_version", "commit_sha"}
        assert "demo-password" not in scrape.text

    def test_missing_credentials_fail_in_one_line(self, monkeypatch, capsys):
        """Without a control login or account the command exits 2 saying so."""
        from exporterhub.exporters.chaos.__main__ import main

        for name in list(os.environ):
            if name.startswith("AAISP_EXPORTER_"):
                monkeypatch.delenv(name)
        assert main([]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert "AAISP_EXPORTER_CONTROL_LOGIN" in err[0]  # the variable to set

    def test_simulate_dispatches_to_the_chaos_simulator(self):
        """exporterhub simulate chaos --help reaches the CHAOS simulator's parser."""
        proc = subprocess.run(  # noqa: S603 - our own console script
            [str(BIN / "exporterhub"), "simulate", "chaos", "--help"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert proc.returncode == 0
        assert b"--drop-every" in proc.stdout


class TestStarlinkExporterCommand:
    async def test_defaults_without_config_file_and_json_logs_on_stdout(self, tmp_path):
        """starlink-exporter runs on defaults when config.yaml is missing, logs JSON."""
        port = free_port()
        out = tmp_path / "stdout.log"
        with out.open("wb") as handle:
            proc = subprocess.Popen(  # noqa: S603 - our own console script
                [
                    str(BIN / "starlink-exporter"),
                    "--port", str(port),
                    "--host", "127.0.0.1",
                ],
                stdout=handle,
                stderr=subprocess.DEVNULL,
                cwd=tmp_path,  # no config.yaml here: the default may be missing
                env={**os.environ, "STARLINK_EXPORTER_LOG_LEVEL": "INFO"},
            )  # fmt: skip
            try:
                scrape = await scrape_until(
                    f"http://127.0.0.1:{port}/metrics",
                    lambda s: s.value("starlink_network_latency_ms") is not None,
                )
                async with httpx.AsyncClient(timeout=5) as client:
                    health = (
                        await client.get(f"http://127.0.0.1:{port}/health")
                    ).json()
            finally:
                stop(proc)
        assert health["mode"] == "simulation"
        assert scrape.value("starlink_exporter_mode", mode="simulation") == 1.0
        events = [
            json.loads(line)["event"]
            for line in out.read_text().splitlines()
            if line.startswith("{")
        ]
        assert "starlink_config_defaults" in events

    def test_invalid_config_file_fails_in_one_line(self, tmp_path, capsys):
        """A bad config.yaml stops the start with one line naming file and key."""
        from exporterhub.exporters.starlink.__main__ import main

        config = tmp_path / "config.yaml"
        config.write_text("network:\n  latency_min_ms: -5\n")
        assert main(["--config", str(config), "--port", "0"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert str(config) in err[0]
        assert "network.latency_min_ms" in err[0]
