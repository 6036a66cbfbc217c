"""The REST API through a real httpx client: snp.md §2, §3 and §8 "REST"."""

from __future__ import annotations

import json

import httpx
import pytest

from exporterhub.simulators.snp import ProcessorFault, SnpFleet

from .conftest import PASSWORD, USER, base_url, fixture, login, make_config

PROCESSORS = ("processorA", "processorB", "processorC", "processorD")


@pytest.fixture
async def http(device):
    async with httpx.AsyncClient(base_url=base_url(device), timeout=5) as client:
        yield client


@pytest.fixture
async def token(device):
    return await login(device)


class TestAuth:
    async def test_login_returns_a_fresh_bearer_token(self, device, http):
        """Good credentials get 200 text 'Bearer <JWT>', a new one per call."""
        body = fixture("rest/auth_request.json")
        first = await http.post("/api/auth", json=body)
        second = await http.post("/api/auth", json=body)
        assert first.status_code == second.status_code == 200
        assert first.headers["content-type"].startswith("text/plain")
        assert first.text != second.text
        expected = fixture("rest/auth_response_ok.txt").strip()
        scheme, jwt = first.text.split(" ")
        assert scheme == "Bearer"
        assert len(jwt.split(".")) == 3
        assert jwt.split(".")[0] == expected.split(" ")[1].split(".")[0]
        assert device.logins == 2

    @pytest.mark.parametrize(
        ("username", "password"),
        [
            pytest.param(USER, "wrong", id="password"),
            pytest.param("admin", PASSWORD, id="username"),
        ],
    )
    async def test_bad_credentials_401(self, http, username, password):
        """Wrong credentials get 401 with the fixture's JSON error."""
        response = await http.post(
            "/api/auth", json={"username": username, "password": password}
        )
        assert response.status_code == 401
        assert response.json() == fixture("rest/auth_response_bad_credentials.json")

    @pytest.mark.parametrize(
        "content",
        [
            pytest.param(b"not json", id="not-json"),
            pytest.param(b"[]", id="not-an-object"),
            pytest.param(b'{"username": "monitor"}', id="no-password"),
            pytest.param(b'{"username": 1, "password": "x"}', id="not-a-string"),
        ],
    )
    async def test_malformed_login_400(self, http, content):
        """A body that is not {username, password} strings gets 400."""
        response = await http.post("/api/auth", content=content)
        assert response.status_code == 400
        assert "error" in response.json()

    async def test_logout_revokes(self, http, token):
        """DELETE /api/auth revokes the token; it then gets 401 everywhere."""
        headers = {"Authorization": token}
        assert (await http.delete("/api/auth", headers=headers)).status_code == 200
        assert (await http.delete("/api/auth", headers=headers)).status_code == 401
        response = await http.get("/api/console/status", headers=headers)
        assert response.status_code == 401

    async def test_other_methods_405(self, http):
        """GET /api/auth and POST to a GET route are 405."""
        assert (await http.get("/api/auth")).status_code == 405
        response = await http.post("/api/elements/127.0.0.1/config/processorA")
        assert response.status_code == 405

    async def test_tokens_expire(self, clock):
        """A token past token_lifetime gets 401."""
        async with SnpFleet(make_config(clock, token_lifetime=10)) as fleet:
            device = fleet.devices[0]
            token = await login(device)
            async with httpx.AsyncClient(base_url=base_url(device)) as client:
                url = "/api/console/status"
                ok = await client.get(url, headers={"Authorization": token})
                clock.advance(10)
                late = await client.get(url, headers={"Authorization": token})
        assert (ok.status_code, late.status_code) == (200, 401)


class TestConfig:
    @pytest.mark.parametrize("name", [*PROCESSORS, "system"])
    async def test_config_equals_fixture(self, http, token, name):
        """Each config envelope carries the fixture's config as a JSON string."""
        response = await http.get(
            f"/api/elements/127.0.0.1/config/{name}", headers={"Authorization": token}
        )
        expected = fixture(f"rest/config_{name}.json")
        envelope = response.json()
        assert isinstance(envelope["config"], str)
        assert json.loads(envelope["config"]) == json.loads(expected["config"])
        assert {k: v for k, v in envelope.items() if k != "config"} == {
            k: v for k, v in expected.items() if k != "config"
        }

    async def test_real_address_works_too(self, http, token):
        """The device's own address is accepted as elementIp; the envelope echoes it."""
        response = await http.get(
            "/api/elements/192.0.2.21/config/processorB",
            headers={"Authorization": token},
        )
        assert response.json()["fme_ip"] == "192.0.2.21"

    async def test_config_list(self, http, token):
        """GET …/config without an object lists every envelope."""
        response = await http.get(
            "/api/elements/127.0.0.1/config", headers={"Authorization": token}
        )
        assert [e["object_ID"] for e in response.json()] == [*PROCESSORS, "system"]

    @pytest.mark.parametrize(
        "path",
        [
            pytest.param("/api/elements/127.0.0.1/config/processorE", id="object"),
            pytest.param("/api/elements/198.51.100.9/config/processorA", id="element"),
            pytest.param("/api/elements/127.0.0.1/nothing", id="what"),
            pytest.param("/api/elements/127.0.0.1/alarms/x", id="alarms-tail"),
            pytest.param("/api/nothing", id="api"),
            pytest.param("/", id="root"),
        ],
    )
    async def test_unknown_404(self, http, token, path):
        """Unknown objects, elements and paths are 404 with a JSON error."""
        response = await http.get(path, headers={"Authorization": token})
        assert response.status_code == 404
        assert "error" in response.json()

    async def test_needs_a_token(self, http):
        """Without a valid Authorization header the API answers 401."""
        for headers in ({}, {"Authorization": "Bearer forged"}):
            response = await http.get(
                "/api/elements/127.0.0.1/config/processorA", headers=headers
            )
            assert response.status_code == 401
            assert response.json() == {"error": "Unauthorized"}

    async def test_personality_follows_the_model(self, device, http, token):
        """set_personality shows in the next config answer."""
        device.model.set_personality("processorA", "Master Control Lite")
        response = await http.get(
            "/api/elements/127.0.0.1/config/processorA",
            headers={"Authorization": token},
        )
        config = json.loads(response.json()["config"])
        assert config["general"]["personality"] == "Master Control Lite"
        assert device.model.personality("processorA") == "Master Control Lite"


class TestProcessorFaults:
    async def test_error_is_per_processor(self, device, http, token):
        """A failed processor answers 500; the others still answer."""
        device.faults.fail_processor("processorB")
        headers = {"Authorization": token}
        codes = [
            (
                await http.get(f"/api/elements/127.0.0.1/config/{p}", headers=headers)
            ).status_code
            for p in PROCESSORS
        ]
        assert codes == [200, 500, 200, 200]
        device.faults.restore_processor("processorB")
        response = await http.get(
            "/api/elements/127.0.0.1/config/processorB", headers=headers
        )
        assert response.status_code == 200

    async def test_missing_personality(self, device, http, token):
        """no_personality drops general.personality from the inner config."""
        device.faults.fail_processor("processorC", ProcessorFault.NO_PERSONALITY)
        response = await http.get(
            "/api/elements/127.0.0.1/config/processorC",
            headers={"Authorization": token},
        )
        general = json.loads(response.json()["config"])["general"]
        assert "personality" not in general
        assert general["audioPacketTime"] == 2

    async def test_slow_processor(self):
        """A slow processor answers after processor_delay; a short timeout fails."""
        async with SnpFleet(make_config(None)) as fleet:
            device = fleet.devices[0]
            token = await login(device)
            device.faults.fail_processor("processorD", "slow")
            device.faults.processor_delay = 5.0
            url = f"{base_url(device)}/api/elements/127.0.0.1/config/processorD"
            async with httpx.AsyncClient(timeout=0.2) as client:
                fast = await client.get(
                    url.replace("processorD", "processorA"),
                    headers={"Authorization": token},
                )
                with pytest.raises(httpx.ReadTimeout):
                    await client.get(url, headers={"Authorization": token})
            device.faults.processor_delay = 0.05
            async with httpx.AsyncClient(timeout=5) as client:
                late = await client.get(url, headers={"Authorization": token})
        assert (fast.status_code, late.status_code) == (200, 200)

    async def test_slow_rest(self):
        """slow_rest delays every answer, the login included."""
        async with SnpFleet(make_config(None)) as fleet:
            device = fleet.devices[0]
            device.faults.slow_rest(5.0)
            async with httpx.AsyncClient(timeout=0.2) as client:
                with pytest.raises(httpx.ReadTimeout):
                    await client.post(device.rest_url, json={})
            device.faults.slow_rest(0)
            assert await login(device)


class TestLoginRejection:
    @pytest.mark.parametrize("status", [401, 503])
    async def test_rejected_for_a_while(self, device, http, clock, status):
        """reject_login answers good credentials with the status until it ends."""
        device.faults.reject_login(status, for_seconds=30)
        body = fixture("rest/auth_request.json")
        rejected = await http.post("/api/auth", json=body)
        clock.advance(30)
        accepted = await http.post("/api/auth", json=body)
        assert rejected.status_code == status
        assert "error" in rejected.json()
        assert accepted.status_code == 200

    async def test_until_accepted(self, device, http):
        """Without for_seconds the rejection lasts until accept()."""
        device.faults.reject_login()
        body = fixture("rest/auth_request.json")
        assert (await http.post("/api/auth", json=body)).status_code == 503
        device.faults.accept()
        assert (await http.post("/api/auth", json=body)).status_code == 200


class TestStatusAndConsole:
    async def test_status_is_plain_json(self, http, token):
        """GET …/status/ptp answers the object itself, as the fixture."""
        response = await http.get(
            "/api/elements/127.0.0.1/status/ptp", headers={"Authorization": token}
        )
        assert response.json() == fixture("rest/status_ptp.json")

    async def test_status_by_id_and_lists(self, http, token):
        """A channel by id; a type with several objects lists them; unknown 404."""
        headers = {"Authorization": token}
        one = await http.get(
            "/api/elements/127.0.0.1/status/procChannelHD/B-HD-2", headers=headers
        )
        many = await http.get(
            "/api/elements/127.0.0.1/status/processor", headers=headers
        )
        missing = await http.get(
            "/api/elements/127.0.0.1/status/procChannelHD/Z-HD-9", headers=headers
        )
        no_type = await http.get(
            "/api/elements/127.0.0.1/status/nothing", headers=headers
        )
        assert one.json() == fixture("objects/procChannelHD_B-HD-2.json")
        assert len(many.json()) == 4
        assert (missing.status_code, no_type.status_code) == (404, 404)

    async def test_console_status(self, device, http, token, clock):
        """The console answer has the fixture's shape; uptime follows the clock."""
        headers = {"Authorization": token}
        before = (await http.get("/api/console/status", headers=headers)).json()
        clock.advance(7 * 86400)
        headers = {"Authorization": await login(device)}  # the old one expired
        after = (await http.get("/api/console/status", headers=headers)).json()
        expected = fixture("rest/console_status.json")
        assert set(before["data"]) == set(expected["data"])
        assert before["data"]["upTime"] == "up 2 weeks, 1 hour, 26 minutes"
        assert after["data"]["upTime"] == "up 3 weeks, 1 hour, 26 minutes"
        assert after["data"]["pwrOnTime"] == "21 days 01 hours 26 minutes 09 sec"

    async def test_alarms(self, http, token):
        """GET …/alarms lists the active alarms."""
        response = await http.get(
            "/api/elements/127.0.0.1/alarms", headers={"Authorization": token}
        )
        expected = fixture("ws/server_activeAlarmStatus.json")["activeAlarms"]
        assert response.json() == expected

    async def test_requests_are_logged(self, device, http, token):
        """Every request lands in device.requests without body or token."""
        await http.get("/api/console/status", headers={"Authorization": token})
        last = device.requests[-1]
        assert (last.method, last.path, last.status, last.authorized) == (
            "GET",
            "/api/console/status",
            200,
            True,
        )
        assert device.requests[0].path == "/api/auth"
