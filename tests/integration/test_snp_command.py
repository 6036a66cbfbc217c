"""``snp-exporter`` as its users run it: a real process configured by env only.

The command runs as a subprocess on free loopback ports (``SNP_EXPORTER_LISTEN_
ADDRESS`` for metrics, ``SNP_EXPORTER_UI_LISTEN_ADDRESS`` for the UI), its store
at ``DB_PATH`` in a temporary directory; the SNPs are the project's simulator in
this process. Its log (at ``LOGGING=DEBUG``) is kept in a file and searched for
passwords at the end.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest
from pydantic import SecretStr

from exporterhub.core.store import TargetStore
from exporterhub.core.testing import free_port
from exporterhub.simulators.snp import SnpFleet
from tests.exporters.snp.original_db import file_bytes, write_original

from ..core.tls import self_signed
from .conftest import Scrape
from .snp_hub import quiet_fleet

pytestmark = pytest.mark.timeout(90)

BIN = Path(sys.executable).parent
SECRETS = ("Cmd-One-Secret-Kq3", "Cmd-Two-Secret-Lp8", "Cmd-Gone-Secret-Zt1")
USER, USER_PASSWORD = "ops", "Web-Ops-Pass-51"
OBJECTS = [
    {"elementIP": "127.0.0.1", "objectType": "ptp"},
    {"elementIP": "127.0.0.1", "objectType": "system"},
]
ORIGINAL_ENV = ("LOGGING", "INTERVAL", "POLL_INTERVAL", "DB_PATH")


@pytest.fixture
async def fleet() -> AsyncIterator[SnpFleet]:
    async with quiet_fleet({"SNP-1": SECRETS[0], "SNP-2": SECRETS[1]}) as running:
        yield running


def record(fleet: SnpFleet, index: int, **changes: Any) -> dict[str, Any]:
    return {**fleet.devices[index].connection(OBJECTS), **changes}


@dataclass
class Running:
    """A running snp-exporter: its URLs, its log and its process."""

    proc: subprocess.Popen[bytes]
    metrics: str
    ui: str
    log: Path
    db: Path
    verify: ssl.SSLContext | bool = True

    async def until(
        self,
        url: str,
        predicate: Callable[[httpx.Response], bool],
        *,
        within: float = 20.0,
    ) -> httpx.Response:
        """GET ``url`` until ``predicate`` holds (another process: poll)."""
        last: httpx.Response | None = None
        async with httpx.AsyncClient(
            timeout=5, trust_env=False, verify=self.verify
        ) as client:
            try:
                async with asyncio.timeout(within):
                    while True:
                        try:
                            last = await client.get(url)
                            if predicate(last):
                                return last
                        except httpx.TransportError:
                            if self.proc.poll() is not None:
                                pytest.fail(
                                    f"exited {self.proc.returncode}: {self.text()}"
                                )
                        await asyncio.sleep(0.05)
            except TimeoutError:
                body = last.text if last is not None else "(no answer)"
                pytest.fail(f"{url}: not within {within}s; last: {body}\n{self.text()}")

    async def scrape(self) -> Scrape:
        async with httpx.AsyncClient(
            timeout=5, trust_env=False, verify=self.verify
        ) as client:
            return Scrape((await client.get(f"{self.metrics}/metrics")).text)

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def started(
    tmp_path: Path,
    *,
    scheme: str = "http",
    verify: ssl.SSLContext | bool = True,
    **env: str,
) -> Iterator[Running]:
    """Start snp-exporter with only environment variables; SIGTERM it at the end."""
    metrics_port, ui_port = free_port(), free_port()
    db = Path(env.get("DB_PATH", str(tmp_path / "connections.db")))
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ORIGINAL_ENV and not k.startswith("SNP_EXPORTER_")
    }
    log = tmp_path / "snp-exporter.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own console script
            [str(BIN / "snp-exporter")],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={
                **clean,
                "PYTHONUNBUFFERED": "1",
                "DB_PATH": str(db),
                "LOGGING": "DEBUG",
                "INTERVAL": "1",
                "POLL_INTERVAL": "1",
                "SNP_EXPORTER_LISTEN_ADDRESS": f"127.0.0.1:{metrics_port}",
                "SNP_EXPORTER_UI_LISTEN_ADDRESS": f"127.0.0.1:{ui_port}",
                **env,
            },
        )
        running = Running(
            proc,
            f"{scheme}://127.0.0.1:{metrics_port}",
            f"{scheme}://127.0.0.1:{ui_port}",
            log,
            db,
            verify,
        )
        try:
            yield running
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                pytest.fail("snp-exporter ignored SIGTERM")


@asynccontextmanager
async def ready(
    tmp_path: Path,
    *,
    scheme: str = "http",
    verify: ssl.SSLContext | bool = True,
    **env: str,
) -> AsyncIterator[Running]:
    with started(tmp_path, scheme=scheme, verify=verify, **env) as running:
        await running.until(
            f"{running.metrics}/-/ready", lambda r: r.status_code == 200
        )
        yield running


class TestMigratedDatabase:
    async def test_the_originals_database_runs_with_its_ids_on_both_ports(
        self, fleet, tmp_path
    ):
        """Migrated at start: same ids, status words, ic_snp_up, reload, no secrets."""
        db = tmp_path / "connections.db"
        ids = write_original(
            db,
            [
                record(fleet, 0),
                record(fleet, 1),
                record(
                    fleet,
                    0,
                    name="SNP-GONE",
                    password=SECRETS[2],
                    restapi="http://127.0.0.1:9/api/auth",
                    websocket="ws://127.0.0.1:9/smm",
                ),
            ],
        )
        async with ready(tmp_path) as snp:
            listing = (
                await snp.until(
                    f"{snp.ui}/api/connections",
                    lambda r: (
                        [c["status"] for c in r.json()][:2]
                        == ["connected", "connected"]
                    ),
                )
            ).json()
            assert {c["name"]: c["id"] for c in listing} == ids
            assert all(c["legacy_tls"] and c["password"] is None for c in listing)
            assert listing[2]["status"] in ("connecting", "disconnected")

            scrape = await snp.scrape()
            assert {
                s.labels["target"]: s.value for s in scrape.series("ic_snp_up")
            } == {
                "SNP-1": 1.0,
                "SNP-2": 1.0,
                "SNP-GONE": 0.0,
            }
            names = {s.name for s in scrape.samples()}
            assert not any(n.startswith(("process_", "python_gc_")) for n in names)
            assert "python_info" not in names

            async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
                for method in ("GET", "POST"):
                    reply = await client.request(method, f"{snp.metrics}/-/reload")
                    assert reply.status_code == 200, reply.text
                    assert sorted(reply.json()["unchanged"]) == [
                        "snp/SNP-1",
                        "snp/SNP-2",
                        "snp/SNP-GONE",
                    ]
                gone = ids["SNP-GONE"]
                deleted = await client.delete(f"{snp.ui}/api/connections/{gone}")
                assert deleted.json() == {"message": "Connection deleted"}
                page = await client.get(f"{snp.ui}/")
                assert page.status_code == 200
                assert "SNP-1" in page.text
                # migrated, but on ws:// there is no certificate: no badge
                assert "legacy TLS" not in page.text
                exported = await client.get(f"{snp.ui}/api/export")

            after = await snp.scrape()
            assert "SNP-GONE" not in after.text
            texts = [scrape.text, after.text, exported.text, page.text]
            backup = db.with_name("connections.db.original")
            assert backup.exists()
            stored = file_bytes(db)
        for secret in SECRETS:
            assert not any(secret in text for text in texts)
            assert secret.encode() not in stored
            assert secret not in snp.text()
        assert '"snp_database_migrated"' in snp.text()
        assert snp.proc.returncode in (0, -signal.SIGTERM, 128 + signal.SIGTERM)

    async def test_another_process_change_applies_within_poll_interval(
        self, fleet, tmp_path
    ):
        """A connection another process stores starts at the next POLL_INTERVAL."""
        async with ready(tmp_path) as snp:
            store = await TargetStore.open(
                str(snp.db), key_file=snp.db.with_name("connections.db.key")
            )
            try:
                settings = {k: v for k, v in record(fleet, 1).items() if k != "name"}
                settings["password"] = SecretStr(settings["password"])
                del settings["enabled"]
                await store.create("snp", "from-elsewhere", settings)
            finally:
                await store.close()
            await snp.until(
                f"{snp.metrics}/metrics",
                lambda r: (
                    Scrape(r.text).value("ic_snp_up", target="from-elsewhere") == 1.0
                ),
                within=15,
            )


class TestWebConfig:
    async def test_basic_auth_guards_the_ui_and_reveals_passwords_when_asked(
        self, fleet, tmp_path
    ):
        """With users: 401 without credentials; passwords exported only when asked."""
        hashed = bcrypt.hashpw(USER_PASSWORD.encode(), bcrypt.gensalt(rounds=4))
        web = tmp_path / "web.yml"
        web.write_text(f"basic_auth_users:\n  {USER}: {hashed.decode()}\n")
        auth = (USER, USER_PASSWORD)
        async with (
            ready(tmp_path, SNP_EXPORTER_WEB_CONFIG_FILE=str(web)) as snp,
            httpx.AsyncClient(timeout=5, trust_env=False) as client,
        ):
            anonymous = await client.get(f"{snp.ui}/api/connections")
            assert anonymous.status_code == 401
            added = await client.post(
                f"{snp.ui}/api/connections", json=record(fleet, 0), auth=auth
            )
            assert added.status_code == 200, added.text
            plain = await client.get(f"{snp.ui}/api/export", auth=auth)
            assert "password" not in plain.json()["connections"][0]
            asked = await client.get(
                f"{snp.ui}/api/export?include_secrets=true", auth=auth
            )
            assert asked.json()["connections"][0]["password"] == SECRETS[0]
            assert (
                await client.get(f"{snp.ui}/api/export?include_secrets=true")
            ).status_code == 401
            # The metrics listener: scrapes open, reloads need the credentials.
            assert (await client.get(f"{snp.metrics}/metrics")).status_code == 200
            assert (await client.get(f"{snp.metrics}/-/reload")).status_code == 401
            reload = await client.post(f"{snp.metrics}/-/reload", auth=auth)
            assert reload.status_code == 200
        assert SECRETS[0] not in snp.text()

    async def test_tls_on_both_listeners(self, tmp_path):
        """tls_server_config serves both ports over https; plain http is refused."""
        cert, key = self_signed(tmp_path)
        web = tmp_path / "web.yml"
        web.write_text(f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n")
        trusted = ssl.create_default_context(cafile=str(cert))
        async with (
            ready(
                tmp_path,
                scheme="https",
                verify=trusted,
                SNP_EXPORTER_WEB_CONFIG_FILE=str(web),
            ) as snp,
            httpx.AsyncClient(timeout=5, trust_env=False, verify=trusted) as client,
        ):
            listing = await client.get(f"{snp.ui}/api/connections")
            assert (listing.status_code, listing.json()) == (200, [])
            scrape = await client.get(f"{snp.metrics}/metrics")
            assert "exporterhub_build_info" in scrape.text
            plain = snp.ui.replace("https://", "http://")
            with pytest.raises(httpx.HTTPError):
                await client.get(f"{plain}/api/connections")


class TestRefusals:
    def test_a_foreign_file_at_db_path_exits_2_in_one_line(self, tmp_path):
        """DB_PATH holding something else: exit 2, one line, the file untouched."""
        db = tmp_path / "connections.db"
        db.write_bytes(b"hello, not a database" * 100)
        proc = subprocess.run(  # noqa: S603 - our own console script
            [str(BIN / "snp-exporter")],
            capture_output=True,
            timeout=60,
            check=False,
            env={**os.environ, "DB_PATH": str(db), "LOGGING": "ERROR"},
        )
        assert proc.returncode == 2
        err = proc.stderr.decode().strip().splitlines()
        assert len(err) == 1
        assert err[0].startswith(f"snp-exporter: DB_PATH {db}")
        assert db.read_bytes() == b"hello, not a database" * 100

    def test_a_busy_port_exits_2(self, tmp_path):
        """A taken UI port: exit 2 naming the address."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            proc = subprocess.run(  # noqa: S603 - our own console script
                [
                    str(BIN / "snp-exporter"),
                    "--ui.listen-address", f"127.0.0.1:{port}",
                    "--web.listen-address", f"127.0.0.1:{free_port()}",
                ],
                capture_output=True,
                timeout=60,
                check=False,
                env={**os.environ, "DB_PATH": str(tmp_path / "c"), "LOGGING": "ERROR"},
            )  # fmt: skip
        assert proc.returncode == 2
        assert f"127.0.0.1:{port}" in proc.stderr.decode()
