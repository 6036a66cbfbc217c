"""The image's commands, run without a container: entrypoint.sh and the HEALTHCHECK.

The image installs the same wheel as ``fresh_venv`` into /opt/exporterhub and puts
its bin first on PATH; here ``deploy/docker/entrypoint.sh`` runs with the fresh
venv's bin first on PATH instead, so each choice (phd2, starlink, tapo, chaos,
snp, serve, demo) starts exactly the command line the image would, pointed at
the installed simulator through the environment as ``docker run -e`` would.
``healthcheck.py`` (the HEALTHCHECK command) then probes the URL the entrypoint
wrote: healthy while the exporter serves, unhealthy once it is gone.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from exporterhub.core.testing import free_port

from . import sims
from .conftest import ROOT, Installed, spawn, until_scraped

pytestmark = pytest.mark.timeout(300)

ENTRYPOINT = ROOT / "deploy" / "docker" / "entrypoint.sh"
HEALTHCHECK = ROOT / "deploy" / "docker" / "healthcheck.py"

# choice -> (simulator kind or None, metric that must be 1, health path)
CHOICES = {
    "phd2": ("phd2", "phd2_up", "/-/healthy"),
    "starlink": ("starlink", "starlink_up", "/health"),
    "tapo": ("tapo", "tapo_up", "/-/healthy"),
    "chaos": ("chaos", "aaisp_up", "/health"),
    "snp": ("snp", "ic_snp_up", "/-/healthy"),
    "serve": ("phd2", "phd2_up", "/-/healthy"),
    "demo": (None, "ic_snp_up", "/-/healthy"),
}


def healthcheck(
    installed: Installed, health_file: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the image's HEALTHCHECK script
        [str(installed.bin / "python"), str(HEALTHCHECK)],
        env=installed.env(EXPORTER_HEALTH_FILE=str(health_file)),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def image_env(choice: str, rig: sims.Rig | None, tmp: Path) -> dict[str, str]:
    """What ``docker run -e ...`` (or a compose file) would pass for ``choice``."""
    if rig is None:
        return {}
    env = dict(rig.env)
    if choice == "phd2":
        env["PHD2_EXPORTER_PHD2HOST"] = "127.0.0.1"
        env["PHD2_EXPORTER_PHD2PORT"] = rig.flags[-1]
    elif choice == "snp":
        env["DB_PATH"] = str(tmp / "connections.db")
        env["EXPORTER_UI_PORT"] = str(free_port())
    elif choice == "serve":
        config = tmp / "exporterhub.yaml"
        config.write_text(
            "exporters:\n  phd2:\n    targets:\n"
            f"      - {{name: rig, host: 127.0.0.1, port: {rig.flags[-1]}}}\n"
        )
        env["EXPORTER_CONFIG"] = str(config)
        env["EXPORTER_STORE"] = str(tmp / "hub.db")
    return env


class TestEntrypoint:
    def test_help_lists_every_choice(self, fresh_venv: Installed):
        """The image's default command (--help) prints the choices and exits 0."""
        proc = fresh_venv.run(["sh", str(ENTRYPOINT)])
        assert proc.returncode == 0, proc.stderr
        for choice in CHOICES:
            assert re.search(rf"^\s+{choice}\s", proc.stdout, re.MULTILINE), choice

    def test_other_commands_run_as_given(self, fresh_venv: Installed):
        """A choice that is no exporter runs as a command (here kasa-probe --help)."""
        proc = fresh_venv.run(["sh", str(ENTRYPOINT), "kasa-probe", "--help"])
        assert proc.returncode == 0, proc.stderr
        assert "usage: kasa-probe" in proc.stdout

    @pytest.mark.parametrize("choice", sorted(CHOICES))
    async def test_choice_serves_and_is_healthy(
        self, fresh_venv: Installed, tmp_path: Path, processes, choice: str
    ):
        """Each choice serves its exporter on EXPORTER_PORT, reaches the simulator,
        and the HEALTHCHECK passes on the chosen exporter's health path."""
        kind, metric, path = CHOICES[choice]
        rig = sims.start(kind, fresh_venv, tmp_path) if kind else None
        logs = []
        if rig is not None:
            assert rig.proc is not None
            assert rig.log is not None
            processes.append(rig.proc)
            logs.append(rig.log)
            for name, text in rig.config.items():
                (fresh_venv.home / name).write_text(text)
        port = free_port()
        health_file = tmp_path / "health"
        env = image_env(choice, rig, tmp_path)
        log = tmp_path / "entrypoint.log"
        proc = spawn(
            fresh_venv,
            ["sh", str(ENTRYPOINT), choice],
            log,
            EXPORTER_HOST="127.0.0.1",
            EXPORTER_PORT=str(port),
            EXPORTER_HEALTH_FILE=str(health_file),
            **env,
        )
        processes.append(proc)
        logs.append(log)
        if rig is not None and rig.connections_file is not None:
            await sims.import_connections(
                rig, f"http://127.0.0.1:{env['EXPORTER_UI_PORT']}"
            )
        await until_scraped(
            f"http://127.0.0.1:{port}/metrics",
            lambda s: s.value(metric) == 1.0,
            [proc] + ([rig.proc] if rig and rig.proc else []),
            logs,
            within=60,
        )
        assert health_file.read_text() == f"http://127.0.0.1:{port}{path}\n"
        healthy = healthcheck(fresh_venv, health_file)
        assert healthy.returncode == 0, healthy.stdout
        proc.terminate()
        proc.wait(timeout=20)
        gone = healthcheck(fresh_venv, health_file)
        assert gone.returncode == 1
        assert gone.stdout.startswith("unhealthy")

    def test_healthcheck_without_a_chosen_exporter_is_unhealthy(
        self, fresh_venv: Installed, tmp_path: Path
    ):
        """No health file (no exporter chosen): the HEALTHCHECK fails, saying why."""
        proc = healthcheck(fresh_venv, tmp_path / "missing")
        assert proc.returncode == 1
        assert "no exporter chosen" in proc.stdout
