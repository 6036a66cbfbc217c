"""Plug discovery end to end: simulated plugs answer UDP discovery on loopback,
python-kasa finds them, the exporter runs one target per plug.

SMART plugs answer discovery on the fixed UDP port 20002, so each gets its own
random 127.x.y.z address (concurrent runs never collide); legacy plugs answer on
their own TCP port number on 127.0.0.1.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from exporterhub.core.plugin import Target
from exporterhub.core.testing import free_port
from exporterhub.exporters.kasa.client import discover_plugs, resolve
from exporterhub.exporters.kasa.plugin import PLUGIN, discovery_target, to_target
from exporterhub.exporters.kasa.settings import (
    CredentialSet,
    DiscoveryOptions,
    KasaDevice,
    KasaDiscoverySettings,
    KasaTargetSettings,
)
from exporterhub.simulators.kasa import PlugSimulator, PlugSpec

from .conftest import Scrape, running_exporter

FIXTURES = Path(__file__).parent.parent / "fixtures" / "kasa"
USER = "user@example.com"
PASSWORD = "plug-password"
MAC_XOR = "02:00:5E:10:00:01"
MAC_KLAP = "02:00:5E:10:00:02"


def fixture(name: str) -> Path:
    (path,) = [p for p in FIXTURES.glob("*.json") if p.name.startswith(name)]
    return path


def loopback() -> str:
    """Return a random loopback address other than 127.0.0.1."""
    rng = random.SystemRandom()
    return f"127.{rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def xor_spec(mac: str = MAC_XOR, **kw: Any) -> PlugSpec:
    return PlugSpec(
        profile=fixture("HS110"), protocol="xor", frozen=True, discovery=True,
        mac=mac, alias="Kettle", **kw,
    )  # fmt: skip


def klap_spec(host: str, mac: str = MAC_KLAP) -> PlugSpec:
    return PlugSpec(
        profile=fixture("P110"), protocol="klap", frozen=True, discovery=True,
        host=host, mac=mac, username=USER, password=PASSWORD, alias="Heater",
    )  # fmt: skip


def finder(**options: Any) -> Target:
    """The discovery source, every 5 s (the shortest interval allowed)."""
    legacy = options.pop("legacy_metrics", False)
    values: dict[str, Any] = {"interval": 5, "discovery_timeout": 1}
    values.update(options)
    return discovery_target(
        KasaDiscoverySettings(
            options=DiscoveryOptions.model_validate(values),
            username=SecretStr(USER),
            password=SecretStr(PASSWORD),
            refresh_interval=5,
            timeout=1,
            poll_deadline=4,
            legacy_metrics=legacy,
        )
    )


def configured(name: str, host: str, port: int, kind: str = "iot") -> Target:
    return to_target(
        KasaTargetSettings(
            device=KasaDevice(name=name, host=host, port=port, connection_type=kind),  # type: ignore[arg-type]
            username=SecretStr(USER),
            password=SecretStr(PASSWORD),
            refresh_interval=5,
            timeout=1,
            poll_deadline=4,
        )
    )


exporter = partial(running_exporter, PLUGIN)


def up(name: str) -> Callable[[Scrape], bool]:
    return lambda s: s.value("tapo_up", target=name) == 1.0


def targets(s: Scrape) -> list[str]:
    return sorted(series.labels["target"] for series in s.series("tapo_up"))


class TestClient:
    async def test_discover_plugs_describes_each_plug(self):
        """discover_plugs reports address, port, protocol and MAC of each answer."""
        address = loopback()
        async with (
            PlugSimulator(xor_spec()) as xor,
            PlugSimulator(klap_spec(address)) as klap,
        ):
            [old] = await discover_plugs(
                "127.0.0.1", port=xor.port, username=USER, password=PASSWORD,
                discovery_timeout=1, discovery_packets=2,
            )  # fmt: skip
            [new] = await discover_plugs(
                address, port=None, username=USER, password=PASSWORD,
                discovery_timeout=1, discovery_packets=2,
            )  # fmt: skip
        assert (old.host, old.port, old.connection_type) == (
            "127.0.0.1",
            xor.port,
            "iot",
        )
        assert old.mac == MAC_XOR
        assert (new.host, new.port, new.connection_type) == (address, klap.port, "klap")
        assert (new.mac, new.login_version) == (MAC_KLAP, 2)
        assert (old.family, new.family) == ("IOT.SMARTPLUGSWITCH", "SMART.TAPOPLUG")

    async def test_names_are_resolved_first(self):
        """A discovery address given as a name is looked up, then asked."""
        async with PlugSimulator(xor_spec()) as xor:
            [plug] = await discover_plugs(
                "localhost", port=xor.port, username=USER, password=PASSWORD,
                discovery_timeout=1, discovery_packets=2,
            )  # fmt: skip
        assert (plug.host, plug.mac) == ("127.0.0.1", MAC_XOR)
        assert "127.0.0.1" in await resolve("localhost")

    async def test_nothing_there_is_an_empty_round(self):
        """An address where no plug listens answers nothing, without error."""
        found = await discover_plugs(
            loopback(), port=None, username=USER, password=PASSWORD,
            discovery_timeout=1, discovery_packets=1,
        )  # fmt: skip
        assert found == []


class TestDiscoveredTargets:
    async def test_unicast_targets_become_targets_named_by_mac(self):
        """Plugs found by unicast run as targets named by MAC, values and all."""
        address = loopback()
        async with (
            PlugSimulator(xor_spec()) as xor,
            PlugSimulator(klap_spec(address)),
            exporter([finder(targets=[f"127.0.0.1:{xor.port}", address])]) as ex,
        ):
            # Process metrics refresh at most once a second: wait for them too.
            s = await ex.scrape_until(
                lambda s: (
                    up(MAC_XOR)(s)
                    and up(MAC_KLAP)(s)
                    and s.value("tapo_exporter_discovery_devices") == 2.0
                ),
                within=20,
            )
        assert targets(s) == [MAC_XOR, MAC_KLAP]
        info = {i.labels["target"]: i.labels for i in s.series("tapo_device_info")}
        assert info[MAC_XOR]["host"] == "127.0.0.1"
        assert info[MAC_XOR]["alias"] == "Kettle"
        assert info[MAC_KLAP]["host"] == address
        assert info[MAC_KLAP]["protocol"] == "klap"
        assert s.value("tapo_power_watts", target=MAC_KLAP) is not None
        assert s.value("tapo_exporter_discovery_devices") == 2.0
        assert (s.value("tapo_exporter_discovery_rounds_total") or 0) >= 1
        assert s.value("tapo_exporter_discovery_errors_total") == 0.0
        assert s.value("tapo_exporter_discovery_last_round_timestamp_seconds")
        assert s.series("tapo_discovered_devices") == []  # legacy name is opt-in

    async def test_enabled_discovery_asks_its_target(self):
        """enabled + target (a broadcast address in real life) finds the plug."""
        async with (
            PlugSimulator(xor_spec()) as xor,
            exporter([finder(enabled=True, target="127.0.0.1", port=xor.port)]) as ex,
        ):
            s = await ex.scrape_until(up(MAC_XOR), within=20)
        assert targets(s) == [MAC_XOR]

    async def test_configured_plug_found_again_is_one_target(self):
        """The same plug configured and discovered runs once, under its name."""
        async with PlugSimulator(xor_spec()) as xor:
            wanted = [
                configured("kettle", "127.0.0.1", xor.port),
                finder(targets=[f"127.0.0.1:{xor.port}"], legacy_metrics=True),
            ]
            async with exporter(wanted) as ex:
                s = await ex.scrape_until(
                    lambda s: (
                        up("kettle")(s)
                        and s.value("tapo_exporter_discovery_devices") == 1.0
                    ),
                    within=20,
                )
                s = await ex.scrape_until(
                    lambda s: s.value("tapo_discovered_devices") == 1.0, within=20
                )
        assert targets(s) == ["kettle"]

    async def test_same_plug_under_another_address_is_one_target_by_mac(self):
        """Configured as localhost, discovered as 127.0.0.1: the MAC tells."""
        async with PlugSimulator(xor_spec()) as xor:
            wanted = [
                configured("kettle", "localhost", xor.port),
                finder(targets=[f"127.0.0.1:{xor.port}"]),
            ]
            async with exporter(wanted) as ex:
                await ex.scrape_until(up("kettle"), within=20)
                s = await ex.scrape_until(
                    lambda s: (
                        targets(s) == ["kettle"]
                        and s.value("tapo_exporter_discovery_devices") == 1.0
                    ),
                    within=20,
                )
        assert s.value("tapo_up", target=MAC_XOR) is None

    async def test_configured_plug_that_moved_is_followed(self):
        """A configured plug gone from its address but found elsewhere moves."""
        other = free_port()
        async with PlugSimulator(xor_spec()) as home:
            port = home.port
            wanted = [
                configured("kettle", "127.0.0.1", port),
                finder(targets=[f"127.0.0.1:{port}", f"127.0.0.1:{other}"]),
            ]
            async with exporter(wanted) as ex:
                await ex.scrape_until(up("kettle"), within=20)
                await home.stop()  # DHCP gave it a new address
                await ex.scrape_until(
                    lambda s: s.value("tapo_up", target="kettle") == 0.0, within=30
                )
                with capture_logs() as logs:
                    async with PlugSimulator(xor_spec(port=other)):
                        s = await ex.scrape_until(up("kettle"), within=30)
                publisher = ex.state.runner.publisher("tapo", "kettle")
                assert publisher is not None
        assert targets(s) == ["kettle"]
        moved = [e for e in logs if e["event"] == "plug_moved"]
        assert moved[0]["address"] == f"127.0.0.1:{other}"


class TestAddressesChangeHands:
    async def test_wrong_plug_at_a_discovered_address_is_refused(self):
        """Before rediscovery, a poll answered by another MAC fails: wrong_device."""
        port = free_port()
        once = finder(targets=[f"127.0.0.1:{port}"], interval=3600)  # no rediscovery
        # The plug answers before the one discovery round: no race with start-up.
        async with PlugSimulator(xor_spec(port=port)) as first, exporter([once]) as ex:
            await ex.scrape_until(up(MAC_XOR), within=20)
            await first.stop()
            async with PlugSimulator(xor_spec(mac=MAC_KLAP, port=port)):
                s = await ex.scrape_until(
                    lambda s: (
                        (
                            s.value(
                                "tapo_exporter_poll_errors_total",
                                target=MAC_XOR,
                                error="wrong_device",
                            )
                            or 0
                        )
                        >= 1
                    ),
                    within=20,
                )
        assert s.value("tapo_up", target=MAC_XOR) == 0.0
        [info] = s.series("tapo_device_info")
        assert info.labels["mac"] == MAC_XOR  # the stranger's identity never shown

    async def test_address_given_to_another_plug(self):
        """Rediscovery replaces the old plug's target by the newcomer's."""
        port = free_port()
        mislabelled: list[Scrape] = []

        def settled(s: Scrape) -> bool:
            mislabelled.extend(
                s
                for i in s.series("tapo_device_info")
                if i.labels["target"] != i.labels["mac"]
            )
            return targets(s) == [MAC_KLAP] and up(MAC_KLAP)(s)

        async with (
            PlugSimulator(xor_spec(port=port)) as first,
            exporter([finder(targets=[f"127.0.0.1:{port}"])]) as ex,
        ):
            await ex.scrape_until(up(MAC_XOR), within=20)
            await first.stop()
            async with PlugSimulator(xor_spec(mac=MAC_KLAP, port=port)):
                await ex.scrape_until(settled, within=30)
        assert mislabelled == []

    async def test_configured_plug_swapped_with_another(self):
        """kitchen moves to another port and a stranger takes its old one."""
        home, away = free_port(), free_port()
        wanted = [
            configured("kitchen", "127.0.0.1", home),
            finder(targets=[f"127.0.0.1:{home}", f"127.0.0.1:{away}"]),
        ]
        async with exporter(wanted) as ex:
            async with PlugSimulator(xor_spec(port=home)):
                await ex.scrape_until(up("kitchen"), within=20)
            with capture_logs() as logs:
                async with (
                    PlugSimulator(xor_spec(mac=MAC_KLAP, port=home)),
                    PlugSimulator(xor_spec(port=away)),
                ):
                    # kitchen polled where its MAC went; the stranger on its own.
                    await ex.scrape_until(
                        lambda s: (
                            any(e["event"] == "plug_moved" for e in logs)
                            and targets(s) == sorted(["kitchen", MAC_KLAP])
                            and up("kitchen")(s)
                            and up(MAC_KLAP)(s)
                            and any(
                                i.labels["target"] == "kitchen"
                                and i.labels["mac"] == MAC_XOR
                                for i in s.series("tapo_device_info")
                            )
                        ),
                        within=40,
                    )
                    [kitchen] = [
                        t for t in ex.state.runner.targets if t.name == "kitchen"
                    ]
                    assert kitchen.settings.device.port == away  # type: ignore[attr-defined]
        moved = [e for e in logs if e["event"] == "plug_moved"]
        assert moved[-1]["address"] == f"127.0.0.1:{away}"


class TestAccounts:
    async def test_plugs_of_two_accounts_are_both_read(self):
        """A discovered plug refusing the first account is tried with the next."""
        first, second = loopback(), loopback()
        other = PlugSpec(
            profile=fixture("P100"), protocol="klap", frozen=True, discovery=True,
            host=second, mac=MAC_XOR, username="other@example.com",
            password="other-password",
        )  # fmt: skip
        source = discovery_target(
            KasaDiscoverySettings(
                options=DiscoveryOptions(
                    targets=[first, second], interval=5, discovery_timeout=1
                ),
                username=SecretStr(USER),
                password=SecretStr(PASSWORD),
                accounts=(
                    CredentialSet(
                        username=SecretStr("other@example.com"),
                        password=SecretStr("other-password"),
                    ),
                ),
                refresh_interval=5,
                timeout=1,
                poll_deadline=4,
            )
        )
        with capture_logs() as logs:
            async with (
                PlugSimulator(klap_spec(first)),
                PlugSimulator(other),
                exporter([source]) as ex,
            ):
                s = await ex.scrape_until(
                    lambda s: up(MAC_KLAP)(s) and up(MAC_XOR)(s), within=40
                )
        assert targets(s) == sorted([MAC_KLAP, MAC_XOR])
        switched = [e for e in logs if e["event"] == "plug_account_next"]
        assert [(e["target"], e["account"]) for e in switched] == [(MAC_XOR, 2)]
        assert "other-password" not in repr(logs)


class TestDiscoveryFailures:
    async def test_unusable_interface_counts_a_failed_round(self):
        """A round that cannot ask is counted and logged; the exporter goes on."""
        async with PlugSimulator(xor_spec()) as xor:
            wanted = [
                configured("kettle", "127.0.0.1", xor.port),
                finder(enabled=True, target="127.0.0.1", interface="no-such-if0"),
            ]
            with capture_logs() as logs:
                async with exporter(wanted) as ex:
                    s = await ex.scrape_until(
                        lambda s: up("kettle")(s)
                        and (s.value("tapo_exporter_discovery_errors_total")
                             or 0) >= 1,
                        within=20,
                    )  # fmt: skip
        assert s.value("tapo_exporter_discovery_devices") is None  # unknown, not 0
        failed = [e for e in logs if e["event"] == "discovery_failed"]
        assert failed[0]["address"] == "127.0.0.1"


@pytest.fixture(autouse=True)
def _no_credentials_in_logs(caplog: pytest.LogCaptureFixture) -> Any:
    yield
    assert PASSWORD not in caplog.text


class TestCommand:
    async def test_tapo_exporter_with_discovery_only(self, tmp_path):
        """tapo-exporter runs with no devices when config.yaml turns discovery on."""
        import sys

        from .test_commands import scrape_until, spawn, stop

        async with PlugSimulator(xor_spec()) as xor:
            config = tmp_path / "config.yaml"
            config.write_text(
                "exporters:\n  tapo:\n    discovery_options:\n"
                f"      targets: ['127.0.0.1:{xor.port}']\n"
                "      interval: 5\n      discovery_timeout: 1\n"
            )
            port = free_port()
            exe = Path(sys.executable).parent / "tapo-exporter"
            proc = spawn(
                [str(exe), "--prometheus-port", str(port), "--config", str(config)]
            )
            try:
                s = await scrape_until(
                    f"http://127.0.0.1:{port}/metrics", up(MAC_XOR), within=30
                )
            finally:
                stop(proc)
        assert targets(s) == [MAC_XOR]

    def test_tapo_exporter_without_plugs_or_discovery_says_how(self, tmp_path):
        """No devices and no discovery: exit 2 with a line saying what to set."""
        import subprocess
        import sys

        exe = Path(sys.executable).parent / "tapo-exporter"
        proc = subprocess.run(  # noqa: S603 - our own console script
            [str(exe), "--prometheus-port", str(free_port())],
            capture_output=True,
            cwd=tmp_path,
            timeout=60,
            check=False,
            env={"PATH": "/usr/bin:/bin"},
        )
        assert proc.returncode == 2
        assert b"discovery_options" in proc.stderr
