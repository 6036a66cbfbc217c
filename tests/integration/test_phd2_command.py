"""``phd2-exporter`` as users of the original run it: help, legacy switch, logging."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from exporterhub.core.errors import ConfigError
from exporterhub.core.testing import free_port, wait_until
from exporterhub.exporters.phd2.__main__ import build_parser, settings_from_args
from exporterhub.exporters.phd2.plugin import PLUGIN
from exporterhub.exporters.phd2.settings import Phd2TargetSettings
from exporterhub.simulators.phd2 import Phd2SimConfig, Phd2Simulator

from .test_commands import BIN, scrape_until, stop


class TestHelp:
    def test_every_option_shows_its_default(self):
        """--help names the default of every flag (the original's four included)."""
        parser = build_parser()
        for action in parser._actions:  # argparse has no public list of options
            if action.dest in ("help", "version"):
                continue
            assert action.help is not None, action.dest
            assert "(default: " in action.help, action.option_strings
        text = parser.format_help()
        for flag, default in (
            ("--phd2host", "127.0.0.1"),
            ("--phd2port", "4400"),
            ("--port", "9753"),
            ("--rms_samples", "10"),
            ("--legacy_metrics", "off"),
        ):
            assert flag in text
            assert f"(default: {default})" in " ".join(text.split()), flag


class TestLegacySwitch:
    def test_flag_env_and_default(self, monkeypatch):
        """--legacy_metrics or PHD2_EXPORTER_LEGACY_METRICS turns it on; off else."""
        monkeypatch.delenv("PHD2_EXPORTER_LEGACY_METRICS", raising=False)
        parser = build_parser()
        off = settings_from_args(parser.parse_args([]))
        assert [t.legacy_metrics for t in off.targets()] == [False]
        on = settings_from_args(
            parser.parse_args(["--legacy_metrics", "--phd2port", "4400,4401"])
        )
        assert [t.legacy_metrics for t in on.targets()] == [True, True]
        monkeypatch.setenv("PHD2_EXPORTER_LEGACY_METRICS", "true")
        from_env = settings_from_args(parser.parse_args([]))
        assert from_env.targets()[0].legacy_metrics is True

    def test_yaml_target_setting(self):
        """exporters.phd2.targets[].legacy_metrics is a strict boolean of the target."""
        targets = PLUGIN.targets_from_config(
            {"targets": [{"port": 4400, "legacy_metrics": True}, {"port": 4401}]},
            "hub.yml",
        )
        flags = [t.settings.legacy_metrics for t in targets]  # type: ignore[attr-defined]
        assert flags == [True, False]
        with pytest.raises(ConfigError, match=r"exporters\.phd2\.targets\.0\."):
            PLUGIN.targets_from_config(
                {"targets": [{"legacy_metrics": "sometimes"}]}, "hub.yml"
            )

    def test_schema_offers_it(self):
        """The target schema the API and UI use lists legacy_metrics, default off."""
        schema = Phd2TargetSettings.model_json_schema()
        assert schema["properties"]["legacy_metrics"]["default"] is False

    async def test_standalone_command_serves_legacy_families(self, simulator):
        """phd2-exporter --legacy_metrics serves phd2_total and the event counters."""
        port = free_port()
        proc = subprocess.Popen(  # noqa: S603 - our own console script
            [
                str(BIN / "phd2-exporter"),
                "--phd2port",
                str(simulator.port),
                "--port",
                str(port),
                "--legacy_metrics",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            url = f"http://127.0.0.1:{port}/metrics"
            await scrape_until(url, lambda s: s.value("phd2_up") == 1.0)
            await simulator.send_event("StarLost", Frame=1, SNR=2.0, StarMass=50)
            scrape = await scrape_until(
                url, lambda s: s.value("phd2_StarLost_total") == 1.0
            )
        finally:
            stop(proc)
        assert (scrape.value("phd2_total") or 0) >= 1
        assert scrape.value("phd2_StarLost_SNR") == 2.0
        assert scrape.value("phd2_Version_total") == 0.0  # the catch-up replay


def log_events(path: Path, name: str) -> list[str]:
    """Return the levels of the JSON log lines with event ``name``, in order."""
    levels = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == name:
            levels.append(entry["level"])
    return levels


async def until_logged(path: Path, name: str, count: int) -> None:
    """Wait (bounded) until ``name`` was logged ``count`` times."""
    await wait_until(lambda: len(log_events(path, name)) >= count, within=20.0)


class TestUnreachableLog:
    async def test_warned_once_then_debug_until_it_answers(self, tmp_path):
        """An unreachable PHD2 is a WARNING once, then DEBUG; again after a recovery."""
        phd2_port = free_port()
        log = tmp_path / "exporter.log"
        config = tmp_path / "hub.yml"
        config.write_text(
            "exporters:\n  phd2:\n    targets:\n"
            f"      - {{host: 127.0.0.1, port: {phd2_port}, reconnect_initial: 0.05,"
            " reconnect_max: 0.1, state_interval: 0.2, rpc_timeout: 0.5}\n"
        )
        with log.open("wb") as sink:
            proc = subprocess.Popen(  # noqa: S603 - our own console script
                [
                    str(BIN / "phd2-exporter"),
                    "--config.file",
                    str(config),
                    "--web.listen-address",
                    f"127.0.0.1:{free_port()}",
                    "--log.level",
                    "debug",
                    "--log.format",
                    "json",
                ],
                stdout=subprocess.DEVNULL,
                stderr=sink,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            await until_logged(log, "phd2_unreachable", 4)
            levels = log_events(log, "phd2_unreachable")
            assert levels[0] == "warning"
            assert set(levels[1:]) == {"debug"}
            config = Phd2SimConfig(port=phd2_port, scripted=True)
            async with Phd2Simulator(config) as simulator:
                await until_logged(log, "phd2_reachable", 1)
                # Registered, so stopping the simulator drops this connection.
                await simulator.wait_for_clients(1)
            before = len(log_events(log, "phd2_unreachable"))
            await until_logged(log, "phd2_unreachable", before + 3)
        finally:
            stop(proc)
        after = log_events(log, "phd2_unreachable")[before:]
        assert after[0] == "warning"
        assert set(after[1:]) == {"debug"}
        assert log_events(log, "phd2_reachable") == ["info"]
