"""Tests of the Kasa simulator's UDP discovery through python-kasa's ``Discover``.

SMART plugs answer on the fixed UDP port 20002, so every test binding one picks
its own random loopback address: concurrent runs then do not collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

kasa = pytest.importorskip("kasa")

import structlog  # noqa: E402
from kasa import (  # noqa: E402
    Credentials,
    DeviceEncryptionType,
    DeviceFamily,
    Discover,
    KasaException,
)
from kasa.iot import IotPlug  # noqa: E402
from kasa.smart import SmartDevice  # noqa: E402

from exporterhub.core.testing import free_port, wait_until  # noqa: E402
from exporterhub.simulators import kasa as sim_mod  # noqa: E402
from exporterhub.simulators.kasa import (  # noqa: E402
    PlugSimulator,
    PlugSpec,
    default_specs,
)
from exporterhub.simulators.kasa.xor import decrypt, encrypt  # noqa: E402

FIXTURES = Path(__file__).parents[2] / "fixtures" / "kasa"
BUNDLED = (
    Path(__file__).parents[3] / "src" / "exporterhub" / "simulators" / "kasa" / "data"
)
USER, PASSWORD = "user@example.com", "plug-password"
CREDS = Credentials(USER, PASSWORD)
MAC = "02:00:5E:12:34:56"
DEVICE_ID = "8022" + "AB" * 18


def _random_loopback() -> str:
    """Return a loopback address other than 127.0.0.x, so 127.0.0.1 stays clear."""
    return "127." + ".".join(str(1 + secrets.randbelow(254)) for _ in range(3))


def _xor_spec(**kwargs) -> PlugSpec:
    return PlugSpec(
        profile=FIXTURES / "KP115(EU)_1.0_1.0.16.json",
        protocol="xor",
        discovery=True,
        alias="Desk lamp",
        mac=MAC,
        device_id=DEVICE_ID,
        **kwargs,
    )


def _klap_spec(profile: Path | dict | None = None, **kwargs) -> PlugSpec:
    kwargs.setdefault("host", _random_loopback())
    return PlugSpec(
        profile=profile or FIXTURES / "P110(AU)_1.0_1.3.1.json",
        protocol="klap",
        discovery=True,
        alias="Kettle",
        mac=MAC,
        device_id=DEVICE_ID,
        **kwargs,
    )


@contextlib.asynccontextmanager
async def _discovered(sim: PlugSimulator, wait_s: int) -> AsyncIterator[dict]:
    """Run ``Discover.discover`` aimed at the plug; disconnect what it found."""
    port = sim.port if sim.protocol == "xor" else None
    found = await Discover.discover(
        target=sim.host, port=port, discovery_timeout=wait_s, credentials=CREDS
    )
    try:
        yield found
    finally:
        for dev in found.values():
            await dev.disconnect()


class _Probe(asyncio.DatagramProtocol):
    """A bare UDP client whose replies land in a queue."""

    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data, addr):
        self.replies.put_nowait(data)


@contextlib.asynccontextmanager
async def _probe(host: str, port: int) -> AsyncIterator[tuple]:
    loop = asyncio.get_running_loop()
    transport, probe = await loop.create_datagram_endpoint(
        _Probe, remote_addr=(host, port)
    )
    try:
        yield transport, probe
    finally:
        transport.close()


class TestXorDiscovery:
    """Legacy IOT plugs answer the XOR probe on their own port number."""

    async def test_discover_single_returns_iot_plug(self):
        """discover_single finds an IOT plug that then updates over TCP."""
        async with PlugSimulator(_xor_spec()) as sim:
            dev = await Discover.discover_single(
                "127.0.0.1", port=sim.port, discovery_timeout=2, credentials=CREDS
            )
            try:
                assert isinstance(dev, IotPlug)
                assert dev.config.port_override == sim.port
                connection = dev.config.connection_type
                assert connection.encryption_type is DeviceEncryptionType.Xor
                assert dev.alias == "Desk lamp"  # from the discovery reply
                assert sim.discovery_replies >= 1
                assert sim.requests == 0
                await dev.update()
                assert sim.requests > 0
                assert dev.mac == MAC
                assert dev.alias == "Desk lamp"
                assert dev.model == "KP115"
                # python-kasa's IotDevice.device_id is the MAC; the id is here:
                assert dev.sys_info["deviceId"] == DEVICE_ID
            finally:
                await dev.disconnect()

    async def test_discover_keys_by_address(self):
        """discover() aimed at 127.0.0.1 returns the plug keyed by its address."""
        async with PlugSimulator(_xor_spec()) as sim:
            assert sim.discovery_port == sim.port
            async with _discovered(sim, wait_s=1) as found:
                assert list(found) == ["127.0.0.1"]
                assert found["127.0.0.1"].mac == MAC

    @pytest.mark.parametrize(
        "bad",
        [
            pytest.param(b"\x00\xff\x10", id="not-json"),
            pytest.param(encrypt(b"[1, 2]"), id="not-an-object"),
        ],
    )
    async def test_undecodable_probe_is_ignored(self, bad):
        """A datagram that is not an obfuscated JSON object gets no answer."""
        async with (
            PlugSimulator(_xor_spec()) as sim,
            _probe(sim.host, sim.port) as (transport, probe),
        ):
            transport.sendto(bad)
            transport.sendto(encrypt(b'{"system": {"get_sysinfo": {}}}'))
            async with asyncio.timeout(5):
                reply = await probe.replies.get()
            sysinfo = json.loads(decrypt(reply))["system"]["get_sysinfo"]
            assert sysinfo["mac"] == MAC
            # datagrams are handled in order: the bad one came first, unanswered
            assert sim.discovery_replies == 1
            assert probe.replies.empty()

    async def test_taken_udp_port_fails_start(self):
        """start() raises OSError when UDP is taken and leaves TCP closed."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as blocker:
            port = free_port(udp=True)
            blocker.bind(("127.0.0.1", port))
            sim = PlugSimulator(_xor_spec(port=port))
            with pytest.raises(OSError, match=r"(?i)address already in use"):
                await sim.start()
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", port)
            await sim.stop()  # nothing to stop; must not raise
        async with sim:
            assert sim.port == port


class TestKlapDiscovery:
    """SMART plugs answer on UDP 20002 of their own loopback address."""

    async def test_discover_single_returns_smart_device(self):
        """discover_single returns a KLAP device aimed at the plug's HTTP port."""
        async with PlugSimulator(_klap_spec()) as sim:
            assert sim.discovery_port == 20002
            dev = await Discover.discover_single(
                sim.host, credentials=CREDS, discovery_timeout=2
            )
            try:
                assert isinstance(dev, SmartDevice)
                connection = dev.config.connection_type
                assert connection.http_port == sim.port
                assert connection.encryption_type is DeviceEncryptionType.Klap
                assert connection.login_version == 2
                assert connection.device_family is DeviceFamily.SmartTapoPlug
                assert dev.host == sim.host
                assert dev.mac == MAC  # from the discovery reply
                assert dev.device_id == DEVICE_ID
                assert sim.requests == 0
                await dev.update()
                assert sim.requests > 0
                assert dev.mac == MAC
                assert dev.alias == "Kettle"
                assert dev.model == "P110"
            finally:
                await dev.disconnect()

    async def test_profile_without_discovery_result(self):
        """A profile lacking discovery_result gets one built from the model."""
        profile = json.loads((BUNDLED / "p100_like.json").read_text("utf-8"))
        del profile["discovery_result"]
        async with (
            PlugSimulator(_klap_spec(profile)) as sim,
            _discovered(sim, wait_s=2) as found,
        ):
            dev = found[sim.host]
            assert dev.model == "P100"
            assert dev.mac == MAC
            connection = dev.config.connection_type
            assert connection.http_port == sim.port
            assert connection.device_family is DeviceFamily.SmartTapoPlug
            await dev.update()
            assert dev.alias == "Kettle"

    async def test_reply_carries_plug_identity(self):
        """The raw reply has the 16-byte header and the plug's address and port."""
        async with (
            PlugSimulator(_klap_spec()) as sim,
            _probe(sim.host, 20002) as (
                transport,
                probe,
            ),
        ):
            transport.sendto(b"any encrypted blob")
            async with asyncio.timeout(5):
                reply = await probe.replies.get()
            assert reply[:4] == b"\x02\x00\x00\x01"
            body = json.loads(reply[16:])
            assert body["error_code"] == 0
            result = body["result"]
            assert result["ip"] == sim.host
            assert result["mac"] == "02-00-5E-12-34-56"
            assert result["device_id"] == DEVICE_ID
            assert result["device_model"] == "P110(AU)"
            assert result["mgt_encrypt_schm"]["http_port"] == sim.port

    async def test_taken_port_20002_fails_start(self):
        """start() raises OSError when 20002 is taken and closes the HTTP port."""
        host = _random_loopback()
        sim = PlugSimulator(_klap_spec(host=host))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as blocker:
            blocker.bind((host, 20002))
            with pytest.raises(OSError, match=r"(?i)address already in use"):
                await sim.start()
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection(host, sim.port)
        async with sim, _discovered(sim, wait_s=2) as found:
            assert list(found) == [host]


@pytest.fixture(params=["xor", "klap"])
async def discoverable(request):
    """Yield a running plug of each protocol that answers discovery."""
    spec = _xor_spec() if request.param == "xor" else _klap_spec()
    async with PlugSimulator(spec) as sim:
        yield sim


class TestDiscoveryFaults:
    """Fault switches apply to discovery at once."""

    @pytest.mark.parametrize("fault", ["silent", "refuse"])
    async def test_quiet_faults_hide_the_plug(self, discoverable, fault):
        """A silent or refusing plug is not found; cleared, it is found again."""
        sim = discoverable
        setattr(sim.faults, fault, True)
        async with _discovered(sim, wait_s=1) as found:
            assert found == {}
        assert sim.discovery_replies == 0
        setattr(sim.faults, fault, False)
        async with _discovered(sim, wait_s=2) as found:
            assert list(found) == [sim.host]

    async def test_garbage_is_unreadable(self, discoverable):
        """Garbage replies reach the client but yield no device, until cleared."""
        sim = discoverable
        port = sim.port if sim.protocol == "xor" else None
        sim.faults.garbage = True
        with pytest.raises(KasaException, match="Unable to read response"):
            await Discover.discover_single(
                sim.host, port=port, discovery_timeout=2, credentials=CREDS
            )
        async with _discovered(sim, wait_s=1) as found:
            assert found == {}
        assert sim.discovery_replies >= 2
        sim.faults.garbage = False
        async with _discovered(sim, wait_s=2) as found:
            assert list(found) == [sim.host]


class TestPlacement:
    """default_specs hands out hosts and ports."""

    def test_first_address_gives_each_plug_an_address(self):
        """With first_address every plug has its own host; XOR 9999, KLAP ephemeral."""
        specs = default_specs(2, 2, discovery=True, first_address="127.0.0.2")
        assert [s.host for s in specs] == [
            "127.0.0.2",
            "127.0.0.3",
            "127.0.0.4",
            "127.0.0.5",
        ]
        assert [s.port for s in specs] == [9999, 9999, 0, 0]
        assert all(s.discovery for s in specs)

    def test_base_port_with_first_address(self):
        """A base port replaces 9999 for XOR and numbers the KLAP HTTP ports."""
        specs = default_specs(1, 2, base_port=20000, first_address="127.0.1.254")
        assert [s.host for s in specs] == ["127.0.1.254", "127.0.1.255", "127.0.2.0"]
        assert [s.port for s in specs] == [20000, 20001, 20002]
        assert not any(s.discovery for s in specs)

    def test_without_first_address_behaviour_is_unchanged(self):
        """Without first_address all plugs share the host on consecutive ports."""
        specs = default_specs(1, 1, base_port=5000)
        assert [(s.host, s.port) for s in specs] == [
            ("127.0.0.1", 5000),
            ("127.0.0.1", 5001),
        ]

    @pytest.mark.parametrize(
        "first",
        [
            pytest.param("10.0.0.1", id="not-loopback"),
            pytest.param("127.255.255.254", id="runs-past-loopback"),
            pytest.param("::1", id="ipv6"),
        ],
    )
    def test_bad_first_address(self, first):
        """A first address that is not IPv4 loopback for every plug is refused."""
        with pytest.raises(ValueError):  # noqa: PT011 - ipaddress words vary
            default_specs(1, 2, first_address=first)


class TestDiscoveryCli:
    """kasa-simulator --discovery."""

    def test_parser_accepts_discovery(self):
        """--discovery places plugs on addresses from --first-address."""
        parser = sim_mod.build_parser()
        specs = sim_mod.specs_from_args(
            parser.parse_args(["--discovery", "--xor", "1", "--klap", "1"])
        )
        assert [(s.host, s.port) for s in specs] == [
            ("127.0.0.2", 9999),
            ("127.0.0.3", 10000),
        ]
        assert all(s.discovery for s in specs)
        profiles = sim_mod.specs_from_args(
            parser.parse_args(
                [
                    str(FIXTURES / "P100(US)_1.0.0_1.4.0.json"),
                    "--discovery",
                    "--first-address",
                    "127.0.9.1",
                    "--base-port",
                    "0",
                ]
            )
        )
        assert [(s.host, s.port, s.protocol) for s in profiles] == [
            ("127.0.9.1", 0, "klap")
        ]

    def test_first_address_needs_discovery(self):
        """Without --discovery, --first-address is ignored and --host applies."""
        args = sim_mod.build_parser().parse_args(
            ["--first-address", "127.0.9.1", "--xor", "1", "--klap", "0"]
        )
        [spec] = sim_mod.specs_from_args(args)
        assert (spec.host, spec.port, spec.discovery) == ("127.0.0.1", 9999, False)

    async def test_serve_logs_where_plugs_listen(self):
        """serve() logs host and ports of each plug; the KLAP one is discoverable."""
        first = _random_loopback()
        specs = default_specs(1, 1, discovery=True, first_address=first)
        specs[0].port = 0  # an ephemeral XOR port instead of 9999
        stop = asyncio.Event()
        with structlog.testing.capture_logs() as logs:
            task = asyncio.create_task(sim_mod.serve(specs, stop))
            try:
                await wait_until(
                    lambda: sum(e["event"] == "kasa_plug_ready" for e in logs) == 2
                )
                ready = [e for e in logs if e["event"] == "kasa_plug_ready"]
                xor, klap = ready
                assert xor["host"] == specs[0].host
                assert xor["discovery_port"] == xor["port"] > 0
                assert klap["host"] == specs[1].host
                assert klap["discovery_port"] == 20002
                dev = await Discover.discover_single(
                    klap["host"], credentials=CREDS, discovery_timeout=2
                )
                try:
                    assert dev.config.connection_type.http_port == klap["port"]
                finally:
                    await dev.disconnect()
            finally:
                stop.set()
                async with asyncio.timeout(5):
                    await task
