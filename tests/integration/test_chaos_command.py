"""``aaisp-exporter`` run as the original's users run it: env names, .env, /health.

The command runs as a subprocess in a scratch working directory, against the
CHAOS simulator on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from exporterhub.core.testing import free_port
from exporterhub.simulators.chaos import ChaosSimConfig, ChaosSimulator

from .spawned import stop


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without AAISP_* and without coverage's start hook.

    Measured by coverage (``patch = ["subprocess"]`` with greenlet concurrency),
    the child's first connection was cancelled inside anyio's task group under
    uvloop (``InvalidStateError`` in ``task_done``) and its worker never polled;
    unmeasured it runs as users run it. The code is measured in-process anyway.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("AAISP_", "COVERAGE_PROCESS_"))
    }
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def command() -> list[str]:
    return [sys.executable, "-m", "exporterhub.exporters.chaos"]


class TestOriginalUsage:
    async def test_dotenv_with_the_original_names_runs_the_exporter(
        self, tmp_path: Path
    ):
        """A .env written for the original (AUTH__, SERVER__, API__BASE_URL) works;
        /health then shows the login's collectors."""
        port = free_port()
        async with ChaosSimulator(ChaosSimConfig(port=0)) as sim:
            (tmp_path / ".env").write_text(
                "AAISP_EXPORTER_AUTH__CONTROL_LOGIN=exmpl@a\n"
                "AAISP_EXPORTER_AUTH__CONTROL_PASSWORD=demo-password\n"
                "AAISP_EXPORTER_SERVER__HOST=127.0.0.1\n"
                f"AAISP_EXPORTER_SERVER__PORT={port}\n"
                f"AAISP_EXPORTER_API__BASE_URL={sim.base_url}\n"
                "AAISP_EXPORTER_LOGGING__LEVEL=DEBUG\n"
                "AAISP_EXPORTER_LOGGING__JSON_FORMAT=true\n"
            )
            log = tmp_path / "log"
            with log.open("wb") as sink:
                proc = subprocess.Popen(  # noqa: S603 - our own module
                    command(),
                    cwd=tmp_path,
                    env=clean_env(),
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                )
            try:
                login = await self.until_quota(proc, port, log)
                async with httpx.AsyncClient(timeout=5) as http:
                    body = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            finally:
                stop(proc)
        assert login["ok"] is True
        assert login["collectors"]["broadband_quota"]["last_error"] is None
        assert 'aaisp_broadband_quota_remaining_bytes{target="exmpl@a"' in body
        text = log.read_text()
        assert "demo-password" not in text
        assert '"event": "chaos_dotenv_read"' in text  # JSON, as JSON_FORMAT asked

    @staticmethod
    async def until_quota(proc: subprocess.Popen[bytes], port: int, log: Path) -> dict:
        """Poll /health (bounded) until the login's quota collector succeeded."""
        url = f"http://127.0.0.1:{port}/health"
        try:
            return await TestOriginalUsage.poll_health(proc, url)
        except TimeoutError:
            pytest.fail(f"no quota in /health within 30 s; log:\n{log.read_text()}")

    @staticmethod
    async def poll_health(proc: subprocess.Popen[bytes], url: str) -> dict:
        async with httpx.AsyncClient(timeout=2) as http, asyncio.timeout(30):
            while proc.poll() is None:
                with contextlib.suppress(httpx.TransportError):
                    answer = (await http.get(url)).json()
                    login = answer.get("chaos", {}).get("logins", {}).get("exmpl@a")
                    quota = (login or {}).get("collectors", {}).get("broadband_quota")
                    if quota and quota["last_success"] is not None:
                        assert answer["status"] == "healthy"  # the original's word
                        return login
                await asyncio.sleep(0.1)
        pytest.fail(f"aaisp-exporter exited ({proc.returncode})")

    @pytest.mark.parametrize(
        "name",
        [
            pytest.param("AAISP_EXPORTER_SERVER__PORT", id="canonical"),
            pytest.param("aaisp_exporter_server__port", id="lower-case"),
        ],
    )
    def test_bad_port_names_the_variable(self, tmp_path: Path, name: str):
        """A bad port stops the command with a message naming the variable set."""
        result = subprocess.run(  # noqa: S603 - our own module
            command(),
            cwd=tmp_path,
            env=clean_env(
                AAISP_EXPORTER_CONTROL_LOGIN="a@a",
                AAISP_EXPORTER_CONTROL_PASSWORD="pw",
                **{name: "abc"},
            ),
            capture_output=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 2  # a configuration error
        assert f"{name}: Input should be a valid integer" in result.stderr.decode()
