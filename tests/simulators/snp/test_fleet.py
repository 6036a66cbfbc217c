"""Several devices in one process, TLS, addresses and ports."""

from __future__ import annotations

import contextlib
import ssl

import httpx
import pytest
import websockets

from exporterhub.core.errors import ConfigError
from exporterhub.core.testing import free_port
from exporterhub.simulators.snp import DeviceSpec, SnpFleet, SnpSimConfig
from exporterhub.simulators.snp.config import device_address
from exporterhub.simulators.snp.fleet import raise_file_limit

from .conftest import Client, base_url, connect, login, make_config, statuses, subscribe


class TestManyDevices:
    async def test_each_device_is_independent(self, clock):
        """Devices have their own port, credentials, tokens, state and objects."""
        specs = [
            DeviceSpec(name=f"SNP-{i}", username=f"user{i}", password=f"pw{i}")
            for i in range(3)
        ]
        async with SnpFleet(make_config(clock, devices=specs)) as fleet:
            a, b, c = fleet.devices
            assert len({d.port for d in fleet.devices}) == 3
            token_a = await login(a, username="user0", password="pw0")
            async with httpx.AsyncClient() as http:
                wrong = await http.post(
                    b.rest_url, json={"username": "user0", "password": "pw0"}
                )
            assert wrong.status_code == 401
            async with websockets.connect(b.ws_url) as ws:  # a's token on b
                await ws.send(token_a)
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await ws.recv()
            assert closed.value.rcvd.code == 1008
            a.model.fail_fan("front", 1)
            fans = [
                d.model.get("system")["Front_Fan_Stats"][0]["Status"] for d in (a, b, c)
            ]
            assert fans == ["Failed", "OK", "OK"]
            serials = {
                d.model.get("system")["SNP_HW_Stats"]["Serial"] for d in (a, b, c)
            }
            assert len(serials) == 3
            assert fleet.device("SNP-2") is c
            async with connect(
                c, await login(c, username="user2", password="pw2")
            ) as cl:
                await cl.send(subscribe(("system", None)))
                await c.wait_subscribed()
                clock.advance(1.0)
                (system,) = statuses(await cl.next("statusState"))
            assert system["fme_ip"] == c.model.fme_ip != a.model.fme_ip
            assert (a.subscriptions, b.subscriptions) == ([], [])

    async def test_own_loopback_addresses_share_a_port(self, clock):
        """first_address gives each device 127.0.0.N on one port number."""
        port = free_port()
        config = make_config(
            clock,
            devices=SnpSimConfig.fleet(3),
            first_address="127.0.0.2",
            base_port=port,
        )
        async with SnpFleet(config) as fleet:
            hosts = [(d.host, d.port) for d in fleet.devices]
            for device in fleet.devices:
                assert await login(device)
        assert hosts == [(f"127.0.0.{i}", port) for i in (2, 3, 4)]

    async def test_base_port_counts_up(self, clock):
        """Without first_address device i listens on base_port + i."""
        base = free_port()
        async with SnpFleet(make_config(clock, base_port=base)) as fleet:
            assert fleet.devices[0].port == base
        config = SnpSimConfig(devices=SnpSimConfig.fleet(3), base_port=base)
        ports = [device_address(config, d, i)[1] for i, d in enumerate(config.devices)]
        assert ports == [base, base + 1, base + 2]
        pinned = DeviceSpec(port=7, host="127.0.0.9")
        assert device_address(config, pinned, 2) == ("127.0.0.9", 7)

    async def test_separate_rest_port(self, clock):
        """rest_port serves the REST API alone, like the SMM's 9089."""
        config = make_config(clock, devices=[DeviceSpec(rest_port=0)])
        async with SnpFleet(config) as fleet:
            device = fleet.devices[0]
            assert device.rest_port != device.port
            assert f":{device.rest_port}/api/auth" in device.rest_url
            token = await login(device)
            async with httpx.AsyncClient() as http:
                on_main = await http.get(
                    f"http://127.0.0.1:{device.port}/api/console/status",
                    headers={"Authorization": token},
                )
                no_ws = await http.get(f"{base_url(device)}/smm")
            assert (on_main.status_code, no_ws.status_code) == (200, 404)
            async with connect(device, token) as client:
                await client.barrier(device)

    async def test_connection_records(self, fleet):
        """connections() lists each device as an exporter connection record."""
        (record,) = fleet.connections()
        device = fleet.devices[0]
        assert record["restapi"] == device.rest_url
        assert record["websocket"] == device.ws_url
        assert record["objects_ids"][0] == {
            "elementIP": "127.0.0.1",
            "objectType": "ptp",
        }

    async def test_keepalives_reach_every_device(self, clock):
        """One shared keepalive timer serves every device's sessions."""
        async with (
            SnpFleet(make_config(clock, devices=SnpSimConfig.fleet(3))) as fleet,
            contextlib.AsyncExitStack() as stack,
        ):
            clients = [
                await stack.enter_async_context(connect(device))
                for device in fleet.devices
            ]
            clock.advance(5.0)
            for client in clients:
                assert (await client.recv())["msgType"] == "fmmStatus"

    def test_duplicate_names(self):
        """Two devices with one name are refused."""
        with pytest.raises(ValueError, match="unique"):
            SnpFleet(SnpSimConfig(devices=[DeviceSpec(), DeviceSpec()]))

    async def test_busy_port_unbinds_everything(self, clock):
        """A port that cannot be bound stops the start; nothing stays bound."""
        first = make_config(clock)
        async with SnpFleet(first) as running:
            taken = running.devices[0].port
            specs = [DeviceSpec(name="ok"), DeviceSpec(name="clash", port=taken)]
            fleet = SnpFleet(make_config(clock, devices=specs))
            with pytest.raises(ConfigError):
                await fleet.start()
            assert fleet.devices[0]._servers == []
        await fleet.stop()

    async def test_start_twice(self, fleet):
        """start() on a running fleet is an error; stop() twice is fine."""
        with pytest.raises(RuntimeError):
            await fleet.start()

    def test_file_limit(self):
        """raise_file_limit never lowers the limit and returns the one in force."""
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        assert raise_file_limit(16) == soft
        wanted = soft + 10 if hard == resource.RLIM_INFINITY else min(soft + 10, hard)
        assert raise_file_limit(wanted) == wanted

    def test_bad_first_address(self):
        """first_address must stay on loopback."""
        config = SnpSimConfig(devices=SnpSimConfig.fleet(2), first_address="128.0.0.0")
        with pytest.raises(ValueError, match="loopback"):
            SnpFleet(config)


class TestTls:
    async def test_https_and_wss(self, clock):
        """With tls both URLs are https/wss; clients work unverified and with the CA."""
        async with SnpFleet(make_config(clock, tls=True)) as fleet:
            device = fleet.devices[0]
            assert device.rest_url.startswith("https://")
            assert device.ws_url.startswith("wss://")
            unverified = ssl.create_default_context()
            unverified.check_hostname = False
            unverified.verify_mode = ssl.CERT_NONE
            token = await login(device, verify=False)
            async with connect(device, token, ssl=unverified) as client:
                await client.barrier(device)
            trusting = fleet.client_ssl_context()
            token = await login(device, verify=trusting)
            async with connect(device, token, ssl=trusting) as client:
                await client.barrier(device)
            with pytest.raises(httpx.ConnectError):
                await login(device)  # the system trust store does not know the CA
            assert fleet.certificates is not None
            assert fleet.certificates.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")

    async def test_plain_fleet_has_no_tls_context(self, fleet):
        """client_ssl_context() without TLS is an error."""
        with pytest.raises(RuntimeError):
            fleet.client_ssl_context()

    async def test_loopback_addresses_are_in_the_certificate(self, clock):
        """Devices on their own loopback addresses verify against the CA too."""
        config = make_config(
            clock, devices=SnpSimConfig.fleet(2), first_address="127.0.0.5", tls=True
        )
        async with SnpFleet(config) as fleet:
            context = fleet.client_ssl_context()
            for device in fleet.devices:
                token = await login(device, verify=context)
                async with connect(device, token, ssl=context) as client:
                    assert isinstance(client, Client)
