"""snp-exporter's UI listener in a real browser: SNP connections listed, one added.

``snp-exporter`` and ``snp-simulator`` run as the commands users start (env only,
free loopback ports); the simulator writes its devices as an import file of the
original's format, which goes in through the original's ``/api/import``. The page
at ``/`` of the UI listener is the control plane's UI.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from prometheus_client.parser import text_string_to_metric_families

from exporterhub.core.testing import free_port

from .conftest import shot

BIN = Path(sys.executable).parent
DEVICE_PASSWORD = "Ui-Sim-Secret-38Hd"


@dataclass
class Snp:
    """The running commands and the devices the simulator announced."""

    ui: str
    metrics: str
    devices: list[dict[str, Any]]
    ca_file: Path


def aco_series(text: str) -> set[tuple[str, str]]:
    """Return (target, index) of every ic_snp_aco_abstatus series in a scrape."""
    return {
        (sample.labels["target"], sample.labels["index"])
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "ic_snp_aco_abstatus"
    }


def _spawn(args: list[str], log: Path, **env: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - our own console scripts
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _poll(check: Any, what: str, within: float = 30.0) -> Any:
    """Call ``check`` until it returns something truthy (other processes)."""
    deadline = time.monotonic() + within
    pause = threading.Event()
    while True:
        try:
            found = check()
        except (httpx.TransportError, OSError, ValueError):
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {within} s")
        pause.wait(0.05)


@pytest.fixture(scope="module")
def snp(tmp_path_factory) -> Iterator[Snp]:
    """snp-simulator (two devices, https/wss) and snp-exporter, the devices imported."""
    where = tmp_path_factory.mktemp("snp")
    connections = where / "connections.json"
    simulator = _spawn(
        [
            str(BIN / "snp-simulator"),
            "--devices", "2",
            "--port", "0",
            "--first-status-delay", "0.05",
            "--frozen",
            "--tls",
            "--ca-file", str(where / "snp-ca.pem"),
            "--connections-file", str(connections),
        ],
        where / "simulator.log",
        SNP_SIM_PASSWORD=DEVICE_PASSWORD,
    )  # fmt: skip
    metrics_port, ui_port = free_port(), free_port()
    exporter = _spawn(
        [str(BIN / "snp-exporter")],
        where / "exporter.log",
        DB_PATH=str(where / "connections.db"),
        INTERVAL="1",
        SNP_EXPORTER_LISTEN_ADDRESS=f"127.0.0.1:{metrics_port}",
        SNP_EXPORTER_UI_LISTEN_ADDRESS=f"127.0.0.1:{ui_port}",
    )
    try:
        document = _poll(
            lambda: json.loads(connections.read_text()), "the simulator's devices"
        )
        ui = f"http://127.0.0.1:{ui_port}"
        with httpx.Client(base_url=ui, timeout=10, trust_env=False) as client:
            _poll(lambda: client.get("/-/ready").status_code == 200, "readiness")
            reply = client.post("/api/import", json=document)
            assert reply.json()["imported"] == 2, reply.text
        yield Snp(
            ui,
            f"http://127.0.0.1:{metrics_port}",
            document["connections"],
            where / "snp-ca.pem",
        )
    finally:
        _stop(exporter)
        _stop(simulator)
    assert DEVICE_PASSWORD not in (where / "exporter.log").read_text()


def test_the_page_lists_the_snp_connections_and_marks_legacy_ones(snp, watched):
    """/ shows every imported connection, up, with its legacy TLS badge."""
    page = watched.page
    page.goto(snp.ui + "/")
    section = page.locator('section.kind[data-kind="snp"]')
    expect(section.locator("h2")).to_contain_text("Imagine SNP")
    rows = section.locator("tr.target")
    expect(rows).to_have_count(2)
    for device in snp.devices:
        row = section.locator(f'tr.target[data-name="{device["name"]}"]')
        expect(row.locator('[data-f="pill"]')).to_have_text("Up")
        badge = row.locator(".badge.notice")
        expect(badge).to_have_text("legacy TLS")
        expect(badge).to_have_attribute("title", re.compile("never verified"))
    shot(page, "snp-connections")
    first = section.locator(f'tr.target[data-name="{snp.devices[0]["name"]}"]')
    first.locator('a[data-f="href"]').click()
    expect(page.locator(".banner.notice")).to_contain_text("legacy TLS.")


def test_add_a_connection_with_an_object_row(snp, watched):
    """The form's objects_ids rows (elementIP, objectType, objectId) are subscribed."""
    device = snp.devices[0]
    page = watched.page
    page.goto(snp.ui + "/ui/add/snp")
    page.fill("#f-name", "from-the-form")
    page.fill('[name="settings.restapi"]', device["restapi"])
    page.fill('[name="settings.websocket"]', device["websocket"])
    page.fill('[name="settings.username"]', device["username"])
    page.fill('[name="settings.password"]', DEVICE_PASSWORD)
    # https/wss with a self-signed certificate: verified against its CA file.
    page.fill('[name="settings.ca_file"]', str(snp.ca_file))
    field = page.locator(".field", has=page.locator(".key", has_text="objects_ids"))
    rows = field.locator(".item")
    expect(rows).to_have_count(4)  # the original's subscription by default
    while rows.count() > 1:
        rows.nth(1).get_by_role("button", name="Remove").click()
    field.get_by_role("button", name="Add snp object").click()
    expect(rows).to_have_count(2)
    added = rows.nth(1)
    expect(added).to_contain_text("Snp object 2")
    expect(added.locator('[name$=".elementIP"]')).to_have_value("127.0.0.1")
    added.locator('[name$=".objectType"]').fill("procChannelHD")
    added.locator('[name$=".objectId"]').fill("B-HD-2")
    shot(page, "snp-add-form")
    page.click("#save")
    expect(page).to_have_url(re.compile(r"/ui/targets/snp/from-the-form$"))
    expect(page.locator('[data-f="pill"]')).to_have_text("Up")
    expect(page.locator(".banner.notice")).to_have_count(0)

    with httpx.Client(timeout=10, trust_env=False) as client:
        listing = client.get(snp.ui + "/api/connections").json()
        added_one = next(c for c in listing if c["name"] == "from-the-form")
        assert added_one["objects_ids"] == [
            {"elementIP": "127.0.0.1", "objectType": "ptp"},
            {
                "elementIP": "127.0.0.1",
                "objectType": "procChannelHD",
                "objectId": "B-HD-2",
            },
        ]
        assert added_one["legacy_tls"] is False
        assert added_one["status"] == "connected"
        # The row was subscribed: the channel's change-over state is exported.
        _poll(
            lambda: (
                ("from-the-form", "B-HD-2")
                in aco_series(client.get(snp.metrics + "/metrics").text)
            ),
            "the B-HD-2 series",
        )
    page.goto(snp.ui + "/")
    row = page.locator('tr.target[data-name="from-the-form"]')
    expect(row.locator('[data-f="pill"]')).to_have_text("Up")
    expect(row.locator(".badge.notice")).to_have_count(0)
