"""Security of the served hub: TLS, basic auth, cross-site writes, secrets kept secret.

``exporterhub serve`` runs as users run it (a subprocess) with a
``--web.config.file`` in the exporter-toolkit format: TLS from a self-signed
certificate made here, bcrypt basic-auth users, ``protect_metrics``; a listener
other machines can reach without credentials is logged. Then, in process, real
exporters against their simulators are given distinctive secrets through the API,
and no response of any GET route, no scrape, no log line and no default export
shows one.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import bcrypt
import httpx
import pytest
from structlog.testing import capture_logs

from exporterhub.core.app import create_app
from exporterhub.core.frontdoor import FrontDoor
from exporterhub.core.plugin import Target
from exporterhub.core.store import TargetStore
from exporterhub.core.testing import free_port, running_server
from exporterhub.exporters import load_plugins
from exporterhub.hub import build_hub
from exporterhub.simulators.chaos import ChaosSimConfig, ChaosSimulator
from exporterhub.simulators.kasa import PlugSimulator, PlugSpec

from ..core.tls import self_signed
from .spawned import Served, serving

USER = "admin"
PASSWORD = "s3cure-web-pw"
WARNING = "listener_accepts_changes_without_credentials"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "kasa"


def web_config(directory: Path, *, tls: bool) -> Path:
    """Write a web config with one bcrypt user, and TLS when asked."""
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    lines = [
        "basic_auth_users:",
        f"  {USER}: '{hashed}'",
        "http_server_config:",
        "  headers:",
        "    X-Frame-Options: deny",
    ]
    if tls:
        cert, key = self_signed(directory)
        lines += [
            "tls_server_config:",
            f"  cert_file: {cert.name}",
            f"  key_file: {key.name}",
        ]
    path = directory / "web.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def hub_config(directory: Path, web: str = "") -> Path:
    """Write an exporterhub YAML file with the simulated Starlink dish."""
    path = directory / "exporterhub.yaml"
    path.write_text(f"{web}exporters:\n  starlink: {{}}\n", encoding="utf-8")
    return path


def log_events(served: Served) -> list[dict[str, Any]]:
    """Return the process's JSON log lines (other lines are skipped)."""
    events = []
    for line in served.log_text().splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


class TestTlsAndBasicAuth:
    """TLS from the web config; every path but liveness and scrapes needs a user."""

    async def test_https_with_users(self, tmp_path):
        """Over https with the CA: scrapes open, API and UI 401 unless authenticated.

        Every answer carries the web config's extra headers; a reload through the
        API keeps the file's target running untouched.
        """
        web = web_config(tmp_path, tls=True)
        port = free_port()
        url = f"https://127.0.0.1:{port}"
        ca = ssl.create_default_context(cafile=str(tmp_path / "server.crt"))
        args = [
            "--config", str(hub_config(tmp_path)),
            "--store", str(tmp_path / "targets.db"),
            "--web.config.file", str(web),
            "--web.listen-address", f"127.0.0.1:{port}",
        ]  # fmt: skip
        async with (
            serving(args, url, tmp_path / "serve.log", verify=ca) as served,
            httpx.AsyncClient(base_url=url, verify=ca, timeout=5) as anonymous,
            httpx.AsyncClient(
                base_url=url, verify=ca, timeout=5, auth=(USER, PASSWORD)
            ) as admin,
        ):
            metrics = await anonymous.get("/metrics")
            assert metrics.status_code == 200
            assert metrics.headers["x-frame-options"] == "deny"
            assert "starlink_up" in metrics.text
            probe = await anonymous.get("/probe", params={"target": "starlink/dish"})
            assert probe.status_code == 200
            assert "starlink_up" in probe.text
            assert (await anonymous.get("/-/healthy")).status_code == 200

            reloaded = await admin.post("/-/reload")
            assert reloaded.status_code == 200
            assert reloaded.json()["unchanged"] == ["starlink/dish"]

            for path in ("/api/targets", "/api/kinds", "/api/export", "/"):
                refused = await anonymous.get(path)
                assert refused.headers["x-frame-options"] == "deny"
                assert refused.status_code == 401, path
                assert refused.json()["error"] == "unauthorized"
                assert refused.headers["www-authenticate"].startswith("Basic ")
                wrong = await anonymous.get(path, auth=(USER, "nope"))
                assert wrong.status_code == 401, path
                assert (await admin.get(path)).status_code == 200, path

            body = {"kind": "phd2", "name": "rig", "settings": {"port": 4400}}
            cross = await admin.post(
                "/api/targets", json=body, headers={"Origin": "https://evil.example"}
            )
            assert cross.status_code == 403
            assert cross.json()["error"] == "forbidden"
            same = await admin.post("/api/targets", json=body, headers={"Origin": url})
            assert same.status_code == 201, same.text
            gone = await admin.delete(
                "/api/targets/phd2/rig", headers={"Origin": "http://evil.example"}
            )
            assert gone.status_code == 403

            with pytest.raises(httpx.TransportError):
                await anonymous.get(url.replace("https:", "http:") + "/metrics")
            async with httpx.AsyncClient(timeout=5) as untrusting:
                with pytest.raises(httpx.ConnectError):
                    await untrusting.get(f"{url}/-/healthy")
        events = [e["event"] for e in log_events(served)]
        assert "exporter_ready" in events
        assert WARNING not in events

    async def test_protected_metrics(self, tmp_path):
        """With protect_metrics, /metrics and /probe need a user too; no warning."""
        web = web_config(tmp_path, tls=False)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        config = hub_config(tmp_path, "web:\n  protect_metrics: true\n")
        args = [
            "--config", str(config),
            "--store", str(tmp_path / "targets.db"),
            "--web.config.file", str(web),
            "--web.listen-address", f"0.0.0.0:{port}",
        ]  # fmt: skip
        async with (
            serving(args, url, tmp_path / "serve.log") as served,
            httpx.AsyncClient(base_url=url, timeout=5) as http,
        ):
            for path in ("/metrics", "/probe?target=starlink/dish"):
                assert (await http.get(path)).status_code == 401, path
                allowed = await http.get(path, auth=(USER, PASSWORD))
                assert allowed.status_code == 200, path
                assert "starlink_up" in allowed.text
        events = [e["event"] for e in log_events(served)]
        assert "exporter_ready" in events
        assert WARNING not in events


class TestExposedListener:
    """A listener others can reach that accepts changes without users is logged."""

    @pytest.mark.parametrize(
        ("host", "warned"),
        [
            pytest.param("0.0.0.0", True, id="all-interfaces"),
            pytest.param("127.0.0.1", False, id="loopback"),
        ],
    )
    async def test_warning(self, tmp_path, host, warned):
        """Without a web config, 0.0.0.0 logs the warning at start; loopback not."""
        port = free_port()
        args = [
            "--config", str(hub_config(tmp_path)),
            "--store", str(tmp_path / "targets.db"),
            "--web.listen-address", f"{host}:{port}",
        ]  # fmt: skip
        async with serving(
            args, f"http://127.0.0.1:{port}", tmp_path / "serve.log"
        ) as served:
            pass
        events = log_events(served)
        warnings = [e for e in events if e["event"] == WARNING]
        assert "exporter_ready" in [e["event"] for e in events]
        if warned:
            [warning] = warnings
            assert warning["level"] == "warning"
            assert warning["address"] == f"{host}:{port}"
        else:
            assert warnings == []


SECRETS = (
    "Chaos-pw-7d1e9f04",
    "plug-user-4b2c@example.com",
    "Plug-pw-93aa0c51",
    "Wrong-pw-e6b81d27",
)
CHAOS_PASSWORD, PLUG_USER, PLUG_PASSWORD, WRONG_PASSWORD = SECRETS


def leaks(text: str) -> list[str]:
    """Return the distinctive secrets found in ``text``."""
    return [secret for secret in SECRETS if secret in text]


class TestNoSecretAnywhere:
    """Secrets given through the API never come back, in answers, scrapes or logs."""

    async def test_sweep(self, tmp_path, caplog):
        """Every GET route, /metrics, /probe, the logs and the export: no secret."""
        caplog.set_level("DEBUG")
        store = await TargetStore.open(
            str(tmp_path / "targets.db"), key_file=tmp_path / "targets.key"
        )
        kasa = sorted(FIXTURES.glob("P100*.json"))[0]
        good = PlugSpec(
            profile=kasa,
            protocol="klap",
            frozen=True,
            username=PLUG_USER,
            password=PLUG_PASSWORD,
        )
        locked = PlugSpec(profile=kasa, protocol="klap", frozen=True)

        async def load() -> Sequence[Target]:
            return []

        try:
            with capture_logs() as events:
                async with (
                    ChaosSimulator(ChaosSimConfig(port=0)) as chaos,
                    PlugSimulator(good) as plug,
                    PlugSimulator(locked) as other_plug,
                ):
                    state = build_hub(load_plugins(), load, store=store)
                    door = create_app(state)
                    async with (
                        running_server(door) as url,
                        httpx.AsyncClient(base_url=url, timeout=10) as http,
                    ):
                        answers = await self.add_targets(
                            http, chaos.base_url, plug.port, other_plug.port
                        )
                        await self.until_reported(http)
                        answers += await self.every_get(http, door)
            logged = "\n".join(repr(e) for e in events) + caplog.text
        finally:
            await store.close()
        assert [(name, leaks(text)) for name, text in answers if leaks(text)] == []
        assert leaks(logged) == []
        assert "auth" in logged  # the failures the secrets caused were logged

    async def add_targets(
        self, http: httpx.AsyncClient, chaos_url: str, plug: int, locked: int
    ) -> list[tuple[str, str]]:
        """Create a CHAOS login refused by its server and two plugs, one refused."""
        bodies = [
            {
                "kind": "chaos",
                "name": "line",
                "settings": {
                    "control_login": "exmpl@a",
                    "control_password": CHAOS_PASSWORD,
                    "api_url": chaos_url,
                    "min_request_interval": 0.0,
                    "request_timeout": 0.5,
                },
            },
            *(
                {
                    "kind": "tapo",
                    "name": name,
                    "settings": {
                        "device": {
                            "host": "127.0.0.1",
                            "port": port,
                            "connection_type": "klap",
                        },
                        "username": PLUG_USER,
                        "password": password,
                        "timeout": 1,
                    },
                }
                for name, port, password in (
                    ("plug", plug, PLUG_PASSWORD),
                    ("locked", locked, WRONG_PASSWORD),
                )
            ),
        ]
        answers = []
        for body in bodies:
            response = await http.post("/api/targets", json=body)
            assert response.status_code == 201, response.text
            answers.append((f"POST {body['name']}", response.text))
        return answers

    async def until_reported(self, http: httpx.AsyncClient) -> None:
        """Wait (bounded) until the plug is up and both refusals are recorded."""

        def done(targets: list[dict[str, Any]]) -> bool:
            by_name = {t["name"]: t for t in targets}
            return len(by_name) == 3 and (
                by_name["plug"]["up"] is True
                and by_name["locked"]["last_error_kind"] == "auth"
                and by_name["line"]["last_error_kind"] == "auth"
            )

        targets: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(30):
                while not done(targets):
                    targets = (await http.get("/api/targets")).json()
                    await asyncio.sleep(0.1)
        except TimeoutError:
            pytest.fail(f"the targets never reported: {targets}")

    async def every_get(
        self, http: httpx.AsyncClient, door: FrontDoor
    ) -> list[tuple[str, str]]:
        """GET every documented GET route, each target's, and every page linked.

        The OpenAPI document lists the API's routes; the UI's pages (left out
        of it) are found by following the links from ``/``.
        """
        targets = [(t.kind, t.name) for t in door.state.hub.runner.targets]
        todo = {"/", "/metrics", "/openapi.json", "/docs", "/api/export"}
        todo |= {f"/probe?target={kind}/{name}" for kind, name in targets}
        document = (await http.get("/openapi.json")).json()
        for path, operations in document["paths"].items():
            if "get" not in operations:
                continue
            if "{name}" not in path:
                todo.add(path)
                continue
            todo |= {
                path.replace("{name}", quote(name))
                for kind, name in targets
                if path.startswith(f"/api/targets/{kind}/")
            }
        answers: dict[str, str] = {}
        statuses: dict[str, int] = {}
        while todo:
            path = todo.pop()
            response = await http.get(path)
            answers[path], statuses[path] = response.text, response.status_code
            if response.headers["content-type"].startswith("text/html"):
                links = set(re.findall(r'href="(/[^/"][^"]*|/)"', response.text))
                todo |= {html.unescape(link) for link in links} - set(answers)
        assert {
            "/api/targets",
            "/api/sd",
            "/api/kinds",
            "/api/targets/tapo/plug",
        } <= set(answers)
        return sorted(answers.items())
