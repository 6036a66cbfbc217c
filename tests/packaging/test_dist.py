"""``make dist``: the wheel and sdist, checked and installed into a fresh venv.

The wheel (built from the sdist, as ``python -m build`` does) is installed with
``[all]`` into a new virtual environment; every console command answers
``--help`` there, every module imports (no dev-only import slipped into the
wheel), and each exporter command, and ``exporterhub serve``, scrapes its
simulator, reporting the revision baked in at build time (git is not consulted
by an installed wheel: the installed package is not in a checkout).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from exporterhub.core.testing import free_port

from . import sims
from .conftest import ROOT, Built, Installed, git_revision, spawn, until_scraped

pytestmark = pytest.mark.timeout(300)

SCRIPTS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())[
    "project"
]["scripts"]


def baked_revisions(scrape) -> set[str]:
    return {
        s.labels["revision"]
        for s in scrape.samples()
        if s.name.endswith("_build_info") and "revision" in s.labels
    }


class TestArtifacts:
    def test_make_dist_runs_the_same_build_and_twine_check(self):
        """The Makefile's dist target is python -m build followed by twine check."""
        makefile = (ROOT / "Makefile").read_text()
        recipe = makefile.split("\ndist:", 1)[1].split("\n\n", 1)[0]
        assert "-m build --outdir dist" in recipe
        assert "twine check --strict dist/*" in recipe

    def test_twine_check_passes(self, built: Built):
        """twine check --strict accepts the wheel and the sdist (README renders)."""
        proc = subprocess.run(  # noqa: S603 - twine from the dev extra
            [sys.executable, "-m", "twine", "check", "--strict",
             str(built.wheel), str(built.sdist)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stdout.count("PASSED") == 2

    def test_revision_is_baked_into_both(self, built: Built):
        """Wheel and sdist carry exporterhub/_build.py with this checkout's revision."""
        expected = f'REVISION = "{git_revision()}"'
        with zipfile.ZipFile(built.wheel) as wheel:
            names = wheel.namelist()
            assert expected in wheel.read("exporterhub/_build.py").decode()
        with tarfile.open(built.sdist) as sdist:
            member = next(m for m in sdist.getnames() if m.endswith("/_build.py"))
            baked = sdist.extractfile(member)
            assert baked is not None
            assert expected in baked.read().decode()
        assert "exporterhub/py.typed" in names
        assert not [n for n in names if n.startswith("exporterhub/dashboards/")]

    def test_entry_points_are_the_projects_scripts(self, built: Built):
        """The wheel declares exactly pyproject's [project.scripts]."""
        with zipfile.ZipFile(built.wheel) as wheel:
            (name,) = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
            text = wheel.read(name).decode()
        section = text.split("[console_scripts]", 1)[1].split("\n[", 1)[0]
        declared = dict(re.findall(r"^(\S+) = (\S+)$", section, flags=re.MULTILINE))
        assert declared == SCRIPTS


class TestInstalled:
    @pytest.mark.parametrize("command", sorted(SCRIPTS))
    def test_help(self, fresh_venv: Installed, command: str):
        """Every console command answers --help with exit 0 and its usage."""
        proc = fresh_venv.run([str(fresh_venv.bin / command), "--help"])
        assert proc.returncode == 0, proc.stderr
        assert "usage:" in proc.stdout.lower()

    def test_every_module_imports(self, fresh_venv: Installed):
        """Every module of the installed package imports with [all] (no dev-only
        import such as pytest or the Grafana SDK), and none comes from the checkout."""
        code = (
            "import importlib, pkgutil, exporterhub\n"
            "names = [m.name for m in pkgutil.walk_packages("
            "exporterhub.__path__, 'exporterhub.')]\n"
            "for n in names: importlib.import_module(n)\n"
            "print(exporterhub.__file__); print(len(names))\n"
        )
        proc = fresh_venv.run([str(fresh_venv.bin / "python"), "-c", code])
        assert proc.returncode == 0, proc.stderr
        where, count = proc.stdout.split()
        assert Path(where).is_relative_to(fresh_venv.root)
        assert int(count) > 100


EXPORTERS = {
    "phd2": "phd2-exporter",
    "starlink": "starlink-exporter",
    "tapo": "tapo-exporter",
    "chaos": "aaisp-exporter",
    "snp": "snp-exporter",
}


def exporter_argv(rig: sims.Rig, installed: Installed, tmp: Path, port: int):
    """The exporter's command line on ``port`` (loopback), pointed at ``rig``."""
    for name, text in rig.config.items():
        (installed.home / name).write_text(text)
    command = str(installed.bin / EXPORTERS[rig.kind])
    env = dict(rig.env)
    listen = f"127.0.0.1:{port}"
    if rig.kind == "phd2":
        return [command, *rig.flags, "--web.listen-address", listen], env
    if rig.kind == "starlink":
        return [command, "--host", "127.0.0.1", "--port", str(port)], env
    if rig.kind == "tapo":
        return [command, "--prometheus-port", str(port)], env
    if rig.kind == "chaos":
        env |= {"AAISP_EXPORTER_SERVER__HOST": "127.0.0.1",
                "AAISP_EXPORTER_SERVER__PORT": str(port)}  # fmt: skip
        return [command], env
    env |= {"DB_PATH": str(tmp / "connections.db"),
            "SNP_EXPORTER_LISTEN_ADDRESS": listen}  # fmt: skip
    return [command], env


class TestScrapes:
    @pytest.mark.parametrize("kind", sorted(EXPORTERS))
    async def test_exporter_scrapes_its_simulator(
        self, fresh_venv: Installed, tmp_path: Path, processes, kind: str
    ):
        """Each installed exporter reaches its installed simulator (<prefix>_up 1)
        and reports the revision baked in at build."""
        rig = sims.start(kind, fresh_venv, tmp_path)
        assert rig.proc is not None
        assert rig.log is not None
        processes.append(rig.proc)
        port = free_port()
        argv, env = exporter_argv(rig, fresh_venv, tmp_path, port)
        ui = free_port()
        if kind == "snp":
            env["SNP_EXPORTER_UI_LISTEN_ADDRESS"] = f"127.0.0.1:{ui}"
        log = tmp_path / "exporter.log"
        exporter = spawn(fresh_venv, argv, log, **env)
        processes.append(exporter)
        if kind == "snp":
            await sims.import_connections(rig, f"http://127.0.0.1:{ui}")
        scrape = await until_scraped(
            f"http://127.0.0.1:{port}/metrics",
            lambda s: s.value(rig.up_metric) == 1.0,
            [rig.proc, exporter],
            [rig.log, log],
        )
        assert baked_revisions(scrape) == {git_revision()}

    async def test_hub_serve_scrapes_a_simulator(
        self, fresh_venv: Installed, tmp_path: Path, processes
    ):
        """exporterhub serve --config runs the PHD2 exporter against its simulator."""
        rig = sims.start("phd2", fresh_venv, tmp_path)
        assert rig.proc is not None
        assert rig.log is not None
        processes.append(rig.proc)
        port = free_port()
        config = tmp_path / "exporterhub.yaml"
        config.write_text(
            f"web:\n  listen_address: 127.0.0.1:{port}\n"
            "exporters:\n  phd2:\n    targets:\n"
            f"      - {{name: rig, host: 127.0.0.1, port: {rig.flags[-1]}}}\n"
        )
        log = tmp_path / "hub.log"
        hub = spawn(
            fresh_venv,
            [str(fresh_venv.bin / "exporterhub"), "serve", "--config", str(config),
             "--store", str(tmp_path / "hub.db")],
            log,
        )  # fmt: skip
        processes.append(hub)
        scrape = await until_scraped(
            f"http://127.0.0.1:{port}/metrics",
            lambda s: s.value("phd2_up") == 1.0,
            [rig.proc, hub],
            [rig.log, log],
        )
        assert baked_revisions(scrape) == {git_revision()}


class TestImageBuild:
    def test_wheel_built_as_the_image_builds_it_carries_the_build_arg(
        self, tmp_path: Path
    ):
        """The Dockerfile's build stage (its COPYed files, no .git, REVISION build
        arg as EXPORTERHUB_REVISION) bakes the given revision into the wheel."""
        dockerfile = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
        build_stage = dockerfile.split("\nFROM ", 2)[1]
        context = tmp_path / "src"
        context.mkdir()
        for line in build_stage.splitlines():
            if line.startswith("COPY "):
                *sources, dest = line.split()[1:]
                for source in sources:
                    target = (
                        context / dest / source
                        if dest.endswith("/")
                        else context / dest
                    )
                    if (ROOT / source).is_dir():
                        shutil.copytree(ROOT / source, target, dirs_exist_ok=True)
                    else:
                        shutil.copy(ROOT / source, target)
        assert "python -m build --wheel --outdir /dist ." in build_stage
        assert 'EXPORTERHUB_REVISION="${REVISION}"' in build_stage
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        proc = subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--outdir", "../dist", "."],
            cwd=context, capture_output=True, text=True, timeout=240, check=False,
            env={**env, "EXPORTERHUB_REVISION": "feedfacecafe"},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        (wheel,) = (tmp_path / "dist").glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            baked = archive.read("exporterhub/_build.py").decode()
        assert 'REVISION = "feedfacecafe"' in baked
