"""The built distribution, installed as users install it: a fresh venv.

``dist`` builds the sdist and, from it, the wheel with the same command as
``make dist`` (``python -m build``), once per session. ``fresh_venv`` creates a
new virtual environment and installs that wheel with every extra from the
machine's configured package index (as ``pipx install 'exporterhub[all]'``
would), so nothing from this checkout or the test environment is importable
there. ``Installed.env`` is the environment its commands run in: no
PYTHONPATH, no coverage start hook, no exporter variables from the test run,
and only the venv's bin and the system's on PATH.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import Scrape

ROOT = Path(__file__).resolve().parents[2]
# Variables a child must not inherit: they would import this checkout, start
# coverage in a venv without it, or configure the exporters behind our back.
_DROPPED = ("PYTHON", "COVERAGE_", "VIRTUAL_ENV", "AAISP_", "SNP_", "TAPO_", "TP_LINK_")
_ORIGINAL_ENV = {"LOGGING", "INTERVAL", "POLL_INTERVAL", "DB_PATH", "LOG_LEVEL"}


def git_revision() -> str:
    """This checkout's short revision, as hatch_build.py bakes it."""
    out = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607 - PATH lookup
        cwd=ROOT, capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    return out.stdout.strip()


@dataclass(frozen=True)
class Built:
    """The artifacts of one ``python -m build``."""

    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Installed:
    """A fresh venv with the wheel and ``[all]`` installed."""

    root: Path
    home: Path  # a scratch working directory outside the checkout

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.upper().startswith(_DROPPED) and k not in _ORIGINAL_ENV
        }
        env["PATH"] = f"{self.bin}:/usr/local/bin:/usr/bin:/bin"
        env["PYTHONUNBUFFERED"] = "1"
        env["HOME"] = str(self.home)
        return {**env, **extra}

    def run(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - the installed console scripts
            list(args),
            cwd=self.home,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(  # noqa: S603 - the standard build front end
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "EXPORTERHUB_REVISION"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Built(wheel, sdist)


@pytest.fixture(scope="session")
def fresh_venv(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("venv") / "exporterhub"
    home = tmp_path_factory.mktemp("home")
    subprocess.run(  # noqa: S603 - the standard library's venv
        [sys.executable, "-m", "venv", str(root)], check=True, timeout=120
    )
    installed = Installed(root, home)
    pip = subprocess.run(  # noqa: S603 - pip of the new venv
        [str(installed.bin / "python"), "-m", "pip", "install", "--quiet",
         f"{built.wheel}[all]"],
        cwd=home, env=installed.env(), capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert pip.returncode == 0, (
        f"pip install {built.wheel.name}[all] failed (is the package index "
        f"reachable? pip config list shows it):\n{pip.stderr}"
    )
    return installed


def spawn(
    installed: Installed, args: Sequence[str], log: Path, **env: str
) -> subprocess.Popen[bytes]:
    """Start an installed command in the scratch directory, output into ``log``."""
    with log.open("ab") as sink:
        return subprocess.Popen(  # noqa: S603 - the installed console scripts
            list(args),
            cwd=installed.home,
            env=installed.env(**env),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; SIGTERM (then SIGKILL) each at the end."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in reversed(started):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def until_scraped(
    url: str,
    predicate: Callable[[Scrape], bool],
    procs: Sequence[subprocess.Popen[bytes]],
    logs: Sequence[Path],
    within: float = 45.0,
) -> Scrape:
    """Scrape ``url`` until ``predicate`` holds; fail if a process exits first."""
    last = Scrape("")
    async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
        try:
            async with asyncio.timeout(within):
                while all(p.poll() is None for p in procs):
                    try:
                        response = await client.get(url)
                    except httpx.TransportError:
                        pass
                    else:
                        last = Scrape(response.text)
                        if response.status_code == 200 and predicate(last):
                            return last
                    await asyncio.sleep(0.1)
        except TimeoutError:
            pass
    tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
    pytest.fail(f"{url}: condition not met; last scrape:\n{last.text[-2000:]}\n{tails}")
