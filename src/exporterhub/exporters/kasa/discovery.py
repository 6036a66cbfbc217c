"""Turns what discovery heard into plug targets: one per plug, by MAC.

Pure: no sockets, no clock, no python-kasa objects. ``client.discover_plugs``
reports ``FoundPlug`` records; ``Inventory`` keeps the latest address of every plug
found so far (DHCP may move a plug: the MAC stays, the address follows it);
``plan`` decides which plugs to run as discovered targets, given the configured
ones:

- a plug that is also configured (same MAC once the configured plug has answered,
  or the same address before) is the configured target, never a second one;
- a configured plug that stopped answering at its address while discovery finds its
  MAC elsewhere moves there, under its configured name, until it is found back at
  the configured address;
- bulbs, cameras, hubs and other devices discovery also hears are not plugs and
  never become targets (``PLUG_FAMILIES``);
- any other plug becomes a target named by its MAC (``AA:BB:CC:DD:EE:FF``), the one
  identity that survives a new address; the ``host`` label of ``tapo_device_info``
  says where it is now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from exporterhub.exporters.kasa.devices import KasaDevice, hostport
from exporterhub.exporters.kasa.section import KasaDiscoverySettings, KasaTargetSettings

__all__ = [
    "PLUG_FAMILIES",
    "ConfiguredPlug",
    "FoundPlug",
    "Inventory",
    "Plan",
    "normal_mac",
    "plan",
]

_DEFAULT_PORTS: Final = {"iot": 9999, "klap": 80, "aes": 80}
PLUG_FAMILIES: Final = frozenset(
    {
        "IOT.SMARTPLUGSWITCH",  # Kasa plugs, strips, wall switches
        "SMART.KASAPLUG",
        "SMART.KASASWITCH",
        "SMART.TAPOPLUG",  # Tapo plugs and strips
        "SMART.TAPOSWITCH",
    }
)
"""Device families (python-kasa ``DeviceFamily``) this exporter runs as targets."""


def normal_mac(text: str) -> str:
    """Return a MAC as ``AA:BB:CC:DD:EE:FF``; "" when it is not one.

    >>> normal_mac("50-c7-bf-01-02-03")
    '50:C7:BF:01:02:03'
    >>> normal_mac("n/a")
    ''
    """
    digits = "".join(c for c in text if c not in ":-.").upper()
    if len(digits) != 12 or any(c not in "0123456789ABCDEF" for c in digits):
        return ""
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundPlug:
    """One discovery answer.

    Attributes:
        host: the address it answered from.
        port: its TCP (XOR) or HTTP (SMART) port; None = the protocol's default.
        connection_type: ``iot``, ``klap`` or ``aes``.
        login_version: the SMART login version it announced; None for IOT.
        mac: ``AA:BB:CC:DD:EE:FF``; "" when the answer had none.
        model: the model it announced ("" when not said).
        family: its device family (``SMART.TAPOPLUG`` …); "" when not said.
    """

    host: str
    port: int | None = None
    connection_type: str = "iot"
    login_version: int | None = None
    mac: str = ""
    model: str = ""
    family: str = ""

    @property
    def is_plug(self) -> bool:
        """Say whether it is a plug, strip or switch (unknown counts as one)."""
        return not self.family or self.family in PLUG_FAMILIES

    @property
    def key(self) -> str:
        """Return its identity: the MAC, else its address."""
        return self.mac or _address(self.host, self.port, self.connection_type)

    @property
    def endpoint(self) -> tuple[str, int]:
        """Return where it answers: host and port (the protocol's default if None)."""
        return self.host, self.port or _DEFAULT_PORTS.get(self.connection_type, 0)

    def device(self, name: str) -> KasaDevice:
        """Return the plug as a configured device would be, named ``name``."""
        return KasaDevice(
            name=name,
            host=self.host,
            port=self.port,
            connection_type=self.connection_type,  # type: ignore[arg-type]
            login_version=self.login_version,
        )


def _address(host: str, port: int | None, connection_type: str) -> str:
    default = _DEFAULT_PORTS.get(connection_type)
    return hostport(host, None if port == default else port)


@dataclass(slots=True)
class Inventory:
    """Every plug discovery has found in this run, by identity; latest answer wins."""

    plugs: dict[str, FoundPlug] = field(default_factory=dict)

    def add(self, found: Iterable[FoundPlug]) -> list[FoundPlug]:
        """Record a round's answers; return the plugs new or at a new address.

        An address that now answers as another plug no longer holds the old one
        (DHCP gave it away): that entry goes, so two targets never poll one plug.
        """
        changed = []
        for plug in found:
            for key, other in list(self.plugs.items()):
                if key != plug.key and other.endpoint == plug.endpoint:
                    del self.plugs[key]
            if self.plugs.get(plug.key) != plug:
                changed.append(plug)
            self.plugs[plug.key] = plug
        return changed


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfiguredPlug:
    """A configured plug as discovery sees it.

    Attributes:
        settings: its configured settings.
        mac: its MAC once it has answered ("" before).
        failing: it has stopped answering as itself (it may have moved).
        moved: discovery currently runs it at another address.
        addresses: what its configured host resolves to (a DNS name's IPs).
    """

    settings: KasaTargetSettings
    mac: str = ""
    failing: bool = False
    moved: bool = False
    addresses: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Plan:
    """What to run: discovered plugs and configured plugs at new addresses."""

    discovered: tuple[KasaTargetSettings, ...] = ()
    moved: tuple[KasaTargetSettings, ...] = ()

    @property
    def targets(self) -> tuple[KasaTargetSettings, ...]:
        """Return every target to offer."""
        return self.discovered + self.moved


def _same_address(conf: ConfiguredPlug, plug: FoundPlug) -> bool:
    device = conf.settings.device
    if plug.host != device.host and plug.host not in conf.addresses:
        return False
    if device.port is None and device.connection_type == "auto":
        return True  # the host alone was given: whichever protocol answers
    kind = device.connection_type if device.connection_type != "auto" else "iot"
    mine = device.port or _DEFAULT_PORTS[kind]
    return mine == (plug.port or _DEFAULT_PORTS.get(plug.connection_type, 0))


def _match(
    plug: FoundPlug, configured: Sequence[ConfiguredPlug]
) -> ConfiguredPlug | None:
    for conf in configured:
        if plug.mac and conf.mac == plug.mac:
            return conf
    for conf in configured:
        # At the configured address, unless that plug is known to be another one.
        known_other = bool(conf.mac and plug.mac) and conf.mac != plug.mac
        if _same_address(conf, plug) and not known_other:
            return conf
    return None


def _moved(conf: ConfiguredPlug, plug: FoundPlug) -> KasaTargetSettings:
    device = conf.settings.device
    moved = plug.device(device.name).model_copy(
        update={"credentials": device.credentials}
    )
    return conf.settings.model_copy(update={"device": moved, "expect_mac": plug.mac})


def plan(
    found: Mapping[str, FoundPlug],
    configured: Sequence[ConfiguredPlug],
    settings: KasaDiscoverySettings,
    accounts: Mapping[str, int] | None = None,
) -> Plan:
    """Decide which plugs run as discovered targets (see the module docstring).

    Args:
        found: the inventory, by identity.
        configured: the configured plugs.
        settings: the discovery settings (the template of discovered plugs).
        accounts: which of ``settings``' accounts each discovered plug (by
            identity) is tried with; 0 when not given.
    """
    names = {conf.settings.name for conf in configured}
    discovered: list[KasaTargetSettings] = []
    moved: list[KasaTargetSettings] = []
    for plug in found.values():
        if not plug.is_plug:
            continue
        conf = _match(plug, configured)
        if conf is None:
            if plug.key not in names:  # a plug configured under its MAC as name
                account = (accounts or {}).get(plug.key, 0)
                target = settings.plug(plug.device(plug.key), account)
                discovered.append(target.model_copy(update={"expect_mac": plug.mac}))
            continue
        elsewhere = not _same_address(conf, plug)
        same_plug = bool(plug.mac) and conf.mac == plug.mac
        if elsewhere and same_plug and (conf.failing or conf.moved):
            moved.append(_moved(conf, plug))
    return Plan(tuple(discovered), tuple(moved))
