"""Tests for the CHAOS simulator: fixture shapes, request forms, errors, faults, CLI."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog.testing

from exporterhub.core.errors import ConfigError
from exporterhub.core.testing import free_port, wait_until
from exporterhub.simulators.chaos import (
    ChaosFaults,
    ChaosSimConfig,
    ChaosSimulator,
    build_parser,
    config_from_args,
    main,
    serve,
)
from exporterhub.simulators.chaos.accounts import load_data
from exporterhub.simulators.chaos.model import AUTH_FAILED, BAD_LOGIN, ChaosModel
from exporterhub.simulators.chaos.wire import parse_attributes, to_xml

TIMEOUT = 10.0
SRC = Path(__file__).resolve().parents[3] / "src"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "chaos"
CREDS = {"control_login": "exmpl@a", "control_password": "demo-password"}
SECOND = {"control_login": "second@a", "control_password": "second-password"}
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())


def fixture(name: str) -> dict[str, Any]:
    """Load a JSON fixture."""
    return json.loads((FIXTURES / name).read_text())


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop the per-request ``uuid``/``seq`` and ``state`` parts."""
    out = dict(doc)
    out.pop("state", None)
    out["request"] = {
        k: v for k, v in out["request"].items() if k not in {"uuid", "seq"}
    }
    return out


@pytest.fixture
async def sim() -> AsyncIterator[ChaosSimulator]:
    async with ChaosSimulator(ChaosSimConfig(seed=7)) as simulator:
        yield simulator


@pytest.fixture
async def client(sim: ChaosSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=TIMEOUT) as c:
        yield c


# Manifest entries the default data reproduces for exmpl@a with the shown request.
REPRODUCED = [
    ("broadband_services.json", "/broadband/services", {}),
    ("broadband_info_all.json", "/broadband/info", {}),
    ("broadband_info_fttp.json", "/broadband/info", {"service": "40211"}),
    ("broadband_info_vdsl.json", "/broadband/info", {"service": "40212"}),
    ("broadband_info_l2tp.json", "/broadband/info", {"service": "40213"}),
    ("broadband_quota_all.json", "/broadband/quota", {}),
    ("broadband_quota_vdsl.json", "/broadband/quota", {"service": "40212"}),
    ("broadband_usage_placeholder.json", "/broadband/usage", {"service": "40212"}),
    ("error_unknown_service.json", "/broadband/info", {"service": "99999"}),
    ("error_unknown_command.json", "/domain/services", {}),
    ("telephony_ratecard.json", "/telephony/ratecard", {}),
    ("login_services.json", "/login/services", {}),
    ("login_info.json", "/login/info", {"service": "exmpl@a"}),
]


class TestFixtureShapes:
    def test_manifest_paths_are_covered(self):
        """Every manifest JSON fixture with a concrete path is compared below."""
        covered = {name for name, _, _ in REPRODUCED} | {
            "telephony_services.json",
            "error_auth_failed.json",
            "error_bad_login.json",
            "error_rate_limited.json",
        }
        json_files = {
            f["file"] for f in MANIFEST["fixtures"] if f["file"].endswith(".json")
        }
        assert json_files <= covered

    @pytest.mark.parametrize(
        ("name", "path", "extra"),
        [pytest.param(*case, id=case[0]) for case in REPRODUCED],
    )
    async def test_answer_equals_fixture(self, client, name, path, extra):
        """The simulator's JSON answer equals the fixture apart from uuid/seq/state."""
        r = await client.post(f"{path}/json", data={**CREDS, **extra})
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert comparable(r.json()) == comparable(fixture(name))

    async def test_slashes_escaped(self, client):
        """Forward slashes in strings go out as ``\\/`` like CHAOS."""
        r = await client.post("/broadband/info/json", data=CREDS)
        assert '"Installation\\/set-up"' in r.text
        assert "Installation/set-up" not in r.text

    async def test_uuid_matches_state(self, client):
        """The request echo carries the same uuid and seq as ``state``."""
        doc = (await client.post("/broadband/quota/json", data=CREDS)).json()
        assert doc["request"]["uuid"] == doc["state"]["uuid"]
        assert re.fullmatch(r"[0-9a-f-]{36}", doc["state"]["uuid"])

    async def test_telephony_services_with_numbers(self, client):
        """A login with numbers answers the telephony_services fixture's shape."""
        r = await client.post("/telephony/services/json", data=SECOND)
        expected = comparable(fixture("telephony_services.json"))
        expected["request"]["control_login"] = "second@a"
        expected["options"][0]["option"][0]["value"] = "second@a"
        assert comparable(r.json()) == expected

    async def test_telephony_services_without_numbers(self, client):
        """A login without numbers gets HTTP 500 with the fixture's HTML body."""
        r = await client.post("/telephony/services/json", data=CREDS)
        assert r.status_code == 500
        assert r.headers["content-type"] == "text/html"
        body = (FIXTURES / "http_500_telephony_services.html").read_text()
        assert r.text.strip() == body.strip()

    async def test_xml_quota(self, client):
        """The XML quota answer matches the XML fixture, hyphenated attributes."""
        r = await client.post("/broadband/quota/xml", data=CREDS)
        assert r.headers["content-type"] == "text/xml"

        def shape(text: str) -> list[tuple[str, dict[str, str]]]:
            root = ET.fromstring(text)  # noqa: S314 - our own test data
            return [
                (
                    el.tag,
                    {k: v for k, v in el.attrib.items() if k not in {"uuid", "seq"}},
                )
                for el in root
            ]

        fixture_xml = (FIXTURES / "broadband_quota.xml").read_text()
        assert shape(r.text) == shape(fixture_xml)

    def test_xml_text_and_error_elements(self):
        """Plain-string payload items and errors become text elements."""
        text = to_xml({"services": ["a<b"], "error": "Unknown command"}).decode()
        assert "<services>a&lt;b</services>" in text
        assert "<error>Unknown command</error>" in text


class TestRequestForms:
    async def test_forms_agree(self, sim, client):
        """Form POST, JSON POST, GET query and Basic auth give the same payload."""
        attrs = {**CREDS, "service": "40212"}
        answers = [
            await client.post("/broadband/info/json", data=attrs),
            await client.post("/broadband/info/json", json=attrs),
            await client.get("/broadband/info/json", params=attrs),
            await client.post(
                "/broadband/info",
                data={"service": "40212"},
                auth=("exmpl@a", "demo-password"),
            ),
        ]
        infos = [a.json()["info"] for a in answers]
        assert infos[0] == fixture("broadband_info_vdsl.json")["info"]
        assert all(info == infos[0] for info in infos)
        assert [r.method for r in sim.requests] == ["POST", "POST", "GET", "POST"]

    @pytest.mark.parametrize(
        "names",
        [
            pytest.param(("Control-Login", "CONTROL_PASSWORD", "Service"), id="mixed"),
            pytest.param(("control-login", "control-password", "service"), id="hyphen"),
        ],
    )
    async def test_attribute_names_fold(self, client, names):
        """Attribute names are case-insensitive and ``-`` equals ``_``."""
        values = ("exmpl@a", "demo-password", "40213")
        r = await client.post(
            "/broadband/quota/json", data=dict(zip(names, values, strict=True))
        )
        assert [q["ID"] for q in r.json()["quota"]] == ["40213"]

    @pytest.mark.parametrize("alias", ["01632960012", "bbeu00040212", "0163 296 0012"])
    async def test_service_alias(self, client, alias):
        """A phone number or circuit ID selects the line, answered by its ID."""
        r = await client.post("/broadband/info/json", data={**CREDS, "service": alias})
        assert [i["ID"] for i in r.json()["info"]] == ["40212"]

    async def test_json_body_numbers_and_nested(self, client):
        """JSON numbers become strings and nested values are ignored."""
        body = {**CREDS, "service": 40211, "extra": {"x": 1}}
        doc = (await client.post("/broadband/info/json", json=body)).json()
        assert [i["ID"] for i in doc["info"]] == ["40211"]
        assert "extra" not in doc["request"]

    def test_bad_basic_and_json(self):
        """Undecodable Basic auth and JSON are ignored, not fatal."""
        headers = {"authorization": "Basic !!!", "content-type": "application/json"}
        assert parse_attributes(headers, "service=1", b"{not json") == {"service": "1"}

    async def test_no_suffix_is_json(self, client):
        """A request without a suffix is answered in JSON."""
        r = await client.get("/login/services", params=CREDS)
        assert r.json()["services"] == ["exmpl@a"]

    async def test_bad_path_404(self, sim, client):
        """A path without subsystem and command is 404 and logged."""
        r = await client.get("/broadband")
        assert r.status_code == 404
        assert sim.requests[-1].status == 404

    async def test_bad_request_400(self, sim):
        """A garbled request line gets HTTP 400 and the connection closes."""
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.write(b"NONSENSE\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), TIMEOUT)
        writer.close()
        assert data.startswith(b"HTTP/1.1 400 ")

    @pytest.mark.parametrize(
        "head",
        [
            pytest.param(b"Transfer-Encoding: chunked\r\n", id="chunked"),
            pytest.param(b"Content-Length: x\r\n", id="length-nan"),
            pytest.param(b"Content-Length: 99999999\r\n", id="length-huge"),
        ],
    )
    async def test_bad_body_400(self, sim, head):
        """Unsupported or bad body framing gets HTTP 400."""
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.write(b"POST /login/services HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n")
        data = await asyncio.wait_for(reader.read(), TIMEOUT)
        writer.close()
        assert data.startswith(b"HTTP/1.1 400 ")

    async def test_truncated_head_closes(self, sim):
        """A client that leaves mid-head gets a 400 or nothing, never a crash."""
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.write(b"GET /login/services HTTP/1.1\r\n")
        writer.write_eof()
        data = await asyncio.wait_for(reader.read(), TIMEOUT)
        writer.close()
        assert data.startswith(b"HTTP/1.1 400 ")
        async with httpx.AsyncClient(base_url=sim.base_url) as c:
            assert (await c.get("/login/services", params=CREDS)).status_code == 200

    async def test_keep_alive(self, sim, client):
        """Several requests share one keep-alive connection."""
        for _ in range(3):
            r = await client.post("/broadband/quota/json", data=CREDS)
            assert r.headers["connection"] == "keep-alive"
        assert len(sim.requests) == 3


class TestErrors:
    async def test_auth_failed(self, client):
        """A wrong password is HTTP 200 with the auth_failed fixture's shape."""
        bad = {**CREDS, "control_password": "wrong"}
        r = await client.post("/broadband/info/json", data=bad)
        assert r.status_code == 200
        assert comparable(r.json()) == comparable(fixture("error_auth_failed.json"))

    async def test_bad_login(self, client):
        """A login without an @ part is "Bad control-login" like the fixture."""
        bad = {"control_login": "exmpl", "control_password": "demo-password"}
        r = await client.post("/broadband/quota/json", data=bad)
        assert comparable(r.json()) == comparable(fixture("error_bad_login.json"))

    @pytest.mark.parametrize(
        ("attrs", "error"),
        [
            pytest.param({}, BAD_LOGIN, id="none"),
            pytest.param({"control_login": "nobody@a"}, AUTH_FAILED, id="unknown"),
            pytest.param(
                {"control_login": "exmpl@a.1", "control_password": "demo-password"},
                AUTH_FAILED,
                id="per-line-login",
            ),
        ],
    )
    async def test_other_auth_failures(self, client, attrs, error):
        """Missing, unknown and per-line logins fail authorisation."""
        r = await client.post("/broadband/services/json", data=attrs)
        assert r.json()["error"] == error

    async def test_basic_auth_wrong(self, client):
        """Wrong Basic credentials fail like wrong form credentials."""
        r = await client.get("/broadband/info/json", auth=("exmpl@a", "nope"))
        assert r.json()["error"] == AUTH_FAILED

    async def test_unknown_service_quota(self, client):
        """An inaccessible service on quota errors on the Service option."""
        attrs = {**CREDS, "service": "40301"}  # second@a's line
        doc = (await client.post("/broadband/quota/json", data=attrs)).json()
        assert doc["error"] == "Unknown service"
        assert doc["options"][1]["option"][0]["error"] == "Unknown service"
        assert "quota" not in doc

    async def test_unknown_service_usage(self, client):
        """Usage for an unknown service errors instead of answering an empty list."""
        attrs = {**CREDS, "service": "1"}
        doc = (await client.post("/broadband/usage/json", data=attrs)).json()
        assert doc["error"] == "Unknown service"

    async def test_login_info_other_login(self, client):
        """login/info for another login errors on the service option."""
        attrs = {**CREDS, "service": "second@a"}
        doc = (await client.post("/login/info/json", data=attrs)).json()
        assert doc["error"] == "Unknown service"
        assert doc["options"][1]["option"][0]["value"] == "second@a"

    @pytest.mark.parametrize("path", ["/email/info", "/sim/services", "/login/kill"])
    async def test_unknown_command(self, client, path):
        """Subsystems without commands answer "Unknown command"."""
        doc = (await client.post(f"{path}/json", data=CREDS)).json()
        assert doc["error"] == "Unknown command"

    async def test_kill_logged(self, sim, client):
        """broadband/kill is answered, logged at WARNING and kept in the log."""
        with structlog.testing.capture_logs() as logs:
            r = await client.post(
                "/broadband/kill/json", data={**CREDS, "service": "40212"}
            )
        assert r.json()["kill"] == [{"ID": "40212"}]
        assert [e["log_level"] for e in logs if "kill" in e["event"]] == ["warning"]
        assert any(r.command == "kill" for r in sim.requests)


class TestRequestLog:
    async def test_contents_without_password(self, sim, client):
        """The log keeps method, path, attributes and status but no password."""
        await client.post("/broadband/info/json", data={**CREDS, "service": "40211"})
        await client.get("/broadband/quota", auth=("exmpl@a", "demo-password"))
        first, second = sim.requests
        assert (first.method, first.path, first.subsystem, first.command) == (
            "POST",
            "/broadband/info/json",
            "broadband",
            "info",
        )
        assert first.attributes == {"control_login": "exmpl@a", "service": "40211"}
        assert (first.status, first.fault) == (200, None)
        assert second.attributes == {"control_login": "exmpl@a"}
        assert "demo-password" not in repr(sim.requests)


class TestFaults:
    async def test_drop(self, sim, client):
        """drop_every closes the connection without an answer."""
        sim.faults.drop_every = 2
        assert (await client.post("/broadband/quota/json", data=CREDS)).is_success
        with pytest.raises(httpx.TransportError):
            await client.post("/broadband/quota/json", data=CREDS)
        assert sim.requests[-1].fault == "drop"
        assert sim.requests[-1].status is None

    async def test_hang(self, sim):
        """hang never answers, so the client times out."""
        sim.faults.hang = True
        async with httpx.AsyncClient(base_url=sim.base_url, timeout=0.3) as c:
            with pytest.raises(httpx.ReadTimeout):
                await c.post("/broadband/info/json", data=CREDS)
        assert sim.requests[-1].fault == "hang"

    async def test_timeout_every_and_stop(self):
        """timeout_every hangs one request until the simulator stops."""
        config = ChaosSimConfig(faults=ChaosFaults(timeout_every=1))
        async with ChaosSimulator(config) as simulator, httpx.AsyncClient() as c:
            url = f"{simulator.base_url}/login/services"
            task = asyncio.create_task(c.get(url, params=CREDS))
            await wait_until(lambda: len(simulator.requests) == 1)
            await simulator.stop()
            with pytest.raises(httpx.TransportError):
                await task

    @pytest.mark.parametrize("code", [502, 503])
    async def test_5xx(self, sim, client, code):
        """status_5xx_every answers with the chosen 5xx and a short HTML body."""
        sim.faults.status_5xx_every = 1
        sim.faults.status_5xx = code
        r = await client.post("/broadband/info/json", data=CREDS)
        assert r.status_code == code
        assert r.text.startswith("<html>")

    async def test_429(self, sim, client):
        """rate_limit_429_every answers 429 with Retry-After."""
        sim.faults.rate_limit_429_every = 1
        sim.faults.retry_after = 17
        r = await client.post("/broadband/quota/json", data=CREDS)
        assert r.status_code == 429
        assert r.headers["retry-after"] == "17"
        assert r.text == (FIXTURES / "http_429_rate_limited.txt").read_text()

    async def test_429_without_retry_after(self, sim, client):
        """retry_after None sends no Retry-After header."""
        sim.faults.rate_limit_429_every = 1
        sim.faults.retry_after = None
        r = await client.post("/broadband/quota/json", data=CREDS)
        assert r.status_code == 429
        assert "retry-after" not in r.headers

    async def test_rate_limit_200(self, sim, client):
        """rate_limit_200_every answers like the error_rate_limited fixture."""
        sim.faults.rate_limit_200_every = 1
        r = await client.post("/broadband/quota/json", data=CREDS)
        assert r.status_code == 200
        assert comparable(r.json()) == comparable(fixture("error_rate_limited.json"))

    async def test_malformed(self, sim, client):
        """malformed_every truncates the JSON body."""
        sim.faults.malformed_every = 1
        r = await client.post("/broadband/info/json", data=CREDS)
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.text)
        assert sim.requests[-1].fault == "malformed"

    async def test_missing_fields(self, sim, client):
        """missing_fields drops rate and quota fields from every other line."""
        sim.faults.missing_fields = True
        info = (await client.post("/broadband/info/json", data=CREDS)).json()["info"]
        assert set(info[0]) == {"ID", "login", "postcode"}
        assert "tx_rate" in info[1]
        assert set(info[2]) == {"ID", "login", "postcode"}

    async def test_latency(self, sim, client):
        """latency delays the answer by at least that many seconds."""
        sim.faults.latency = 0.2
        loop = asyncio.get_running_loop()
        start = loop.time()
        await client.post("/broadband/quota/json", data=CREDS)
        assert loop.time() - start >= 0.2

    async def test_scope(self, sim, client):
        """Faults scoped to one path never touch another command."""
        sim.faults.status_5xx_every = 1
        sim.faults.paths = frozenset({"/broadband/quota"})
        assert (
            await client.post("/broadband/info/json", data=CREDS)
        ).status_code == 200
        r = await client.post("/broadband/quota/json", data=CREDS)
        assert r.status_code == 503

    async def test_quota_tick(self, sim, client):
        """quota_tick moves quota_timestamp on by 3600 s and uses quota."""
        before = (await client.post("/broadband/quota/json", data=CREDS)).json()
        sim.quota_tick()
        after = (await client.post("/broadband/quota/json", data=CREDS)).json()
        assert [q["quota_timestamp"] for q in after["quota"]] == [
            "2025-03-10 15:00:00"
        ] * 3
        old = {q["ID"]: int(q["quota_remaining"]) for q in before["quota"]}
        new = {q["ID"]: int(q["quota_remaining"]) for q in after["quota"]}
        assert new["40211"] == old["40211"] == 0
        assert new["40212"] < old["40212"]
        assert new["40213"] < old["40213"]


class TestData:
    async def test_lines_generator(self):
        """lines=50 gives the first login 50 lines with unique IDs."""
        config = ChaosSimConfig(lines=50, seed=1)
        async with ChaosSimulator(config) as simulator, httpx.AsyncClient() as c:
            url = simulator.base_url
            doc = (await c.post(f"{url}/broadband/info/json", data=CREDS)).json()
            ids = (await c.post(f"{url}/broadband/services/json", data=CREDS)).json()
        assert len(doc["info"]) == 50
        assert len({i["ID"] for i in doc["info"]}) == 50
        assert doc["info"][0] == fixture("broadband_info_fttp.json")["info"][0]
        assert ids["services"] == [i["ID"] for i in doc["info"]]

    def test_lines_cut(self):
        """A smaller line count cuts the first login's lines."""
        simulator = ChaosSimulator(ChaosSimConfig(lines=1))
        assert [x["ID"] for x in simulator.model.data.logins[0].lines] == ["40211"]

    def test_negative_lines(self):
        """A negative line count is rejected."""
        with pytest.raises(ValueError, match="lines"):
            ChaosSimulator(ChaosSimConfig(lines=-1))

    def test_yaml_data_file(self, tmp_path):
        """A YAML data file with a new field is answered verbatim."""
        path = tmp_path / "chaos.yaml"
        path.write_text(
            "logins:\n- login: y@a\n  password: pw\n  lines:\n"
            "  - {ID: 7, login: y@a.1, colour: blue}\n"
        )
        model = ChaosModel(load_data(path))
        answer = model.answer(
            "broadband", "info", {"control_login": "y@a", "control_password": "pw"}
        )
        assert answer.document is not None
        assert answer.document["info"] == [
            {"ID": "7", "login": "y@a.1", "colour": "blue"}
        ]

    def test_empty_login_answers_empty_list(self, tmp_path):
        """A login without lines answers an empty info list, not an error."""
        path = tmp_path / "chaos.json"
        path.write_text(json.dumps({"logins": [{"login": "z@a", "password": "p"}]}))
        answer = ChaosModel(load_data(path)).answer(
            "broadband", "info", {"control_login": "z@a", "control_password": "p"}
        )
        assert answer.document is not None
        assert answer.document["info"] == []
        assert "error" not in answer.document

    @pytest.mark.parametrize(
        "content",
        [
            pytest.param("[]", id="not-mapping"),
            pytest.param('{"logins": [{"login": "a@a"}]}', id="no-password"),
            pytest.param(
                '{"logins": [{"login": "a@a", "password": "p", "lines": [{}]}]}',
                id="line-without-id",
            ),
        ],
    )
    def test_bad_data(self, tmp_path, content):
        """A data file of the wrong shape is a ValueError."""
        path = tmp_path / "bad.json"
        path.write_text(content)
        with pytest.raises(ValueError, match="CHAOS data"):
            load_data(path)


class TestLifecycle:
    async def test_double_start(self, sim):
        """Starting twice is an error; stopping twice is harmless."""
        with pytest.raises(RuntimeError):
            await sim.start()
        await sim.stop()
        await sim.stop()

    async def test_busy_port(self, sim):
        """A busy port is a clean ConfigError."""
        other = ChaosSimulator(ChaosSimConfig(port=sim.port))
        with pytest.raises(ConfigError):
            await other.start()

    def test_ipv6_base_url(self):
        """An IPv6 host is bracketed in the base URL."""
        simulator = ChaosSimulator(ChaosSimConfig(host="::1", port=8099))
        assert simulator.base_url == "http://[::1]:8099"

    async def test_serve_with_event(self):
        """serve runs until its stop event is set."""
        port = free_port()
        stop = asyncio.Event()
        task = asyncio.create_task(serve(ChaosSimConfig(port=port), stop))
        async with httpx.AsyncClient() as c:
            for _ in range(100):
                try:
                    r = await c.get(
                        f"http://127.0.0.1:{port}/login/services", params=CREDS
                    )
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
        assert r.json()["services"] == ["exmpl@a"]
        stop.set()
        await asyncio.wait_for(task, TIMEOUT)

    def test_parser(self):
        """CLI flags map onto the config and fault switches."""
        args = build_parser().parse_args(
            [
                "--port", "0", "--lines", "5", "--latency", "0.5", "--hang",
                "--timeout-every", "2", "--drop-every", "3", "--status-5xx-every", "4",
                "--status-5xx", "502", "--rate-limit-429-every", "5",
                "--retry-after", "9", "--rate-limit-200-every", "6",
                "--malformed-every", "7", "--missing-fields",
                "--fault-path", "/broadband/quota",
            ]
        )  # fmt: skip
        config = config_from_args(args)
        assert (config.port, config.lines) == (0, 5)
        assert config.faults == ChaosFaults(
            latency=0.5,
            hang=True,
            timeout_every=2,
            drop_every=3,
            status_5xx_every=4,
            status_5xx=502,
            rate_limit_429_every=5,
            retry_after=9,
            rate_limit_200_every=6,
            malformed_every=7,
            missing_fields=True,
            paths=frozenset({"/broadband/quota"}),
        )
        assert config_from_args(build_parser().parse_args([])).faults.paths is None

    def test_main_stops_on_interrupt(self, monkeypatch):
        """main returns 0 when the run is interrupted."""

        def interrupted(coro: Any) -> None:
            coro.close()
            raise KeyboardInterrupt

        monkeypatch.setattr(asyncio, "run", interrupted)
        assert main(["--port", "0"]) == 0

    async def test_cli_sigterm(self, tmp_path):
        """The chaos-simulator command serves requests and exits 0 on SIGTERM."""
        env = {**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "exporterhub.simulators.chaos",
            "--port",
            "0",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)
            match = re.search(rb"chaos_simulator_started.*port=(\d+)", line)
            assert match is not None, line
            async with httpx.AsyncClient() as c:
                r = await c.get(
                    f"http://127.0.0.1:{int(match[1])}/login/services", params=CREDS
                )
            assert r.json()["services"] == ["exmpl@a"]
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0
            assert b"chaos_simulator_stopped" in await proc.stdout.read()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
