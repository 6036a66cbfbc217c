"""``phd2-exporter`` as users of the original run it: help, legacy switch, logging."""

from __future__ import annotations

import logging
import os
import subprocess
from typing import Any

import pytest
import structlog

from exporterhub.core.errors import ConfigError
from exporterhub.core.testing import free_port, wait_until
from exporterhub.exporters.phd2.__main__ import build_parser, settings_from_args
from exporterhub.exporters.phd2.plugin import PLUGIN
from exporterhub.exporters.phd2.settings import Phd2TargetSettings
from exporterhub.simulators.phd2 import Phd2SimConfig, Phd2Simulator

from .conftest import phd2_target
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


def levels_of(logs: list[dict[str, Any]], name: str) -> list[str]:
    """Return the levels of the captured log entries of event ``name``, in order."""
    return [entry["log_level"] for entry in logs if entry["event"] == name]


class TestUnreachableLog:
    async def test_warned_once_then_debug_until_it_answers(self, make_exporter):
        """An unreachable PHD2 is a WARNING once, then DEBUG; again after a recovery."""
        phd2_port = free_port()
        saved = structlog.get_config()
        # Every level reaches the capture, whatever an earlier test configured.
        structlog.configure(
            wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG)
        )
        try:
            with structlog.testing.capture_logs() as logs:
                async with make_exporter([phd2_target(phd2_port)]):
                    await wait_until(
                        lambda: len(levels_of(logs, "phd2_unreachable")) >= 4
                    )
                    first = levels_of(logs, "phd2_unreachable")
                    config = Phd2SimConfig(port=phd2_port, scripted=True)
                    async with Phd2Simulator(config) as simulator:
                        await wait_until(lambda: levels_of(logs, "phd2_reachable"))
                        # Registered, so stopping the simulator drops it.
                        await simulator.wait_for_clients(1)
                    before = len(levels_of(logs, "phd2_unreachable"))
                    await wait_until(
                        lambda: len(levels_of(logs, "phd2_unreachable")) >= before + 3
                    )
                    after = levels_of(logs, "phd2_unreachable")[before:]
        finally:
            structlog.configure(**saved)
        assert first[0] == "warning"
        assert set(first[1:]) == {"debug"}
        assert after[0] == "warning"
        assert set(after[1:]) == {"debug"}
        assert levels_of(logs, "phd2_reachable") == ["info"]
        entry = next(e for e in logs if e["event"] == "phd2_unreachable")
        assert entry["address"] == f"127.0.0.1:{phd2_port}"
        assert entry["reason"] == "refused"
