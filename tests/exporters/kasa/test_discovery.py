"""Tests of discovery planning: one target per plug, by MAC, configured plugs first."""

from __future__ import annotations

import pytest

from exporterhub.exporters.kasa.discovery import (
    ConfiguredPlug,
    FoundPlug,
    Inventory,
    normal_mac,
    plan,
)
from exporterhub.exporters.kasa.settings import (
    DiscoveryOptions,
    KasaDevice,
    KasaDiscoverySettings,
    KasaTargetSettings,
)

MAC_A = "50:C7:BF:00:00:0A"
MAC_B = "50:C7:BF:00:00:0B"
SETTINGS = KasaDiscoverySettings(
    options=DiscoveryOptions(enabled=True),
    refresh_interval=60,
    legacy_metrics=True,
)


def found(host: str, mac: str = MAC_A, **kw: object) -> FoundPlug:
    return FoundPlug(host=host, mac=mac, **kw)  # type: ignore[arg-type]


def configured(
    host: str, *, name: str = "kitchen", mac: str = "", **kw: object
) -> ConfiguredPlug:
    device = KasaDevice(name=name, host=host, credentials=None, **kw)  # type: ignore[arg-type]
    settings = KasaTargetSettings(device=device, refresh_interval=15)
    return ConfiguredPlug(settings=settings, mac=mac)


def inventory(*plugs: FoundPlug) -> dict[str, FoundPlug]:
    inv = Inventory()
    inv.add(plugs)
    return inv.plugs


class TestNormalMac:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("50-c7-bf-01-02-03", "50:C7:BF:01:02:03"),
            ("50:C7:BF:01:02:03", "50:C7:BF:01:02:03"),
            ("50c7bf010203", "50:C7:BF:01:02:03"),
            ("50:C7:BF:01:02", ""),
            ("zz:C7:BF:01:02:03", ""),
            ("", ""),
        ],
    )
    def test_forms(self, text, expected):
        assert normal_mac(text) == expected


class TestFoundPlug:
    def test_key_is_the_mac(self):
        assert found("10.0.0.5").key == MAC_A

    def test_key_without_mac_is_the_address(self):
        assert found("10.0.0.5", mac="", port=9999).key == "10.0.0.5"
        assert found("10.0.0.5", mac="", port=9998).key == "10.0.0.5:9998"
        assert found("::1", mac="", port=8080, connection_type="klap").key == (
            "[::1]:8080"
        )

    def test_device_carries_the_protocol(self):
        device = found(
            "10.0.0.5", port=8080, connection_type="klap", login_version=1
        ).device("x")
        assert (device.name, device.host, device.port) == ("x", "10.0.0.5", 8080)
        assert (device.connection_type, device.login_version) == ("klap", 1)


class TestInventory:
    def test_new_and_moved_plugs_are_reported(self):
        inv = Inventory()
        assert inv.add([found("10.0.0.5")]) == [found("10.0.0.5")]
        assert inv.add([found("10.0.0.5")]) == []
        assert inv.add([found("10.0.0.9")]) == [found("10.0.0.9")]
        assert inv.plugs == {MAC_A: found("10.0.0.9")}

    def test_a_plug_missing_from_a_round_is_kept(self):
        inv = Inventory()
        inv.add([found("10.0.0.5"), found("10.0.0.6", mac=MAC_B)])
        inv.add([found("10.0.0.5")])
        assert set(inv.plugs) == {MAC_A, MAC_B}


class TestPlan:
    def test_unknown_plug_is_a_target_named_by_mac(self):
        result = plan(inventory(found("10.0.0.5", model="HS110")), [], SETTINGS)
        [target] = result.discovered
        assert target.name == MAC_A
        assert target.device.host == "10.0.0.5"
        assert target.refresh_interval == 60  # the discovery template
        assert target.legacy_metrics is True
        assert result.moved == ()

    def test_same_plug_found_twice_is_one_target(self):
        inv = Inventory()
        inv.add([found("10.0.0.5"), found("10.0.0.5")])
        assert len(plan(inv.plugs, [], SETTINGS).discovered) == 1

    def test_configured_plug_by_address_is_not_repeated(self):
        result = plan(inventory(found("10.0.0.5")), [configured("10.0.0.5")], SETTINGS)
        assert result.targets == ()

    def test_configured_plug_by_mac_is_not_repeated(self):
        conf = configured("kitchen.lan", mac=MAC_A)
        result = plan(inventory(found("10.0.0.5")), [conf], SETTINGS)
        assert result.targets == ()

    def test_port_must_match_when_configured(self):
        conf = configured("127.0.0.1", port=10001, connection_type="iot")
        elsewhere = found("127.0.0.1", port=10002)
        same = found("127.0.0.1", mac=MAC_B, port=10001)
        result = plan(inventory(elsewhere, same), [conf], SETTINGS)
        assert [t.name for t in result.discovered] == [MAC_A]

    def test_default_ports_compare_equal(self):
        conf = configured("10.0.0.5", port=80, connection_type="klap")
        plug = found("10.0.0.5", connection_type="klap")
        assert plan(inventory(plug), [conf], SETTINGS).targets == ()

    def test_failing_configured_plug_moves_to_its_new_address(self):
        conf = configured("10.0.0.5", mac=MAC_A, connection_type="iot")
        conf = ConfiguredPlug(settings=conf.settings, mac=MAC_A, failing=True)
        plug = found("10.0.0.77", port=9998, connection_type="iot")
        result = plan(inventory(plug), [conf], SETTINGS)
        [moved] = result.moved
        assert moved.name == "kitchen"
        assert (moved.device.host, moved.device.port) == ("10.0.0.77", 9998)
        assert moved.refresh_interval == 15  # configured settings, new address
        assert result.discovered == ()

    def test_healthy_configured_plug_stays_where_configured(self):
        conf = configured("kitchen.lan", mac=MAC_A)
        result = plan(inventory(found("10.0.0.77")), [conf], SETTINGS)
        assert result.targets == ()

    def test_moved_plug_stays_moved_while_found_there(self):
        conf = configured("10.0.0.5", mac=MAC_A)
        conf = ConfiguredPlug(settings=conf.settings, mac=MAC_A, moved=True)
        result = plan(inventory(found("10.0.0.77")), [conf], SETTINGS)
        assert [t.device.host for t in result.moved] == ["10.0.0.77"]

    def test_moved_plug_found_back_home_returns(self):
        conf = configured("10.0.0.5", mac=MAC_A)
        conf = ConfiguredPlug(settings=conf.settings, mac=MAC_A, moved=True)
        result = plan(inventory(found("10.0.0.5")), [conf], SETTINGS)
        assert result.targets == ()

    def test_no_move_without_a_learned_mac(self):
        """Before the configured plug has answered, a plug elsewhere is another plug."""
        conf = configured("10.0.0.5")
        conf = ConfiguredPlug(settings=conf.settings, failing=True)
        result = plan(inventory(found("10.0.0.77")), [conf], SETTINGS)
        assert [t.name for t in result.discovered] == [MAC_A]
        assert result.moved == ()

    def test_a_plug_configured_under_its_mac_as_name_is_not_doubled(self):
        conf = configured("kitchen.lan", name=MAC_A)
        result = plan(inventory(found("10.0.0.77")), [conf], SETTINGS)
        assert result.targets == ()


class TestNotPlugs:
    @pytest.mark.parametrize(
        "family", ["SMART.TAPOBULB", "IOT.SMARTBULB", "SMART.IPCAMERA", "SMART.TAPOHUB"]
    )
    def test_other_devices_never_become_targets(self, family):
        """Discovery hears bulbs, cameras and hubs too; they are not plugs."""
        plug = found("10.0.0.5", family=family)
        assert plug.is_plug is False
        assert plan(inventory(plug), [], SETTINGS).targets == ()

    @pytest.mark.parametrize(
        "family", ["IOT.SMARTPLUGSWITCH", "SMART.TAPOPLUG", "SMART.KASASWITCH", ""]
    )
    def test_plugs_switches_and_unknown_are_kept(self, family):
        """Plugs, strips and switches (and a family not said) run as targets."""
        plug = found("10.0.0.5", family=family)
        assert len(plan(inventory(plug), [], SETTINGS).discovered) == 1


class TestAddressReuse:
    def test_an_address_answering_as_another_plug_drops_the_old_one(self):
        """DHCP gave .7 to another plug: the old entry goes, no double polling."""
        inv = Inventory()
        inv.add([found("10.0.0.7", mac=MAC_A)])
        inv.add([found("10.0.0.7", mac=MAC_B)])
        assert inv.plugs == {MAC_B: found("10.0.0.7", mac=MAC_B)}

    def test_same_host_other_port_is_another_plug(self):
        """Simulated plugs share 127.0.0.1 on different ports."""
        inv = Inventory()
        inv.add([found("127.0.0.1", mac=MAC_A, port=10001)])
        inv.add([found("127.0.0.1", mac=MAC_B, port=10002)])
        assert set(inv.plugs) == {MAC_A, MAC_B}

    def test_targets_expect_their_mac(self):
        """Discovered and moved targets carry the MAC they must answer with."""
        [target] = plan(inventory(found("10.0.0.5")), [], SETTINGS).discovered
        assert target.expect_mac == MAC_A
        conf = configured("10.0.0.5")
        conf = ConfiguredPlug(settings=conf.settings, mac=MAC_A, failing=True)
        [moved] = plan(inventory(found("10.0.0.9")), [conf], SETTINGS).moved
        assert moved.expect_mac == MAC_A


class TestKnownIdentity:
    def test_another_plug_at_the_configured_address_is_its_own_target(self):
        """Configured kitchen (MAC A) moved; plug B now answers at its address."""
        conf = configured("10.0.0.5")
        conf = ConfiguredPlug(settings=conf.settings, mac=MAC_A, failing=True)
        stranger = found("10.0.0.5", mac=MAC_B)
        kitchen = found("10.0.0.9", mac=MAC_A)
        result = plan(inventory(stranger, kitchen), [conf], SETTINGS)
        assert [t.name for t in result.discovered] == [MAC_B]
        assert [(t.name, t.device.host) for t in result.moved] == [
            ("kitchen", "10.0.0.9")
        ]

    def test_a_dns_name_matches_its_address(self):
        """Configured as a name: the plug found at its IP is at home, not moved."""
        conf = configured("kitchen.lan")
        conf = ConfiguredPlug(
            settings=conf.settings,
            mac=MAC_A,
            failing=True,
            addresses=frozenset({"10.0.0.5"}),
        )
        assert plan(inventory(found("10.0.0.5")), [conf], SETTINGS).targets == ()

    def test_a_dns_name_before_its_mac_is_known_is_not_doubled(self):
        """Before the named plug has answered, its IP still matches it."""
        conf = configured("kitchen.lan")
        conf = ConfiguredPlug(settings=conf.settings, addresses=frozenset({"10.0.0.5"}))
        assert plan(inventory(found("10.0.0.5")), [conf], SETTINGS).targets == ()


class TestAccounts:
    def test_a_plug_is_tried_with_its_account(self):
        """plan() gives each discovered plug the account chosen for it."""
        from exporterhub.exporters.kasa.settings import CredentialSet

        settings = SETTINGS.model_copy(
            update={
                "accounts": (
                    CredentialSet(username="second@x.org", password="pw2"),  # type: ignore[arg-type]
                )
            }
        )
        inv = inventory(found("10.0.0.5"), found("10.0.0.6", mac=MAC_B))
        result = plan(inv, [], settings, {MAC_B: 1})
        users = {t.name: t.username.get_secret_value() for t in result.discovered}
        assert users == {MAC_A: "", MAC_B: "second@x.org"}
